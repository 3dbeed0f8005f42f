"""A sweep's surfaces, lines and results for the terminal: rich tables with coloured cells
and plotext charts, drawn from the plain data of :mod:`lstm_tui.sweeps.surface`."""

from __future__ import annotations

import io
import os
from typing import Any, Sequence

from rich.table import Table
from rich.text import Text

from lstm_tui.numbers import fmt
from lstm_tui.runs.layout import RESULTS_FILE
from lstm_tui.sweeps.surface import Line, Surface, ranked, same_value, transposed


def _shade(fraction: float) -> str:
    """Red (worst) through yellow to green (best), as a rich background style."""
    fraction = min(1.0, max(0.0, fraction))
    if fraction < 0.5:
        r, g = 200, int(60 + 280 * fraction)
    else:
        r, g = int(200 - 300 * (fraction - 0.5)), 200
    return f"black on rgb({r},{min(g, 200)},60)"


def heatmap_table(s: Surface, digits: int = 3, xs: Sequence[Any] | None = None,
                  note: str = "") -> Table:
    """The surface as a table: one row per y value, one column per x value (or per value
    of `xs`, a part of them), each cell 'mean ±std' colored from worst (red) to best
    (green); '!' marks diverged/failed seeds."""
    xs = s.xs if xs is None else xs
    title = f"{s.metric} (mean ±std over seeds; {'higher' if s.goal == 'max' else 'lower'} " \
            "is better)"
    caption = f"rows: {s.y}, columns: {s.x}"
    if s.hidden:
        caption += f"; each cell is the best over {', '.join(s.hidden)}"
    if note:
        caption += f"; {note}"
    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    table.add_column(f"{s.y.rsplit('.', 1)[-1]} \\ {s.x.rsplit('.', 1)[-1]}", style="bold")
    for xv in xs:
        table.add_column(Text(fmt(xv)), justify="center")    # results.csv text: no markup
    span = s.range()
    for yv in s.ys:
        cells = []
        for xv in xs:
            c = s.cell(xv, yv)
            if c is None:
                cells.append(Text("·", style="dim"))
                continue
            st = c.group.stat
            mark = "!" if c.group.troubled else ""
            if st is None:
                cells.append(Text(f"-{mark}", style="dim"))
                continue
            text = f"{st.mean:.{digits}g}" + (f" ±{st.std:.2g}" if st.n > 1 else "") + mark
            lo, hi = span
            frac = 0.5 if hi == lo else (st.mean - lo) / (hi - lo)
            cells.append(Text(f" {text} ", style=_shade(frac if s.goal == "max" else 1 - frac)))
        table.add_row(Text(fmt(yv)), *cells)
    return table


def _natural_width(table: Table) -> int:
    from rich.console import Console
    from rich.measure import Measurement
    console = Console(width=100_000, file=io.StringIO())
    return Measurement.get(console, console.options, table).maximum


def heatmap_tables(s: Surface, width: int, digits: int = 3) -> list[Table]:
    """heatmap_table made to fit `width` columns, never squeezed into '…' cells: as it is;
    else transposed, when that fits; else its columns split over several tables.  The
    caption says which."""
    table = heatmap_table(s, digits)
    if _natural_width(table) <= width:
        return [table]
    flipped = transposed(s)
    table = heatmap_table(flipped, digits, note=f"transposed to fit {width} columns")
    if _natural_width(table) <= width:
        return [table]
    if len(flipped.xs) < len(s.xs):   # split the orientation with fewer columns
        s = flipped
    parts: list[list[Any]] = [[]]
    for xv in s.xs:
        if parts[-1] and _natural_width(heatmap_table(s, digits, parts[-1] + [xv])) > width:
            parts.append([])
        parts[-1].append(xv)
    tables, start = [], 0
    for part in parts:
        note = (f"columns {start + 1}-{start + len(part)} of {len(s.xs)} "
                f"(split to fit {width} columns)")
        tables.append(heatmap_table(s, digits, part, note))
        start += len(part)
    return tables


PALETTE = ("blue", "red", "green", "orange", "magenta", "cyan", "yellow", "white")
PLAIN_MARKERS = ("•", "x", "+", "o", "*", "#", "@", "%")   # lines told apart without colour


def plotext_figure(width: int, height: int, color: bool | None = None):
    """plotext, cleared and sized for a chart printed to the terminal, and whether it is
    in colour (default: unless NO_COLOR is set)."""
    import plotext as plt
    if color is None:
        color = not os.environ.get("NO_COLOR")
    plt.clear_figure()
    plt.limitsize(False, False)   # plotext would clip to its own idea of the terminal
    plt.plotsize(max(40, width), max(10, height))
    plt.theme("pro" if color else "clear")
    return plt, color


def lines_text(series: Sequence[Line], title: str, xlabel: str, width: int = 100,
               height: int = 20, log_x: bool = False, band: bool = True,
               color: bool | None = None) -> str:
    """Lines as a plotext chart; the band (min–max over seeds) is drawn as dotted lines of
    the same color.  Non-numeric x values are placed evenly and labelled.  Without
    `color` (default: unless NO_COLOR is set) each line has its own marker."""
    plt, color = plotext_figure(width, height, color)
    labels: list[Any] = []
    for line in series:
        for v in line.xs:
            if not any(same_value(v, s) for s in labels):
                labels.append(v)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in labels)
    where = (lambda v: v) if numeric else \
        (lambda v: next(i for i, s in enumerate(labels) if same_value(v, s)))
    for i, line in enumerate(series):
        if not line.xs:
            continue
        hue = PALETTE[i % len(PALETTE)]
        xs = [where(v) for v in line.xs]
        marker = "hd" if color else PLAIN_MARKERS[i % len(PLAIN_MARKERS)]
        plt.plot(xs, line.means, label=line.label[:30], color=hue, marker=marker)
        if band and any(h != lo for h, lo in zip(line.highs, line.lows)):
            plt.plot(xs, line.lows, color=hue, marker="·")
            plt.plot(xs, line.highs, color=hue, marker="·")
    if not numeric and labels:
        plt.xticks(list(range(len(labels))), [fmt(v) for v in labels])
    if log_x and numeric and labels and all(v > 0 for v in labels):
        plt.xscale("log")
    plt.title(title)
    plt.xlabel(xlabel)
    return plt.build()


def results_table(rows: Sequence[dict], axes: Sequence[str], metric: str, goal: str,
                  limit: int = 30, column: str | None = None) -> Table:
    """Grid points sorted by the metric (best first), mean ±std over seeds."""
    column = column or f"best_{metric}"
    found = ranked(rows, axes, column, goal)
    seeds = max((len(g.runs) for g in found), default=1)
    title = f"{len(found)} points by {column.replace('_', ' ')} " \
            f"({'higher' if goal == 'max' else 'lower'} is better)"
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right", style="dim")
    for a in axes:
        table.add_column(a.rsplit(".", 1)[-1], justify="right")
    table.add_column(column.replace("_", " "), justify="right", style="bold")
    if seeds > 1:
        table.add_column("±std", justify="right")
        table.add_column("seeds", justify="right")
    table.add_column("status")
    table.add_column("runs", overflow="fold", style="dim")
    for i, g in enumerate(found[:limit], 1):
        status = ", ".join(sorted(set(g.statuses)))
        cells = [str(i), *(fmt(g.values[a]) for a in axes),
                 fmt(g.stat.mean) if g.stat else "-"]
        if seeds > 1:
            cells += [fmt(g.stat.std, 2) if g.stat and g.stat.n > 1 else "-", str(len(g.runs))]
        ids = [r.split("-", 1)[0] for r in g.runs]
        shown = " ".join(ids) if len(ids) <= 3 else f"{' '.join(ids[:2])} +{len(ids) - 2}"
        cells += [status, shown]
        table.add_row(*(Text(fmt(c)) for c in cells))     # results.csv text: no markup
    if len(found) > limit:
        table.caption = f"... {len(found) - limit} more in {RESULTS_FILE}"
        table.caption_justify = "left"
    return table
