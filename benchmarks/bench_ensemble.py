"""Ensemble vs sequential: a 32-point grid of nth-element LSTMs trained both ways.

    python benchmarks/bench_ensemble.py            # ~1.5-2.5 minutes on 2 CPU cores
    python benchmarks/bench_ensemble.py --quick    # a smoke run of ~10 seconds
    python benchmarks/bench_ensemble.py --device cuda --members 32,128,512,2048

The grid is the sweep backends' target case: hidden 16, seq_len 20, 8 learning rates x
4 seeds, the same number of steps each (recall the element 3 before the end: learnable
within the budget, so the final accuracies differ enough to compare).  Both ways run in
this process, interleaved and repeated (a shared machine is noisy: the figures are
medians), with the same torch thread count (1 by default: see --threads).  Printed:
member-steps per second each way, their ratio (target >= 2.5x on the CPU), and each
member's final validation accuracy next to its sequential twin's (same data and init,
so they agree up to float noise that training may amplify; the spread over seeds at the
same lr is printed as the yardstick).  With CUDA present the GPU is measured too.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402

from lstm_tui import events as ev  # noqa: E402
from lstm_tui.config import parse_config  # noqa: E402
from lstm_tui.training.ensemble import group_key, train_ensemble  # noqa: E402
from lstm_tui.training.ensemble.engine import _Ensemble  # noqa: E402
from lstm_tui.training import engine  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _device import add_device_option, clock, describe, resolve, sync  # noqa: E402

LRS = (0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.03, 0.05)
SEEDS = (0, 1, 2, 3)


def grid(steps: int, device: str) -> list:
    return [parse_config({
        "name": f"lr{lr:g}-s{seed}",
        "task": {"kind": "nth_element", "seq_len": 20, "features": 10, "n": 17,
                 "train_size": 5000, "val_size": 1000},
        "model": {"cell": "lstm", "hidden": 16},
        "train": {"optimizer": "adam", "lr": lr, "seed": seed, "steps": steps,
                  "batch_size": 32, "log_every": 10, "device": device}})
        for lr in LRS for seed in SEEDS]


def run_sequential(configs) -> tuple[float, list]:
    device = resolve(configs[0].train.device)
    start = clock(device)
    results = [engine.train(cfg, lambda e: None) for cfg in configs]
    return clock(device) - start, results


def run_ensemble(configs) -> tuple[float, list]:
    device = resolve(configs[0].train.device)
    start = clock(device)
    if len(configs) == 1:     # train_ensemble hands a lone config to the engine
        results = _Ensemble(configs, [lambda e: None], [None], [""]).run(lambda: False)
    else:
        results = train_ensemble(configs, [lambda e: None] * len(configs), lambda: False,
                                 [None] * len(configs))
    return clock(device) - start, results


def members_scaling(device: str, sizes: list[int], steps: int) -> None:
    """Seconds per step and member-steps/s as the group grows (lr 0.01, seeds 0..M-1)."""
    def configs(m: int) -> list:
        return [parse_config({
            "name": f"s{seed}",
            "task": {"kind": "nth_element", "seq_len": 20, "features": 10, "n": 17,
                     "train_size": 5000, "val_size": 1000},
            "model": {"cell": "lstm", "hidden": 16},
            "train": {"optimizer": "adam", "lr": 0.01, "seed": seed, "steps": steps,
                      "eval_every": steps, "batch_size": 32, "log_every": 10,
                      "device": device}}) for seed in range(m)]
    run_ensemble(configs(2))   # warm-up
    print(f"  members  seconds/step  member-steps/s  ({steps} steps, one validation at the end)")
    for m in [1, *sizes]:
        seconds, results = run_ensemble(configs(m))
        assert all(r.status == "completed" for r in results), results[:1]
        print(f"  {m:7d}  {seconds / steps:12.5f}  {m * steps / seconds:14.0f}", flush=True)


def bench(device: str, steps: int, repeats: int) -> float:
    configs = grid(steps, device)
    assert len({group_key(c) for c in configs}) == 1, "the grid must be one ensemble group"
    total = steps * len(configs)
    # warm-up: imports, allocator, first-call costs of both paths
    warm = grid(5, device)
    run_ensemble(warm)
    run_sequential(warm[:2])
    sync(device)
    seq_times, ens_times = [], []
    for r in range(repeats):
        t_ens, ens = run_ensemble(configs)
        sync(device)
        t_seq, seq = run_sequential(configs)
        sync(device)
        ens_times.append(t_ens)
        seq_times.append(t_seq)
        print(f"  repeat {r + 1}/{repeats}: ensemble {t_ens:6.2f} s   sequential {t_seq:6.2f} s"
              f"   ratio {t_seq / t_ens:4.2f}x", flush=True)
    t_ens, t_seq = statistics.median(ens_times), statistics.median(seq_times)
    ratio = t_seq / t_ens
    print(f"  median: ensemble {total / t_ens:8.0f} member-steps/s ({t_ens:.2f} s)   "
          f"sequential {total / t_seq:8.0f} member-steps/s ({t_seq:.2f} s)")
    print(f"  ensemble is {ratio:.2f}x faster than sequential "
          f"(ratios of the repeats: {', '.join(f'{s / e:.2f}' for s, e in zip(seq_times, ens_times))})")
    compare_finals(configs, seq, ens)
    return ratio


def compare_finals(configs, seq, ens) -> None:
    print("  final val accuracy, sequential vs ensemble (same data and init):")
    diffs = []
    for i, lr in enumerate(LRS):
        row = []
        for j, _ in enumerate(SEEDS):
            k = i * len(SEEDS) + j
            a, b = seq[k], ens[k]
            if not (isinstance(a, ev.Finished) and isinstance(b, ev.Finished)):
                row.append(f"{type(a).__name__}/{type(b).__name__}")
                continue
            diffs.append(abs(a.final - b.final))
            row.append(f"{a.final:.3f}/{b.final:.3f}")
        finals = [seq[i * len(SEEDS) + j].final for j in range(len(SEEDS))
                  if isinstance(seq[i * len(SEEDS) + j], ev.Finished)]
        spread = statistics.pstdev(finals) if len(finals) > 1 else 0.0
        print(f"    lr {lr:<6g} " + "  ".join(row) + f"   seed spread {spread:.3f}")
    if diffs:
        print(f"  |ensemble - sequential| final accuracy: max {max(diffs):.4f}, "
              f"mean {statistics.fmean(diffs):.4f} over {len(diffs)} members")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--steps", type=int, default=None, help="steps per run (default 300)")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 3)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for both ways (default 1, as the sweep's worker "
                             "processes use; 0 = torch's default, which on a busy machine "
                             "suffers from OpenMP oversubscription)")
    add_device_option(parser, default="auto")
    parser.add_argument("--members", default="",
                        help="also time groups of these sizes, e.g. 32,128,512,2048")
    args = parser.parse_args()
    steps = args.steps or (30 if args.quick else 300)
    repeats = args.repeats or (1 if args.quick else 3)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [resolve(args.device)] if args.device != "auto" else (
        ["cpu", resolve("cuda")] if torch.cuda.is_available() else ["cpu"])
    print(f"bench_ensemble  {datetime.datetime.now():%Y-%m-%d %H:%M}  torch {torch.__version__}  "
          f"python {platform.python_version()}  {platform.machine()}")
    print(f"  32 points (8 lr x 4 seeds), nth_element seq_len 20 n 17, LSTM hidden 16, batch 32, "
          f"adam, {steps} steps each; {repeats} repeat(s); torch threads "
          f"{torch.get_num_threads()}")
    for device in devices:
        name = describe(device) if device != "cpu" else platform.processor() or "cpu"
        print(f"\n[{device}] {name}")
        bench(device, steps, repeats)
        if args.members:
            members_scaling(device, [int(m) for m in args.members.split(",")], steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
