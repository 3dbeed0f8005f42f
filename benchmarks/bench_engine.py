"""Engine overhead: lstm-lab's fully instrumented engine vs a plain PyTorch loop.

Both train the same config (same task tensors, same model, same optimizer) in this
process, interleaved and repeated so that a noisy shared machine hits both alike; the
script prints the median steps/s of each and their ratio (target: engine >= 0.95x).

    python benchmarks/bench_engine.py            # nth_element and char_lm, 5 rounds
    python benchmarks/bench_engine.py --quick    # a short smoke run
    python benchmarks/bench_engine.py --device cuda --grid   # on a GPU, plus hidden x batch
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from lstm_tui.config import parse_config
from lstm_tui.events import RunStarted, StepMetrics
from lstm_tui.experiment import start_run
from lstm_tui.models.network import detach_state
from lstm_tui.training.engine import build, train

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _device import add_device_option, clock, describe, resolve  # noqa: E402

CONFIGS = {
    "nth_element lstm h32 T20": {
        "task": {"kind": "nth_element", "seq_len": 20, "features": 10, "n": 3,
                 "train_size": 100_000, "val_size": 1000},
        "model": {"cell": "lstm", "hidden": 32},
        "train": {"optimizer": "adam", "lr": 0.01, "batch_size": 32, "grad_clip": 1.0},
    },
    "nth_element, no clipping": {
        "task": {"kind": "nth_element", "seq_len": 20, "features": 10, "n": 3,
                 "train_size": 100_000, "val_size": 1000},
        "model": {"cell": "lstm", "hidden": 32},
        "train": {"optimizer": "adam", "lr": 0.01, "batch_size": 32},
    },
    "char_lm lstm h64 T10 (udacity)": {
        "task": {"kind": "char_lm", "seq_len": 10, "sample_length": 0},
        "model": {"cell": "lstm", "hidden": 64},
        "train": {"optimizer": "sgd", "lr": 10.0, "batch_size": 64, "grad_clip": 1.25},
    },
}


def grid_configs() -> dict:
    """nth_element LSTMs over hidden x batch (the GPU sizes of issue 14)."""
    return {f"nth_element lstm h{h} b{b}": {
        "task": {"kind": "nth_element", "seq_len": 20, "features": 10, "n": 3,
                 "train_size": 100_000, "val_size": 1000},
        "model": {"cell": "lstm", "hidden": h},
        "train": {"optimizer": "adam", "lr": 0.01, "batch_size": b, "grad_clip": 1.0}}
        for h in (64, 256, 1024) for b in (32, 256)}


def plain_loop(cfg, steps: int) -> float:
    """The loop a researcher would write by hand: no metrics, no events, no files.

    It clips with `torch.nn.utils.clip_grad_norm_`, the usual call; the engine's own
    clipping (one `_foreach_norm` over all gradients) is a little cheaper, which is why the
    ratio can exceed 1 on clipped configs. The unclipped config isolates the engine's
    bookkeeping cost.
    """
    exp = build(cfg)
    task, model, opt = exp.task, exp.model, exp.optimizer
    gen = torch.Generator().manual_seed(cfg.train.seed)
    model.train()
    done, state = 0, None
    device = str(exp.device)
    start = clock(device)
    while done < steps:
        for x, y in task.train_batches(cfg.train.batch_size, gen):
            opt.zero_grad(set_to_none=True)
            out, new_state = model(x, state)
            loss = task.loss(out, y)
            loss.backward()
            if cfg.train.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
            opt.step()
            if task.stateful:
                state = detach_state(new_state)
            done += 1
            if done == steps:
                break
    return steps / (clock(device) - start)


def engine_run(cfg, steps: int, record: bool) -> float:
    """lstm-lab's engine with every metric on; with `record`, into a real run folder.

    Timed like the plain loop: from the first step (RunStarted, after the task and model
    are built) to the last step's metrics record, so the final validation is not counted.
    """
    marks = {}

    def emit(event):
        if isinstance(event, RunStarted):
            marks["start"] = clock(event.device)
        elif isinstance(event, StepMetrics) and event.step == steps:
            marks["end"] = clock(device)   # the record synced already; this is cheap
    device = resolve(cfg.train.device)
    if record:
        with tempfile.TemporaryDirectory() as root:
            start_run(cfg, Path(root), [emit])
    else:
        train(cfg, emit)
    return steps / (marks["end"] - marks["start"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest "
                        "for small models here)")
    add_device_option(parser)
    parser.add_argument("--configs", default="",
                        help="comma-separated subset of the configs (by the start of their label)")
    parser.add_argument("--grid", action="store_true",
                        help="also nth_element LSTM over hidden {64, 256, 1024} x batch {32, 256}")
    args = parser.parse_args()
    rounds, steps = (2, 100) if args.quick else (args.rounds, args.steps)
    torch.set_num_threads(args.threads)
    device = resolve(args.device)
    print(f"torch {torch.__version__}, device {describe(device)}, threads {torch.get_num_threads()}, "
          f"python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}")
    print(f"{steps} steps per measurement, {rounds} interleaved rounds, median steps/s\n")
    print(f"{'config':34} {'plain':>9} {'engine':>9} {'ratio':>7} {'engine+store':>13} {'ratio':>7}")
    configs = {k: v for k, v in CONFIGS.items()
               if not args.configs or any(k.startswith(c.strip()) for c in args.configs.split(","))}
    if args.grid:
        configs.update(grid_configs())
    for label, data in configs.items():
        # one validation at the end: the plain loop has none, the engine keeps its overhead
        data = {**data, "train": {**data["train"], "steps": steps, "eval_every": steps,
                                  "log_every": 10, "device": device}}
        cfg = parse_config(data)
        plain_loop(cfg, 20)  # warm-up: allocator, oneDNN kernels
        plain, engine, stored = [], [], []
        for _ in range(rounds):
            plain.append(plain_loop(cfg, steps))
            engine.append(engine_run(cfg, steps, record=False))
            stored.append(engine_run(cfg, steps, record=True))
        p, e, s = (statistics.median(v) for v in (plain, engine, stored))
        print(f"{label:34} {p:9.0f} {e:9.0f} {e / p:7.3f} {s:13.0f} {s / p:7.3f}")
    print("\nengine: every step's loss/metric accumulated, per-parameter gradient norms and "
          "clipping, a StepMetrics event every 10 steps;\nengine+store: the same, recorded "
          "into a run folder (metrics.jsonl flushed per record).")


if __name__ == "__main__":
    main()
