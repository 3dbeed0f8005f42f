"""A sweep's results as surfaces, lines and epoch curves (no torch).

Data first, pictures after: the functions in the first half turn results.csv rows (and
the runs' metrics.jsonl) into plain dataclasses — :class:`Surface`, :class:`Line` — that
the TUI's Sweep screen can draw its own way; :mod:`lstm_tui.render.sweep_tables` renders
them for the terminal (rich tables with colored cells, plotext charts).

Aggregation rules, everywhere: runs that differ only in their seed are one point of the
grid, summarized by mean, std, min and max over seeds; when a view shows fewer axes than
the sweep has, each cell shows the best (by the sweep's goal) of the points it covers,
unless `where` pins the other axes.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from lstm_tui.config import ConfigError, load_preset, suggest
from lstm_tui.runs.layout import METRICS
from lstm_tui.runs.reader import read_jsonl
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




def transposed(s: Surface) -> Surface:
    """The same surface with its axes swapped (x values down the rows)."""
    return Surface(s.y, s.x, s.ys, s.xs, {(k[1], k[0]): c for k, c in s.cells.items()},
                   s.metric, s.goal, s.hidden)

