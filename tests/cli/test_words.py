"""Issue 12's "words that disagree with behaviour": what the CLI says matches what it does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from lstm_tui.config import parse_config, to_toml

DATA = Path(__file__).parents[1] / "data" / "broken_runs"
runner = CliRunner()


@pytest.fixture
def store(tmp_path) -> Path:
    root = tmp_path / "runs"
    shutil.copytree(DATA / "good-run", root / "good-run")
    return root


def test_sample_echoes_the_prime_the_model_saw_and_says_what_was_dropped(store):
    result = runner.invoke(app, ["sample", "good-run", "--prime", "the function returns 42!",
                                 "--length", "5", "--seed", "0", "--runs-dir", str(store)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("the function returns ")    # text8: digits -> space
    assert "42" not in result.stdout
    assert "as the model saw it" in result.stderr and "'the function returns '" in result.stderr


def test_a_prime_the_model_sees_unchanged_is_echoed_without_a_note(store):
    result = runner.invoke(app, ["sample", "good-run", "--prime", "the cat", "--length", "3",
                                 "--runs-dir", str(store)])
    assert result.exit_code == 0 and result.stdout.startswith("the cat")
    assert result.stderr == ""


def test_after_a_resume_the_result_says_which_seconds_are_which(store):
    run = store / "good-run"
    data = json.loads((run / "summary.json").read_text())
    data.update(status="interrupted", seconds=100.0)
    (run / "summary.json").write_text(json.dumps(data))
    result = runner.invoke(app, ["headless", "good-run", "--resume", "--runs-dir", str(store)])
    assert result.exit_code == 0, result.output
    assert "seconds, this session" in result.stdout
    assert "seconds, all sessions" in result.stdout and "summary.json" in result.stdout


def test_check_blames_the_set_not_the_preset_file():
    result = runner.invoke(app, ["check", "nth_element_lstm", "--set", "task.seq_len=0"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --set task.seq_len=0: task.seq_len: must be")
    # a fault the override only exposes (n >= seq_len) is still the override's
    result = runner.invoke(app, ["check", "nth_element_lstm", "--set", "task.seq_len=2"])
    assert result.exit_code == 2 and result.stderr.startswith("error: --set: task.n")


def test_help_shows_plain_value_words_not_python_types():
    for command in ("headless", "sweep-report", "compare", "sweep", "serve"):
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "120"})
        assert result.exit_code == 0
        for python_type in ("<list[str]>", "<str>", "<bool>", "<int", "<path>"):
            assert python_type not in result.stdout, (command, python_type)
    assert "KEY=VALUE" in runner.invoke(app, ["headless", "--help"],
                                        env={"COLUMNS": "120"}).stdout


def test_a_saved_config_names_no_internal_table():
    text = to_toml(parse_config({"task": {"kind": "char_lm"}}))
    assert "see TASKS" not in text and "# task kind" in text
