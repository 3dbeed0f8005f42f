"""Tiny trained runs of the tasks that predict (series, sequence_classification, char_lm),
for the predict, export and Python API tests: seconds each."""

from __future__ import annotations

from pathlib import Path

from lstm_tui.config import parse_config
from lstm_tui.experiment import start_run
from tests.unit.test_sequence_classification import ucr
from tests.unit.test_series import write_csv

TRAIN = {"steps": 12, "eval_every": 6, "log_every": 6, "batch_size": 16}


def train(root: Path, task: dict, **model) -> Path:
    """A completed run of `task` (hidden 8 unless `model` says otherwise) under `root`."""
    cfg = parse_config({"task": task, "model": {"hidden": 8, **model}, "train": TRAIN})
    run_dir, last = start_run(cfg, root)
    assert last.status == "completed", last
    return run_dir


def series_task(folder: Path) -> dict:
    """A load table (hour, load, temp, site; 300 rows) and a task forecasting load."""
    csv = write_csv(folder / "load.csv", rows=300)
    return {"kind": "series", "path": csv, "target": ["load"], "time": "hour",
            "window": 12, "horizon": 2, "season": 12}


def classification_task(folder: Path) -> dict:
    """Three classes of 16-step sequences, a training and a test file (UCR layout)."""
    return {"kind": "sequence_classification", "path": ucr(folder / "g_TRAIN.tsv"),
            "test_path": ucr(folder / "g_TEST.tsv", 30, seed=1)}


def char_lm_task(folder: Path) -> dict:
    text = folder / "t.txt"
    text.write_text("abcabcabd " * 300)
    return {"kind": "char_lm", "text": str(text), "normalize": "none", "seq_len": 8}


def nth_task(folder: Path) -> dict:
    return {"kind": "nth_element", "train_size": 64, "val_size": 32}


TASKS = {"series": series_task, "sequence_classification": classification_task,
         "char_lm": char_lm_task, "nth_element": nth_task}
