"""Which view of a sweep `sweep-report` shows, as data: the terminal, `--json` and
`--output` figures all draw the same :class:`SweepView` (no rich, no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lstm_tui.config import ConfigError
from lstm_tui.sweeps import surface as sf
from lstm_tui.sweeps import trials as tr


@dataclass
class SweepView:
    kind: str                           # "table" | "heatmap" | "lines" | "epochs" | "trials"
    title: str = ""
    x: str | None = None                # the axis across (lines: along the chart)
    y: str | None = None                # heatmap: the axis down
    by: str | None = None               # lines: one line per value of this axis
    surface: sf.Surface | None = None   # heatmap
    lines: list[sf.Line] | None = None  # lines and epochs
    xlabel: str = ""
    ylabel: str = ""
    log_x: bool = False
    show_table: bool = False            # no view asked for: the result table comes first
    trials: tr.Trials | None = None     # trials: a sweep of drawn points (tpe, random)


def sweep_view(data: sf.SweepData, rows: list[dict], pinned: dict[str, Any], column: str, *,
               x: str | None = None, y: str | None = None, by: str | None = None,
               epochs: str | None = None, log_x: bool = False) -> SweepView:
    """The view the options ask for (see `lstm-lab sweep-report --help`)."""
    label = column.replace("_", " ")
    if tr.drawn(data.search):
        if not (x or y or by or epochs):
            return trials_view(data, rows, column)
        grouping = {"--x": x, "--y": y} if y else {}     # --x alone: the metric along x
        _no_range_axis(data, {**grouping, "--by": by, "--epochs": epochs})
    if epochs:
        axis = sf.resolve_axis(epochs, data.axes, "--epochs")
        curves = sf.epoch_lines(rows, sf.load_records(data.path, rows), axis, data.metric)
        return SweepView("epochs", f"val {data.metric} by epoch, per {axis} (mean of runs; "
                         "band: min-max)", x=axis, by=axis, lines=curves, xlabel="epoch",
                         ylabel=f"val {data.metric}")
    show_table = False
    if x is None and y is None and by is None:
        show_table = True
        free = [a for a in data.axes if a not in pinned]
        if len(free) >= 2:   # the axis with more values runs down the rows
            x, y = sorted(free[:2], key=lambda a: len(sf.axis_values(rows, a)))
        elif free:
            x = free[0]
        else:
            return SweepView("table", show_table=True)
    if x is None:
        raise ConfigError("--x", "", "is needed with --y or --by (the axis along the chart)")
    x = sf.resolve_axis(x, data.axes, "--x")
    if y is not None:
        y = sf.resolve_axis(y, data.axes, "--y")
        s = sf.surface(rows, data.axes, x, y, column, data.goal, metric=label)
        return SweepView("heatmap", s.metric, x=x, y=y, surface=s, show_table=show_table)
    by_axis = sf.resolve_axis(by, data.axes, "--by") if by else None
    series = sf.lines(rows, data.axes, x, column, data.goal, by=by_axis)
    return SweepView("lines", f"{label} over {x} (mean over seeds; band: min-max)", x=x,
                     by=by_axis, lines=series, xlabel=x, ylabel=label, log_x=log_x,
                     show_table=show_table)


def trials_view(data: sf.SweepData, rows: list[dict], column: str) -> SweepView:
    """A sweep of drawn points (tpe, random): its trials in order, the best so far and,
    with several objectives, the Pareto front (lstm_tui.sweeps.trials)."""
    found = tr.trials_of(rows, data.axes, data.objectives or [(data.metric, data.goal)],
                         column, data.total)
    return SweepView("trials", f"{found.label} per trial ({data.search} search)",
                     xlabel="trial", ylabel=found.label, trials=found)


def _no_range_axis(data: sf.SweepData, options: dict[str, str | None]) -> None:
    """Heatmap rows, a line per value, a curve per value: each needs values that repeat;
    an axis drawn from a range has a new one every trial."""
    for option, name in options.items():
        if not name:
            continue
        axis = sf.resolve_axis(name, data.axes, option)
        if axis in data.ranges:
            raise ConfigError(option, axis, f"is drawn from a range in this {data.search} "
                              "search (each trial its own value), so it cannot group "
                              f"trials; use --x {axis} for the metric along it, or no "
                              "option for the trials in order")


def surface_3d(view: SweepView, data: sf.SweepData, rows: list[dict], pinned: dict[str, Any],
               column: str) -> sf.Surface | None:
    """The metric over two axes for the html file's 3-D plot: the heatmap's own axes, the
    line chart's x and by, else the first two unpinned axes with more than one value."""
    if view.surface is not None:
        return view.surface
    pair: list[str] = []
    if view.kind == "lines" and view.x and view.by:
        pair = [view.x, view.by]
    else:
        free = [a for a in data.axes if a not in pinned and len(sf.axis_values(rows, a)) > 1]
        if view.x in free:
            free.remove(view.x)
            free.insert(0, view.x)
        pair = free[:2]
    if len(pair) < 2:
        return None
    return sf.surface(rows, data.axes, pair[0], pair[1], column, data.goal,
                      metric=column.replace("_", " "))
