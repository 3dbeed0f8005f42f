"""The Lab's Live pane: the runs started from the app, and the selected run's charts.

It is built after the first frame (plotext and the DataTable come with it).  The Lab
decides when to draw; these functions know what goes where.
"""

from __future__ import annotations

from typing import Mapping

from rich.text import Text
from textual.containers import Grid, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from lstm_tui.tui.live import RunState
from lstm_tui.tui.widgets.active_runs import ActiveRuns
from lstm_tui.tui.widgets.charts import CurveChart, GradHeatmap


def live_view() -> VerticalScroll:
    """The pane's contents: the runs table, four charts, the gradient heatmap, the
    forecast (series tasks) and the latest text sample (text tasks)."""
    return VerticalScroll(
        ActiveRuns(id="active-runs", cursor_type="row"),
        Grid(CurveChart("loss", id="chart-loss"),
             CurveChart("metric", id="chart-metric"),
             CurveChart("grad norm (log)", log_y=True, id="chart-grad"),
             CurveChart("per layer (log)", log_y=True, id="chart-layers"),
             id="charts"),
        GradHeatmap(id="heatmap"),
        CurveChart("forecast vs truth (val)", id="chart-forecast"),
        Static(id="sample"), id="live-scroll")


def show_rows(table: ActiveRuns, states: Mapping[str, RunState], dirty: set[str],
              selected: str | None, move_cursor: bool, width: int) -> bool:
    """Add the new runs' rows and update the `dirty` ones (new rows join `dirty`); the
    cursor goes to `selected` when `move_cursor` is set or the rows were rebuilt.  True
    when the columns were refitted to `width` (every row is drawn anew).

    Otherwise the cursor is left where the user put it: forcing it to `selected` on every
    redraw would fight a key press whose highlight message is still on its way (the
    screen learns of the key only from that message), and the two would swap for ever."""
    refitted = table.fit_columns(width)
    columns = [c.value for c in table.columns]
    for key, state in states.items():
        row = ActiveRuns.row(state)
        if key not in table.rows:
            table.add_row(*(row[c] for c in columns), key=key)
            dirty.add(key)
        elif key in dirty:
            for column in columns:
                table.update_cell(key, column, row[column], update_width=True)
    if ((move_cursor or refitted) and selected in table.rows
            and table.cursor_row != table.get_row_index(selected)):
        table.move_cursor(row=table.get_row_index(selected))
    return refitted


def draw_charts(view: Widget, state: RunState) -> None:
    """Draw the run's curves, heatmap, forecast and sample into the pane under `view`."""
    sample = view.query_one("#sample", Static)
    stamp = (state.key, state.version)
    view.query_one("#chart-loss", CurveChart).show(
        [("train", state.train_loss), ("val", state.val_loss)], stamp)
    view.query_one("#chart-metric", CurveChart).show(
        [("train", state.train_metric), ("val", state.val_metric),
         *state.baseline_lines()], stamp, state.metric)
    forecast = view.query_one("#chart-forecast", CurveChart)
    forecast.display = state.forecast is not None
    if state.forecast is not None:
        forecast.show(state.forecast_curves(), stamp,
                      f"{state.forecast.target} at step {state.forecast.step:,}: "
                      "forecast vs truth (val)")
    view.query_one("#chart-grad", CurveChart).show([("‖g‖", state.grad_norm)], stamp)
    view.query_one("#chart-layers", CurveChart).show(sorted(state.layers.items()), stamp)
    view.query_one("#heatmap", GradHeatmap).show(state.heat, stamp)
    sample.display = state.sample is not None
    s = state.sample
    if s is not None and sample.border_title != (title := (
            f"sample at step {s.step:,} (temperature {s.temperature:g})")):
        sample.border_title = title
        sample.update(Text(s.text))
