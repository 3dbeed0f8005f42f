"""Whole-run throughput: a headless lstm-lab run vs a plain PyTorch loop with the same
validations.

Both train the same config (same task tensors, same model, same optimizer) in this
process, interleaved round by round so that a noisy shared machine hits both alike, and
each is timed as its user sees it, from the config to the end of the run:

- plain: the loop a researcher writes by hand (build, train, clip, and every
  `eval_every` steps a validation over the same validation set with `torch.no_grad()` at
  the training batch size; no metrics, no events, no files);
- lstm-lab: `experiment.start_run` into a fresh run folder, as `lstm-lab train` runs it
  (per-parameter gradient norms, a metrics record every `log_every` steps, the
  per-time-step gradient probe and the task's reports at each validation, summary.json,
  best.pt and last.pt written atomically).

The script prints the median steps/s of each, the median of the per-round ratios and
their range (target, issue 26: lstm-lab >= 1.0x the plain loop).

    python benchmarks/bench_engine.py            # nth_element, char_lm, sunspots; 7 rounds
    python benchmarks/bench_engine.py --quick    # a short smoke run
    python benchmarks/bench_engine.py --bare     # also the engine alone (no run folder)
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

from lstm_tui.config import load_preset, parse_config
from lstm_tui.experiment import start_run
from lstm_tui.models.network import detach_state
from lstm_tui.presets import resolve_preset
from lstm_tui.training.engine import build, train
from lstm_tui.training.optim import torch_class

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _device import add_device_option, clock, describe, resolve  # noqa: E402

NTH = {"kind": "nth_element", "seq_len": 20, "features": 10, "n": 3, "train_size": 100_000,
       "val_size": 1000}
CONFIGS = {
    "nth_element lstm h32 T20": {
        "task": NTH, "model": {"cell": "lstm", "hidden": 32},
        "train": {"optimizer": "adam", "lr": 0.01, "batch_size": 32, "grad_clip": 1.0},
    },
    "nth_element, no clipping": {
        "task": NTH, "model": {"cell": "lstm", "hidden": 32},
        "train": {"optimizer": "adam", "lr": 0.01, "batch_size": 32},
    },
    "char_lm lstm h64 T10 (udacity)": {
        "task": {"kind": "char_lm", "seq_len": 10, "sample_length": 0},
        "model": {"cell": "lstm", "hidden": 64},
        "train": {"optimizer": "sgd", "lr": 10.0, "batch_size": 64, "grad_clip": 1.25},
    },
}
# a shipped preset as a user runs it, less early stopping (the plain loop has none):
# 60 epochs of 12 steps, a validation (and checkpoints) every epoch
PRESETS = {"series_sunspots (preset)": ("series_sunspots", ["train.patience=0"])}


def grid_configs() -> dict:
    """nth_element LSTMs over hidden x batch (the GPU sizes of issue 14)."""
    return {f"nth_element lstm h{h} b{b}": {
        "task": NTH, "model": {"cell": "lstm", "hidden": h},
        "train": {"optimizer": "adam", "lr": 0.01, "batch_size": b, "grad_clip": 1.0}}
        for h in (64, 256, 1024) for b in (32, 256)}


def plain_loop(cfg) -> float:
    """The loop a researcher would write by hand; steps/s of the whole run.

    The task and model are lstm-lab's (the same data and initial weights, PyTorch's own
    fused module for the cell); the optimizer
    is built as such a loop writes it, `torch.optim.Adam(model.parameters(), lr=...)`,
    with torch's defaults (on the CPU the per-tensor update; lstm-lab asks for the
    one-call update, bit for bit the same numbers).  It clips with
    `torch.nn.utils.clip_grad_norm_`, the usual call, and validates every `eval_every`
    steps (every epoch when 0) and after the last step: loss and metric summed on the
    device over the validation set at the training batch size, read once.
    """
    device = str(resolve(cfg.train.device))
    start = clock(device)
    exp = build(cfg)
    task, model, tc = exp.task, exp.model, cfg.train
    if model.fused:       # nn.LSTM itself, as a hand-written loop has it (lstm-lab's C
        model.kernel = ""  # loops replace it where they are faster: models.network)
    settings = {k: v for k, v in exp.optimizer.param_groups[0].items() if k != "params"}
    settings["foreach"] = None            # torch's default (no LBFGS here: it has none)
    opt = torch_class(exp.optimizer)(model.parameters(), **settings)
    total = tc.steps or tc.epochs * task.steps_per_epoch(tc.batch_size)
    eval_every = tc.eval_every or task.steps_per_epoch(tc.batch_size)
    gen = torch.Generator().manual_seed(tc.seed)
    model.train()
    done = 0
    while done < total:
        state = None
        for x, y in task.train_batches(tc.batch_size, gen):
            opt.zero_grad(set_to_none=True)
            out, new_state = model(x, state)
            loss = task.loss(out, y)
            loss.backward()
            if tc.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            opt.step()
            if task.stateful:
                state = detach_state(new_state)
            done += 1
            if done % eval_every == 0 or done == total:
                validate(model, task, tc.batch_size)
            if done == total:
                break
    return total / (clock(device) - start)


def validate(model, task, batch_size: int) -> tuple[float, float]:
    model.eval()
    loss_sum, metric_sum, n, count, state = 0.0, 0.0, 0, 0, None
    with torch.no_grad():
        for x, y in task.val_batches(batch_size):
            out, state = model(x, state if task.stateful else None)
            loss_sum = loss_sum + task.loss(out, y) * x.shape[0]
            total, c = task.metric_sum(out, y)
            metric_sum, n, count = metric_sum + total, n + x.shape[0], count + c
    model.train()
    return float(loss_sum) / n, task.reduce_metric(float(metric_sum), count)


def lab_run(cfg, record: bool) -> float:
    """lstm-lab's run, every metric on; steps/s of the whole run. With `record`, as
    `lstm-lab train` runs it (start_run into a run folder); else the engine alone."""
    device = str(resolve(cfg.train.device))
    with tempfile.TemporaryDirectory() as root:
        start = clock(device)
        if record:
            _, last = start_run(cfg, Path(root))
        else:
            last = train(cfg, lambda event: None)
        seconds = clock(device) - start
    if getattr(last, "status", "") != "completed":
        raise SystemExit(f"lstm-lab's run ended {last}")
    return last.step / seconds


def configs_of(args) -> dict:
    """label -> config, each with the run's length and validation cadence set."""
    picked = {k: v for k, v in CONFIGS.items() if not args.configs or any(
        k.startswith(c.strip()) for c in args.configs.split(","))}
    if args.grid:
        picked.update(grid_configs())
    out = {}
    for label, data in picked.items():
        data = {**data, "train": {**data["train"], "steps": args.steps,
                                  "eval_every": args.eval_every, "log_every": 10,
                                  "device": args.device}}
        out[label] = parse_config(data)
    for label, (name, sets) in PRESETS.items():
        if args.configs and not any(label.startswith(c.strip())
                                    for c in args.configs.split(",")):
            continue
        sets = [*sets, f"train.device={args.device}"]
        if args.quick:
            sets.append("train.epochs=10")
        out[label] = load_preset(resolve_preset(name), sets)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--eval-every", type=int, default=100,
                        help="validation cadence of the configs (the presets keep theirs)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest "
                        "for small models here)")
    parser.add_argument("--bare", action="store_true",
                        help="also time the engine alone (train() with no run folder)")
    add_device_option(parser)
    parser.add_argument("--configs", default="",
                        help="comma-separated subset of the configs (by the start of their label)")
    parser.add_argument("--grid", action="store_true",
                        help="also nth_element LSTM over hidden {64, 256, 1024} x batch {32, 256}")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.steps, args.eval_every = 2, 100, 50
    torch.set_num_threads(args.threads)
    args.device = resolve(args.device)
    print(f"torch {torch.__version__}, device {describe(args.device)}, threads "
          f"{torch.get_num_threads()}, python {sys.version.split()[0]}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{args.steps} steps, a validation every {args.eval_every} steps (presets: their "
          f"own), {args.rounds} interleaved rounds; whole-run steps/s, median\n")
    print(f"{'config':32} {'plain':>7} {'lstm-lab':>8} {'ratio':>6} {'rounds':>11}"
          + (f" {'engine':>7} {'ratio':>6}" if args.bare else ""))
    for label, cfg in configs_of(args).items():
        plain_loop(cfg)            # warm-up: allocator, oneDNN kernels, the task's caches
        lab_run(cfg, record=True)
        plain, lab, bare = [], [], []
        for _ in range(args.rounds):
            plain.append(plain_loop(cfg))
            lab.append(lab_run(cfg, record=True))
            if args.bare:
                bare.append(lab_run(cfg, record=False))
        ratios = [b / a for a, b in zip(plain, lab)]
        line = (f"{label:32} {statistics.median(plain):7.0f} {statistics.median(lab):8.0f} "
                f"{statistics.median(ratios):6.3f} {min(ratios):5.2f}-{max(ratios):<5.2f}")
        if args.bare:
            line += (f" {statistics.median(bare):7.0f} "
                     f"{statistics.median([b / a for a, b in zip(plain, bare)]):6.3f}")
        print(line, flush=True)
    print("\nratio: the median of the rounds' lstm-lab/plain ratios; rounds: their range.")


if __name__ == "__main__":
    main()
