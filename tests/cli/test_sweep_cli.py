"""`lstm-lab sweep` and `lstm-lab sweep-report`: bad input, output, views, and resuming a
real process that was interrupted (Ctrl-C) and killed (SIGKILL) mid-sweep."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app

runner = CliRunner()

TINY = """
name = "tiny"
[task]
kind = "nth_element"
seq_len = 4
features = 5
n = 1
train_size = 64
val_size = 32
[model]
hidden = 4
[train]
steps = 10
eval_every = 5
log_every = 5
batch_size = 16
"""


def _preset(tmp_path: Path, sweep: str, base: str = TINY, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(base + "\n[sweep]\n" + textwrap.dedent(sweep))
    return path


def _invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def _bad(result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and fragment in lines[0], lines[0]


@pytest.mark.parametrize("sweep,fragment", [
    ('grid = { "task.seq_lne" = [3, 4] }', "sweep.grid.task.seq_lne: unknown key; did you mean "
                                           "'task.seq_len'?"),
    ("grid = {}", "sweep.grid: is empty"),
    ('grid = { "model.hidden" = [4, "big"] }', "sweep.grid.model.hidden: must be an integer"),
    ('grid = { "model.cell" = ["lstm", 3] }', "sweep.grid.model.cell: must be one of rnn, lstm,"),
    ('grid = { "task.seq_len" = [4] }\nseeds = -1', "sweep.seeds: must be an integer >= 1"),
    ('grid = { "task.seq_len" = [4] }\nmetrc = "loss"', "sweep.metrc: unknown key; did you mean "
                                                       "'metric'?"),
    ('grid = { "train.seed" = [' + ", ".join(map(str, range(101))) + "] }\nseeds = 100",
     "10,100 points"),
])
def test_bad_sweep_is_one_line_and_exit_2(tmp_path, sweep, fragment):
    path = _preset(tmp_path, sweep)
    _bad(_invoke("sweep", path, "--runs-dir", tmp_path / "runs"), fragment)
    assert not (tmp_path / "runs").exists()          # nothing was started
    _bad(_invoke("check", path), fragment)


def test_other_bad_input(tmp_path):
    ok = _preset(tmp_path, 'grid = { "task.seq_len" = [3, 4] }')
    runs = tmp_path / "runs"
    _bad(_invoke("sweep", ok, "--backend", "threads", "--runs-dir", runs),
         "backend: must be one of sequential, processes, ensemble")
    _bad(_invoke("sweep", ok, "--set", "model.hiden=3", "--runs-dir", runs),
         "did you mean 'hidden'")
    plain = tmp_path / "plain.toml"
    plain.write_text(TINY)
    _bad(_invoke("sweep", plain, "--runs-dir", runs), "has no sweep table")
    _bad(_invoke("sweep", tmp_path / "nope.toml", "--runs-dir", runs), "no such preset file")
    result = _invoke("sweep", ok, "--workers", "0", "--runs-dir", runs)
    assert result.exit_code == 2
    _bad(_invoke("sweep-report", tmp_path, "--runs-dir", runs), "no such preset file")
    _bad(_invoke("sweep-report", ok, "--runs-dir", runs), "no results of this sweep")


def test_more_than_10k_points_runs_with_yes_check_only(tmp_path):
    path = _preset(tmp_path, 'grid = { "train.seed" = [' + ", ".join(map(str, range(101)))
                   + "] }\nseeds = 100")
    result = _invoke("check", path)
    assert result.exit_code == 2
    # --yes lifts the limit (`sweep --yes` would then train them all; only parse here)
    from lstm_tui.config import load_preset
    from lstm_tui.sweeps.spec import parse_sweep
    assert parse_sweep(load_preset(path), str(path), yes=True).size == 10_100


def test_sweep_runs_prints_sorted_table_and_report_views(tmp_path):
    path = _preset(tmp_path, """
        grid = { "task.seq_len" = [3, 4], "model.cell" = ["lstm", "gru"] }
        seeds = 2
    """)
    runs = tmp_path / "runs"
    result = _invoke("sweep", path, "--runs-dir", runs)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "sweep tiny: 8 points over task.seq_len, model.cell" in out
    assert "[8/8]" in out and "4 points by best accuracy (higher is better)" in out
    (folder,) = runs.glob("sweep-tiny-*")
    with open(folder / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8 and {r["status"] for r in rows} == {"completed"}
    # the printed table is sorted by the mean over seeds, best first
    means = {}
    for r in rows:
        means.setdefault((r["task.seq_len"], r["model.cell"]), []).append(
            float(r["best_accuracy"]))
    order = sorted(means, key=lambda k: -sum(means[k]) / 2)
    table_lines = [line for line in out.splitlines() if line.startswith("│")]
    firsts = [tuple(c.strip() for c in line.split("│")[2:4]) for line in table_lines]
    assert firsts == order
    assert f"sweep-report {folder}" in out.replace("\n", "")
    # the store sees the points as runs
    listed = _invoke("runs", "--runs-dir", runs)
    assert listed.exit_code == 0 and len(listed.stdout.splitlines()) == 1 + 8   # header, runs

    # a second invocation has nothing to train
    again = _invoke("sweep", path, "--runs-dir", runs)
    assert again.exit_code == 0 and "8 already done (resuming)" in again.stdout
    assert "[1/8]" not in again.stdout

    # views: by folder or by preset
    report = _invoke("sweep-report", folder)
    assert report.exit_code == 0, report.output
    assert "4 points by best accuracy" in report.stdout
    assert "rows: task.seq_len, columns: model.cell" in " ".join(report.stdout.split()) or \
        "rows: model.cell, columns: task.seq_len" in " ".join(report.stdout.split())
    heat = _invoke("sweep-report", path, "--runs-dir", runs, "--x", "seq_len", "--y", "cell",
                   "--final")
    assert heat.exit_code == 0 and "final accuracy (mean ±std" in heat.stdout
    line = _invoke("sweep-report", folder, "--x", "seq_len", "--by", "cell")
    assert line.exit_code == 0 and "cell=lstm" in line.stdout and "cell=gru" in line.stdout
    epochs = _invoke("sweep-report", folder, "--epochs", "cell", "--where", "seq_len=3")
    assert epochs.exit_code == 0 and "by epoch" in epochs.stdout and "cell=gru" in epochs.stdout
    _bad(_invoke("sweep-report", folder, "--x", "hiden"), "is not a swept axis")
    _bad(_invoke("sweep-report", folder, "--y", "cell"), "--x")
    _bad(_invoke("sweep-report", folder, "--where", "cell"), "AXIS=VALUE")


def test_check_reports_the_point_count(tmp_path):
    path = _preset(tmp_path, 'grid = { "task.seq_len" = [3, 4], "model.hidden" = [2, 4] }\n'
                             "seeds = 3")
    result = _invoke("check", path)
    assert result.exit_code == 0 and "sweep: 12 points" in result.stdout


# ---------------------------------------------------------------- a real process

SLOW = TINY.replace("steps = 10", "steps = 150").replace("eval_every = 5", "eval_every = 50") \
    .replace("hidden = 4", "hidden = 16").replace("seq_len = 4", "seq_len = 8")


def _start(path: Path, runs: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "lstm_tui", "sweep", str(path), "--runs-dir",
                             str(runs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def _wait_for_points(proc: subprocess.Popen, count: int, timeout: float = 60.0) -> list[str]:
    """Read stdout until `count` points of this invocation have finished."""
    seen, deadline = [], time.monotonic() + timeout
    while len(seen) < count:
        assert time.monotonic() < deadline, "the sweep did not progress"
        line = proc.stdout.readline()
        assert line, f"the sweep ended early: {proc.stderr.read()}"
        if line.startswith("["):
            seen.append(line)
    return seen


def _state(folder: Path) -> tuple[dict, dict]:
    with open(folder / "results.csv", newline="") as fh:
        rows = {r["run"]: r for r in csv.DictReader(fh)}
    mtimes = {p.parent.name: p.stat().st_mtime_ns for p in folder.glob("p*/summary.json")}
    return rows, mtimes


@pytest.mark.slow
def test_interrupted_and_killed_sweep_resumes_without_retraining(tmp_path):
    path = _preset(tmp_path, 'grid = { "model.hidden" = [8, 16], "train.lr" = [0.01, 0.02] }\n'
                             "seeds = 2", base=SLOW)
    runs = tmp_path / "runs"

    # 1. Ctrl-C after the first point: exit 130, a resumable sweep
    proc = _start(path, runs)
    _wait_for_points(proc, 1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    (folder,) = runs.glob("sweep-tiny-*")
    rows, mtimes = _state(folder)
    done = {run for run, r in rows.items() if r["status"] == "completed"}
    assert len(done) >= 1 and len(done) < 8
    assert all(r["status"] in ("completed", "interrupted") for r in rows.values())

    # 2. killed outright (SIGKILL) in the middle of the next points
    proc = _start(path, runs)
    _wait_for_points(proc, 2)
    proc.kill()
    proc.communicate(timeout=30)
    rows2, mtimes2 = _state(folder)
    done2 = {run for run, r in rows2.items() if r["status"] == "completed"}
    assert done < done2 and len(done2) < 8
    assert {run: mtimes2[run] for run in done} == {run: mtimes[run] for run in done}

    # 3. the same command again finishes the rest and nothing finished is trained again
    final = subprocess.run([sys.executable, "-m", "lstm_tui", "sweep", str(path), "--runs-dir",
                            str(runs)], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "COLUMNS": "200"})
    assert final.returncode == 0, final.stderr
    assert f"{len(done2)} already done (resuming)" in final.stdout
    rows3, mtimes3 = _state(folder)
    assert len(rows3) == 8 and {r["status"] for r in rows3.values()} == {"completed"}
    assert {run: mtimes3[run] for run in done2} == {run: mtimes2[run] for run in done2}
    assert len([p for p in folder.iterdir() if p.is_dir()]) == 8    # one folder per point
    from lstm_tui.config import load_preset
    from lstm_tui.sweeps.spec import parse_sweep
    keys = {p.key for p in parse_sweep(load_preset(path), str(path)).points()}
    assert {r["key"] for r in rows3.values()} == keys
    for run in rows3:                                  # each run folder is one clean run
        summary = json.loads((folder / run / "summary.json").read_text())
        assert summary["status"] == "completed" and summary["steps"] == 150
        steps = [json.loads(line)["step"] for line in (folder / run / "metrics.jsonl").open()
                 if '"train"' in line]
        assert steps == sorted(set(steps))
    assert not (folder / ".sweep.lock").exists()
