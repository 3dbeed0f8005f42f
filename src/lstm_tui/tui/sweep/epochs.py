"""The Sweep screen's Epochs view: the seed's "accuracy during training".

The validation metric by epoch, a line per value of one axis (mean of its runs), from
:func:`lstm_tui.sweeps.surface.epoch_lines`.  The runs' metrics files are read in a thread
worker, one read at a time; a read that ends after the sweep moved on is followed by
another.  The screen hands the sweep down in ``shown``.  Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Label, Select
from textual.worker import Worker, WorkerState

from lstm_tui.sweeps import surface as sf
from lstm_tui.tui.sweep.state import Shown, SweepState
from lstm_tui.tui.widgets.heatmap import leaf
from lstm_tui.tui.widgets.run_charts import Curve, CurvesPlot


class EpochsView(Vertical):
    """The metric by epoch for each value of `axis`."""

    shown: reactive[Shown] = reactive(Shown(None), init=False)
    axis: reactive[str] = reactive("", init=False)

    @dataclass
    class Loaded(Message):
        """The epoch lines of `key` (state id, version, axis) were read (thread worker)."""
        key: tuple
        lines: list

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.loaded_key: tuple | None = None      # what the plot shows now
        self._reader: Worker | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="view-controls"):
            yield Label("a line per", classes="lbl")
            yield Select([], prompt="–", id="epochs-axis", compact=True)
        yield CurvesPlot(id="epochs-plot", empty_message="no finished points yet")

    def watch_shown(self, old: Shown, new: Shown) -> None:
        state = new.state
        axes = tuple(state.axes) if state else ()
        if state is not old.state or axes != tuple(old.state.axes if old.state else ()):
            select = self.query_one("#epochs-axis", Select)
            with select.prevent(Select.Changed):
                select.set_options([(leaf(a), a) for a in axes])
                if state is not None:
                    keep = self.axis if self.axis in state.axes else state.axes[0]
                    select.value = keep
                    self.set_reactive(EpochsView.axis, keep)
            self.loaded_key = None
        self.load()

    def watch_axis(self) -> None:
        self.load()

    @on(Select.Changed, "#epochs-axis")
    def _axis_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str):
            self.axis = event.value

    def _key(self, state: SweepState) -> tuple:
        return (id(state), state.version, self.axis, self.shown.column)

    def load(self) -> None:
        """Read the runs' epochs unless the plot shows them already or a read is under way
        (its end looks again)."""
        if not self.is_mounted:
            return
        state = self.shown.state
        if state is None:
            self.loaded_key = None
            self.query_one("#epochs-plot", CurvesPlot).show([], title="no sweep yet")
            return
        key = self._key(state)
        if key == self.loaded_key or (self._reader is not None and self._reader.is_running):
            return
        rows, axis = state.result_rows(), self.axis
        self._reader = self.run_worker(lambda: self._read(key, state, axis, rows), thread=True,
                                       group="sweep-epochs", exit_on_error=False)

    def _read(self, key: tuple, state: SweepState, axis: str, rows: list[dict]) -> None:
        records = sf.load_records(state.sweep_dir, rows)
        self.post_message(self.Loaded(key, sf.epoch_lines(rows, records, axis, state.metric)))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        message.stop()
        self.loaded_key = message.key
        state = self.shown.state
        if state is None:
            return
        axis = leaf(message.key[2])
        # the title names the axis once, so a legend item is its value: "5", not
        # "features=5" (a legend of those was cut short at 120 columns)
        curves = [Curve(line.label.removeprefix(f"{axis}="), [float(x) for x in line.xs],
                        line.means, index=i)
                  for i, line in enumerate(message.lines) if line.xs]
        self.query_one("#epochs-plot", CurvesPlot).show(
            curves, title=f"mean val {state.metric} per {axis}",
            xlabel="epoch", message="" if curves else "no validation records yet")

    @on(Worker.StateChanged)
    def _reader_done(self, event: Worker.StateChanged) -> None:
        if event.worker is self._reader and event.state == WorkerState.SUCCESS:
            self.load()                      # the sweep may have moved on meanwhile
