"""The sweep driver: one folder per sweep, one run folder per point, results.csv, resume.

    <root>/sweep-<name>-<hash>/          hash of the resolved preset (config + [sweep])
        sweep.toml                       the preset as resolved (usable again as a preset)
        results.csv                      one row per point that ran; rewritten atomically
        p000-seq_len5-hidden8-s0/        each point is a normal run folder
        ...

The driver picks the run folders, hands the pending points to a backend and is the only
writer of results.csv: a row is added as each point ends.  Running the same preset again
finds the same folder and resumes: points whose row (or, after a crash, whose run folder)
says completed, stopped_early, diverged, failed or pruned are not trained again; interrupted or
never-started points are.  A point's folder is touched only under its writer lock (the
one ``headless --resume`` takes): a point another live process writes is skipped, left
as it is and reported (:class:`PointSkipped`); the sweep trains the rest and a later run
takes the point up again.  The `listener` hears :class:`SweepStarted`, the backends'
PointStarted / PointProgress, :class:`PointFinished`, :class:`PointSkipped` and
:class:`SweepFinished`.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Container

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, RunConfig, to_toml
from lstm_tui.fsio import atomic_write_text, open_regular
from lstm_tui.runs.layout import (METRICS, RESULTS_FILE, SUMMARY, SWEEP_FILE, SWEEP_LOCK,
                                  RunError, check_root, fs_error)
from lstm_tui.runs.lock import FolderLock, LockHeld
from lstm_tui.runs.liveness import clean_stale_tmp
from lstm_tui.runs.reader import read_info, read_jsonl
from lstm_tui.runs.summary import read_summary
from lstm_tui.sweeps.backends import (BUSY, DONE, Message, PointDone, PointTask,
                                      sweep_backend)
from lstm_tui.sweeps.backends.point import written_elsewhere
from lstm_tui.sweeps.spec import COLUMN_OBJECTIVES, Point, SweepSpec, show_value
from lstm_tui.tasks import registry

EXTRA_COLUMNS = ("val_loss", "train_loss", "mean_abs_grad", "grad_norm")


# ---------------------------------------------------------------- what the listener hears

@dataclass(frozen=True)
class SweepStarted:
    sweep_dir: Path
    name: str
    total: int
    done: int                  # finished before this invocation (resumed)
    pending: int
    axes: tuple[str, ...]
    metric: str
    goal: str
    backend: str
    workers: int
    notes: tuple[str, ...] = ()  # what the driver found and repaired (a rebuilt study)


@dataclass(frozen=True)
class PointFinished:
    key: str
    index: int
    label: str
    row: dict                  # the results.csv row (typed values)
    done: int                  # points finished so far, out of total
    total: int


@dataclass(frozen=True)
class PointSkipped:
    """A point another live process writes (e.g. ``headless SWEEP/POINT --resume``): not
    touched, not trained, no row written; the next run of the sweep takes it up."""
    key: str
    index: int
    label: str
    run: str                   # the point's folder name
    message: str


@dataclass(frozen=True)
class SweepFinished:
    done: int
    total: int
    interrupted: bool
    skipped: tuple[str, ...] = ()     # folder names of the points skipped (PointSkipped)


@dataclass
class SweepResult:
    sweep_dir: Path
    rows: list[dict]           # results.csv rows in point order (typed values)
    columns: list[str]
    total: int
    done: int
    metric: str
    goal: str
    axes: list[str] = field(default_factory=list)
    verdicts: list[dict] = field(default_factory=list)   # the judged [expect] (sweeps.drive)
    skipped: list[str] = field(default_factory=list)     # folders written by another process

    @property
    def complete(self) -> bool:
        return self.done == self.total

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == "failed"]


# ---------------------------------------------------------------- folders and columns

def slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "-", text).strip("-")[:limit] or "sweep"


def sweep_dir_for(root: Path, spec: SweepSpec) -> Path:
    """Where a sweep lives: the same preset (after --set) always maps to the same folder."""
    return Path(root) / f"sweep-{slug(spec.name)}-{spec.fingerprint()}"


def run_dir_name(point: Point, total: int) -> str:
    width = max(3, len(str(total - 1)))
    values = "-".join(f"{k.rsplit('.', 1)[-1]}{show_value(v)}" for k, v in point.values.items())
    return f"p{point.index:0{width}d}-{slug(values, 60)}-s{point.seed}".replace("--", "-")


def columns_for(spec: SweepSpec) -> list[str]:
    """results.csv columns: the swept values, then what each run gave."""
    extra = list(EXTRA_COLUMNS) + list(registry.spec_of(spec.base.task.kind).metrics)
    also = [f"best_{m}" for m, _ in spec.objectives[1:] if m not in COLUMN_OBJECTIVES]
    return (["point", "run", *spec.axes, "seed", "status", f"best_{spec.metric}",
             f"final_{spec.metric}", *also, "steps", "seconds", "params", *extra, "message", "key"])


# ---------------------------------------------------------------- the driver

def make_sweep_dir(root: Path, spec: SweepSpec) -> Path:
    """The sweep's folder under the run store, made if needed (one line if it cannot be)."""
    sweep_dir = sweep_dir_for(check_root(root), spec)
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fs_error(sweep_dir, exc) from None
    return sweep_dir


def run_points(preset_path: str | Path, cfg: RunConfig, spec: SweepSpec, root: Path,
               backend: str = "sequential", workers: int = 1,
               listener: Callable[[Any], None] | None = None,
               should_stop: Callable[[], bool] = lambda: False,
               options: Any = None) -> SweepResult:
    """Train every pending point of `spec` (a grid, or a random search: points known up
    front) under `root`; resumable (see the module doc).  `options`: the backend's
    (backends.backend_options), else those the sweep's table gives.

    The processes backend (and ensemble with workers > 1) starts spawn processes: a
    script calling this must do so under ``if __name__ == "__main__":``.
    """
    if spec.search == "tpe":   # points drawn as the sweep goes: sweeps.drive.run_sweep
        raise ValueError("an adaptive search is run by lstm_tui.sweeps.drive.run_sweep")
    listen = listener or (lambda event: None)
    impl = sweep_backend(backend, workers, spec, options)
    if spec.scheduler != "none" and not hasattr(impl, "pruner"):
        raise ConfigError(spec.source, "sweep.scheduler", f"{spec.scheduler!r} needs a backend "
                          f"that stops points early; {impl.name} cannot (use scheduler = "
                          f"\"none\")")
    points = spec.points()
    if not getattr(impl, "remote", False):  # a remote backend's workers have their own devices
        _check_devices(points, spec.source)
    sweep_dir = make_sweep_dir(root, spec)
    columns = columns_for(spec)
    by_key = {p.key: p for p in points}
    with _Lock(sweep_dir):
        clean_stale_tmp(sweep_dir)
        atomic_write_text(sweep_dir / SWEEP_FILE, _sweep_toml(preset_path, cfg, sweep_dir))
        rows = _known_rows(sweep_dir, spec, points, columns)
        _write_results(sweep_dir, columns, rows, points)
        finished = {k for k, r in rows.items() if r["status"] in DONE}
        pending = [p for p in points if p.key not in finished]
        if spec.scheduler != "none":
            impl.pruner = _pruner(spec, points, finished, sweep_dir)
            pending.sort(key=lambda p: impl.pruner.rank[p.key])   # the pruning order
        listen(SweepStarted(sweep_dir, spec.name, len(points), len(finished), len(pending),
                            tuple(spec.axes), spec.metric, spec.goal, impl.name,
                            getattr(impl, "workers", workers)))
        skipped: list[str] = []

        def report(msg: Message) -> None:
            point = ending_point(msg, by_key, finished, listen)
            if point is None:
                return
            run_dir = sweep_dir / run_dir_name(point, len(points))
            if skip(point, run_dir.name, msg, skipped, listen):
                return
            row = build_row(point, run_dir, spec, columns, msg.status, msg.message)
            rows[point.key] = row
            if msg.status in DONE:
                finished.add(point.key)
            _write_results(sweep_dir, columns, rows, points)
            listen(PointFinished(point.key, point.index, point.label(), row, len(finished),
                                 len(points)))

        tasks = [PointTask(p.key, p.index, p.config,
                           str(sweep_dir / run_dir_name(p, len(points))), spec.name)
                 for p in pending]
        free = [t for t in tasks if not elsewhere(t, report)]
        if spec.scheduler != "none":         # no verdict waits on a point skipped
            from lstm_tui.sweeps.scheduler import PointEnded
            for t in tasks:
                if t not in free:
                    impl.pruner.offer(PointEnded(t.key))
        tasks = free
        if tasks and not should_stop():
            impl.run(tasks, report, should_stop)
        ordered = [rows[p.key] for p in points if p.key in rows]
        listen(SweepFinished(len(finished), len(points), len(finished) < len(points),
                             tuple(skipped)))
    return SweepResult(sweep_dir, ordered, columns, len(points), len(finished), spec.metric,
                       spec.goal, spec.axes, skipped=skipped)


def elsewhere(task: PointTask, report: Callable[[Message], None]) -> bool:
    """Is the point's folder written by another live process now?  Then it is reported
    as BUSY (and skipped) before any backend sees it: a Ray task or a pool worker is not
    started for it, nor is a scheduler kept waiting on it (open_point checks again)."""
    done = written_elsewhere(task)
    if done is not None:
        report(done)
    return done is not None


def skip(point: Point, run: str, msg: PointDone, skipped: list[str],
         listen: Callable[[Any], None]) -> bool:
    """A BUSY point: no row (an earlier one stays), not finished, told to the listener."""
    if msg.status != BUSY:
        return False
    if run not in skipped:
        skipped.append(run)
        listen(PointSkipped(point.key, point.index, point.label(), run, msg.message))
    return True


def ending_point(msg: Message, by_key: dict[str, Point], finished: Container[str],
                 listen: Callable[[Any], None]) -> Point | None:
    """The point a backend's PointDone ends, for the driver to record; any other message
    of a running point goes to `listen`, and one of a point that has already ended (a
    late message) or of no point at all is dropped."""
    point = by_key.get(msg.key)
    if point is None or msg.key in finished:
        return None
    if not isinstance(msg, PointDone):
        listen(msg)
        return None
    return point


def _pruner(spec: SweepSpec, points: list[Point], finished: set[str], sweep_dir: Path):
    """The sweep's Pruner, knowing the evaluations of the points that ended before (read
    from their run folders): a resumed sweep decides as the first invocation would."""
    from lstm_tui.sweeps.scheduler import Pruner, pruning_order
    pruner = Pruner(spec.scheduler, spec.grace, spec.reduction, spec.goal, spec.metric,
                    pruning_order([(p.key, p.config) for p in points]))
    for p in points:
        if p.key in finished:
            records = read_jsonl(sweep_dir / run_dir_name(p, len(points)) / METRICS)
            pruner.history(p.key, [_number_or_none(r.get(spec.metric)) for r in records
                                   if r.get("split") == "val"])
    return pruner


def _number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _check_devices(points: list[Point], source: str) -> None:
    """Asking for a device this machine lacks is bad input, found before any point runs."""
    wanted = {p.config.train.device for p in points} - {"auto", "cpu"}
    if not wanted:
        return
    from lstm_tui.training.engine import select_device
    for device in sorted(wanted):
        try:
            select_device(device)
        except ConfigError as exc:
            raise ConfigError(source, exc.key, exc.message) from None


def _sweep_toml(preset_path: str | Path, cfg: RunConfig, sweep_dir: Path) -> str:
    return (f"# the sweep of {preset_path}, as resolved (overrides applied)\n"
            f"# results: {RESULTS_FILE}; views: lstm-lab sweep-report {sweep_dir}\n"
            + to_toml(cfg))


# ---------------------------------------------------------------- rows

def build_row(point: Point, run_dir: Path, spec: SweepSpec, columns: list[str],
              status: str | None = None, message: str | None = None) -> dict:
    """The results.csv row of a point, read from its run folder (the single source)."""
    info = read_info(run_dir) if run_dir.exists() else None
    records = read_jsonl(run_dir / METRICS)
    train = [r for r in records if r.get("split") == "train"]
    val = [r for r in records if r.get("split") == "val"]
    last_train, last_val = (train[-1] if train else {}), (val[-1] if val else {})
    extras = registry.spec_of(spec.base.task.kind).metrics
    figures = {}
    for metric, goal in spec.objectives:
        if metric not in COLUMN_OBJECTIVES:
            figures[f"best_{metric}"], figures[f"final_{metric}"] = \
                _best_final(metric, goal, info, val, extras)
    summary_message = read_summary(run_dir / SUMMARY)[0].get("message", "") \
        if message is None else ""
    row = {
        "point": point.index, "run": run_dir.name, **point.values, "seed": point.seed,
        "status": status or (info.status if info else "failed"),
        **figures,
        "steps": info.steps if info else 0,
        "seconds": round(info.seconds, 3) if info else 0.0,
        "params": info.params if info else None,
        "val_loss": last_val.get("loss"), "train_loss": last_train.get("loss"),
        "mean_abs_grad": last_train.get("mean_abs_grad"),
        "grad_norm": last_train.get("grad_norm"),
        **{name: last_val.get(name) for name in extras},
        "message": (message if message is not None else summary_message or "")[:300],
        "key": point.key,
    }
    return {c: row.get(c) for c in columns}


def _best_final(metric: str, goal: str, info, val: list[dict],
                extras: Any) -> tuple[Any, Any]:
    """A run's best and final validation `metric`: the run's own figures for its task
    metric, else picked from its validation records by `goal`."""
    task_metric = info.metric if info and info.metric else None
    if metric == task_metric or (task_metric is None and metric != "loss"
                                 and metric not in extras):
        return (info.best, info.final) if info else (None, None)
    series = [r[metric] for r in val if r.get(metric) is not None]
    pick = max if goal == "max" else min
    return (pick(series) if series else None), (val[-1].get(metric) if val else None)


def _known_rows(sweep_dir: Path, spec: SweepSpec, points: list[Point],
                columns: list[str]) -> dict[str, dict]:
    """Rows of earlier invocations: results.csv, reconciled with the run folders, which
    are the truth.  A folder that ended after the last rewrite (the driver was killed
    between the two) or that ended differently since (a pruned point resumed by hand to
    `completed`) gives its row again.  A row saying a point ended, whose folder was
    written after the row (a resume by hand still running, or stopped), no longer holds
    the point back; a folder left unended before its row was written (a pool worker
    that died: the driver recorded it failed) keeps the row.  A row whose folder is gone
    or unreadable is kept as it is."""
    keys = {p.key for p in points}
    path = sweep_dir / RESULTS_FILE
    rows = {r["key"]: r for r in read_results(path) if r.get("key") in keys}
    try:
        written = path.stat().st_mtime
    except OSError:
        written = 0.0
    for p in points:
        run = run_dir_name(p, len(points))
        run_dir = sweep_dir / run
        summary = read_summary(run_dir / SUMMARY)[0]
        if summary.get("sweep_point") != p.key:
            continue                       # no folder of this point (yet): the row stands
        row = rows.get(p.key)
        status = summary.get("status")
        if status in DONE:     # a damaged or hand-edited row is rebuilt from the folder too
            stale = row is None or not _sound(row, p, run, columns) or \
                (row.get("status"), row.get("steps")) != (status, summary.get("steps"))
        else:
            stale = row is not None and row.get("status") in DONE and \
                float(summary.get("updated") or 0.0) > written
        if stale:
            rows[p.key] = build_row(p, run_dir, spec, columns)
    return rows


def _sound(row: dict, point: Point, run: str, columns: list[str]) -> bool:
    """Does a results.csv row say what its point's folder would (its run, point, values
    and seed; a number or nothing in every figure)?  A damaged or hand-edited row is
    rebuilt from the folder when the folder can give it."""
    if row.get("run") != run or row.get("point") != point.index \
            or row.get("seed") != point.seed:
        return False
    for axis, value in point.values.items():
        got = row.get(axis)
        if isinstance(value, float) and isinstance(got, (int, float)):
            if not math.isclose(got, value, rel_tol=1e-9):
                return False
        elif got != value:
            return False
    figures = [c for c in columns if c not in ("point", "run", "seed", *point.values,
                                                *TEXT_COLUMNS)]
    return all(row.get(c) is None or isinstance(row[c], (int, float))
               and not isinstance(row[c], bool) for c in figures)


def _write_results(sweep_dir: Path, columns: list[str], rows: dict[str, dict],
                   points: list[Point]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    for p in points:
        if p.key in rows:
            writer.writerow({c: _cell(rows[p.key].get(c)) for c in columns})
    atomic_write_text(sweep_dir / RESULTS_FILE, buffer.getvalue())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return show_value(value)


TEXT_COLUMNS = ("run", "key", "message", "status")


def read_results(path: Path) -> list[dict]:
    """results.csv rows with numbers, booleans and lists typed again (missing file: []).

    Rows that cannot be a result (garbage bytes, a row without its key, a run that is not
    a folder name, a status that is none) are skipped, and a point written twice is read
    once: the run folders are the source, and a resume rebuilds those rows from them.
    """
    try:
        with open_regular(Path(path)) as fh:
            text = fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise fs_error(Path(path), exc) from None
    rows: dict[str, dict] = {}
    key_of_run: dict[str, str] = {}
    try:
        for row in csv.DictReader(io.StringIO(text.replace("\0", ""))):
            if None in row or not isinstance(row.get("key"), str) \
                    or not is_run_name(row.get("run")) or row.get("status") not in ev.STATUSES:
                continue
            # a point (or a run folder) written twice is one result, not two seeds: the
            # later row wins
            rows.pop(key_of_run.pop(row["run"], None), None)
            old = rows.pop(row["key"], None)
            if old is not None:
                key_of_run.pop(old["run"], None)
            rows[row["key"]] = {k: typed(v) if k not in TEXT_COLUMNS else v
                                for k, v in row.items()}
            key_of_run[row["run"]] = row["key"]
    except csv.Error:
        pass
    return list(rows.values())


def is_run_name(run: Any) -> bool:
    """Is a results.csv run cell a folder name inside the sweep folder?  Never a path:
    `../..` or `/etc` there would send every reader of the row out of the sweep."""
    return isinstance(run, str) and run not in ("", ".", "..") and \
        not any(c in run for c in "/\\\0")


def typed(text: str | None) -> Any:
    """A results.csv cell back to a value: '' -> None, '5' -> 5, '0.1' -> 0.1, 'true'."""
    if text is None or text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if text.startswith("[") and text.endswith("]"):
        return [typed(t) for t in text[1:-1].split(",") if t]
    return text


# ---------------------------------------------------------------- one driver per sweep

class _Lock:
    """The sweep's driver lock (an OS lock, see runs.lock): two live drivers of one sweep
    would train the same points twice."""

    def __init__(self, sweep_dir: Path):
        self.lock = FolderLock(sweep_dir / SWEEP_LOCK)

    def __enter__(self) -> "_Lock":
        try:
            self.lock.acquire()
        except LockHeld as exc:
            raise RunError(f"{self.lock.path.parent}: this sweep is already running (pid "
                           f"{exc.pid or '?'}); wait for it or stop it first") from None
        except OSError as exc:
            raise fs_error(self.lock.path.parent, exc) from None
        return self

    def __exit__(self, *exc) -> None:
        self.lock.release()
