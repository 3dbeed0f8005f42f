"""Cells: training-step time of every cell against the fused LSTM, the parallel scans
against their own steps, and the ensemble against sequential runs for the cells.

    python benchmarks/bench_cells.py              # ~3-5 minutes on 2 CPU cores
    python benchmarks/bench_cells.py --quick      # a smoke run of ~30 seconds
    python benchmarks/bench_cells.py --part steps|kernel|over-fused|scan|ensemble
    python benchmarks/bench_cells.py --part compiled [--cache-dir DIR] [--compile-cells ...]

steps:    one training step (forward and backward, Adam excluded) of a one-layer model,
          H 64, B 64, T 100, on the CPU with one torch thread, each cell on the path the
          model takes (fused kernel, scan, or step loop); also the built-ins on their step
          loop.  Medians of interleaved repeats; the ratio is to the fused LSTM's time
          measured in the same run.
kernel:   issue 26's hand-written cells: the LSTM, GRU and RNN (tanh and softsign) of a
          single model off the fused module, on the hand-written kernels of
          lstm_tui.models.kernels (time loops in C, and in torch) and on the plain step
          loop, interleaved with the fused LSTM, same shapes as `steps`; then over-fused.
over-fused: the C loops against nn.LSTM/nn.GRU/nn.RNN themselves over sizes, a training
          step and a validation forward (models.network's C_OVER_FUSED).
compiled: model.compile (issue 26): the same training step of step-loop cells, plain and
          compiled (torch.compile, chunks of 25 steps), interleaved with the fused LSTM;
          the compile's seconds (the run's warm-up, forward and backward graphs) and the
          steps after which it is won back.  `--cache-dir` names inductor's cache folder:
          an empty one gives the first compile on a machine, the same one again a compile
          from the cache (the default: torch's own folder, /tmp/torchinductor_$USER).
scan:     minGRU and minLSTM, the log-space scan against the step loop over the same
          parameters, T = 64, 256 and 1024 (H 64, B 64), forward and backward.
ensemble: the 32-point grid of bench_ensemble.py (nth-element, hidden 16, 8 learning
          rates x 4 seeds) trained as an ensemble and run after run, for a built-in cell
          (lstm) and cells without a hand-tuned batched path; member-steps per second
          each way and their ratio.
builtins: `--baseline OLD_SRC`: the built-ins' ensemble on the grid, this tree against
          another checkout's src (today's code), alternating subprocesses, so the two
          medians come from the same minutes of a shared machine.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402

from lstm_tui.config import ModelConfig, parse_config  # noqa: E402
from lstm_tui.models import build_model  # noqa: E402

# (this tree's cells are imported inside the functions: `--part builtins` imports this
# module under another checkout's src, which may have no cell registry)
H, B, T, I = 64, 64, 100, 16
OPTIONS = {"slstm": {"heads": 4}}


def median_time(fn, repeats: int) -> float:
    fn()                                      # warm-up: allocator, first-call paths
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def train_step(model, x):
    def run():
        model.zero_grad(set_to_none=True)
        out, _ = model(x)
        out.pow(2).mean().backward()
    return run


def bench_steps(repeats: int) -> None:
    from lstm_tui.models.cells import names
    torch.manual_seed(0)
    x = torch.randn(B, T, I)
    cases = []
    for cell in names():
        model = build_model(ModelConfig(cell=cell, hidden=H, **OPTIONS.get(cell, {})), I, 1, "last")
        path = ("kernel" if model._c_over_fused(x, None) else "fused") if model.fused else \
            ("scan" if model.spec.scan else "kernel" if model.kernel else "steps")
        cases.append((cell, path, train_step(model, x)))
        if model.fused:
            stepped = build_model(ModelConfig(cell=cell, hidden=H), I, 1, "last")
            if path == "kernel":              # the C loops replace the fused module here
                stepped.kernel = ""
                cases.append((cell, "fused", train_step(stepped, x)))
            else:
                stepped.fused = False
                cases.append((cell, "kernel", train_step(stepped, x)))
            stepped = build_model(ModelConfig(cell=cell, hidden=H), I, 1, "last")
            stepped.fused, stepped.kernel = False, ""
            cases.append((cell, "steps", train_step(stepped, x)))
    times: dict[tuple, list[float]] = {(c, p): [] for c, p, _ in cases}
    for _ in range(repeats):                      # interleaved: the machine's noise is shared
        for cell, path, fn in cases:
            times[(cell, path)].append(median_time(fn, 1))
    base = statistics.median(times[("lstm", "fused")])
    print(f"training step (forward + backward), H {H}, B {B}, T {T}, 1 layer, 1 thread; "
          f"median of {repeats}")
    print(f"  {'cell':<10} {'path':<6} {'ms':>8} {'x fused lstm':>13} {'us per time step':>17}")
    for (cell, path), values in times.items():
        t = statistics.median(values)
        print(f"  {cell:<10} {path:<6} {t * 1e3:8.2f} {t / base:13.2f} {t / T * 1e6:17.1f}")


def bench_kernel(repeats: int) -> None:
    """The hand-written kernels of models.kernels for a single model against the fused
    LSTM and the step loop: each built-in cell, tanh and softsign, its time loops in C
    and in torch."""
    from lstm_tui.models.kernels import native

    def torch_loops(fn):
        def run():
            real, native.usable = native.usable, lambda x: False
            try:
                fn()
            finally:
                native.usable = real
        return run

    torch.manual_seed(0)
    x = torch.randn(B, T, I)
    cases = []
    for cell in ("lstm", "gru", "rnn"):
        for act in ("tanh", "softsign"):
            def model(kernel: bool = True):
                m = build_model(ModelConfig(cell=cell, hidden=H, activation=act), I, 1, "last")
                m.fused = False
                if not kernel:
                    m.kernel = ""
                return m
            if act == "tanh":
                fused = build_model(ModelConfig(cell=cell, hidden=H), I, 1, "last")
                fused.kernel = ""             # the fused module itself, never the C loops
                cases.append((cell, act, "fused", train_step(fused, x)))
            if native.library() is not None:
                cases.append((cell, act, "kernel C", train_step(model(), x)))
            cases.append((cell, act, "kernel torch", torch_loops(train_step(model(), x))))
            cases.append((cell, act, "step loop", train_step(model(kernel=False), x)))
    times: dict[tuple, list[float]] = {c[:3]: [] for c in cases}
    for _ in range(repeats):                      # interleaved: the machine's noise is shared
        for cell, act, path, fn in cases:
            times[(cell, act, path)].append(median_time(fn, 1))
    base = statistics.median(times[("lstm", "tanh", "fused")])
    print(f"training step (forward + backward), H {H}, B {B}, T {T}, 1 layer, 1 thread; "
          f"median of {repeats}; load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"  {'cell':<6} {'activation':<10} {'path':<13} {'ms':>8} {'x fused lstm':>13} "
          f"{'x its step loop':>16}")
    for (cell, act, path), values in times.items():
        t = statistics.median(values)
        loop = statistics.median(times[(cell, act, "step loop")])
        print(f"  {cell:<6} {act:<10} {path:<13} {t * 1e3:8.2f} {t / base:13.2f} "
              f"{t / loop:16.2f}")


def bench_over_fused(repeats: int) -> None:
    """The C loops against PyTorch's own fused modules over sizes (models.network's
    C_OVER_FUSED): a training step at (hidden, batch, steps), and a validation forward
    (inference mode, batch 256) of the same model."""
    from lstm_tui.models.kernels import native
    if native.library() is None:
        print("no C compiler: the C loops are not built here")
        return
    sizes = ((16, 16, 20, 1), (32, 16, 20, 1), (64, 16, 20, 1), (32, 32, 20, 10),
             (16, 64, 20, 10), (32, 32, 50, 10), (16, 32, 50, I), (64, 64, 50, I),
             (128, 64, 50, I), (256, 64, 50, I), (64, 256, 50, I))
    cases = []
    for cell in ("lstm", "gru", "rnn"):
        for hidden, batch, steps, inputs in sizes:
            x, xv = torch.randn(batch, steps, inputs), torch.randn(256, steps, inputs)
            fused = build_model(ModelConfig(cell=cell, hidden=hidden), inputs, 1, "last")
            fused.kernel = ""                 # the fused module itself
            c = build_model(ModelConfig(cell=cell, hidden=hidden), inputs, 1, "last")
            c.fused = False                   # the C loops
            key = (cell, hidden, batch, steps, inputs)
            cases += [(key, "fused", train_step(fused, x)), (key, "C", train_step(c, x)),
                      (key, "fused val", inference(fused, xv)), (key, "C val", inference(c, xv))]
    times: dict[tuple, list[float]] = {(k, p): [] for k, p, _ in cases}
    for _ in range(repeats):
        for key, path, fn in cases:
            times[(key, path)].append(median_time(fn, 3))
    print(f"the C loops against the fused module, 1 layer, 1 thread; median of "
          f"{repeats}; load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"  {'cell':<6} {'hidden':>6} {'batch':>6} {'steps':>5} {'input':>5} {'fused ms':>9} "
          f"{'C ms':>8} {'fused/C':>8}   validation: {'fused/C':>7}")
    for key in dict.fromkeys(k for k, _, _ in cases):
        f, c, fv, cv = (statistics.median(times[(key, p)])
                        for p in ("fused", "C", "fused val", "C val"))
        print(f"  {key[0]:<6} {key[1]:6d} {key[2]:6d} {key[3]:5d} {key[4]:5d} {f * 1e3:9.2f} "
              f"{c * 1e3:8.2f} {f / c:8.2f}   {'':12}{fv / cv:7.2f}")


def inference(model, x):
    def run():
        with torch.inference_mode():
            model(x)
    return run


def bench_compiled(repeats: int, cells: list[str]) -> None:
    from lstm_tui.models import compiled
    torch.manual_seed(0)
    x = torch.randn(B, T, I)
    fused = build_model(ModelConfig(cell="lstm", hidden=H), I, 1, "last")
    cases = [("lstm", "fused", train_step(fused, x))]
    seconds: dict[str, float] = {}
    for cell in cells:
        models = []
        for _ in range(2):
            model = build_model(ModelConfig(cell=cell, hidden=H, **OPTIONS.get(cell, {})),
                                I, 1, "last")
            model.fused = False
            models.append(model)
        plain, quick = models
        start = time.perf_counter()
        note = compiled.enable(quick, "on", torch.device("cpu"), 0, B, I, T)
        seconds[cell] = time.perf_counter() - start
        print(f"  {cell}: {note}", flush=True)
        if quick.compiled is not None:
            cases += [(cell, "steps", train_step(plain, x)), (cell, "compiled", train_step(quick, x))]
    times: dict[tuple, list[float]] = {(c, p): [] for c, p, _ in cases}
    for _ in range(repeats):                      # interleaved: the machine's noise is shared
        for cell, path, fn in cases:
            times[(cell, path)].append(median_time(fn, 1))
    base = statistics.median(times[("lstm", "fused")])
    print(f"training step (forward + backward), H {H}, B {B}, T {T}, 1 layer, 1 thread; "
          f"median of {repeats}; load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"  {'cell':<10} {'path':<9} {'ms':>8} {'x fused lstm':>13} {'compile s':>10} "
          f"{'break-even steps':>17}")
    for (cell, path), values in times.items():
        t = statistics.median(values)
        extra = ""
        if path == "compiled":
            saved = statistics.median(times[(cell, "steps")]) - t
            even = f"{seconds[cell] / saved:,.0f}" if saved > 0 else "never"
            extra = f" {seconds[cell]:10.1f} {even:>17}"
        print(f"  {cell:<10} {path:<9} {t * 1e3:8.2f} {t / base:13.2f}{extra}")


def bench_scan(repeats: int, lengths: list[int]) -> None:
    from lstm_tui.models import layers as L
    from lstm_tui.models.cells import spec_of
    torch.manual_seed(0)
    print(f"\nparallel scan vs step loop, H {H}, B {B}, forward + backward; median of {repeats}")
    print(f"  {'cell':<8} {'T':>5} {'scan ms':>9} {'steps ms':>9} {'steps/scan':>11}")
    for cell in ("mingru", "minlstm"):
        model = build_model(ModelConfig(cell=cell, hidden=H), I, 1, "all")
        spec, p, cfg = spec_of(cell), model.layer_params(0, 0), model.cfg
        for length in lengths:
            x = torch.randn(B, length, I)

            def way(parallel: bool):
                def run():
                    hs, _ = L.run(spec, p, x, None, cfg, parallel=parallel)
                    seq = hs if isinstance(hs, torch.Tensor) else torch.stack(hs, 1)
                    grads = torch.autograd.grad(seq.pow(2).mean(), list(p.values()))
                    return grads
                return run
            scan, steps = [], []
            for _ in range(repeats):
                scan.append(median_time(way(True), 1))
                steps.append(median_time(way(False), 1))
            s, q = statistics.median(scan), statistics.median(steps)
            print(f"  {cell:<8} {length:>5} {s * 1e3:9.2f} {q * 1e3:9.2f} {q / s:11.1f}")


def grid(cell: str, steps: int) -> list:
    lrs = (0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.03, 0.05)
    return [parse_config({
        "name": f"lr{lr:g}-s{seed}",
        "task": {"kind": "nth_element", "seq_len": 20, "features": 10, "n": 17,
                 "train_size": 5000, "val_size": 1000},
        "model": {"cell": cell, "hidden": 16, **OPTIONS.get(cell, {})},
        "train": {"optimizer": "adam", "lr": lr, "seed": seed, "steps": steps,
                  "batch_size": 32, "log_every": 10, "device": "cpu"}})
        for lr in lrs for seed in range(4)]


def bench_ensemble(cells: list[str], steps: int, repeats: int) -> None:
    from lstm_tui.training import engine
    from lstm_tui.training.ensemble import train_ensemble
    print(f"\nensemble vs sequential: 32 points (8 lr x 4 seeds), nth-element, hidden 16, "
          f"{steps} steps each; median of {repeats}")
    print(f"  {'cell':<12} {'sequential s':>13} {'ensemble s':>11} {'ratio':>6} "
          f"{'max |final diff|':>17}")
    import functools

    from lstm_tui.training.ensemble import engine as ensemble_engine, recurrence
    for name in cells:
        cell, _, how = name.partition(":")     # "lstm:generic": the built-in off its kernel
        configs = grid(cell, steps)
        ensemble_engine.network = functools.partial(recurrence.network,
                                                    hand_tuned=how != "generic")
        seq_t, ens_t = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            seq = [engine.train(c, lambda e: None) for c in configs]
            seq_t.append(time.perf_counter() - start)
            start = time.perf_counter()
            ens = train_ensemble(configs, [lambda e: None] * len(configs))
            ens_t.append(time.perf_counter() - start)
        ensemble_engine.network = recurrence.network
        diff = max(abs(a.final - b.final) for a, b in zip(seq, ens))
        s, e = statistics.median(seq_t), statistics.median(ens_t)
        print(f"  {name:<12} {s:13.1f} {e:11.1f} {s / e:6.2f} {diff:17.2e}")


def ensemble_seconds(cell: str, steps: int) -> float:
    """One ensemble run of the grid (what `--part builtins` times in each subprocess)."""
    from lstm_tui.training.ensemble import train_ensemble
    configs = grid(cell, steps)
    start = time.perf_counter()
    train_ensemble(configs, [lambda e: None] * len(configs))
    return time.perf_counter() - start


def bench_builtins(baseline: str, steps: int, repeats: int) -> None:
    import subprocess
    here = str(Path(__file__).resolve().parents[1] / "src")
    print(f"\nbuilt-ins in the ensemble: this tree vs {baseline}, 32 points, {steps} steps; "
          f"median of {repeats} alternating runs")
    print(f"  {'cell':<6} {'baseline s':>11} {'this s':>8} {'this/baseline':>14}")
    for cell in ("lstm", "gru", "rnn"):
        times: dict[str, list[float]] = {"baseline": [], "this": []}
        for _ in range(repeats):
            for label, src in (("baseline", baseline), ("this", here)):
                code = ("import sys, torch; torch.set_num_threads(1); "
                        f"sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                        "from bench_cells import ensemble_seconds; "
                        f"print(ensemble_seconds({cell!r}, {steps}))")
                out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                     env={**os.environ, "PYTHONPATH": src}, check=True)
                times[label].append(float(out.stdout.split()[-1]))
        b, t = statistics.median(times["baseline"]), statistics.median(times["this"])
        print(f"  {cell:<6} {b:11.2f} {t:8.2f} {t / b:14.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--part", choices=("steps", "kernel", "over-fused", "compiled", "scan",
                                           "ensemble", "builtins", "all"),
                        default="all")
    parser.add_argument("--baseline", help="builtins: another checkout's src directory")
    parser.add_argument("--compile-cells", default="lstm,gru,lstm_fgr,slstm,indrnn",
                        help="compiled part: the cells to time (each on its step loop)")
    parser.add_argument("--cache-dir", help="compiled part: inductor's cache folder")
    parser.add_argument("--cells", default="lstm,lstm:generic,gru,gru:generic,lstm_cifg,"
                        "slstm,indrnn,mingru,minlstm",
                        help="ensemble part: the cells to time (CELL:generic: a built-in on "
                        "the generic batched form instead of its hand-tuned kernel)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{datetime.date.today()}, torch {torch.__version__}, {platform.processor() or 'cpu'}, "
          f"1 torch thread")
    repeats = 3 if args.quick else 7
    if args.part in ("steps", "all"):
        bench_steps(repeats)
    if args.part in ("kernel", "all"):
        bench_kernel(repeats)
    if args.part in ("kernel", "over-fused", "all"):
        bench_over_fused(repeats)
    if args.part == "compiled":        # minutes of compiling: only when asked for
        if args.cache_dir:
            print(f"inductor cache {args.cache_dir}: "
                  f"{'warm' if any(Path(args.cache_dir).glob('*')) else 'empty'}")
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = args.cache_dir
        bench_compiled(repeats, args.compile_cells.split(","))
    if args.part in ("scan", "all"):
        bench_scan(repeats, [64, 256] if args.quick else [64, 256, 1024])
    if args.part in ("ensemble", "all"):
        bench_ensemble(args.cells.split(","), 20 if args.quick else 100,
                       1 if args.quick else 3)
    if args.part == "builtins":
        bench_builtins(args.baseline, 20 if args.quick else 100, 3 if args.quick else 5)


if __name__ == "__main__":
    main()
