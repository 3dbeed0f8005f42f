"""The command line: every command, bad input as one line with exit 2, a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from tests.conftest import BAD_PRESETS, PRESETS

runner = CliRunner()
TINY = ["--set", "train.steps=20", "--set", "train.eval_every=10", "--set", "train.log_every=5"]


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def only_run(root):
    (run_dir,) = [p for p in root.iterdir() if p.is_dir()]
    return run_dir


def test_headless_trains_and_saves_a_run(runs_dir):
    result = invoke("headless", str(PRESETS / "nth_element_lstm.toml"), *TINY)
    assert result.exit_code == 0, result.output
    assert "Total params" in result.output and "completed" in result.output
    run_dir = only_run(runs_dir)
    assert str(run_dir) in result.output.replace("\n", "")
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "completed"


def test_headless_accepts_a_shipped_preset_name_and_runs_dir_option(tmp_path):
    result = invoke("headless", "adding_problem", *TINY, "--runs-dir", str(tmp_path / "elsewhere"))
    assert result.exit_code == 0, result.output
    assert only_run(tmp_path / "elsewhere").name.endswith("adding-lstm64")


@pytest.mark.parametrize("preset", sorted(p.name for p in BAD_PRESETS.glob("*.toml")))
def test_bad_presets_exit_2_with_one_line_and_no_traceback(preset, runs_dir):
    for command in ("headless", "check"):
        result = runner.invoke(app, [command, str(BAD_PRESETS / preset)])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and preset in lines[0]
        assert "Traceback" not in result.output
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


@pytest.mark.parametrize("args,fragment", [
    (["--set", "task.nope=1"], "task.nope: unknown key"),
    (["--set", "train.lr=-1"], "train.lr: must be a number > 0"),
    (["--device", "cuda"], "train.device"),
    (["--device", "tpu"], "train.device"),
])
def test_bad_overrides_exit_2(args, fragment, runs_dir):
    import torch
    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("CUDA present")
    result = runner.invoke(app, ["headless", "nth_element_lstm", *args])
    assert result.exit_code == 2 and fragment in result.stderr, result.output


def test_missing_preset_lists_shipped_ones():
    result = runner.invoke(app, ["headless", "no_such_preset"])
    assert result.exit_code == 2 and "nth_element_lstm" in result.stderr


def test_check_reports_parameters():
    result = invoke("check", "char_lm_udacity")
    assert result.exit_code == 0
    # 27 symbols, 64 nodes: 4*(64*27 + 64*64 + 2*64) + (64*27 + 27)
    text = " ".join(result.output.split())
    assert f"{4 * (64 * 27 + 64 * 64 + 128) + 64 * 27 + 27:,} parameters" in text


def test_presets_lists_every_shipped_preset():
    result = invoke("presets")
    for path in PRESETS.glob("*.toml"):
        assert path.stem in result.output


def test_runs_compare_and_sample(runs_dir):
    for cell in ("lstm", "gru"):
        assert invoke("headless", "nth_element_lstm", *TINY, "--set", f"model.cell={cell}",
                      "--set", f"name=cmp-{cell}").exit_code == 0
    listing = invoke("runs")
    assert listing.exit_code == 0 and listing.output.count("cmp-") == 2
    assert "gru" in listing.output and "completed" in listing.output
    names = sorted(p.name for p in runs_dir.iterdir() if not p.name.startswith("."))
    result = invoke("compare", *names)
    assert result.exit_code == 0, result.output
    assert "model.cell" in result.output and "train.lr" not in result.output
    assert "val accuracy" in result.output
    assert runner.invoke(app, ["compare", *names, "--metric", "nope"]).exit_code == 2

    lm = ["--set", "task.max_chars=3000", "--set", "task.seq_len=8", "--set", "model.hidden=16",
          "--set", "train.batch_size=8"]
    assert invoke("headless", "char_lm_udacity", *TINY, *lm, "--set", "name=lm").exit_code == 0
    lm_run = next(p.name for p in runs_dir.iterdir() if "-lm-" in p.name)
    cold = invoke("sample", lm_run, "--temperature", "0", "--length", "40", "--prime", "the ")
    again = invoke("sample", lm_run, "--temperature", "0.0001", "--length", "40",
                   "--prime", "the ", "--seed", "3")
    assert cold.exit_code == 0 and cold.output == again.output  # near 0 is argmax
    assert len(cold.output.strip()) >= 40
    warm = [invoke("sample", lm_run, "--temperature", "1.5", "--length", "60", "--seed", str(s))
            .output for s in (1, 1, 2)]
    assert warm[0] == warm[1] and warm[0] != warm[2]
    not_lm = runner.invoke(app, ["sample", names[0]])
    assert not_lm.exit_code == 2 and "needs a char_lm run" in not_lm.stderr


def test_corrupt_run_folder_is_one_line(runs_dir):
    assert invoke("headless", "nth_element_lstm", *TINY).exit_code == 0
    run_dir = only_run(runs_dir)
    (run_dir / "config.toml").write_text("[model\n")
    result = runner.invoke(app, ["compare", run_dir.name, run_dir.name])
    assert result.exit_code == 2 and "config.toml: corrupt" in result.stderr
    assert "Traceback" not in result.output
    (run_dir / "last.pt").write_bytes(b"not a checkpoint")
    (run_dir / "config.toml").write_text("[task]\nkind = 'char_lm'\nmax_chars = 3000\n"
                                         "# end of the resolved config\n")   # complete
    (run_dir / "best.pt").unlink()
    result = runner.invoke(app, ["sample", run_dir.name])
    assert result.exit_code == 2 and "corrupt checkpoint" in result.stderr
    assert invoke("runs").exit_code == 0


def test_resume_from_the_command_line(runs_dir):
    first = runner.invoke(app, ["headless", "nth_element_lstm", *TINY])
    run_dir = only_run(runs_dir)
    assert first.exit_code == 0
    again = runner.invoke(app, ["headless", str(run_dir), "--resume"])
    assert again.exit_code == 2 and "already completed" in again.stderr


def test_real_subprocess_prints_plain_lines_when_piped(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "lstm_tui", "headless", "nth_element_gru", *TINY, "--runs-dir",
         str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "step 10 epoch 0 val loss" in result.stdout and "step 20" in result.stdout
    assert "\x1b[" not in result.stdout  # no terminal control codes in a pipe


def test_ctrl_c_saves_and_marks_interrupted(tmp_path):
    import os
    import signal
    import time
    proc = subprocess.Popen(
        [sys.executable, "-m", "lstm_tui", "headless", "nth_element_lstm", "--runs-dir",
         str(tmp_path), "--set", "train.steps=1000000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.stat().st_size
                                             for p in tmp_path.glob("*/metrics.jsonl")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    run_dir = only_run(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["steps"] > 0
    assert (run_dir / "last.pt").exists()
    assert os.path.getsize(run_dir / "last.pt") > 0


def test_entry_point_knows_every_sub_command():
    from lstm_tui.cli.main import command_names
    from lstm_tui.entry import SUBCOMMANDS
    assert command_names() == SUBCOMMANDS


def test_starting_the_lab_does_not_load_the_cli_machinery():
    code = ("import sys; import lstm_tui.entry, lstm_tui.tui.launch; "
            "print('typer' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
