"""`runs` filters/columns/--json, `tag`, `note`, `rm`, `restore`, `latest~N`, `--version`,
shell completion; bad input is one line and exit 2 with nothing lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from tests.store_helpers import NOW, make_run

runner = CliRunner()


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def bad(result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], lines
    assert "Traceback" not in result.output


@pytest.fixture
def store(runs_dir):
    make_run(runs_dir, "20261123-100000-nth-lstm32", lr=0.01, best=0.9, created=NOW - 300)
    make_run(runs_dir, "20261123-110000-nth-gru32", cell="gru", lr=0.003, best=0.95,
             created=NOW - 200)
    make_run(runs_dir, "20261123-120000-nth-gru64", cell="gru", hidden=64, lr=0.03,
             best=0.5, created=NOW - 100)
    return runs_dir


def test_runs_piped_is_unwrapped_plain_and_keeps_every_column(store):
    make_run(store / ("sweep-a-rather-long-sweep-name-0123456789"),
             "p000-cellgru-hidden32-lr0.001-s0", created=NOW)
    result = invoke("runs")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "task", "cell", "hidden", "status", "steps", "best",
                                "age"]
    assert len(lines) == 5 and "\x1b[" not in result.stdout
    assert "sweep-a-rather-long-sweep-name-0123456789/p000-cellgru-hidden32-lr0.001-s0" \
        in result.stdout          # one line, never cut at 80 columns
    assert max(len(line) for line in lines) > 80


def test_runs_filters_columns_sort_and_limit(store):
    result = invoke("runs", "--where", "model.cell=gru", "--where", "train.lr<0.01")
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == \
        ["20261123-110000-nth-gru32"]
    result = invoke("runs", "--columns", "model.hidden,train.lr,best", "--sort", "best",
                    "--limit", "2")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "model.hidden", "train.lr", "best"]
    assert [line.split()[0] for line in lines[1:]] == ["20261123-110000-nth-gru32",
                                                      "20261123-100000-nth-lstm32"]
    assert lines[1].split()[1:3] == ["32", "0.003"]
    assert "no runs match" in invoke("runs", "--status", "failed").stdout
    bad(runner.invoke(app, ["runs", "--where", "model.cel=gru"]), "did you mean model.cell")
    bad(runner.invoke(app, ["runs", "--columns", "model.hiden"]), "model.hidden")
    bad(runner.invoke(app, ["runs", "--sort", "bestest"]), "unknown field")
    bad(runner.invoke(app, ["runs", "--status", "done"]), "must be one of")


def test_runs_json_is_one_document(store):
    invoke("tag", "latest", "+good")
    result = invoke("runs", "--json", "--tag", "good")
    doc = json.loads(result.stdout)
    assert doc["format"] == 1 and doc["count"] == 1
    (run,) = doc["runs"]
    assert run["name"] == "20261123-120000-nth-gru64" and run["tags"] == ["good"]
    assert run["config"]["model.hidden"] == 64 and run["status"] == "completed"
    empty = json.loads(invoke("runs", "--json", "--runs-dir", str(store / "nowhere")).stdout)
    assert empty["count"] == 0 and empty["runs"] == []


def test_tag_and_note_on_runs_named_by_latest(store):
    result = invoke("tag", "latest", "latest~1", "+good", "+baseline", "-nope")
    assert result.exit_code == 0, result.output
    assert "20261123-120000-nth-gru64: good baseline" in result.stdout
    assert invoke("tag", "latest~1", "-good").stdout.strip().endswith(": baseline")
    assert invoke("tag", "latest").stdout.strip().endswith(": good baseline")
    assert invoke("note", "latest", "lr too high?").exit_code == 0
    assert invoke("note", "latest").stdout.strip() == "lr too high?"
    listing = invoke("runs").stdout
    assert "tags" in listing.splitlines()[0] and "lr too high?" in listing
    annotations = json.loads((store / "20261123-120000-nth-gru64" /
                              "annotations.json").read_text())
    assert annotations["tags"] == ["good", "baseline"]


def test_bad_tag_syntax_is_one_line_exit_2_and_changes_nothing(store):
    invoke("tag", "latest", "+keep")
    bad(runner.invoke(app, ["tag", "latest", "+good", "+bad@"]), "'+bad@': not a tag change")
    bad(runner.invoke(app, ["tag", "+good"]), "name at least one run")
    bad(runner.invoke(app, ["tag", "nosuchrun", "+good"]), "nosuchrun: no such run")
    bad(runner.invoke(app, ["tag", "latest~9", "+good"]), "only 3 runs")
    assert invoke("tag", "latest").stdout.strip().endswith(": keep")


def test_rm_asks_moves_to_the_trash_and_restore_brings_back(store):
    declined = invoke("rm", "latest", input="n\n")
    assert declined.exit_code == 1 and "nothing removed" in declined.stderr
    assert (store / "20261123-120000-nth-gru64").is_dir()
    result = invoke("rm", "latest", input="y\n")
    assert result.exit_code == 0 and result.stdout.startswith("removed 20261123-120000")
    assert not (store / "20261123-120000-nth-gru64").exists()
    assert "gru64" not in invoke("runs").stdout
    assert "from 20261123-120000-nth-gru64" in invoke("restore").stdout
    assert invoke("restore", "20261123-120000").exit_code == 0
    assert (store / "20261123-120000-nth-gru64" / "config.toml").is_file()
    assert "is empty" in invoke("restore").stdout


def test_rm_of_a_running_run_is_refused_and_nothing_moves(store):
    make_run(store, "20261123-130000-live", live=True, created=NOW)
    bad(runner.invoke(app, ["rm", "latest~1", "latest", "--yes"]),
        "is still running (its writer is alive)")
    assert len([p for p in store.iterdir() if not p.name.startswith(".")]) == 4


def test_rm_empty_and_purge(store):
    make_run(store, "20261123-130000-never-started", status="interrupted", steps=0,
             records=False, created=NOW)
    result = invoke("rm", "--empty", "--yes")
    assert result.exit_code == 0 and "never-started" in result.stdout
    assert "nothing to" not in result.stdout and len(invoke("runs").stdout.splitlines()) == 4
    assert "no runs to remove" in invoke("rm", "--empty", "--yes").stdout
    result = invoke("rm", "--purge", "--yes")
    assert result.exit_code == 0 and "purged 1" in result.stdout
    assert not any((store / ".trash").iterdir())
    bad(runner.invoke(app, ["rm"]), "name the runs or sweeps")
    bad(runner.invoke(app, ["rm", "latest", "--purge"]), "--purge")


def test_compare_shows_tags_notes_and_flags_different_environments(store):
    for name, torch in (("20261123-110000-nth-gru32", "2.13.0"),
                        ("20261123-120000-nth-gru64", "2.12.0")):
        (store / name / "provenance.json").write_text(json.dumps(
            {"lstm_lab": "0.1.0", "python": "3.11.7", "torch": torch, "host": "box",
             "device": "cpu", "device_name": "Xeon", "torch_threads": 1, "git": None,
             "command": "x", "started": 1.0}))
    invoke("tag", "latest", "+good")
    invoke("note", "latest", "the wide one")
    result = runner.invoke(app, ["compare", "latest", "latest~1"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "good" in out and "the wide one" in out
    assert "differs: torch" in out and "≠ torch" in out and "2.12.0" in out


def test_version_and_help():
    from lstm_tui import __version__
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"lstm-lab {__version__}"
    helptext = " ".join(invoke("--help").stdout.split())
    assert "`lstm-lab [PRESET]` opens the interactive lab" in helptext
    assert "--install-completion" in helptext


def test_completion_of_runs_and_presets(store, monkeypatch):
    from lstm_tui.cli import complete as cli_complete
    monkeypatch.chdir(store)

    class Ctx:
        params = {"runs_dir": None}
    assert cli_complete.complete_run(Ctx(), "latest")[:2] == ["latest", "latest~1"]
    assert cli_complete.complete_run(Ctx(), "20261123-11") == ["20261123-110000-nth-gru32"]
    assert "nth_element_lstm" in cli_complete.complete_preset("nth_")
    assert all(p.startswith("nth_") for p in cli_complete.complete_preset("nth_"))


def test_the_entry_point_routes_version_and_completion_to_the_cli(store):
    env = dict(os.environ, _LSTM_LAB_COMPLETE="complete_bash", COMP_WORDS="lstm-lab tag 2026",
               COMP_CWORD="2")
    done = subprocess.run([sys.executable, "-c", "from lstm_tui.entry import main; main()"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == {"20261123-100000-nth-lstm32",
                                        "20261123-110000-nth-gru32",
                                        "20261123-120000-nth-gru64"}
    version = subprocess.run([sys.executable, "-m", "lstm_tui", "--version"],
                             capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("lstm-lab ")


# ---------------------------------------------------------------- issue 27: numeric --where

def test_where_compares_numbers_as_numbers_not_as_text(runs_dir):
    """9 < 10 < 100 although "10" < "100" < "9" as text; 1e-4 < 0.001 < 0.01 although
    "0.001" < "0.01" < "1e-4"; best 0.5 < 0.75 < 5.0 and steps 20 < 100."""
    make_run(runs_dir, "h9", hidden=9, lr=1e-4, best=5.0, steps=20, created=NOW - 300)
    make_run(runs_dir, "h10", hidden=10, lr=0.001, best=0.75, steps=100, created=NOW - 200)
    make_run(runs_dir, "h100", hidden=100, lr=0.01, best=0.5, steps=9, created=NOW - 100)

    def names(*where: str) -> list[str]:
        args = [a for w in where for a in ("--where", w)]
        result = invoke("runs", *args)
        assert result.exit_code == 0, result.output
        return [line.split()[0] for line in result.stdout.splitlines()[1:]]

    assert names("model.hidden>9") == ["h10", "h100"]
    assert names("model.hidden<10") == ["h9"]
    assert names("model.hidden<=10", "model.hidden>=10") == ["h10"]
    assert names("train.lr>=1e-3") == ["h10", "h100"]
    assert names("train.lr<0.001") == ["h9"]
    assert names("best>0.6") == ["h9", "h10"]
    assert names("steps<=20") == ["h9", "h100"]
    assert names("model.hidden=10.0") == ["h10"] and names("train.lr=1e-3") == ["h10"]
    result = invoke("runs", "--sort", "model.hidden", "--columns", "model.hidden")
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == \
        ["h9", "h10", "h100"]
