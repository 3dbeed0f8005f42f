"""Sweep backends end to end: the same grid through `run_points` with each backend.

    python benchmarks/bench_sweep.py             # ~1-2 minutes on 2 CPU cores
    python benchmarks/bench_sweep.py --quick     # a smoke run of a few seconds
    python benchmarks/bench_sweep.py --workers 4 --steps 400

Unlike bench_ensemble.py (the batched trainer alone), this times whole sweeps as a user
runs them: run folders, RunWriters, checkpoints, results.csv, and for `processes` the
spawn pool's start-up (each worker imports torch once).  Printed: wall seconds per
backend, the speed-up over sequential, and the largest difference of any point's final
validation loss from its sequential twin (processes: identical; ensemble: float noise).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lstm_tui.config import parse_config  # noqa: E402
from lstm_tui.sweeps.runner import run_points  # noqa: E402
from lstm_tui.sweeps.spec import parse_sweep  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _device import add_device_option, clock, describe, resolve  # noqa: E402


def make_spec(steps: int, lrs: int, seeds: int, device: str = "cpu"):
    cfg = parse_config({
        "name": "bench",
        "task": {"kind": "nth_element", "seq_len": 20, "features": 10, "n": 2,
                 "train_size": 2000, "val_size": 500},
        "model": {"cell": "lstm", "hidden": 16},
        "train": {"optimizer": "adam", "steps": steps, "batch_size": 32, "eval_every": steps,
                  "log_every": 10, "device": device},
        "sweep": {"grid": {"train.lr": [0.001 * 2 ** i for i in range(lrs)]}, "seeds": seeds},
    }, "bench")
    return cfg, parse_sweep(cfg, "bench")


def final_losses(result) -> dict[str, float]:
    with open(result.sweep_dir / "results.csv", newline="") as fh:
        return {r["key"]: float(r["val_loss"]) for r in csv.DictReader(fh)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny grid, few steps")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200)
    add_device_option(parser)
    args = parser.parse_args()
    steps, lrs, seeds = (20, 4, 1) if args.quick else (args.steps, 8, 2)
    device = resolve(args.device)
    cfg, spec = make_spec(steps, lrs, seeds, args.device)
    import torch
    print(f"{len(spec.points())} points (nth-element LSTM 16, seq_len 20, {steps} steps) on "
          f"{describe(device)}; "
          f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"{torch.get_num_threads()} torch threads in-process")
    backends = [("sequential", 1), ("processes", args.workers), ("ensemble", 1),
                ("ensemble", args.workers)]
    times, losses = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        warm_cfg, warm = make_spec(5, 1, 1, args.device)       # first-call costs (imports) out of the timing
        run_points("warm", warm_cfg, warm, Path(tmp) / "warm")
        for name, workers in backends:
            label = name if workers == 1 else f"{name} x{workers}"
            start = clock(device)
            result = run_points("bench", cfg, spec, Path(tmp) / label.replace(" ", ""),
                                backend=name, workers=workers)
            times[label] = clock(device) - start
            assert result.complete, f"{label}: {result.done}/{result.total} points"
            losses[label] = final_losses(result)
    base = times["sequential"]
    print(f"{'backend':<16}{'seconds':>9}{'speed-up':>10}{'max |Δ val loss|':>19}")
    for label, seconds in times.items():
        diff = max(abs(losses[label][k] - losses["sequential"][k]) for k in losses[label])
        print(f"{label:<16}{seconds:>9.1f}{base / seconds:>9.2f}x{diff:>19.2e}")


if __name__ == "__main__":
    main()
