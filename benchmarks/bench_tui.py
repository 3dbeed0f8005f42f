"""The lab's responsiveness: first frame, focus moving through a form, key latency while
training, app vs headless steps/s, and the memory of a run's live state over 10^6 steps.

    python benchmarks/bench_tui.py              # 3 rounds of 4000 steps
    python benchmarks/bench_tui.py --quick      # a short smoke run
    python benchmarks/bench_tui.py --first-frame --frames 9    # the first frame alone
    python benchmarks/bench_tui.py --first-frame --preset presets/series_sunspots.toml

Targets (issue 3, 26): first frame < 0.5 s with torch not imported, at 120x40 and 80x24
(medians of fresh processes; the CPU seconds are printed too, steadier than wall time on a
busy machine); a Tab, and a key press while a run trains, answered in < 100 ms; the app's
run >= 0.9x the steps/s of the same run headless (the two are interleaved, round by round,
so a noisy machine hits both alike); memory flat over 10^6 steps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from lstm_tui.config import RunConfig, TrainConfig, to_toml

FIRST_FRAME = """
import time, sys
t0, c0 = time.perf_counter(), time.process_time()
try:
    from lstm_tui.tui import collector
    collector.pause()   # as lstm-lab does (tui/launch.py); the app resumes it at Ready
except ImportError:     # a tree from before that pause (a baseline)
    pass
from lstm_tui.tui.app import make_app
from textual import events
import asyncio
async def main():
    app = make_app(__import__('pathlib').Path(sys.argv[1]),
                   preset=__import__('pathlib').Path(sys.argv[4]) if sys.argv[4:] else None)
    seen = {}
    def hook(message):
        # Ready: the first frame has been painted (Textual sends it after the first refresh)
        if isinstance(message, events.Ready) and 'ready' not in seen:
            seen['ready'] = time.perf_counter() - t0
            seen['cpu'] = time.process_time() - c0
            seen['torch'] = 'torch' in sys.modules
    async with app.run_test(size=(int(sys.argv[2]), int(sys.argv[3])),
                            message_hook=hook) as pilot:
        await pilot.pause()
    print(seen['ready'], seen['cpu'], seen['torch'])
asyncio.run(main())
"""
FRAME_SIZES = ((120, 40), (80, 24))


def first_frame(root: Path, size: tuple[int, int] = (120, 40),
                preset: str | None = None) -> tuple[float, float, bool]:
    """Seconds (wall, CPU) from the first import of the app to its first painted frame, in
    a fresh process, and whether torch was imported by then."""
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME, str(root), *map(str, size),
                          *([preset] if preset else [])],
                         capture_output=True, text=True, check=True)
    seconds, cpu, torch_loaded = out.stdout.split()
    return float(seconds), float(cpu), torch_loaded == "True"


def first_frames(root: Path, n: int, preset: str | None = None) -> None:
    """The first frame at each size: n fresh processes each, the sizes interleaved."""
    frames: dict[tuple[int, int], list] = {size: [] for size in FRAME_SIZES}
    for _ in range(n):
        for size in FRAME_SIZES:
            frames[size].append(first_frame(root, size, preset))
    for (w, h), runs in frames.items():
        print(f"first frame {w}x{h}{' with ' + preset if preset else ''}: median {statistics.median(f for f, _, _ in runs):.3f} s "
              f"(CPU {statistics.median(c for _, c, _ in runs):.3f} s; {n} processes; "
              f"target < 0.5 s); torch imported by then: {any(t for _, _, t in runs)}")


def headless_rate(cfg: RunConfig, root: Path) -> float:
    preset = root / "bench.toml"
    preset.write_text(to_toml(cfg))
    out = root / f"h{time.monotonic_ns()}"
    subprocess.run([sys.executable, "-m", "lstm_tui", "headless", str(preset), "--runs-dir",
                    str(out)], capture_output=True, check=True)
    summary = json.loads(next(out.iterdir()).joinpath("summary.json").read_text())
    return summary["steps"] / summary["seconds"]


async def app_rate(cfg: RunConfig, root: Path) -> tuple[float, list[float], float]:
    """Train from the app with the Live pane showing; press a key every 0.2 s meanwhile."""
    from textual import events

    from lstm_tui.tui.app import make_app
    from lstm_tui.tui.worker import ProcessTrainer
    app = make_app(root / f"a{time.monotonic_ns()}", trainer=ProcessTrainer())
    latencies = []
    async with app.run_test(size=(120, 40)):
        key = app.start_training(cfg)
        app.screen.selected = key
        app.screen.action_pane("live")
        state = app.states[key]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        while state.active:
            t = time.perf_counter()
            handled = asyncio.Event()
            app.screen.post_message(events.Key("ctrl+l", None))
            app.call_later(handled.set)  # runs once the key ahead of it was handled
            await handled.wait()
            latencies.append(time.perf_counter() - t)
            await asyncio.sleep(0.2)
        ui_cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        summary = json.loads((state.run_dir / "summary.json").read_text())
    return summary["steps"] / summary["seconds"], latencies, ui_cpu


async def focus_moves(root: Path, presses: int) -> tuple[list[float], float]:
    """Tab through the Model pane's fields, as a user filling the form does: each press's
    wall time until handled, and the UI process's CPU per press."""
    from lstm_tui.tui.app import make_app
    app = make_app(root / f"f{time.monotonic_ns()}")
    times = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.screen.action_pane("model")
        await pilot.pause()
        cpu0 = time.process_time()
        for _ in range(presses):
            t = time.perf_counter()
            await pilot.press("tab")
            times.append(time.perf_counter() - t)
        cpu = (time.process_time() - cpu0) / presses
    return sorted(times), cpu


def live_state_memory(steps: int) -> dict[int, float]:
    """MB held by a run's live state (chart series included) after n StepMetrics."""
    from lstm_tui import events as ev
    from lstm_tui.tui.live import RunState
    cfg = RunConfig()
    state = RunState("bench", cfg)
    marks, checkpoints = {}, {steps // 100, steps // 10, steps}
    tracemalloc.start()
    for n in range(1, steps + 1):
        state.apply(ev.StepMetrics(step=n, epoch=n // 100, loss=1 / n, metric=0.5, lr=0.01,
                                   grad_norm=1.0, grad_norms={"w": 1.0, "b": 0.5},
                                   grad_means={"w": 0.1, "b": 0.1}, mean_abs_grad=0.1,
                                   steps_per_sec=1000.0, seconds=n / 1000))
        if n in checkpoints:
            marks[n] = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--device", default="cpu", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--first-frame", action="store_true", help="measure the first frame only")
    parser.add_argument("--frames", type=int, default=None,
                        help="fresh processes per size for the first frame (default 5, quick 3)")
    parser.add_argument("--preset", default=None,
                        help="open the lab with this preset file for the first frame")
    args = parser.parse_args()
    rounds, steps = (1, 600) if args.quick else (args.rounds, args.steps)
    frames = args.frames or (3 if args.quick else 5)
    if args.first_frame:    # without torch in this process either
        print(f"{time.strftime('%Y-%m-%d')}; load average {os.getloadavg()[0]:.2f}")
        first_frames(Path(tempfile.mkdtemp()), frames, args.preset)
        return
    cfg = RunConfig(name="bench", train=TrainConfig(steps=steps, log_every=10, eval_every=500,
                                                    device=args.device, threads=1))
    root = Path(tempfile.mkdtemp())
    import torch
    from lstm_tui.training.engine import select_device
    print(f"torch {torch.__version__}, {select_device(args.device)}, {time.strftime('%Y-%m-%d')}; "
          f"{steps} steps of nth_element lstm 32 per run, {rounds} interleaved rounds\n")

    first_frames(root, frames)
    tabs, tab_cpu = asyncio.run(focus_moves(root, 20 if args.quick else 60))
    print(f"focus moved (Tab) in the Model pane: median {1000 * tabs[len(tabs) // 2]:.1f} ms, "
          f"max {1000 * tabs[-1]:.1f} ms, CPU {1000 * tab_cpu:.1f} ms a press over "
          f"{len(tabs)} presses (target < 100 ms)")

    head, app, keys, cpu = [], [], [], []
    for _ in range(rounds):
        head.append(headless_rate(cfg, root))
        rate, latencies, ui_cpu = asyncio.run(app_rate(cfg, root))
        app.append(rate)
        keys += latencies
        cpu.append(ui_cpu)
    h, a = statistics.median(head), statistics.median(app)
    keys.sort()
    print(f"steps/s: headless {h:,.0f}  app {a:,.0f}  ratio {a / h:.2f} (target >= 0.9)")
    print(f"key press handled while training: median {1000 * keys[len(keys) // 2]:.1f} ms, "
          f"max {1000 * keys[-1]:.1f} ms over {len(keys)} presses (target < 100 ms)")
    print(f"UI process CPU while training: {100 * statistics.median(cpu):.0f}% of one core")
    marks = live_state_memory(100_000 if args.quick else 1_000_000)
    print("live state memory: " + ", ".join(f"{n:,} steps {mb:.2f} MB"
                                             for n, mb in sorted(marks.items())))


if __name__ == "__main__":
    main()
