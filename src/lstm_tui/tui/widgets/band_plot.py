"""The Sweep screen's Lines view: a metric along one axis, a line per value of another.

Each line is a :class:`~lstm_tui.sweeps.surface.Line` (means over seeds, with the min and
max); the widget draws what it is given and computes nothing.  Nothing here imports torch.
"""

from __future__ import annotations

import math
from typing import Any

from rich.markup import escape

from lstm_tui.numbers import fmt
from lstm_tui.sweeps import surface as sf
from lstm_tui.tui.plotting import legend_entry, series_color, series_marker
from lstm_tui.tui.widgets.run_charts import CurvesPlot
from lstm_tui.tui.widgets.safe_plot import SafePlot


def flat_range(lo: float, hi: float) -> tuple[float, float] | None:
    """The y range to draw: the data's own (None: plotext's choice), or, when every value
    is the same, that value ±5% (±0.05 around 0) instead of an axis that makes a line of
    ones look like data from 0.83 to 1.5."""
    if hi > lo:
        return None
    pad = abs(lo) * 0.05 or 0.05
    return lo - pad, hi + pad


class BandPlot(SafePlot):
    """Lines of a metric along an axis, each with its min-max band over seeds (dotted);
    axes of names (cells, optimizers) are placed evenly and labelled."""

    DEFAULT_CSS = CurvesPlot.DEFAULT_CSS.replace("CurvesPlot", "BandPlot")  # the same look

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.labels: tuple[str, ...] = ()
        self.shown: list[sf.Line] = []
        self.y_range: tuple[float, float] | None = None    # set when every y is the same

    def show(self, lines: list[sf.Line], *, title: str, xlabel: str,
             log_x: bool = False) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.frame(False)
        self.shown = [line for line in lines if line.xs]
        values: list = []
        for line in self.shown:
            values += [v for v in line.xs if not any(sf.same_value(v, s) for s in values)]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        log = log_x and numeric and values and all(v > 0 for v in values)
        if numeric:
            values.sort()

        def place(v: Any) -> float:
            if not numeric:
                return float(next(i for i, s in enumerate(values) if sf.same_value(v, s)))
            return math.log10(v) if log else float(v)

        legend = []
        for i, line in enumerate(self.shown):      # bands first: the means draw over them
            if any(h != lo for h, lo in zip(line.highs, line.lows)):
                xs = [place(v) for v in line.xs]
                plt.plot(xs, line.lows, marker="·", color=series_color(i))
                plt.plot(xs, line.highs, marker="·", color=series_color(i))
        for i, line in enumerate(self.shown):
            plt.plot([place(v) for v in line.xs], line.means, marker=series_marker(i),
                     color=series_color(i))
            legend.append(legend_entry(i, line.label))
        ys = [y for line in self.shown for y in (*line.means, *line.lows, *line.highs)
              if y is not None and math.isfinite(y)]
        self.y_range = flat_range(min(ys), max(ys)) if ys else None
        if self.y_range is not None:
            lo, hi = self.y_range
            plt.ylim(lo - (hi - lo) / 4, hi + (hi - lo) / 4)   # room for the end labels
            ticks = [lo, (lo + hi) / 2, hi]
            plt.yticks(ticks, [fmt(t, 3) for t in ticks])
        if values:
            shown = values if len(values) <= 12 else values[::math.ceil(len(values) / 12)]
            plt.xticks([place(v) for v in shown], [fmt(v, 3) for v in shown])
        else:
            plt.title("no finished points yet")
        self.labels = tuple(line.label for line in self.shown)
        head = f"[b]{escape(title)}[/b]"
        if log:
            head += " · log x"
        self.border_title = "  ".join([head, *legend, "[dim]dotted: min-max over seeds[/]"
                                       if self.shown else ""])
        self.refresh()
