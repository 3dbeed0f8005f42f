"""A run's data file (issue 27, item 10): a relative task.path is stored resolved, so the
run works from any folder; the file's size and SHA-256 are recorded in data.json, so a
moved or changed file is said as such (exit 2, one line), never taken for a corrupt run;
listing runs never reads a run's data file."""

from __future__ import annotations

import json
import shutil
import tomllib

import numpy as np
import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from lstm_tui.runs.reader import list_runs

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"{args}: {result.exception!r}"
    return result


@pytest.fixture
def trained(tmp_path, monkeypatch):
    """A series run trained from `data/`, with task.path relative to it; then the
    working directory is somewhere else."""
    data = tmp_path / "data"
    data.mkdir()
    t = np.arange(200)
    (data / "load.csv").write_text("hour,load\n" + "".join(
        f"{i},{10 + np.sin(i / 4):.5f}\n" for i in t))
    (data / "p.toml").write_text(
        '[task]\nkind = "series"\npath = "load.csv"\ntarget = ["load"]\nwindow = 4\n'
        '[model]\nhidden = 3\n[train]\nsteps = 2\neval_every = 1\nbatch_size = 8\n'
        'device = "cpu"\nthreads = 1\n')
    runs = tmp_path / "runs"
    monkeypatch.chdir(data)
    result = invoke("headless", "p.toml", "--runs-dir", str(runs))
    assert result.exit_code == 0, result.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    return run, data / "load.csv"


def test_the_path_is_stored_resolved_with_size_and_hash(trained):
    run, csv = trained
    config = tomllib.loads((run / "config.toml").read_text())
    assert config["task"]["path"] == str(csv.resolve())
    [entry] = json.loads((run / "data.json").read_text())["files"]
    assert entry["key"] == "task.path" and entry["path"] == str(csv.resolve())
    assert entry["size"] == csv.stat().st_size and len(entry["sha256"]) == 64


def test_from_another_folder_every_command_works(trained):
    run, _ = trained
    [info] = list_runs(run.parent)
    assert not info.error and info.status == "completed"
    for args in (["compare", str(run)], ["inspect", str(run), "--json"],
                 ["export", str(run), "--csv", "-"],
                 ["headless", str(run / "config.toml"), "--runs-dir", str(run.parent)]):
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.output)


@pytest.mark.parametrize("change,words", [
    ("move", "is gone (moved or deleted?)"),
    ("grow", "changed since this run trained on it"),
    ("edit", "(its SHA-256 differs)"),
])
def test_a_moved_or_changed_data_file_is_said_as_such(trained, change, words):
    run, csv = trained
    if change == "move":
        shutil.move(csv, csv.with_name("moved.csv"))
    elif change == "grow":
        csv.write_text(csv.read_text() + "200,11.0\n")
    else:
        text = csv.read_text()
        csv.write_text(text.replace("10.", "20.", 1))      # same size, other numbers
    [info] = list_runs(run.parent)
    assert not info.error and info.status == "completed"     # listed, not corrupt
    assert invoke("compare", str(run)).exit_code == 0         # needs no data
    for args in (["inspect", str(run)], ["headless", str(run), "--resume"]):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        (line,) = result.stderr.strip().splitlines()
        assert words in line and str(csv) in line and "task.path" in line


def test_listing_runs_never_reads_a_data_file(trained, monkeypatch):
    from lstm_tui.tasks import series

    def read(*args, **kwargs):
        raise AssertionError("a listing read the data file")
    monkeypatch.setattr(series, "prepare", read)
    monkeypatch.setattr(series, "read_table", read)
    run, _ = trained
    [info] = list_runs(run.parent)
    assert not info.error
    assert invoke("runs", "--runs-dir", str(run.parent)).exit_code == 0
