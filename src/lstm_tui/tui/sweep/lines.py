"""The Sweep screen's Lines view: the metric along one axis, a line per value of another.

Min-max band over seeds, a line per value of another axis (RNN vs LSTM over sequence
length); the numbers are :func:`lstm_tui.sweeps.surface.lines`, drawn by
:class:`~lstm_tui.tui.widgets.band_plot.BandPlot`.  The screen hands the sweep down in
``shown``; the view redraws when it or one of its own choices changes.  Nothing here
imports torch.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Checkbox, Label, Select

from lstm_tui.sweeps import surface as sf
from lstm_tui.tui.sweep.state import Shown, SweepState
from lstm_tui.tui.widgets.band_plot import BandPlot
from lstm_tui.tui.widgets.heatmap import leaf
from lstm_tui.tui.widgets.check import Check

NO_AXIS = "none"


class LinesView(Vertical):
    """The column shown along `x`, a line per value of `by` (or one line)."""

    shown: reactive[Shown] = reactive(Shown(None), init=False)
    log_x: reactive[bool] = reactive(False, init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.x = ""
        self.by = NO_AXIS
        self._axes: tuple = ()

    def compose(self) -> ComposeResult:
        with Horizontal(classes="view-controls"):
            yield Label("x", classes="lbl")
            yield Select([], prompt="–", id="lines-x", compact=True)
            yield Label("lines", classes="lbl gap")
            yield Select([], prompt="–", id="lines-by", compact=True)
            yield Check("log x", id="lines-logx", compact=True)
        yield BandPlot(id="lines-plot")

    def watch_shown(self, old: Shown, new: Shown) -> None:
        axes = tuple(new.state.axes) if new.state else ()
        if new.state is not old.state or axes != self._axes:
            self._new_axes(new.state)
        self.redraw()

    def watch_log_x(self) -> None:
        self.redraw()

    def _new_axes(self, state: SweepState | None) -> None:
        if state is None:
            self._axes, self.x, self.by = (), "", NO_AXIS
            for select_id in ("#lines-x", "#lines-by"):
                select = self.query_one(select_id, Select)
                with select.prevent(Select.Changed):
                    select.set_options([])
            return
        if tuple(state.axes) != self._axes:
            self._axes = tuple(state.axes)
            self.x = ""
        if self.x not in state.axes:     # along the numeric axis with most values
            numeric = [a for a in state.axes if all(
                isinstance(v, (int, float)) and not isinstance(v, bool)
                for v in state.planned(a))]
            self.x = max(numeric or state.axes, key=lambda a: len(state.planned(a)))
        if self.by not in state.axes or self.by == self.x:
            others = [a for a in state.axes if a != self.x
                      and 1 < len(state.planned(a)) <= 6]      # a line per cell, say
            self.by = min(others, key=lambda a: len(state.planned(a))) if others \
                else NO_AXIS
        axis_options = [(leaf(a), a) for a in state.axes]
        self._set_select("#lines-x", axis_options, self.x)
        self._set_select("#lines-by", [("one line", NO_AXIS)]
                         + [(f"per {leaf(a)}", a) for a in state.axes], self.by)

    def _set_select(self, selector: str, options: list, value: Any) -> None:
        select = self.query_one(selector, Select)
        with select.prevent(Select.Changed):
            select.set_options(options)
            select.value = value

    @on(Select.Changed, "#lines-x, #lines-by")
    def _axes_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if not isinstance(event.value, str):
            return
        if event.select.id == "lines-x":
            self.x = event.value
        else:
            self.by = event.value
        if self.by == self.x:     # a line per value of x itself says nothing
            self.by = NO_AXIS
            select = self.query_one("#lines-by", Select)
            with select.prevent(Select.Changed):
                select.value = NO_AXIS
        self.redraw()

    @on(Checkbox.Changed, "#lines-logx")
    def _log_x_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.log_x = event.value

    def redraw(self) -> None:
        if not self.is_mounted:
            return
        plot = self.query_one("#lines-plot", BandPlot)
        state, column = self.shown.state, self.shown.column
        if state is None:
            plot.show([], title="no sweep yet", xlabel="")
            return
        by = None if self.by == NO_AXIS else self.by
        found = sf.lines(state.result_rows(), state.axes, self.x, column, state.goal, by=by)
        title = f"{column.replace('_', ' ')} over {leaf(self.x)} (mean over seeds)"
        plot.show(found, title=title, xlabel=self.x, log_x=self.log_x)
