"""Task overhead of the ray backend: the same 16-point grid with `processes` and `ray`.

    python benchmarks/bench_ray.py               # ~2 minutes on 2 CPU cores
    python benchmarks/bench_ray.py --repeat 1    # one round
    python benchmarks/bench_ray.py --workers 4 --steps 400

Both backends run the same grid of tiny nth-element points through `run_points` with the
same number of workers (run folders, RunWriters, checkpoints and results.csv included).
Each round times, in this order:

  processes   a fresh spawn pool (its start-up, each worker importing torch, is in it)
  ray         a fresh local Ray instance (loopback): `ray.init` is timed apart and left
              out; the sweep's time holds Ray's worker start-up (a new job gets new
              worker processes, as each `lstm-lab sweep` command does)
  ray, warm   the same grid again on that instance (its workers are up): the cost per
              task once a cluster is running

Printed: median wall seconds per point over the rounds, the ray / processes ratio (the
target: ray at most 1.2), and the mean training seconds of one point (from results.csv)
so the overhead can be read off.  Ray start-up is printed on its own line.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import logging
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
from lstm_tui.sweeps.backends import ray as ray_backend  # noqa: E402
from lstm_tui.sweeps.runner import run_points  # noqa: E402
from lstm_tui.sweeps.spec import parse_sweep  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _device import add_device_option, describe, resolve  # noqa: E402


def make_spec(steps: int, device: str = "cpu"):
    """16 points: 4 learning rates × LSTM/GRU × 2 seeds."""
    cfg = parse_config({
        "name": "bench-ray",
        "task": {"kind": "nth_element", "seq_len": 10, "features": 8, "n": 2,
                 "train_size": 512, "val_size": 128},
        "model": {"cell": "lstm", "hidden": 16},
        "train": {"optimizer": "adam", "steps": steps, "batch_size": 32,
                  "eval_every": max(1, steps // 2), "log_every": 10, "threads": 1,
                  "device": device},
        "sweep": {"grid": {"train.lr": [0.001, 0.003, 0.01, 0.03],
                           "model.cell": ["lstm", "gru"]}, "seeds": 2},
    }, "bench-ray")
    return cfg, parse_sweep(cfg, "bench-ray")


def point_seconds(result) -> list[float]:
    with open(result.sweep_dir / "results.csv", newline="") as fh:
        return [float(r["seconds"]) for r in csv.DictReader(fh)]


def timed_sweep(cfg, spec, root: Path, backend: str, workers: int) -> tuple[float, list]:
    # the points train in worker processes, whose results come back only after their
    # last validation has synchronized the device: the driver's clock is honest as is
    start = time.perf_counter()
    result = run_points("bench", cfg, spec, root, backend=backend, workers=workers)
    wall = time.perf_counter() - start
    assert result.complete, f"{backend}: {result.done}/{result.total} points"
    assert {r["status"] for r in result.rows} == {"completed"}
    return wall, point_seconds(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="rounds (median reported)")
    add_device_option(parser)
    args = parser.parse_args()
    cfg, spec = make_spec(args.steps, args.device)
    device = resolve(args.device)
    n = len(spec.points())

    ray_backend.loopback_only()
    import ray
    import torch
    print(f"{datetime.date.today()}  ray {ray.__version__}, torch {torch.__version__}, "
          f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs "
          f"({describe(device)})")
    print(f"{n} points: nth-element LSTM/GRU 16, seq_len 10, {args.steps} steps; "
          f"{args.workers} workers each; {args.repeat} round(s)")

    walls: dict[str, list[float]] = {"processes": [], "ray": [], "ray, warm": []}
    train: dict[str, list[float]] = {k: [] for k in walls}
    starts: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            wall, secs = timed_sweep(cfg, spec, Path(tmp) / f"p{r}", "processes", args.workers)
            walls["processes"].append(wall)
            train["processes"] += secs
            t0 = time.perf_counter()
            ray.init(address="local", num_cpus=args.workers, include_dashboard=False,
                     logging_level=logging.ERROR, log_to_driver=False)
            starts.append(time.perf_counter() - t0)
            try:
                for label, root in (("ray", f"r{r}"), ("ray, warm", f"w{r}")):
                    wall, secs = timed_sweep(cfg, spec, Path(tmp) / root, "ray", args.workers)
                    walls[label].append(wall)
                    train[label] += secs
            finally:
                t0 = time.perf_counter()
                ray.shutdown()
                stop = time.perf_counter() - t0
    base = statistics.median(walls["processes"]) / n
    print(f"{'backend':<12}{'s/point':>9}{'vs processes':>14}{'train s/point':>15}"
          f"{'rounds (s per sweep)':>26}")
    for label, values in walls.items():
        per_point = statistics.median(values) / n
        rounds = " ".join(f"{v:.2f}" for v in values)
        print(f"{label:<12}{per_point:>9.3f}{per_point / base:>13.2f}x"
              f"{statistics.mean(train[label]):>15.3f}   {rounds}")
    print(f"ray start-up (ray.init, left out above): median {statistics.median(starts):.2f} s "
          f"({' '.join(f'{s:.2f}' for s in starts)}); ray.shutdown {stop:.2f} s")


if __name__ == "__main__":
    main()
