"""What the app knows about a run while it trains: bounded chart buffers and the latest figures.

A :class:`RunState` is fed the engine's events (in the app's thread) and keeps
  - each curve in a :class:`Series` of at most ``MAX_POINTS`` points (min/max decimation,
    so spikes survive), so the app's memory stays flat over 10^6 steps;
  - the last ``HEAT_ROWS`` gradient-per-time-step vectors for the heatmap;
  - the latest train/validation records, the best metric and the latest text sample.
Pure Python: no Textual, no torch; unit-tested directly.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from lstm_tui import events as ev
from lstm_tui.config import RunConfig
from lstm_tui.numbers import fmt
from lstm_tui.runs.resources import resource_text
from lstm_tui.runs.summary import FINAL_STATUSES
from lstm_tui.numbers import printable
from lstm_tui.tui.plotting import baseline_lines, decimate
from lstm_tui.tui.worker import RunCreated

MAX_POINTS = 2000     # points kept per series
HEAT_ROWS = 256       # validations kept for the gradient-per-time-step heatmap
ACTIVE = ("starting", "running", "stopping")


class Series:
    """An append-only curve that never holds more than `capacity` points.

    When full it decimates itself to half (min/max), so older stretches get coarser while
    recent ones stay at full resolution; non-finite values are not plotted.
    """

    __slots__ = ("xs", "ys", "capacity")

    def __init__(self, capacity: int = MAX_POINTS):
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.capacity = capacity

    def append(self, x: float, y: float | None) -> None:
        if y is None or not math.isfinite(y):
            return
        self.xs.append(x)
        self.ys.append(y)
        if len(self.xs) > self.capacity:
            self.xs, self.ys = decimate(self.xs, self.ys, self.capacity // 2)

    def view(self, n: int) -> tuple[list[float], list[float]]:
        """At most `n` points to draw (a chart needs about two per column)."""
        return decimate(self.xs, self.ys, max(4, n))

    def __len__(self) -> int:
        return len(self.xs)


_LAYER = re.compile(r"_l(\d+)(?:_reverse)?$")


def layer_of(param: str, cell: str) -> str:
    """The summary-table row a parameter belongs to: rnn.weight_hh_l1 -> lstm_2, head.* -> dense."""
    found = _LAYER.search(param)
    if found:
        return f"{cell}_{int(found.group(1)) + 1}"
    if param.startswith("head."):
        return "dense"
    return param.split(".", 1)[0]


def layer_norms(grad_norms: dict[str, float], cell: str) -> dict[str, float]:
    """Per-parameter gradient norms combined per layer (sqrt of the sum of squares)."""
    squares: dict[str, float] = {}
    for name, value in grad_norms.items():
        if value is None or not math.isfinite(value):
            continue
        layer = layer_of(name, cell)
        squares[layer] = squares.get(layer, 0.0) + value * value
    return {k: math.sqrt(v) for k, v in squares.items()}


def fetch_text(p: ev.DataProgress) -> str:
    """'downloading text8 12.3/31.3 MB (39%)' (the total when the server said it)."""
    if p.total:
        return (f"downloading {p.what} {p.done / 1e6:.1f}/{p.total / 1e6:.1f} MB "
                f"({100 * p.done // p.total}%)")
    return f"downloading {p.what} {p.done / 1e6:.1f} MB"


def clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@dataclass
class RunState:
    """One run started from the app, as its events describe it."""
    key: str
    config: RunConfig
    run_dir: Path | None = None
    status: str = "starting"           # starting | running | stopping | a final status
    message: str = ""                  # why it ended (error, advice)
    started: ev.RunStarted | None = None
    last: ev.StepMetrics | None = None
    last_val: ev.ValMetrics | None = None
    sample: ev.TextSample | None = None
    forecast: ev.Forecast | None = None
    baselines: dict = field(default_factory=dict)    # the task's, e.g. persistence MAE
    resources: ev.ResourceSample | None = None   # the newest CPU/memory (GPU) sample
    fetching: ev.DataProgress | None = None      # the task's data downloading (text8)
    preparing: ev.Preparing | None = None        # a wait before the first step (compiling)
    train_loss: Series = field(default_factory=Series)
    val_loss: Series = field(default_factory=Series)
    train_metric: Series = field(default_factory=Series)
    val_metric: Series = field(default_factory=Series)
    grad_norm: Series = field(default_factory=Series)
    layers: dict[str, Series] = field(default_factory=dict)
    heat: deque = field(default_factory=lambda: deque(maxlen=HEAT_ROWS))
    final: ev.Finished | ev.Failed | None = None
    version: int = 0                   # bumped on every change, so views redraw only then

    @property
    def name(self) -> str:
        return printable(self.config.name or self.config.task.kind)

    @property
    def label(self) -> str:
        return printable(self.run_dir.name) if self.run_dir else self.name

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def metric(self) -> str:
        return self.started.metric if self.started else "metric"

    @property
    def step(self) -> int:
        last = max((e.step for e in (self.last, self.last_val, self.final) if e), default=0)
        return last

    @property
    def best(self) -> float | None:
        return self.last_val.best if self.last_val else None

    def apply(self, event: object) -> None:
        """Take in one engine event (or a worker's RunCreated)."""
        self.version += 1
        if isinstance(event, ev.StepMetrics):
            self.last = event
            self.train_loss.append(event.step, event.loss)
            self.train_metric.append(event.step, event.metric)
            self.grad_norm.append(event.step, event.grad_norm)
            for layer, value in layer_norms(event.grad_norms, self.config.model.cell).items():
                self.layers.setdefault(layer, Series()).append(event.step, value)
        elif isinstance(event, ev.ValMetrics):
            self.last_val = event
            self.val_loss.append(event.step, event.loss)
            self.val_metric.append(event.step, event.metric)
        elif isinstance(event, ev.TimestepGradients):
            self.heat.append((event.step, tuple(event.norms)))
        elif isinstance(event, ev.TextSample):
            self.sample = event
        elif isinstance(event, ev.Forecast):
            self.forecast = event
        elif isinstance(event, ev.TaskReport):
            self.baselines.update(event.figures.get("baselines") or {})
        elif isinstance(event, ev.RunStarted):
            self.started = event
            if self.status == "starting":
                self.status = "running"
        elif isinstance(event, ev.Finished):
            self.final, self.status, self.message = event, event.status, event.message
        elif isinstance(event, ev.Failed):
            self.final, self.status, self.message = event, "failed", event.error
        elif isinstance(event, RunCreated):
            self.run_dir = Path(event.path)
        elif isinstance(event, ev.ResourceSample):
            self.resources = event
        elif isinstance(event, ev.DataProgress):
            self.fetching = event if event.done >= 0 else None
        elif isinstance(event, ev.Preparing):
            self.preparing = event

    def baseline_lines(self) -> list[tuple[str, Series]]:
        """Flat lines of the baselines' validation metric across the val curve's steps."""
        xs = self.val_metric.xs
        if not xs:
            return []
        first = min(xs[0], self.train_metric.xs[0] if self.train_metric.xs else xs[0])
        lines = []
        for name, line_xs, line_ys in baseline_lines(self.baselines, self.metric, first, xs[-1]):
            line = Series()
            for x, y in zip(line_xs, line_ys):
                line.append(x, y)
            lines.append((name, line))
        return lines

    def forecast_curves(self) -> list[tuple[str, Series]]:
        f = self.forecast
        if f is None:
            return []
        truth, pred = Series(), Series()
        for row, t, p in zip(f.rows, f.truth, f.forecast):
            truth.append(row, t)
            pred.append(row, p)
        return [("truth", truth), ("forecast", pred)]

    def fail(self, error: str) -> None:
        """The worker died without a last event."""
        self.version += 1
        self.status, self.message = "failed", error

    def request_stop(self) -> None:
        if self.active:
            self.version += 1
            self.status = "stopping"

    # ------------------------------------------------------------ what the status line says

    def eta(self) -> float | None:
        """Seconds left, from the run's own average pace (validations included)."""
        s, last = self.started, self.last
        if not s or not last or last.seconds <= 0 or self.status in FINAL_STATUSES:
            return None
        done = last.step - s.start_step
        if done <= 0:
            return None
        return (s.total_steps - last.step) * last.seconds / done

    def progress_line(self, width: int | None = None) -> str:
        """status · step n/N · epoch · ETA · best · steps/s · loss · device (all from
        events: no wall clock here), in at most `width` characters: the device goes
        first, then steps/s, epoch and loss; status, step, ETA and best always stay."""
        parts: list[tuple[str, int]] = [(self.status, 0)]     # (text, drop order)
        s, last = self.started, self.last
        if self.fetching is not None and s is None and self.active:
            parts.append((fetch_text(self.fetching), 0))
        if self.preparing is not None and s is None and self.active:
            parts.append((f"{self.preparing.what}…", 0))
        if s:
            epochs = max(1, math.ceil(s.total_steps / max(1, s.steps_per_epoch)))
            parts.append((f"step {self.step:,}/{s.total_steps:,}", 0))
            # epoch is step // steps_per_epoch: the last step of an epoch reads as the next
            parts.append((f"epoch {min((last.epoch if last else 0) + 1, epochs)}/{epochs}", 3))
        eta = self.eta()
        if eta is not None:
            parts.append((f"ETA {clock(eta)}", 0))
        if self.best is not None:
            parts.append((f"best {self.metric} {fmt(self.best)}", 0))
        if last:
            parts.append((f"{last.steps_per_sec:,.0f} steps/s", 2))
            parts.append((f"loss {fmt(last.loss)}", 4))
        if s:
            parts.append((s.device, 1))
        if self.resources is not None and self.active:
            parts.append((resource_text(self.resources), 1))   # goes with the device
        for drop in (1, 2, 3, 4):
            if width is None or len(" · ".join(t for t, _ in parts)) <= width:
                break
            parts = [(t, d) for t, d in parts if d != drop]
        return " · ".join(t for t, _ in parts)
