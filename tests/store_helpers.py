"""Run folders written the way RunWriter leaves them, for the store-keeping tests."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from lstm_tui.config import parse_config, to_toml

NOW = 1_790_000_000.0


def make_run(root: Path, folder: str, *, cell: str = "lstm", hidden: int = 32,
             lr: float = 0.01, status: str = "completed", steps: int = 100,
             best: float | None = 0.9, created: float = NOW - 3600, live: bool = False,
             metric: str = "accuracy", goal: str = "max", sweep: str = "",
             records: bool = True) -> Path:
    cfg = parse_config({"name": folder, "task": {"kind": "nth_element"},
                        "model": {"cell": cell, "hidden": hidden},
                        "train": {"lr": lr, "steps": max(steps, 1)}})
    path = Path(root) / folder
    path.mkdir(parents=True)
    (path / "config.toml").write_text(to_toml(cfg), encoding="utf-8")
    summary = {"status": "running" if live else status, "name": path.name,
               "pid": os.getpid() if live else 999_999_999,
               "host": socket.gethostname(), "created": created, "updated": created + 10,
               "metric": metric, "goal": goal, "steps": steps, "best": best, "final": best,
               "seconds": 1.5, "params": 1000}
    if sweep:
        summary["sweep"] = sweep
    (path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    if records and steps:
        (path / "metrics.jsonl").write_text(json.dumps({"step": steps, "split": "val",
                                                        "loss": 0.1, metric: best}) + "\n")
    return path
