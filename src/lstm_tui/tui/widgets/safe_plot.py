"""A plotext chart widget that says why it cannot draw instead of raising: a plotting bug
(plotext on odd data, a size of zero) must not take the screen down.  Every chart of the
lab derives from it."""

from __future__ import annotations

from rich.text import Text
from textual_plotext import PlotextPlot


class SafePlot(PlotextPlot):
    def render(self):
        try:
            return super().render()
        except Exception as exc:  # a plotting bug must not take the screen down
            return Text(f"cannot draw this chart: {type(exc).__name__}: {exc}", style="red")
