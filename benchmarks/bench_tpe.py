"""TPE against random search: the same space, the same budget, several sampler seeds.

    python benchmarks/bench_tpe.py              # about 10 minutes on 2 loaded CPU cores
    python benchmarks/bench_tpe.py --quick      # a smoke run of about a minute

Task: nth-element (seq_len 20, 10 features, element 15), LSTM, adam, `--steps` steps per
trial (batch 32, a validation every 50 steps on 500 sequences).  Space: ``train.lr``
log-uniform in [1e-4, 0.3] and ``model.hidden`` in {4, 8, 16, 32, 64}.  Each repeat r
runs both searches with ``train.seed = r`` (the sampler seed of both, and the training
seed of every trial), `--trials` trials each, through `run_sweep` like any sweep
(sequential backend, no scheduler).  Printed: the best validation accuracy reached after
10, 20 and 30 trials for each repeat, then mean ± sd over the repeats, and tpe − random.
"""

from __future__ import annotations

import argparse
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
from lstm_tui.sweeps.drive import run_sweep  # noqa: E402
from lstm_tui.sweeps.objectives import best_so_far  # noqa: E402
from lstm_tui.sweeps.spec import parse_sweep  # noqa: E402

SPACE = {"train.lr": {"low": 1e-4, "high": 0.3, "log": True},
         "model.hidden": [4, 8, 16, 32, 64]}
SEARCHES = ("random", "tpe")


def make_spec(search: str, seed: int, trials: int, steps: int):
    cfg = parse_config({
        "name": f"bench-{search}-{seed}",
        "task": {"kind": "nth_element", "seq_len": 20, "features": 10, "n": 15,
                 "train_size": 1000, "val_size": 500},
        "model": {"cell": "lstm", "hidden": 16},
        "train": {"optimizer": "adam", "steps": steps, "batch_size": 32, "eval_every": 50,
                  "log_every": 50, "threads": 1, "seed": seed},
        "sweep": {"search": search, "trials": trials, "space": SPACE},
    }, "bench")
    return cfg, parse_sweep(cfg, "bench")


def fmt(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats of 10 trials")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    trials, repeats, steps = (10, 2, 100) if args.quick else (args.trials, args.repeats,
                                                              args.steps)
    marks = [m for m in (10, 20, 30) if m <= trials] or [trials]
    import torch
    print(f"{trials} trials x {repeats} repeats per search; nth-element seq_len 20 n 15, LSTM "
          f"hidden 4-64, lr 1e-4-0.3 (log), {steps} steps per trial; torch "
          f"{torch.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, 1 torch thread")
    best: dict[str, dict[int, list[float]]] = {s: {m: [] for m in marks} for s in SEARCHES}
    start_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(repeats):
            for search in SEARCHES:
                cfg, spec = make_spec(search, seed, trials, steps)
                start = time.perf_counter()
                result = run_sweep("bench", cfg, spec, Path(tmp) / search)
                seconds = time.perf_counter() - start
                assert result.complete, f"{search} seed {seed}"
                curve = best_so_far(result.rows, "accuracy", "max")
                for m in marks:
                    best[search][m].append(curve[m - 1] or 0.0)
                shown = "  ".join(f"after {m:2d}: {curve[m - 1] or 0.0:.3f}" for m in marks)
                print(f"  seed {seed}  {search:<6} {shown}   ({seconds:5.1f} s)", flush=True)
    print(f"\nbest validation accuracy reached (mean ± sd over {repeats} repeats; "
          f"{time.perf_counter() - start_all:.0f} s in all)")
    for m in marks:
        diffs = [t - r for t, r in zip(best["tpe"][m], best["random"][m])]
        wins = sum(d > 0 for d in diffs)
        ties = sum(d == 0 for d in diffs)
        print(f"  after {m:2d} trials  random {fmt(best['random'][m])}   tpe "
              f"{fmt(best['tpe'][m])}   tpe - random {statistics.mean(diffs):+.3f}  "
              f"(tpe ahead in {wins}/{repeats}, tied {ties})")


if __name__ == "__main__":
    main()
