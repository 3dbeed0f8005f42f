"""Runs end to end in the store: folders, resume, and a real process killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from lstm_tui import events as ev
from lstm_tui.config import parse_config
from lstm_tui.experiment import resume_run, start_run
from lstm_tui.runs.checkpoint import load_checkpoint
from lstm_tui.runs.layout import RunError
from lstm_tui.runs.reader import list_runs, load_run, read_jsonl
from tests.unit.test_engine import tiny


def test_run_folder_holds_everything(tmp_path):
    run_dir, last = start_run(parse_config(tiny()), tmp_path)
    assert last.status == "completed"
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.toml", "summary.json", "metrics.jsonl", "diagnostics.jsonl", "best.pt",
            "last.pt"} <= names
    run = load_run(run_dir)
    assert run.summary["status"] == "completed" and run.summary["params"] > 0
    assert {r["split"] for r in run.metrics} == {"train", "val"}
    payload = load_checkpoint(run_dir / "last.pt")
    assert payload["step"] == 40 and payload["seed"] == 0 and "optimizer" in payload


def test_missing_device_is_bad_input_and_creates_no_folder(tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    from lstm_tui.config import ConfigError
    with pytest.raises(ConfigError, match="train.device"):
        start_run(parse_config(tiny(train={"device": "cuda"})), tmp_path)
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_resume_continues_from_the_last_checkpoint(tmp_path):
    calls = []
    run_dir, last = start_run(parse_config(tiny(train={"steps": 60, "eval_every": 10})),
                              tmp_path, should_stop=lambda: calls.append(1) or len(calls) > 25)
    assert last.status == "interrupted" and last.step == 25
    assert load_run(run_dir).info.status == "interrupted"
    run_dir, last = resume_run(run_dir)
    assert last.status == "completed" and last.step == 60
    steps = [r["step"] for r in read_jsonl(run_dir / "metrics.jsonl") if r["split"] == "train"]
    assert steps == sorted(steps) and len(steps) == len(set(steps))
    with pytest.raises(RunError, match="already completed"):
        resume_run(run_dir)


def test_killed_process_leaves_a_readable_interrupted_run(tmp_path):
    """kill -9 in the middle of training: every reader still works, the run resumes."""
    root = tmp_path / "runs"
    cmd = [sys.executable, "-m", "lstm_tui", "headless", "nth_element_lstm", "--runs-dir",
           str(root), "--set", "train.steps=1000000", "--set", "train.eval_every=50"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            found = list(root.glob("*/last.pt"))
            if found and len(read_jsonl(found[0].parent / "metrics.jsonl")) > 12:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"no checkpoint appeared: {proc.stderr.read1().decode()[-2000:]}")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    (info,) = list_runs(root)
    assert info.status == "interrupted" and info.steps >= 50
    run = load_run(info.path)
    assert run.metrics and run.run_config().train.steps == 1_000_000
    listing = subprocess.run([sys.executable, "-m", "lstm_tui", "runs", "--runs-dir", str(root)],
                             capture_output=True, text=True)
    assert listing.returncode == 0 and "interrupted" in listing.stdout
    # resume it for a moment: it continues past the checkpoint's step
    calls = []
    _, last = resume_run(info.path, should_stop=lambda: calls.append(1) or len(calls) > 20)
    assert last.status == "interrupted" and last.step == load_checkpoint(
        info.path / "last.pt")["step"]
    assert isinstance(last, ev.Finished)
