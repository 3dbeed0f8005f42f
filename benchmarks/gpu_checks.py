"""The GPU measurements of issue 14 that no other benchmark makes (run by gpu_check.sh).

    python benchmarks/gpu_checks.py --device cuda            # every check, a few minutes
    python benchmarks/gpu_checks.py --device cpu --dry       # tiny sizes: the script works

Checks (each prints its own block; one that fails prints FAILED and the others go on):
  engine-grid        engine steps/s on the device vs the CPU, hidden {64,256,1024} x batch {32,256}
  fused-vs-stepwise  forward+backward steps/s of the fused module and the step-wise cells, T 20 and 100
  tf32               fused vs step-wise max |Δ| (outputs; gradients relative) with train.tf32 off and on
  deterministic      two identical runs compared bit for bit, with train.deterministic on and off
  dropout-resume     a dropout run resumed from its checkpoint vs the uninterrupted run
  sync-debug         host syncs under torch.cuda.set_sync_debug_mode("warn"), by the code that made them
Every clock is read after synchronizing the device.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import sys
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from _device import add_device_option, clock, describe, resolve  # noqa: E402
from lstm_tui import events as ev  # noqa: E402
from lstm_tui.config import ModelConfig, parse_config  # noqa: E402
from lstm_tui.models.network import build_model  # noqa: E402
from lstm_tui.training import engine, policy  # noqa: E402


def nth(hidden: int, batch: int, steps: int, device: str, **extra) -> object:
    train = {"optimizer": "adam", "lr": 0.01, "batch_size": batch, "steps": steps,
             "eval_every": steps, "log_every": 10, "device": device, **extra.pop("train", {})}
    return parse_config({
        "task": {"kind": "nth_element", "seq_len": 20, "features": 10, "n": 3,
                 "train_size": max(2000, batch * 8), "val_size": 500},
        "model": {"cell": "lstm", "hidden": hidden, **extra.pop("model", {})},
        "train": train})


def engine_rate(cfg) -> float:
    """Steps/s of one engine run, from its first step to its last train record."""
    device = resolve(cfg.train.device)
    marks: dict = {}
    steps = cfg.train.steps

    def emit(event):
        if isinstance(event, ev.RunStarted):
            marks["start"] = clock(device)
        elif isinstance(event, ev.StepMetrics) and event.step == steps:
            marks["end"] = clock(device)
    engine.train(cfg, emit)
    return steps / (marks["end"] - marks["start"])


def check_engine_grid(device: str, dry: bool) -> None:
    sizes = [(16, 8)] if dry else [(h, b) for h in (64, 256, 1024) for b in (32, 256)]
    gpu_steps, cpu_steps = (10, 10) if dry else (200, 20)
    print(f"engine steps/s, nth_element LSTM T20, adam; {device}: {gpu_steps} steps, cpu: "
          f"{cpu_steps} steps ({torch.get_num_threads()} threads)")
    print(f"{'hidden':>7}{'batch':>7}{device:>14}{'cpu':>10}{'ratio':>9}")
    for hidden, batch in sizes:
        engine_rate(nth(hidden, batch, 5, device))           # warm-up: kernels, allocator
        on_device = engine_rate(nth(hidden, batch, gpu_steps, device))
        on_cpu = engine_rate(nth(hidden, batch, cpu_steps, "cpu"))
        print(f"{hidden:7d}{batch:7d}{on_device:14.1f}{on_cpu:10.1f}{on_device / on_cpu:8.2f}x",
              flush=True)


def _fwd_bwd_rate(model, x, iterations: int, device: str) -> float:
    for _ in range(3):
        model(x)[0].square().sum().backward()
    start = clock(device)
    for _ in range(iterations):
        model.zero_grad(set_to_none=True)
        model(x)[0].square().sum().backward()
    return iterations / (clock(device) - start)


def check_fused_vs_stepwise(device: str, dry: bool) -> None:
    hidden, batch, iterations = (16, 8, 3) if dry else (256, 64, 50)
    print(f"forward+backward per second, LSTM hidden {hidden}, batch {batch}, {device}")
    print(f"{'seq_len':>8}{'fused':>10}{'step-wise':>11}{'fused/step-wise':>17}")
    for seq_len in (20, 100):
        torch.manual_seed(0)
        model = build_model(ModelConfig(hidden=hidden), 10, 10, "last").to(device)
        x = torch.randn(batch, seq_len, 10, device=device)
        rates = []
        for fused in (True, False):
            model.fused = fused
            rates.append(_fwd_bwd_rate(model, x, iterations, device))
        print(f"{seq_len:8d}{rates[0]:10.1f}{rates[1]:11.1f}{rates[0] / rates[1]:16.2f}x",
              flush=True)


def _paths_delta(device: str, cell: str, hidden: int) -> tuple[float, float]:
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell=cell, hidden=hidden, layers=2), 7, 5, "all").to(device)
    x = torch.randn(16, 20, 7, device=device)
    outs, grads = [], []
    for fused in (True, False):
        model.fused = fused
        model.zero_grad(set_to_none=True)
        out, _ = model(x)
        out.square().sum().backward()
        outs.append(out.detach())
        grads.append([p.grad.clone() for p in model.parameters()])
    d_out = (outs[0] - outs[1]).abs().max().item()
    d_grad = max(((a - b).abs().max() / b.abs().max().clamp(min=1e-12)).item()
                 for a, b in zip(*grads))
    return d_out, d_grad


def check_tf32(device: str, dry: bool) -> None:
    print(f"fused vs step-wise on {device}: max |Δ output|, max relative |Δ gradient| (2 layers, T20)")
    print(f"{'tf32':>6}{'cell':>6}{'hidden':>8}{'Δ output':>12}{'Δ grad (rel)':>14}")
    for tf32 in (False, True):
        policy.apply(policy.Policy(tf32=tf32))
        for cell in ("lstm", "gru"):
            for hidden in ((16,) if dry else (64, 256)):
                d_out, d_grad = _paths_delta(device, cell, hidden)
                print(f"{str(tf32).lower():>6}{cell:>6}{hidden:8d}{d_out:12.2e}{d_grad:14.2e}",
                      flush=True)
    policy.apply(policy.Policy())


def _losses(cfg, **kwargs) -> list[float]:
    events: list = []
    engine.train(cfg, events.append, **kwargs)
    return [e.loss for e in events if isinstance(e, (ev.StepMetrics, ev.ValMetrics))]


def check_deterministic(device: str, dry: bool) -> None:
    steps, hidden = (10, 16) if dry else (200, 256)
    print(f"two identical runs on {device} (LSTM {hidden}, 2 layers, {steps} steps, every "
          f"train and validation loss compared)")
    for det in (True, False):
        cfg = nth(hidden, 64, steps, device, model={"layers": 2},
                  train={"deterministic": det, "log_every": 1})
        a, b = _losses(cfg), _losses(cfg)
        diff = max(abs(x - y) for x, y in zip(a, b))
        print(f"  deterministic {str(det).lower():5}: {'identical' if a == b else 'DIFFERENT'} "
              f"(max |Δ loss| {diff:.2e} over {len(a)} figures)", flush=True)


def check_dropout_resume(device: str, dry: bool) -> None:
    steps = 16 if dry else 60
    print(f"dropout 0.3, 2 layers, resumed from the step-8 checkpoint vs uninterrupted, {device}")
    for activation, path in (("softsign", "step-wise"), ("tanh", "fused")):
        cfg = parse_config({
            "task": {"kind": "nth_element", "seq_len": 8, "features": 5, "n": 3,
                     "train_size": 256, "val_size": 64},
            "model": {"hidden": 32, "layers": 2, "dropout": 0.3, "activation": activation},
            "train": {"batch_size": 32, "steps": steps, "eval_every": 8, "log_every": 1,
                      "device": device, "deterministic": True}})
        saved: dict = {}

        def save(tag, payload, saved=saved):
            if tag == "last" and payload["step"] == 8:
                saved.update(copy.deepcopy(payload))
            return "-"
        whole: list = []
        engine.train(cfg, whole.append, save_checkpoint=save)
        rest: list = []
        engine.train(cfg, rest.append, resume=saved)
        a = {e.step: e.loss for e in whole if isinstance(e, ev.StepMetrics) and e.step > 8}
        b = {e.step: e.loss for e in rest if isinstance(e, ev.StepMetrics)}
        diff = max(abs(a[s] - b[s]) for s in a)
        notes = next(e.notes for e in rest if isinstance(e, ev.RunStarted))
        print(f"  {path:9}: {'identical' if a == b else 'different'} (max |Δ loss| {diff:.2e} "
              f"over {len(a)} steps){'; run record notes the fused-dropout caveat' if notes else ''}",
              flush=True)


def check_sync_debug(device: str, dry: bool) -> None:
    if not device.startswith("cuda"):
        print(f"needs CUDA: skipped on {device}")
        return
    steps = 40 if dry else 200
    cfg = nth(64, 32, steps, device, train={"eval_every": 100, "log_every": 10})
    engine_rate(nth(64, 32, 5, device))
    src = str(Path(engine.__file__).resolve().parents[1])
    origins: Counter = Counter()

    def hook(message, category, filename, lineno, file=None, line=None):
        if "synchroniz" not in str(message):
            return
        ours = [f for f in traceback.extract_stack() if f.filename.startswith(src)]
        frame = ours[-1] if ours else None     # the innermost lstm-lab frame that caused it
        origins[f"{Path(frame.filename).name}:{frame.name}" if frame else
                f"{Path(filename).name}:{lineno}"] += 1

    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = hook
            engine.train(cfg, lambda e: None)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    print(f"host syncs in {steps} steps (a log every 10 steps: {steps // 10}; a validation "
          f"every 100: {steps // 100}) under set_sync_debug_mode('warn'), by the lstm-lab "
          f"function that caused them:")
    for where, count in origins.most_common():
        print(f"  {count:6d}  {where}")
    per_step = sum(c for w, c in origins.items()
                   if w.endswith((":_train_step", ":_forward_backward", ":grad_norms_and_clip")))
    print(f"  in the per-step code (_train_step, _forward_backward, clipping): {per_step}")


CHECKS = {"engine-grid": check_engine_grid, "fused-vs-stepwise": check_fused_vs_stepwise,
          "tf32": check_tf32, "deterministic": check_deterministic,
          "dropout-resume": check_dropout_resume, "sync-debug": check_sync_debug}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_device_option(parser, default="cuda")
    parser.add_argument("--dry", action="store_true", help="tiny sizes: checks the script runs")
    parser.add_argument("--only", default="", help="comma-separated checks: " + ", ".join(CHECKS))
    args = parser.parse_args()
    device = resolve(args.device)
    torch.set_num_threads(os.cpu_count() or 1)
    print(f"gpu_checks  {time.strftime('%Y-%m-%d %H:%M')}  torch {torch.__version__} "
          f"(CUDA {torch.version.cuda})  {describe(device)}{'  DRY RUN' if args.dry else ''}")
    failed = 0
    for name, check in CHECKS.items():
        if args.only and name not in args.only.split(","):
            continue
        print(f"\n[{name}]")
        started = time.perf_counter()
        try:
            check(device, args.dry)
        except Exception as exc:       # one broken check must not hide the others' figures
            failed += 1
            print(f"FAILED: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}")
        print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
