"""Early stopping of sweep points: ASHA against the full grid, through `run_points`.

    python benchmarks/bench_asha.py              # a few minutes on 2 CPU cores
    python benchmarks/bench_asha.py --quick      # a smoke run of well under a minute

The grid is bench_ensemble.py's: nth-element (seq_len 20, 10 features, element 17),
LSTM 16, adam, 8 learning rates x 4 seeds = 32 points, each `--steps` steps with a
validation every `--eval-every`.  Each backend (sequential, ensemble) runs the grid twice
in this process: `scheduler = "none"` and `scheduler = "asha"` (grace 1, reduction 3).
Printed: the share of the full grid's optimizer steps ASHA spent (the sum of results.csv's
steps column; target <= 40%), each sweep's best validation accuracy (target: ASHA within
0.01 of the full grid) and the wall-time ratio asha / full per backend.  The verdicts
depend on metrics only, so both backends prune the same points (checked here too).

Then a replay, no training: validation changes nothing in training, so a point stopped
at step s has the prefix of its full-grid curve, and the Pruner run over the sequential
full grid's recorded validations gives exactly what a sweep with those settings would
(the asha line above is one such replay made real).  It prints the share of steps and
the best accuracy for other validation intervals and reductions, in the pruning order
the sweep uses (by point key), in the grid's own order (learning rates ascending, seed
after seed), and over `--orders` random orders (how often both targets are met): how
much of the result is the settings and how much the order in which points arrive.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lstm_tui.config import parse_config  # noqa: E402
from lstm_tui.sweeps.runner import run_points  # noqa: E402
from lstm_tui.sweeps.scheduler import LocalLink, PointEval, Pruner, pruning_order  # noqa: E402
from lstm_tui.sweeps.spec import parse_sweep  # noqa: E402

LRS = [0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.03, 0.05]     # bench_ensemble.py's grid
SEEDS = 4


def make_spec(steps: int, eval_every: int, scheduler: str, quick: bool):
    cfg = parse_config({
        "name": f"asha-{scheduler}",
        "task": {"kind": "nth_element", "seq_len": 20, "features": 10, "n": 17,
                 "train_size": 1000 if quick else 5000, "val_size": 1000},
        "model": {"cell": "lstm", "hidden": 16},
        "train": {"optimizer": "adam", "steps": steps, "batch_size": 32,
                  "eval_every": eval_every, "log_every": 10, "threads": 1},
        "sweep": {"grid": {"train.lr": LRS}, "seeds": SEEDS, "scheduler": scheduler,
                  "grace": 1, "reduction": 3},
    }, "bench")
    return cfg, parse_sweep(cfg, "bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps, smaller data")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--orders", type=int, default=200,
                        help="random orders replayed (0: no replay)")
    parser.add_argument("--replay-every", type=int, default=10,
                        help="validation interval of the full grid the replay reads")
    args = parser.parse_args()
    steps, every = (120, 20) if args.quick else (args.steps, args.eval_every)
    import torch
    print(f"32 points (8 lrs x 4 seeds; nth-element seq_len 20, LSTM 16, adam), {steps} steps, "
          f"validation every {every}; torch {torch.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs, 1 torch thread")
    out: dict[tuple[str, str], tuple[float, int, float, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        warm_cfg, warm = make_spec(5, 5, "none", True)
        run_points("warm", warm_cfg, warm, Path(tmp) / "warm")      # imports out of the timing
        for backend in ("sequential", "ensemble"):
            for scheduler in ("none", "asha"):
                cfg, spec = make_spec(steps, every, scheduler, args.quick)
                start = time.perf_counter()
                result = run_points("bench", cfg, spec, Path(tmp) / f"{backend}-{scheduler}",
                                    backend=backend)
                seconds = time.perf_counter() - start
                assert result.complete and not result.failed, f"{backend} {scheduler}"
                spent = sum(r["steps"] for r in result.rows)
                best = max(r["best_accuracy"] for r in result.rows
                           if r["best_accuracy"] is not None)
                statuses = {r["key"]: r["status"] for r in result.rows}
                out[(backend, scheduler)] = (seconds, spent, best, statuses)
                pruned = sum(s == "pruned" for s in statuses.values())
                print(f"  {backend:<11}{scheduler:<6}{seconds:8.1f} s  steps {spent:6d}  "
                      f"best acc {best:.4f}  pruned {pruned:2d}/32", flush=True)
    print()
    for backend in ("sequential", "ensemble"):
        full, asha = out[(backend, "none")], out[(backend, "asha")]
        print(f"{backend:<11} steps asha/full {asha[1] / full[1]:6.1%} (target <= 40%)   "
              f"best acc asha {asha[2]:.4f} vs full {full[2]:.4f} (diff "
              f"{full[2] - asha[2]:+.4f}; target <= 0.01)   wall asha/full "
              f"{asha[0] / full[0]:.2f}")
    same = out[("sequential", "asha")][3] == out[("ensemble", "asha")][3]
    print(f"same points pruned on sequential and ensemble: {same}")
    if args.orders:
        print()
        with tempfile.TemporaryDirectory() as tmp:   # the full grid, validated more often
            cfg, spec = make_spec(steps, args.replay_every, "none", args.quick)
            result = run_points("bench", cfg, spec, Path(tmp) / "replay")
            order = pruning_order([(p.key, p.config) for p in spec.points()])
            curves = read_curves(result)
            if every % args.replay_every == 0:     # the replay made real: the same steps
                spent, _ = replay(curves, order, every, steps)
                print(f"replay of the measured setting: {spent} steps; the asha sweep spent "
                      f"{out[('sequential', 'asha')][1]}")
            replay_table(curves, order, args.replay_every, steps, args.orders)


# ---------------------------------------------------------------- the replay

def read_curves(result) -> dict[str, list[tuple[int, float]]]:
    """Each point's validations (step, accuracy), by point key, from its run folder."""
    curves = {}
    for row in result.rows:
        lines = (result.sweep_dir / row["run"] / "metrics.jsonl").read_text().splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
        curves[row["key"]] = [(r["step"], r["accuracy"]) for r in records
                              if r.get("split") == "val"]
    return curves


def replay(curves, order, every, steps, reduction=3, grace=1, rule="asha"):
    """(steps spent, best accuracy) of the sweep that validates every `every` steps,
    its points arriving in `order` (every backend trains them in the pruning order)."""
    link = LocalLink(Pruner(rule, grace, reduction, "max", "accuracy", list(order)))
    spent, best = 0, 0.0
    for key in order:
        stopped = steps
        for n, (step, acc) in enumerate([(s, a) for s, a in curves[key]
                                         if s % every == 0 or s == steps], 1):
            best = max(best, acc)
            if link.ask(PointEval(key, n, acc, step)) and step < steps:
                stopped = step
                break
        link.ended(key)
        spent += stopped
    return spent, best


def replay_table(curves, order, every, steps, orders: int) -> None:
    full = steps * len(curves)
    grid = list(curves)                                 # the grid's own order
    print(f"replay of the sequential full grid's validations (asha unless said; target: "
          f"steps <= 40% and best within 0.01), {orders} random orders:")
    print(f"  {'setting':<30}{'key order':>18}{'grid order':>18}   random orders: "
          f"median steps, both targets met")
    for each in sorted({every, *(e for e in (20, 25, 50, 100) if e % every == 0)}):
        shown = [(s, a) for c in curves.values() for s, a in c if s % each == 0 or s == steps]
        if not shown:
            continue
        top = max(a for _, a in shown)
        for reduction in (2, 3, 4):
            cells = []
            for o in (order, grid):
                spent, best = replay(curves, o, each, steps, reduction)
                cells.append(f"{spent / full:6.1%} {best - top:+.3f}")
            runs = []
            for seed in range(orders):
                shuffled = grid[:]
                random.Random(seed).shuffle(shuffled)
                runs.append(replay(curves, shuffled, each, steps, reduction))
            met = sum(sp <= 0.4 * full and top - b <= 0.01 for sp, b in runs)
            median = sorted(sp for sp, _ in runs)[len(runs) // 2] / full if runs else 0.0
            print(f"  {'every ' + str(each) + ', reduction ' + str(reduction):<30}"
                  f"{cells[0]:>18}{cells[1]:>18}   {median:6.1%}, {met}/{orders}")


if __name__ == "__main__":
    main()
