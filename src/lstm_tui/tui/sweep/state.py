"""What the Sweep screen knows, without Textual: its axes, its sweep and its views' numbers.

- Defining axes: the config keys a sweep can vary (:func:`sweep_keys`), values typed as
  ``--set`` reads them (:func:`parse_axis_values`) or a numeric range
  (:func:`range_values`), the point count while typing (:func:`grid_size`), the
  ``sweep-*`` folders of a run store (:func:`sweep_folders`).
- :class:`SweepState`: one sweep as the screen shows it, fed by the runner's events (and
  :mod:`lstm_tui.tui.sweep.process`'s) or by results.csv; a tpe search, whose points are
  drawn as it goes, takes every row of its folder (its trials: :meth:`SweepState.trials`).
- The views' numbers: :func:`surface_view` (the grid over every planned value),
  :func:`running_cells`, :func:`cell_rows`; every number comes from
  :mod:`lstm_tui.sweeps.surface`.

Nothing here imports Textual or torch.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from lstm_tui.config import (SECTIONS, ConfigError, FieldSpec, RunConfig, allowed,
                             check_value, field_specs, parse_value)
from lstm_tui.expect import sweep as expect
from lstm_tui.runs.layout import RESULTS_FILE, SWEEP_FILE, SWEEP_LOCK
from lstm_tui.sweeps import surface as sf
from lstm_tui.sweeps.backends import PointProgress, PointStarted
from lstm_tui.sweeps.runner import DONE, PointFinished, SweepFinished, SweepStarted
from lstm_tui.sweeps.spec import MAX_POINTS, SweepSpec, show_value
from lstm_tui.sweeps.trials import Trials, trial_order, trials_of
from lstm_tui.tasks import registry
from lstm_tui.tui.sweep.process import ResultsRead, SweepCrashed

SEED = "seed"                # the pseudo-axis: one row (or column) per seed


# ---------------------------------------------------------------- defining axes

def sweep_keys(cfg: RunConfig) -> list[tuple[str, FieldSpec]]:
    """Every config key a sweep can vary (``section.key``), from the config dataclasses."""
    sections = {"task": registry.spec_of(cfg.task.kind).config, **SECTIONS}
    return [(f"{section}.{spec.name}", spec) for section, cls in sections.items()
            for spec in field_specs(cls) if f"{section}.{spec.name}" != "task.kind"]


def current_value(cfg: RunConfig, key: str) -> Any:
    section, name = key.split(".", 1)
    return getattr(getattr(cfg, section), name)


def split_values(raw: str) -> list[str]:
    """'5, 10, [1,2]' -> ['5', '10', '[1,2]']: commas inside brackets or quotes stay."""
    parts, depth, quote, token = [], 0, "", ""
    for ch in raw:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(token)
            token = ""
            continue
        token += ch
    parts.append(token)
    return [p.strip() for p in parts if p.strip()]


def parse_token(spec: FieldSpec, token: str) -> Any:
    """One typed value as ``--set`` reads it (TOML syntax; a bare word is a string)."""
    if spec.kind == "str":
        return token[1:-1] if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'" \
            else token
    if spec.kind.startswith("list") and not token.startswith("["):
        token = f"[{token}]"
    return parse_value(token)


def parse_axis_values(key: str, spec: FieldSpec, raw: str) -> list:
    """The values typed for axis `key`, checked; a ConfigError with the CLI's message."""
    where = f"sweep.grid.{key}"
    tokens = split_values(raw)
    if not tokens:
        raise ConfigError("", where, f"must be a non-empty list of values ({allowed(spec)}), "
                          "got []")
    values = [check_value(spec, parse_token(spec, t), "", where) for t in tokens]
    for i, v in enumerate(values):
        if v in values[:i]:
            raise ConfigError("", where, f"lists {show_value(v)} twice (values must differ)")
    return values


def range_values(key: str, spec: FieldSpec, low: str, high: str, count: str,
                 log: bool) -> list:
    """`count` values from low to high (evenly, or evenly in log space), checked."""
    where = f"sweep.grid.{key}"
    if spec.kind not in ("int", "float"):
        raise ConfigError("", where, f"a range needs a numeric key; {key} is {allowed(spec)}: "
                          "type its values instead")
    lo = check_value(spec, parse_value(low.strip() or "''"), "", f"{where}.low")
    hi = check_value(spec, parse_value(high.strip() or "''"), "", f"{where}.high")
    n = parse_value(count.strip() or "''")
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= MAX_POINTS:
        raise ConfigError("", f"{where}.count", f"must be an integer >= 2 and <= {MAX_POINTS:,}, "
                          f"got {n!r}")
    if not lo < hi:
        raise ConfigError("", where, f"needs low < high, got low {lo!r}, high {hi!r}")
    if log and lo <= 0:
        raise ConfigError("", f"{where}.low", f"must be > 0 for a log range, got {lo!r}")
    if log:
        raw = [math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * i / (n - 1))
               for i in range(n)]
    else:
        raw = [lo + (hi - lo) * i / (n - 1) for i in range(n)]
    out: list = []
    for v in raw:
        v = round(v) if spec.kind == "int" else float(f"{v:.6g}")
        if v not in out:
            out.append(v)
    return [check_value(spec, v, "", where) for v in out]


def grid_size(table: dict) -> int:
    """Points of a sweep table by arithmetic alone (the live preview while typing)."""
    grid = table.get("grid") or {}
    sizes = [len(v) for v in grid.values() if isinstance(v, list)]
    random = table.get("random")
    samples = random.get("samples", 1) if isinstance(random, dict) else 1
    seeds = table.get("seeds", 1)
    n = math.prod(sizes) if sizes else (1 if isinstance(random, dict) else 0)
    try:
        return int(n * samples * seeds)
    except TypeError:
        return 0


def describe_random(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(show_value(v) for v in value)
    if isinstance(value, dict):
        scale = "log-uniform" if value.get("log") else "uniform"
        return f"{scale} {show_value(value.get('low'))} … {show_value(value.get('high'))}"
    return show_value(value)


def metric_options(kind: str) -> dict[str, str]:
    """metric -> default goal, as ``parse_sweep`` allows them for the task."""
    return registry.spec_of(kind).metric_options()


def sweep_folders(root: Path) -> list[Path]:
    """``sweep-*`` folders (with a sweep.toml) directly in the run store, newest first."""
    try:
        found = [p for p in Path(root).iterdir()
                 if p.name.startswith("sweep-") and (p / SWEEP_FILE).is_file()]
    except OSError:
        return []
    return sorted(found, key=lambda p: (-_mtime(p / RESULTS_FILE), p.name))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


# ---------------------------------------------------------------- the sweep shown

@dataclass
class Running:
    step: int
    total: int
    run_dir: str

    @property
    def fraction(self) -> float | None:
        return min(1.0, self.step / self.total) if self.total else None


class SweepState:
    """One sweep as the screen shows it: its planned points, the results rows (by point
    key) and the points running now.  Fed by the runner's events or by results.csv."""

    def __init__(self, spec: SweepSpec, sweep_dir: Path,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sweep_dir = Path(sweep_dir)
        self.name = spec.name
        self.axes = list(spec.axes)
        self.metric, self.goal = spec.metric, spec.goal
        self.search, self.objectives = spec.search, spec.objectives
        self.points = {p.key: p for p in spec.points()}
        self.plan = [{**p.values, SEED: p.seed} for p in spec.points()]
        # tpe draws its points as it goes: any row of the folder is one of its trials
        self.open_plan = not self.points and spec.size > 0
        self.total = spec.size if self.open_plan else len(self.points)
        self.rows: dict[str, dict] = {}
        self.verdicts: list[dict] = []   # the [expect] as judged when the sweep last ended
        self.running: dict[str, Running] = {}
        self.clock = clock
        self.active = False          # our process is training it
        self.stopping = False
        self.ended = ""              # "", "finished", "interrupted", "crashed"
        self.error = ""
        self.started_at: float | None = None
        self.done_at_start = 0
        self.version = 0
        self._planned: dict[str, list] = {}
        self._best: tuple | None = None

    # -- feeding
    def set_rows(self, rows: Iterable[dict], verdicts: list[dict] | None = None) -> None:
        """results.csv as read (and expectations.json, when given)."""
        self.rows = {r["key"]: r for r in rows if self._ours(r.get("key"))}
        if verdicts is not None:
            self.verdicts = verdicts
        self.version += 1

    def apply(self, event: Any) -> None:
        if isinstance(event, SweepStarted):
            self.sweep_dir = Path(event.sweep_dir)
            self.active, self.ended, self.error = True, "", ""
            self.started_at = self.clock()
            self.done_at_start = event.done
            self.running.clear()
            self.verdicts = []           # judged again when this invocation ends
        elif isinstance(event, ResultsRead):
            self.set_rows(event.rows)
        elif isinstance(event, PointStarted):
            self.running[event.key] = Running(0, event.total_steps, event.run_dir)
        elif isinstance(event, PointProgress):
            old = self.running.get(event.key)
            self.running[event.key] = Running(event.step, event.total_steps,
                                              old.run_dir if old else "")
        elif isinstance(event, PointFinished):
            self.running.pop(event.key, None)
            if self._ours(event.key):
                self.rows[event.key] = event.row
        elif isinstance(event, SweepFinished):
            self.active = self.stopping = False
            self.ended = "interrupted" if event.interrupted else "finished"
            self.running.clear()
        elif isinstance(event, expect.SweepJudged):
            self.verdicts = list(event.verdicts)
        elif isinstance(event, SweepCrashed):
            self.active = self.stopping = False
            self.ended, self.error = "crashed", event.error
            self.running.clear()
        self.version += 1

    # -- reading
    @property
    def done(self) -> int:
        return sum(r.get("status") in DONE for r in self.rows.values())

    def _ours(self, key: Any) -> bool:
        return key in self.points or (self.open_plan and isinstance(key, str) and bool(key))

    def result_rows(self) -> list[dict]:
        if self.open_plan:
            return trial_order(self.rows.values())
        return [self.rows[k] for k in self.points if k in self.rows]

    def trials(self, column: str) -> Trials:
        """The results as trials in drawn order (a tpe or random search's view)."""
        return trials_of(self.result_rows(), self.axes, self.objectives, column, self.total)

    def planned(self, axis: str) -> list:
        """Every value the axis takes in the plan (numbers ascending)."""
        if axis not in self._planned:
            self._planned[axis] = sf.axis_values(self.plan, axis)
        return self._planned[axis]

    def view_axes(self) -> list[str]:
        """The axes a view may put across or down: the swept ones, then the seed."""
        return self.axes + [SEED]

    def default_xy(self) -> tuple[str, str]:
        """The CLI's choice: of the first two axes that take more than one value, the one
        with more values down the rows; a sweep of one such axis gets a row per seed."""
        varied = [a for a in self.axes if len(self.planned(a)) > 1]   # one value: no axis
        if len(varied) >= 2:
            x, y = sorted(varied[:2], key=lambda a: len(self.planned(a)))
            return x, y
        return (varied or self.axes)[0], SEED

    def eta(self) -> float | None:
        """Seconds left, from the pace of this invocation (running points count pro rata)."""
        if not self.active or self.started_at is None:
            return None
        progress = self.done - self.done_at_start + sum(
            r.fraction or 0.0 for r in self.running.values())
        elapsed = self.clock() - self.started_at
        if progress <= 0 or elapsed <= 0:
            return None
        left = self.total - self.done - sum(r.fraction or 0.0 for r in self.running.values())
        return max(0.0, left * elapsed / progress)

    def best(self, column: str) -> sf.Group | None:
        """The best grid point so far (mean over its seeds); cached per version."""
        if self._best is None or self._best[:2] != (self.version, column):
            found = sf.ranked(self.result_rows(), self.axes, column, self.goal)
            self._best = (self.version, column,
                          found[0] if found and found[0].stat is not None else None)
        return self._best[2]

    def point_values(self, key: str) -> dict | None:
        """A point's values and seed (None: a tpe trial, its values unknown until it ends)."""
        p = self.points.get(key)
        return None if p is None else {**p.values, SEED: p.seed}


@dataclass(frozen=True)
class Shown:
    """What the Sweep screen hands down to its views: the sweep (None: none yet), its
    version when handed, and the results column shown (``best_accuracy``...).  Equal when
    nothing a view draws from changed."""
    state: SweepState | None
    version: int = 0
    column: str = ""


def surface_view(state: SweepState, x: str, y: str, column: str,
                 where: dict[str, Any]) -> sf.Surface:
    """sf.surface of the results, laid out over every planned value (cells to come
    included) and folding only the axes that the plan varies."""
    axes = state.axes + ([SEED] if SEED in (x, y) else [])
    s = sf.surface(state.result_rows(), axes, x, y, column, state.goal, where=where,
                   metric=column.replace("_", " "))
    hidden = [a for a in state.axes if a not in (x, y) and a not in where
              and len(state.planned(a)) > 1]
    return dataclasses.replace(s, xs=_merged(state.planned(x), s.xs),
                               ys=_merged(state.planned(y), s.ys), hidden=hidden)


def _merged(planned: list, found: list) -> list:
    seen = {hashable(v) for v in planned}
    return list(planned) + [v for v in found if hashable(v) not in seen]


def _matches(values: dict, where: dict[str, Any]) -> bool:
    return bool(sf.filter_rows([values], where))


def running_cells(state: SweepState, x: str, y: str,
                  where: dict[str, Any]) -> dict[tuple, float | None]:
    """(x value, y value) of every running point shown by the view -> its progress."""
    out: dict[tuple, float | None] = {}
    for key, run in state.running.items():
        values = state.point_values(key)
        if values is not None and _matches(values, where):   # several: the furthest on
            at = (hashable(values[x]), hashable(values[y]))
            known = [f for f in (out.get(at), run.fraction) if f is not None]
            out[at] = max(known) if known else None
    return out


def cell_rows(state: SweepState, x: str, y: str, xv: Any, yv: Any, column: str,
              where: dict[str, Any]) -> list[dict]:
    """Results rows of one cell, best first; then its running points (status running)."""
    pin = {**where, x: xv, y: yv}
    rows = sf.filter_rows(state.result_rows(), pin)
    good = [r for r in rows if isinstance(r.get(column), (int, float))
            and math.isfinite(r[column])]
    bad = [r for r in rows if r not in good]
    good.sort(key=lambda r: r[column], reverse=state.goal == "max")
    running = []
    for key, run in state.running.items():
        values = state.point_values(key)
        if values is not None and _matches(values, pin):
            running.append({**values, "run": run.run_dir, "status": "running",
                            "steps": run.step, "_progress": run.fraction})
    return good + bad + running


# ---------------------------------------------------------------- small helpers

def hashable(value: Any) -> Any:
    """A value as a dict key (list values, e.g. of ``task.lengths``, as tuples)."""
    return tuple(value) if isinstance(value, list) else value


def results_stamp(folder: Path) -> tuple:
    """What changes when results.csv (or the sweep's lock, or its saved verdicts) does:
    time, size, lock, verdicts' time."""
    try:
        st = os.stat(Path(folder) / RESULTS_FILE)
    except OSError:
        return (None,)
    return (st.st_mtime_ns, st.st_size, (Path(folder) / SWEEP_LOCK).exists(),
            _mtime(Path(folder) / expect.FILE))


def duration(seconds: float) -> str:
    """'42s', '3m07s', '2h05m'."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
