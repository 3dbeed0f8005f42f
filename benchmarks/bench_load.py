"""A preset trained next to a CPU-busy neighbour, against the same run on a quiet machine.

Issue 12: with one busy process on a 2-core box, torch's default thread count made
`nth_element_lstm` take over 120 s instead of 2.8 s.  This trains a preset (through the
same path as `lstm-lab headless`: engine + run store, the thread rule included) with and
without a neighbour process that spins on one CPU, interleaved round by round, and
prints the slowdown.  Target: under 2.5x.  `--threads N` sets train.threads instead of the
rule, e.g. `--threads 2` to see what torch's default did on a 2-core machine.

    python benchmarks/bench_load.py [PRESET] [--rounds 3] [--steps 600] [--threads N]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from lstm_tui.config import load_preset
from lstm_tui.experiment import start_run
from lstm_tui.presets import resolve_preset
from lstm_tui.training.threads import cpu_count


def spin(stop) -> None:
    """The busy neighbour: pure Python arithmetic on one core until told to stop."""
    x = 0
    while not stop.is_set():
        for i in range(100_000):
            x = (x + i * i) % 1_000_003


def train_once(preset: str, steps: int, threads: int, root: Path) -> tuple[float, int, str]:
    sets = [f"train.steps={steps}", f"train.threads={threads}", "train.device=\"cpu\""]
    cfg = load_preset(resolve_preset(preset), sets)
    start = time.perf_counter()
    _, last = start_run(cfg, root)
    return time.perf_counter() - start, torch.get_num_threads(), getattr(last, "status", "?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", nargs="?", default="nth_element_lstm")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--threads", type=int, default=0,
                        help="train.threads (0: the lab's rule)")
    parser.add_argument("--neighbours", type=int, default=1)
    args = parser.parse_args()
    print(f"bench_load  {time.strftime('%Y-%m-%d %H:%M')}  torch {torch.__version__}  "
          f"python {platform.python_version()}  {platform.machine()}  cpus {cpu_count()}  "
          f"device cpu")
    print(f"{args.preset}, {args.steps} steps, train.threads={args.threads} "
          f"({'the rule' if not args.threads else 'fixed'}), {args.neighbours} busy "
          f"neighbour process(es); {args.rounds} interleaved rounds\n")
    ctx = mp.get_context("spawn")
    quiet, loaded = [], []
    with tempfile.TemporaryDirectory() as tmp:
        train_once(args.preset, 20, args.threads, Path(tmp))   # warm-up: imports, data cache
        for r in range(args.rounds):
            q, n, status = train_once(args.preset, args.steps, args.threads, Path(tmp))
            stop = ctx.Event()
            busy = [ctx.Process(target=spin, args=(stop,), daemon=True)
                    for _ in range(args.neighbours)]
            for p in busy:
                p.start()
            time.sleep(0.5)   # let the neighbour get going
            try:
                b, _, status_b = train_once(args.preset, args.steps, args.threads, Path(tmp))
            finally:
                stop.set()
                for p in busy:
                    p.join(5)
            quiet.append(q)
            loaded.append(b)
            print(f"  round {r + 1}: quiet {q:6.2f} s   busy neighbour {b:6.2f} s   "
                  f"slowdown {b / q:5.2f}x   (torch threads {n}; {status}/{status_b})",
                  flush=True)
    q, b = statistics.median(quiet), statistics.median(loaded)
    verdict = "met" if b / q < 2.5 else "NOT met"
    print(f"\nmedian: quiet {q:.2f} s, with a busy neighbour {b:.2f} s: slowdown {b / q:.2f}x "
          f"(target < 2.5x: {verdict})")


if __name__ == "__main__":
    main()
