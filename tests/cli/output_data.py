"""Run and sweep folders written directly (no training), for the output tests."""

from __future__ import annotations

import csv
import json
import math
import textwrap
import time
from pathlib import Path

from lstm_tui.config import load_preset, to_toml
from tests.conftest import PRESETS

SWEEP_BASE = """
name = "wide"
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


def fake_run(root: Path, name: str, cell: str = "lstm", hidden: int = 16, steps: int = 100,
             rate: float = 1.0, diverge: bool = False) -> Path:
    """A completed nth_element run with train and val records every 10 steps."""
    path = root / name
    path.mkdir(parents=True)
    cfg = load_preset(PRESETS / "nth_element_lstm.toml",
                      [f'model.cell="{cell}"', f"model.hidden={hidden}"])
    (path / "config.toml").write_text(to_toml(cfg))
    lines = []
    for step in range(10, steps + 1, 10):
        acc = 1 - math.exp(-rate * step / steps)
        loss = None if diverge and step == steps else 2 * (1 - acc)
        lines.append({"step": step, "epoch": step // 50, "split": "train", "loss": loss,
                      "accuracy": acc, "lr": 0.01, "grad_norm": 0.5, "mean_abs_grad": 0.01,
                      "steps_per_sec": 100.0, "time": step / 100,
                      "grad_norms": {"rnn.weight_ih_l0": 0.3, "head.bias": None},
                      "grad_means": {"rnn.weight_ih_l0": 0.01, "head.bias": 0.02}})
        lines.append({"step": step, "epoch": step // 50, "split": "val", "loss": loss,
                      "accuracy": acc, "time": step / 100})
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    final = lines[-1]["accuracy"]
    (path / "summary.json").write_text(json.dumps({
        "status": "completed", "metric": "accuracy", "goal": "max", "best": final,
        "final": final, "steps": steps, "seconds": 1.5, "params": 1234,
        "created": time.time(), "name": name}))
    return path


def three_runs(root: Path) -> list[Path]:
    stamp = "20261201-0350"
    return [fake_run(root, f"{stamp}{i}3-ws-simple-rnn-{cell}6", cell=cell, rate=r)
            for i, (cell, r) in enumerate([("rnn", 1.0), ("lstm", 2.0), ("gru", 4.0)])]


def fake_sweep(root: Path, grid: dict[str, list], seeds: int = 2, with_runs: bool = False,
               name: str = "sweep-wide") -> Path:
    """A sweep folder: sweep.toml and results.csv (accuracy falls with seq_len, gru a bit
    better); with_runs also writes each run's metrics.jsonl (for --epochs)."""
    folder = root / name
    folder.mkdir(parents=True)
    table = "\n".join(f'"{k}" = {json.dumps(v)}' for k, v in grid.items())
    (folder / "sweep.toml").write_text(SWEEP_BASE + textwrap.dedent(f"""
        [sweep]
        seeds = {seeds}
        [sweep.grid]
        """) + table + "\n")
    axes = list(grid)
    points = [{}]
    for axis in axes:
        points = [{**p, axis: v} for p in points for v in grid[axis]]
    rows = []
    for i, p in enumerate(points):
        for seed in range(seeds):
            run = f"p{i:03d}-s{seed}"
            length = p.get("task.seq_len", 5)
            acc = max(0.05, 1 - length / 40 + (0.05 if p.get("model.cell") == "gru" else 0)
                      + 0.01 * seed + 0.001 * p.get("model.hidden", 0))
            rows.append({"point": i, "run": run, **p, "seed": seed, "status": "completed",
                         "best_accuracy": round(acc, 4), "final_accuracy": round(acc - .01, 4),
                         "steps": 10, "seconds": 0.1, "params": 100, "message": "",
                         "key": run})
            if with_runs:
                (folder / run).mkdir()
                (folder / run / "metrics.jsonl").write_text("".join(
                    json.dumps({"step": e * 5, "epoch": e, "split": "val", "loss": 1.0,
                                "accuracy": acc * e / 3}) + "\n" for e in range(1, 4)))
    with open(folder / "results.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()})
    return folder
