"""The one set of plotting helpers every chart of the lab uses.

Colours and markers of the n-th curve, the viridis ramp (and its NO_COLOR shades), the
min/max decimator, smoothing, and the ticks of linear and log axes.  Plain Python (numpy
for the decimator, imported when a series is long): no Textual, so the pure run state
(:mod:`lstm_tui.tui.live`) can use it too.  Nothing here imports torch.
"""

from __future__ import annotations

import math
from typing import Sequence

from lstm_tui.textsafe import printable

# ---------------------------------------------------------------- curves: colour and marker

# One colour per curve (run, split, axis value), used by the plots and by the tables that
# act as their legend ...
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 175, 255), (255, 135, 0), (95, 215, 95), (215, 95, 215),
    (255, 215, 0), (255, 95, 95), (135, 175, 255), (175, 175, 175),
)
# ... and one marker each, so that curves stay apart without colour (NO_COLOR)
MARKERS = ("hd", "dot", "x", "+", "*", "o", "#", "@")
MARKER_GLYPHS = {"hd": "▀", "dot": "•"}


def series_color(index: int) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)]


def series_marker(index: int) -> str:
    return MARKERS[index % len(MARKERS)]


def marker_glyph(index: int) -> str:
    """The character the n-th curve is drawn with (for legends)."""
    marker = series_marker(index)
    return MARKER_GLYPHS.get(marker, marker)


def rich_color(index: int) -> str:
    r, g, b = series_color(index)
    return f"rgb({r},{g},{b})"


def legend_entry(index: int, label: str) -> str:
    """A legend item in Rich markup: the curve's glyph in its colour, then its label."""
    from rich.markup import escape
    return f"[{rich_color(index)}]{marker_glyph(index)}[/] {escape(printable(label))}"


# ---------------------------------------------------------------- heat: viridis and shades

# viridis, dark (low, worst) to bright (high, best)
RAMP = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
        "#6ece58", "#b5de2b", "#fde725")
SHADES = "░▒▓█"          # the same scale without colour (NO_COLOR)


def ramp_color(frac: float) -> str:
    """The viridis colour of a fraction 0 (dark) … 1 (bright)."""
    return RAMP[min(len(RAMP) - 1, max(0, int(frac * len(RAMP))))]


def shade(frac: float) -> str:
    """The shade character of a fraction 0 (light) … 1 (full block)."""
    return SHADES[min(len(SHADES) - 1, max(0, int(frac * len(SHADES))))]


# ---------------------------------------------------------------- data

MAX_POINTS = 2000


def finite_pairs(xs: Sequence[float], ys: Sequence[float],
                 positive: bool = False) -> tuple[list[float], list[float]]:
    """Drop points whose y is None, NaN or infinite (and <= 0 when `positive`)."""
    out_x, out_y = [], []
    for x, y in zip(xs, ys):
        if y is None or x is None:
            continue
        y = float(y)
        if not math.isfinite(y) or (positive and y <= 0):
            continue
        out_x.append(float(x))
        out_y.append(y)
    return out_x, out_y


def decimate(xs: Sequence[float], ys: Sequence[float],
             max_points: int = MAX_POINTS) -> tuple[list[float], list[float]]:
    """At most `max_points` points that keep each bucket's minimum and maximum.

    The series is cut into ~max_points/2 equal buckets of consecutive points; each
    bucket contributes its lowest and its highest point (in order), and the first and
    last points are always kept, so spikes and the overall range survive whatever the
    zoom.  Values must be finite (see `finite_pairs`).
    """
    n = len(ys)
    if len(xs) != n:
        raise ValueError(f"xs and ys differ in length ({len(xs)} != {n})")
    if n <= max_points:
        return list(xs), list(ys)
    if max_points < 4:
        raise ValueError(f"max_points must be >= 4, got {max_points}")
    import numpy as np

    y = np.asarray(ys, dtype=float)
    buckets = (max_points - 2) // 2
    size = math.ceil(n / buckets)
    rows = math.ceil(n / size)
    padded = np.full(rows * size, np.nan)
    padded[:n] = y
    grid = padded.reshape(rows, size)
    base = np.arange(rows) * size
    lows = base + np.nanargmin(grid, axis=1)
    highs = base + np.nanargmax(grid, axis=1)
    keep = np.unique(np.concatenate(([0, n - 1], lows, highs)))
    x = np.asarray(xs, dtype=float)
    return x[keep].tolist(), y[keep].tolist()


def baseline_lines(baselines: object, metric: str, first: float, last: float
                   ) -> list[tuple[str, list[float], list[float]]]:
    """(name, xs, ys) of a flat line per baseline at its figure for `metric` (the series
    task's persistence MAE, ...) from step `first` to `last`: the Live pane and the run
    detail draw the same lines from the same figures (summary.json's "baselines")."""
    lines = []
    for name, figures in (baselines.items() if isinstance(baselines, dict) else ()):
        value = figures.get(metric) if isinstance(figures, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool) \
                and math.isfinite(value):
            lines.append((str(name), [first, last], [float(value), float(value)]))
    return lines


def ema(values: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average with TensorBoard's debiasing (weight 0 = unchanged)."""
    if weight <= 0:
        return list(values)
    if weight >= 1:
        raise ValueError(f"smoothing weight must be < 1, got {weight}")
    out, last, n = [], 0.0, 0
    for v in values:
        n += 1
        last = last * weight + (1 - weight) * v
        out.append(last / (1 - weight ** n))
    return out


# ---------------------------------------------------------------- axes

def tick_label(value: float) -> str:
    """An axis label: 950, 12k, 1.5M, 0.25."""
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.3g}"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About `count` round numbers spanning [lo, hi] (1, 2, 2.5 or 5 times a power of 10)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(1, count - 1)
    mag = 10 ** math.floor(math.log10(raw))
    size = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / size - 1e-9) * size
    ticks, n = [], 0
    while first + n * size <= hi + 1e-9 * size:
        ticks.append(round(first + n * size, 12))
        n += 1
    return ticks


def spaced(ticks: Sequence[float], labels: Sequence[str], lo: float, hi: float,
           rows: int, gap: float = 1.5) -> tuple[list[float], list[str]]:
    """The ticks (and their labels) at least `gap` rows apart on a `rows`-row axis over
    [lo, hi], keeping the earlier of two that would be closer: a terminal row holds one
    label, and the charting library's choice between two is not stable."""
    kept: tuple[list[float], list[str]] = ([], [])
    last = None
    for tick, label in zip(ticks, labels):
        row = (tick - lo) / (hi - lo) * (rows - 1) if hi > lo and rows > 1 else 0.0
        if last is None or abs(row - last) >= gap:
            kept[0].append(tick)
            kept[1].append(label)
            last = row
    return kept


def log_ticks(lo: float, hi: float, max_ticks: int = 6,
              min_ticks: int = 3) -> tuple[list[float], list[str]]:
    """Tick positions (in log10 units) and labels (in data units) for a log10 axis:
    whole decades, else 1-2-5 (1-2-3-5), else every digit; at least `min_ticks` where the range
    allows (a short range gets evenly spaced ticks), at most `max_ticks`."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [], []
    if hi < lo:
        lo, hi = hi, lo
    for mantissas in ((1,), (1, 2, 5), (1, 2, 3, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9)):
        ticks = [math.log10(m) + k for k in range(math.floor(lo), math.ceil(hi) + 1)
                 for m in mantissas if lo - 1e-9 <= math.log10(m) + k <= hi + 1e-9]
        if len(ticks) >= min_ticks:
            break
    else:
        if len(ticks) < 2:
            ticks = [lo + (hi - lo) * i / 3 for i in range(4)] if hi > lo else [lo]
    if len(ticks) > max_ticks:
        stride = math.ceil(len(ticks) / max_ticks)
        ticks = ticks[::stride]
    return ticks, [f"{10 ** t:.3g}" for t in ticks]
