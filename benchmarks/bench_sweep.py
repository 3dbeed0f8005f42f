"""Sweep backends end to end: the same grid through `run_points` with each backend.

    python benchmarks/bench_sweep.py             # ~1-2 minutes on 2 CPU cores
    python benchmarks/bench_sweep.py --quick     # a smoke run of a few seconds
    python benchmarks/bench_sweep.py --workers 4 --steps 400
    python benchmarks/bench_sweep.py --points 32 --steps 600 --backends sequential,ensemble --repeats 3

Unlike bench_ensemble.py (the batched trainer alone), this times whole sweeps as a user
runs them: run folders, RunWriters, checkpoints, results.csv, and for `processes` the
spawn pool's start-up (each worker imports torch once).  Printed: wall seconds per
backend, the speed-up over sequential, and the largest difference of any point's final
validation loss from its sequential twin (processes: identical; ensemble: float noise).
With --repeats N the backends run interleaved N times (A, B, A, B, ...) and the medians
are printed, with each repeat's seconds and the load average before and after.  The CPU
seconds of this process are printed too: on a loaded machine they move less than the
wall clock (the processes backend's work is in its workers, not counted there).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
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
    parser.add_argument("--points", type=int, default=16, choices=(16, 32),
                        help="grid size: 8 learning rates x 2 or 4 seeds (default 16)")
    parser.add_argument("--backends", default="sequential,processes,ensemble,ensemble x2",
                        help="comma-separated, of: sequential, processes, ensemble, "
                             "ensemble x2 (x2 = --workers)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="interleaved rounds of all backends; medians are printed")
    add_device_option(parser)
    args = parser.parse_args()
    steps, lrs, seeds = (20, 4, 1) if args.quick else (args.steps, 8, args.points // 8)
    device = resolve(args.device)
    cfg, spec = make_spec(steps, lrs, seeds, args.device)
    import torch
    print(f"{len(spec.points())} points (nth-element LSTM 16, seq_len 20, {steps} steps) on "
          f"{describe(device)}; "
          f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"{torch.get_num_threads()} torch threads in-process")
    chosen = [b.strip() for b in args.backends.split(",")]
    if "sequential" not in chosen:
        chosen.insert(0, "sequential")        # the yardstick of every ratio
    backends = [(b.split(" x")[0], args.workers if " x" in b else 1) for b in chosen]
    labels = [name if workers == 1 else f"{name} x{workers}" for name, workers in backends]
    times: dict[str, list[float]] = {label: [] for label in labels}
    cpu: dict[str, list[float]] = {label: [] for label in labels}
    losses = {}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        warm_cfg, warm = make_spec(5, 1, 1, args.device)       # first-call costs (imports) out of the timing
        run_points("warm", warm_cfg, warm, Path(tmp) / "warm")
        warm_cfg, warm = make_spec(5, 2, 1, args.device)
        run_points("warm", warm_cfg, warm, Path(tmp) / "warm-ensemble", backend="ensemble")
        for r in range(args.repeats):
            for (name, workers), label in zip(backends, labels):
                start, cpu_start = clock(device), time.process_time()
                result = run_points("bench", cfg, spec,
                                    Path(tmp) / f"{label.replace(' ', '')}-{r}",
                                    backend=name, workers=workers)
                times[label].append(clock(device) - start)
                cpu[label].append(time.process_time() - cpu_start)
                assert result.complete, f"{label}: {result.done}/{result.total} points"
                losses[label] = final_losses(result)
            if args.repeats > 1:
                print(f"  round {r + 1}/{args.repeats}: " + "   ".join(
                    f"{label} {times[label][-1]:.1f} s (cpu {cpu[label][-1]:.1f} s)"
                    for label in labels), flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    base = statistics.median(times["sequential"])
    cpu_base = statistics.median(cpu["sequential"])
    print(f"{'backend':<16}{'seconds':>9}{'speed-up':>10}{'cpu s':>8}{'speed-up':>10}"
          f"{'max |Δ val loss|':>19}{'median':>10}")
    for label in labels:
        seconds, cpu_seconds = statistics.median(times[label]), statistics.median(cpu[label])
        ratios = ", ".join(f"{s / t:.2f}" for s, t in zip(times["sequential"], times[label]))
        diffs = [abs(losses[label][k] - losses["sequential"][k]) for k in losses[label]]
        print(f"{label:<16}{seconds:>9.1f}{base / seconds:>9.2f}x{cpu_seconds:>8.1f}"
              f"{cpu_base / cpu_seconds:>9.2f}x{max(diffs):>19.2e}"
              f"{statistics.median(diffs):>10.1e}"
              + (f"   (rounds: {ratios})" if args.repeats > 1 else ""))


if __name__ == "__main__":
    main()
