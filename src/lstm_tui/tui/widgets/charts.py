"""Live charts of one run: plotext line charts and a gradient-per-time-step heatmap.

Both draw from a :class:`~lstm_tui.tui.live.RunState` and skip the work when neither the
run (its ``version``) nor their size changed; the screen calls ``show`` at most ~4 times
a second.  Curves are cut to about two points per column before plotting.
"""

from __future__ import annotations

import math
from typing import Sequence

from rich.text import Text
from textual.widget import Widget

from lstm_tui.numbers import fmt
from lstm_tui.tui.live import Series
from lstm_tui.tui.plotting import (RAMP, SHADES, legend_entry, log_ticks, nice_ticks, ramp_color,
                                   series_color, series_marker, shade, spaced, tick_label)
from lstm_tui.tui.widgets.safe_plot import SafePlot


class CurveChart(SafePlot):
    """Overlaid curves (label, Series) with an optional log y axis; the legend is the title."""

    def __init__(self, title: str, *, log_y: bool = False, id: str | None = None) -> None:
        super().__init__(id=id, classes="chart")
        self.caption = title
        self.border_title = title
        self.log_y = log_y
        self._drawn: tuple | None = None
        self.plotted: list[tuple[str, list, list]] = []   # (label, xs, ys) as last drawn: what each curve holds

    def show(self, curves: Sequence[tuple[str, Series]], version: object,
             title: str | None = None) -> None:
        """Plot the curves unless this very data was plotted at this size already."""
        stamp = (version, self.size.width, self.size.height, len(curves), title)
        if stamp == self._drawn:
            return
        self._drawn = stamp
        self.caption = title or self.caption
        plt = self.plt
        plt.clear_figure()
        plt.frame(False)
        points = max(16, self.size.width)     # min and max of every two columns
        views = [(label, *series.view(points)) for label, series in curves]
        views = [v for v in views if v[1]]
        self.plotted = views
        # plotext's own log scale rewrites its data at every build: plot log10 values instead
        log = self.log_y and all(y > 0 for _, _, ys in views for y in ys)
        legend = [self.caption]
        for i, (label, xs, ys) in enumerate(views):
            plt.plot(xs, [math.log10(y) for y in ys] if log else ys, marker=series_marker(i),
                     color=series_color(i))
            legend.append(legend_entry(i, label))
        if views:
            ticks = nice_ticks(min(v[1][0] for v in views), max(v[1][-1] for v in views))
            plt.xticks(ticks, [tick_label(t) for t in ticks])
            ys = [y for _, _, ys in views for y in ys if math.isfinite(y)]
            # plotext keeps one label of a row that gets two, and which one it keeps is not
            # fixed from one process to the next: ticks that would share a row are dropped
            rows = self.size.height - 1           # the plot's rows, above the x labels
            if log:
                ys = [math.log10(y) for y in ys]
                plt.yticks(*spaced(*log_ticks(min(ys), max(ys)), min(ys), max(ys), rows))
            elif ys and max(ys) > min(ys):
                # round numbers from the data's extremes (min/max decimation keeps them), so
                # the labels never depend on the width the chart had when it was drawn
                yticks = nice_ticks(min(ys), max(ys))
                plt.yticks(*spaced(yticks, [tick_label(t) for t in yticks], min(ys), max(ys),
                                   rows))
        else:
            plt.title("waiting for the first records")
        title = "  ".join(legend)
        if title != self.border_title:
            self.border_title = title
        self.refresh()


def _bucket(norms: Sequence[float], cols: int) -> list[float | None]:
    """`norms` squeezed (or stretched) into `cols` cells; a cell's value is its mean."""
    n = len(norms)
    out: list[float | None] = []
    for c in range(cols):
        lo, hi = c * n // cols, max(c * n // cols + 1, (c + 1) * n // cols)
        vals = [v for v in norms[lo:hi] if v is not None and math.isfinite(v) and v > 0]
        out.append(sum(vals) / len(vals) if vals else None)
    return out


class GradHeatmap(Widget):
    """Rows: validations (latest at the bottom); columns: time step t; colour: log ‖∂L/∂h_t‖.

    Vanishing gradients show as a dark left side: the loss at the end of the sequence
    barely reaches the early steps.
    """

    DEFAULT_CSS = """
    GradHeatmap { height: 1fr; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, classes="chart")
        self.border_title = "gradient norm per time step ‖∂L/∂hₜ‖ (rows: validations)"
        self.rows: list[tuple[int, tuple[float, ...]]] = []
        self._drawn: tuple | None = None

    def show(self, rows: Sequence[tuple[int, tuple[float, ...]]], version: object) -> None:
        stamp = (version, self.size.width, self.size.height)
        if stamp == self._drawn:
            return
        self._drawn = stamp
        self.rows = list(rows)
        self.refresh()

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        if not self.rows:
            return Text("appears at the first validation", style="dim")
        label_w = max(len(f"{s:,}") for s, _ in self.rows) + 1
        cells = max(1, width - label_w)
        visible = self.rows[-max(1, height - 1):]
        seq_len = max(len(n) for _, n in visible)
        cols = min(cells, seq_len)
        widen = max(1, cells // max(1, cols))
        grid = [(step, _bucket(norms, cols)) for step, norms in visible]
        logs = [math.log10(v) for _, row in grid for v in row if v is not None]
        lo, hi = (min(logs), max(logs)) if logs else (0.0, 1.0)
        span = (hi - lo) or 1.0
        mono = self.app.no_color
        text = Text(no_wrap=True, overflow="crop")
        for step, row in grid:
            text.append(f"{step:>{label_w - 1},} ", style="dim")
            for v in row:
                if v is None:
                    text.append(" " * widen)
                    continue
                frac = (math.log10(v) - lo) / span
                if mono:
                    text.append(shade(frac) * widen)
                else:
                    text.append("█" * widen, style=ramp_color(frac))
            text.append("\n")
        legend = f"t = 0 … {seq_len - 1}   low {fmt(10 ** lo, 2)} "
        text.append(" " * label_w + legend, style="dim")
        if mono:
            text.append(SHADES)
        else:
            for color in RAMP:
                text.append("█", style=color)
        text.append(f" {fmt(10 ** hi, 2)} high", style="dim")
        return text
