"""Curves of saved runs: an incremental metrics.jsonl reader and a plot widget.

Charts never hold more than ~2k points per series (min/max decimation keeps the
spikes a plain stride would drop) and redraw at most ~4 times a second, however often
new data arrives.  Nothing here imports torch.
"""

from __future__ import annotations

import json
import math
import os
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rich.markup import escape
from rich.text import Text
from textual.timer import Timer

from lstm_tui.textsafe import printable
from lstm_tui.tui.plotting import (MAX_POINTS, decimate, finite_pairs, legend_entry, log_ticks,
                                   nice_ticks, series_color, series_marker, spaced,
                                   tick_label)
from lstm_tui.tui.widgets.safe_plot import SafePlot

MIN_REDRAW_INTERVAL = 0.25  # seconds: at most 4 redraws a second


AXES = ("step", "time")
READ_CHUNK = 4 << 20
NOT_PLOTTED = frozenset({"step", "time", "epoch", "split"})


class _Columns:
    """One split's records as float columns (NaN where a record lacks a field)."""

    def __init__(self) -> None:
        self.axes = {axis: array("d") for axis in AXES}
        self.values: dict[str, array] = {}
        self.rows = 0

    def add(self, record: dict) -> None:
        for axis, column in self.axes.items():
            column.append(_number(record.get(axis)))
        for key, value in record.items():
            if key not in NOT_PLOTTED and key not in self.values and \
                    not math.isnan(_number(value)):
                self.values[key] = array("d", [math.nan]) * self.rows
        for key, column in self.values.items():
            column.append(_number(record.get(key)))
        self.rows += 1


def _number(value: object) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return math.nan


class MetricsTail:
    """A run's metrics.jsonl read incrementally: each update parses only the bytes
    appended since the last one (a replaced or shortened file is read again).

    Records are kept as float columns per split (per-parameter dicts are dropped), so a
    run of 10^6 steps costs a few megabytes, not a list of dicts.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.count = 0
        self._splits: dict[str, _Columns] = {}
        self._offset = 0
        self._ident: tuple[int, int] | None = None
        self._partial = b""

    def _reset(self) -> None:
        self.count = 0
        self._splits = {}
        self._offset = 0
        self._partial = b""

    def update(self) -> bool:
        """Read what is new; True when the records changed."""
        try:
            st = os.stat(self.path)
        except OSError:
            changed = self.count > 0
            self._reset()
            self._ident = None
            return changed
        ident = (st.st_dev, st.st_ino)
        changed = False
        if ident != self._ident or st.st_size < self._offset:
            changed = self.count > 0
            self._reset()
            self._ident = ident
        if st.st_size == self._offset:
            return changed
        added = 0
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self._offset)
                while data := fh.read(READ_CHUNK):   # in chunks: a big file never sits whole
                    self._offset += len(data)
                    lines = (self._partial + data).split(b"\n")
                    self._partial = lines.pop()  # an unfinished last line waits for more
                    added += self._parse(lines)
        except OSError:
            pass
        self.count += added
        return changed or added > 0

    def _parse(self, lines: list[bytes]) -> int:
        added = 0
        for line in lines:
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(record, dict) and isinstance(record.get("split"), str):
                self._splits.setdefault(record["split"], _Columns()).add(record)
                added += 1
        return added

    def keys(self) -> set[str]:
        """Every field recorded as a number in some record (the axes excepted)."""
        return {key for cols in list(self._splits.values()) for key in list(cols.values)}

    def series(self, split: str, key: str, x: str = "step") -> tuple[list[float], list[float]]:
        """(x, value) of one field in one split, skipping records that lack either.

        Safe to call while another thread updates: it reads a consistent prefix.
        """
        cols = self._splits.get(split)
        if cols is None or key not in cols.values or x not in cols.axes:
            return [], []
        xs_all, ys_all = cols.axes[x], cols.values[key]
        n = min(len(xs_all), len(ys_all))
        xs, ys = [], []
        for xv, yv in zip(xs_all[:n], ys_all[:n]):
            if xv == xv and yv == yv:   # neither is NaN
                xs.append(xv)
                ys.append(yv)
        return xs, ys


HEAT_ROWS = 256             # validations shown in the gradient-per-time-step heatmap
HEAT_BYTES = 8 << 20        # at most the last 8 MB of diagnostics.jsonl are read


def read_heat_rows(path: Path, rows: int = HEAT_ROWS,
                   max_bytes: int = HEAT_BYTES) -> list[tuple[int, tuple[float, ...]]]:
    """The last `rows` validations of a run's diagnostics.jsonl as (step, ‖∂L/∂h_t‖ per
    t), read from the end of the file (never more than `max_bytes`); lines that are cut
    short, damaged or of another shape are skipped, a missing file is no rows."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            start = max(0, size - max_bytes)
            fh.seek(start)
            data = fh.read(size - start)
    except OSError:
        return []
    lines = data.split(b"\n")
    if start > 0:
        lines = lines[1:]                    # the first one is cut by the window
    found: list[tuple[int, tuple[float, ...]]] = []
    for line in reversed(lines):
        if len(found) >= rows:
            break
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        norms = record.get("timestep_grad_norms") if isinstance(record, dict) else None
        step = record.get("step") if isinstance(record, dict) else None
        if not isinstance(step, int) or isinstance(step, bool) or not isinstance(norms, list):
            continue
        found.append((step, tuple(_number(v) for v in norms)))
    return found[::-1]


# ---------------------------------------------------------------- the plot widget

@dataclass(frozen=True)
class Curve:
    """One line of a chart; `index` picks its colour and marker."""
    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    index: int = 0


@dataclass(frozen=True)
class PlotState:
    """What a CurvesPlot shows now (tests and the status line read it)."""
    title: str = ""
    xlabel: str = "step"
    log_y: bool = False
    labels: tuple[str, ...] = ()
    points: tuple[int, ...] = ()        # points drawn per curve, after decimation
    y_range: tuple[float, float] | None = None   # in data units
    message: str = ""


@dataclass
class _Pending:
    curves: list[Curve]
    title: str
    xlabel: str
    log_y: bool
    message: str


class CurvesPlot(SafePlot):
    """Overlaid line curves, decimated to MAX_POINTS each, redrawn at most at 4 Hz.

    The title and the legend (marker and colour of each curve) sit on the top border,
    where they hide no data.
    """

    DEFAULT_CSS = """
    CurvesPlot {
        width: 1fr;
        height: 1fr;
        min-height: 6;
        border-top: solid $panel-lighten-2;
        border-title-align: left;
        border-title-color: $text;
    }
    """

    def __init__(self, *, max_points: int = MAX_POINTS,
                 min_interval: float = MIN_REDRAW_INTERVAL, empty_message: str = "no data yet",
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.max_points = max_points
        self.min_interval = min_interval
        self.empty_message = empty_message
        self.state = PlotState(message=empty_message)
        self.draw_count = 0
        self._pending: _Pending | None = None
        self._last_draw = -math.inf
        self._timer: Timer | None = None
        self._version = 0
        self._cache: tuple[tuple, Text] | None = None

    def show(self, curves: Sequence[Curve], *, title: str = "", xlabel: str = "step",
             log_y: bool = False, message: str = "") -> None:
        """Replace what the plot shows; drawn now, or when the 4 Hz budget allows.  The
        words may name a run's metric or a file: shown escaped (lstm_tui.textsafe)."""
        self._pending = _Pending(list(curves), printable(title), printable(xlabel), log_y,
                                 printable(message))
        wait = self.min_interval - (time.monotonic() - self._last_draw)
        if wait <= 0 or not self.is_mounted:
            self._draw()
        elif self._timer is None:
            self._timer = self.set_timer(wait, self._draw)

    def flush(self) -> None:
        """Draw a pending update now (tests, and before a screenshot)."""
        if self._pending is not None:
            self._draw()

    def _draw(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        pending, self._pending = self._pending, None
        if pending is None:
            return
        plt = self.plt
        plt.clear_figure()
        plt.frame(False)
        labels, points, legend = [], [], []
        lo, hi, x_lo, x_hi = math.inf, -math.inf, math.inf, -math.inf
        for curve in pending.curves:
            xs, ys = finite_pairs(curve.xs, curve.ys, positive=pending.log_y)
            if not xs:
                continue
            if pending.log_y:
                ys = [math.log10(v) for v in ys]
            xs, ys = decimate(xs, ys, self.max_points)
            lo, hi = min(lo, min(ys)), max(hi, max(ys))
            x_lo, x_hi = min(x_lo, xs[0]), max(x_hi, xs[-1])
            plt.plot(xs, ys, marker=series_marker(curve.index),
                     color=series_color(curve.index))
            legend.append(legend_entry(curve.index, curve.label))
            labels.append(curve.label)
            points.append(len(xs))
        message = pending.message or ("" if labels else self.empty_message)
        if labels:
            ticks = nice_ticks(x_lo, x_hi)
            plt.xticks(ticks, [tick_label(t) for t in ticks])
            if pending.log_y:      # no two ticks on one row (plotext's pick is not stable)
                plt.yticks(*spaced(*log_ticks(lo, hi), lo, hi, self.size.height - 1))
        else:
            plt.title(message)
        head = f"[b]{escape(pending.title)}[/b]" if pending.title else ""
        if pending.xlabel != "step":
            head += f" [dim]vs {escape(pending.xlabel)}[/dim]"
        parts = [head] + legend + ([f"[yellow]{escape(message)}[/]"] if message and labels
                                   else [])
        self.border_title = "  ".join(p for p in parts if p)
        y_range = None
        if labels:
            y_range = (10 ** lo, 10 ** hi) if pending.log_y else (lo, hi)
        self.state = PlotState(title=pending.title, xlabel=pending.xlabel, log_y=pending.log_y,
                               labels=tuple(labels), points=tuple(points), y_range=y_range,
                               message=message)
        self.draw_count += 1
        self._version += 1
        self._last_draw = time.monotonic()
        self.refresh()

    def render(self):
        # Building a plotext chart is the slow part: do it once per data version and size.
        key = (self._version, self.size.width, self.size.height, self.app.theme, self.theme)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        text = super().render()          # SafePlot: a plotting bug is a line, not a crash
        self._cache = (key, text)
        return text
