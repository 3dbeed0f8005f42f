"""`lstm-lab sweep --backend ray`: its options as bad input, and a real process on a local
Ray instance (loopback) interrupted by Ctrl-C at the terminal and resumed."""

from __future__ import annotations

import csv
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
seq_len = 10
features = 5
n = 1
train_size = 256
val_size = 64
[model]
hidden = 16
[train]
steps = 300
eval_every = 100
log_every = 10
batch_size = 16
threads = 1
"""


def _preset(tmp_path: Path, sweep: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(TINY + "\n[sweep]\n" + textwrap.dedent(sweep))
    return path


def _bad(args: list, fragment: str) -> None:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and fragment in lines[0], lines[0]


@pytest.mark.parametrize("extra,fragment", [
    (["--backend", "ray", "--address", "headnode"],
     "--address: address: must be HOST:PORT of a Ray head node"),
    (["--backend", "ray", "--gpus", "1.5"], "--gpus: gpus: must be a whole number when above 1"),
    (["--backend", "ray", "--cpus", "-2"], "--cpus: cpus: must be a number >= 0"),
    (["--backend", "ray", "--retries", "-1"], "--retries: retries: must be an integer >= 0"),
    (["--backend", "processes", "--address", "auto"],
     "--address: address: is an option of --backend ray"),
    (["--gpus", "0.5"], "--gpus: gpus: is an option of --backend ray"),
    (["--backend", "ensemble", "--ensemble"], "--ensemble: ensemble: is an option of --backend"),
])
def test_ray_options_are_checked_before_anything_runs(tmp_path, extra, fragment):
    path = _preset(tmp_path, 'grid = { "task.seq_len" = [3, 4] }')
    _bad(["sweep", path, *extra, "--runs-dir", tmp_path / "runs"], fragment)
    assert not (tmp_path / "runs").exists()


def test_a_head_that_does_not_answer_is_bad_input_at_once(tmp_path):
    pytest.importorskip("ray")
    path = _preset(tmp_path, 'grid = { "task.seq_len" = [3, 4] }')
    start = time.monotonic()
    _bad(["sweep", path, "--backend", "ray", "--address", "127.0.0.1:1", "--runs-dir",
          tmp_path / "runs"], "--address: address: cannot join a Ray cluster at 127.0.0.1:1")
    assert time.monotonic() - start < 30       # not Ray's minutes of retrying
    assert not list((tmp_path / "runs").glob("sweep-*/p*"))


def test_preset_resources_are_checked_too(tmp_path):
    path = _preset(tmp_path, 'grid = { "task.seq_len" = [3, 4] }\ngpus = 2.5\n')
    _bad(["sweep", path, "--backend", "ray", "--runs-dir", tmp_path / "runs"],
         "s.toml: sweep.gpus: must be a whole number when above 1")


def _session_processes(sid: int) -> list[int]:
    """Processes still alive in session `sid` (a local Ray instance left running)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


def _gone(sid: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _session_processes(sid):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_ctrl_c_at_the_terminal_then_the_same_command_resumes(tmp_path):
    pytest.importorskip("ray")
    path = _preset(tmp_path, 'grid = { "train.lr" = [0.01, 0.003, 0.001], '
                             '"model.cell" = ["lstm", "gru"] }\n')
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "lstm_tui", "sweep", str(path), "--backend", "ray",
               "--workers", "2", "--runs-dir", str(runs)]
    env = {**os.environ, "COLUMNS": "200"}
    # its own session, as a shell gives a job: Ctrl-C reaches the driver and every
    # process of the local Ray instance at once
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, env=env)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if ": completed" in line:
                os.killpg(proc.pid, signal.SIGINT)
                break
        rest, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    output = "".join(seen) + rest
    assert proc.returncode == 130, output
    assert "backend ray × 2" in output and "run the same command again to resume" in output
    assert _gone(proc.pid), "the local Ray instance outlived the sweep"
    sweep_dir = next(runs.glob("sweep-tiny-*"))
    with open(sweep_dir / "results.csv", newline="") as fh:
        first = list(csv.DictReader(fh))
    done_before = {r["key"] for r in first if r["status"] == "completed"}
    assert done_before and len(done_before) < 6

    again = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(done_before)} already done (resuming)" in again.stdout
    with open(sweep_dir / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 and {r["status"] for r in rows} == {"completed"}
