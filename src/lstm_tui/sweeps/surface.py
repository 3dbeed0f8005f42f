"""A sweep's results as surfaces, lines and epoch curves (no torch).

Data first, pictures after: the functions in the first half turn results.csv rows (and
the runs' metrics.jsonl) into plain dataclasses — :class:`Surface`, :class:`Line` — that
the TUI's Sweep screen can draw its own way; the second half renders them for the
terminal (rich tables with colored cells, plotext charts).

Aggregation rules, everywhere: runs that differ only in their seed are one point of the
grid, summarized by mean, std, min and max over seeds; when a view shows fewer axes than
the sweep has, each cell shows the best (by the sweep's goal) of the points it covers,
unless `where` pins the other axes.
"""

from __future__ import annotations

import io
import math
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from rich.table import Table
from rich.text import Text

from lstm_tui.config import ConfigError, load_preset, suggest
from lstm_tui.numbers import fmt
from lstm_tui.runs.store import METRICS, read_jsonl
from lstm_tui.sweeps.runner import RESULTS_FILE, SWEEP_FILE, read_results, typed
from lstm_tui.sweeps.spec import show_value, parse_sweep



# ---------------------------------------------------------------- loading

@dataclass
class SweepData:
    """A sweep folder read back: its axes, metric, goal and results rows."""
    path: Path
    name: str
    axes: list[str]
    metric: str
    goal: str
    rows: list[dict]
    total: int
    search: str = "grid"                 # tpe, random: drawn points (sweeps.trials)
    objectives: list[tuple[str, str]] = field(default_factory=list)   # (metric, goal)
    ranges: list[str] = field(default_factory=list)   # axes drawn from a range of numbers

    @property
    def column(self) -> str:
        return f"best_{self.metric}"


def load_sweep(sweep_dir: Path) -> SweepData:
    """Read sweep.toml and results.csv of a sweep folder (ConfigError when it is none)."""
    sweep_dir = Path(sweep_dir)
    if not (sweep_dir / SWEEP_FILE).is_file():
        raise ConfigError(str(sweep_dir), "", f"not a sweep folder (no {SWEEP_FILE}); give a "
                          "sweep-* folder or the sweep's preset")
    cfg = load_preset(sweep_dir / SWEEP_FILE)
    spec = parse_sweep(cfg, str(sweep_dir / SWEEP_FILE), yes=True, reading=True)
    return SweepData(sweep_dir, spec.name, spec.axes, spec.metric, spec.goal,
                     read_results(sweep_dir / RESULTS_FILE), spec.size, spec.search,
                     spec.objectives, [k for k, a in spec.random.items() if not a.choices])


def resolve_axis(name: str, axes: Sequence[str], option: str = "--x") -> str:
    """A swept axis from its full key (task.seq_len) or its unique last part (seq_len)."""
    if name in axes:
        return name
    leaf = [a for a in axes if a.rsplit(".", 1)[-1] == name]
    if len(leaf) == 1:
        return leaf[0]
    hint = suggest(name, list(axes) + [a.rsplit(".", 1)[-1] for a in axes])
    extra = f"; did you mean {hint!r}?" if hint else ""
    raise ConfigError(option, name, f"is not a swept axis{extra} (axes: {', '.join(axes)})")


def parse_where(items: Iterable[str], axes: Sequence[str]) -> dict[str, Any]:
    """['model.cell=gru'] -> {'model.cell': 'gru'} (values typed like results.csv)."""
    where = {}
    for item in items:
        if "=" not in item:
            raise ConfigError("--where", item, "must look like AXIS=VALUE, e.g. model.cell=gru")
        name, raw = (s.strip() for s in item.split("=", 1))
        where[resolve_axis(name, axes, "--where")] = typed(raw)
    return where


# ---------------------------------------------------------------- aggregation

@dataclass(frozen=True)
class Stat:
    """A metric over the seeds of one point (or the runs of one epoch)."""
    mean: float
    std: float
    min: float
    max: float
    n: int

    @staticmethod
    def of(values: Sequence[float]) -> "Stat":
        values = list(values)
        std = statistics.pstdev(values) if len(values) > 1 else 0.0
        return Stat(statistics.fmean(values), std, min(values), max(values), len(values))


@dataclass(frozen=True)
class Group:
    """One point of the grid (every axis fixed), over its seeds."""
    values: dict[str, Any]
    stat: Stat | None          # None when no seed gave a number
    runs: tuple[str, ...]
    statuses: tuple[str, ...]

    @property
    def troubled(self) -> int:
        """Seeds that diverged or failed."""
        return sum(s in ("diverged", "failed") for s in self.statuses)


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
    return a == b


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def filter_rows(rows: Iterable[dict], where: dict[str, Any] | None) -> list[dict]:
    return [r for r in rows if all(same_value(r.get(k), v) for k, v in (where or {}).items())]


def groups(rows: Iterable[dict], axes: Sequence[str], column: str) -> list[Group]:
    """Rows that differ only in seed, merged; in first-seen order."""
    merged: dict[tuple, list[dict]] = {}
    for r in rows:
        merged.setdefault(tuple(_hashable(r.get(a)) for a in axes), []).append(r)
    out = []
    for members in merged.values():
        numbers = [r[column] for r in members if isinstance(r.get(column), (int, float))
                   and math.isfinite(r[column])]
        out.append(Group({a: members[0].get(a) for a in axes},
                         Stat.of(numbers) if numbers else None,
                         tuple(str(r.get("run", "")) for r in members),
                         tuple(str(r.get("status", "")) for r in members)))
    return out


def _better(a: Stat | None, b: Stat | None, goal: str) -> bool:
    if a is None:
        return False
    if b is None:
        return True
    return a.mean > b.mean if goal == "max" else a.mean < b.mean


def ranked(rows: Iterable[dict], axes: Sequence[str], column: str, goal: str) -> list[Group]:
    """Every grid point, best first (by mean over seeds); points without a number last."""
    found = groups(rows, axes, column)
    sign = -1 if goal == "max" else 1
    return sorted(found, key=lambda g: (g.stat is None, sign * g.stat.mean if g.stat else 0))


def axis_values(rows: Iterable[dict], axis: str) -> list[Any]:
    """The values an axis took: numbers ascending, anything else in first-seen order."""
    seen: list[Any] = []
    for r in rows:
        v = r.get(axis)
        if v is not None and not any(same_value(v, s) for s in seen):
            seen.append(v)
    if seen and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seen):
        return sorted(seen)
    return seen


@dataclass(frozen=True)
class Cell:
    group: Group               # the best point covered by the cell
    covered: int               # grid points covered (> 1 when axes are hidden)


@dataclass
class Surface:
    """The best metric over two axes: cells[(x value, y value)]."""
    x: str
    y: str
    xs: list[Any]
    ys: list[Any]
    cells: dict[tuple, Cell]
    metric: str
    goal: str
    hidden: list[str] = field(default_factory=list)   # axes (with > 1 value) folded into
                                                      # each cell: the best of them shown

    def cell(self, xv: Any, yv: Any) -> Cell | None:
        return self.cells.get((_hashable(xv), _hashable(yv)))

    def range(self) -> tuple[float, float] | None:
        means = [c.group.stat.mean for c in self.cells.values() if c.group.stat]
        return (min(means), max(means)) if means else None


def surface(rows: Iterable[dict], axes: Sequence[str], x: str, y: str, column: str,
            goal: str, where: dict[str, Any] | None = None, metric: str = "") -> Surface:
    """Mean over seeds of `column` for every (x, y); the best point where axes are hidden."""
    if x == y:
        raise ConfigError("--y", y, "must differ from --x")
    rows = filter_rows(rows, where)
    cells: dict[tuple, Cell] = {}
    counts: dict[tuple, int] = {}
    for g in groups(rows, axes, column):
        at = (_hashable(g.values[x]), _hashable(g.values[y]))
        counts[at] = counts.get(at, 0) + 1
        if at not in cells or _better(g.stat, cells[at].group.stat, goal):
            cells[at] = Cell(g, 0)
    cells = {k: Cell(c.group, counts[k]) for k, c in cells.items()}
    hidden = [a for a in axes if a not in (x, y) and len(axis_values(rows, a)) > 1]
    return Surface(x, y, axis_values(rows, x), axis_values(rows, y), cells,
                   metric or column.replace("_", " "), goal, hidden)


@dataclass
class Line:
    """A metric along one axis (or along epochs), with a band over seeds."""
    label: str
    xs: list[Any]
    means: list[float]
    lows: list[float]
    highs: list[float]
    stds: list[float]


def lines(rows: Iterable[dict], axes: Sequence[str], x: str, column: str, goal: str,
          by: str | None = None, where: dict[str, Any] | None = None) -> list[Line]:
    """`column` along axis `x` (mean, min–max band over seeds), one line per value of `by`;
    other axes: the best point at each x."""
    rows = filter_rows(rows, where)
    out = []
    for bv in (axis_values(rows, by) if by else [None]):
        subset = filter_rows(rows, {by: bv}) if by else rows
        best: dict[Any, Group] = {}
        for g in groups(subset, axes, column):
            at = _hashable(g.values[x])
            if g.stat and (at not in best or _better(g.stat, best[at].stat, goal)):
                best[at] = g
        xs = [v for v in axis_values(subset, x) if _hashable(v) in best]
        stats = [best[_hashable(v)].stat for v in xs]
        label = f"{by.rsplit('.', 1)[-1]}={show_value(bv)}" if by else column
        out.append(Line(label, xs, [s.mean for s in stats], [s.min for s in stats],
                        [s.max for s in stats], [s.std for s in stats]))
    return out


def epoch_lines(rows: Iterable[dict], records: dict[str, list[dict]], axis: str, metric: str,
                where: dict[str, Any] | None = None, split: str = "val") -> list[Line]:
    """The seed's "accuracy during training": `metric` by epoch, one line per value of
    `axis`, averaged over every run with that value (seeds and other axes), band min–max.

    `records` maps a run folder name to its metrics.jsonl records; the last record of each
    epoch counts for that epoch.
    """
    rows = filter_rows(rows, where)
    out = []
    for value in axis_values(rows, axis):
        per_epoch: dict[int, list[float]] = {}
        for r in filter_rows(rows, {axis: value}):
            last: dict[int, float] = {}
            for rec in records.get(str(r.get("run")), []):
                if rec.get("split") == split and isinstance(rec.get(metric), (int, float)):
                    last[int(rec.get("epoch", 0))] = rec[metric]
            for epoch, v in last.items():
                per_epoch.setdefault(epoch, []).append(v)
        epochs = sorted(per_epoch)
        stats = [Stat.of(per_epoch[e]) for e in epochs]
        out.append(Line(f"{axis.rsplit('.', 1)[-1]}={show_value(value)}", epochs,
                        [s.mean for s in stats], [s.min for s in stats],
                        [s.max for s in stats], [s.std for s in stats]))
    return out


def load_records(sweep_dir: Path, rows: Iterable[dict]) -> dict[str, list[dict]]:
    """metrics.jsonl of every run in `rows` (by run folder name)."""
    return {str(r["run"]): read_jsonl(Path(sweep_dir) / str(r["run"]) / METRICS)
            for r in rows if r.get("run")}


# ---------------------------------------------------------------- rendering

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
        table.add_column(fmt(xv), justify="center")
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
        table.add_row(fmt(yv), *cells)
    return table


def transposed(s: Surface) -> Surface:
    """The same surface with its axes swapped (x values down the rows)."""
    return Surface(s.y, s.x, s.ys, s.xs, {(k[1], k[0]): c for k, c in s.cells.items()},
                   s.metric, s.goal, s.hidden)


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
        table.add_row(*cells)
    if len(found) > limit:
        table.caption = f"... {len(found) - limit} more in {RESULTS_FILE}"
        table.caption_justify = "left"
    return table
