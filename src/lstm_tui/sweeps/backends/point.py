"""Training one point, or one ensemble group, wherever a backend runs it.

Every backend trains through :func:`train_point` or :func:`train_group` (the ray backend
through the same listeners on its driver's side), so a point's run folder is the same
whatever the backend: a fresh folder (:func:`open_point`), the RunWriter hearing each
event first, throttled progress messages for the driver (:class:`ProgressListener`) and
one :class:`~.base.PointDone` at the end.  A failure is recorded in the folder and
returned, never raised.  The folder is touched only under its writer lock: a point
another live process writes (``headless --resume`` of it) ends as BUSY, untouched.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Callable, Sequence

from lstm_tui import events as ev
from lstm_tui.config import ConfigError
from lstm_tui.errors import error_line
from lstm_tui.runs.layout import SUMMARY, WRITER_LOCK
from lstm_tui.runs.lock import FolderLock, LockHeld, holder_pid, is_held
from lstm_tui.runs.resources import instrument
from lstm_tui.runs.summary import read_summary
from lstm_tui.runs.writer import RunWriter
from lstm_tui.sweeps.backends.base import (BUSY, DONE, PointDone, PointProgress, PointStarted,
                                           PointTask, Report, StopCheck)
from lstm_tui.sweeps.scheduler import PruneAgent

PROGRESS_EVERY = 0.5      # seconds between progress messages of one point


class NotOpened(Exception):
    """The point's folder was left as it is; `done` is what the driver records instead."""

    def __init__(self, done: PointDone):
        super().__init__(done.message)
        self.done = done


def busy(task: PointTask, pid: int = 0) -> PointDone:
    """The PointDone of a point whose folder another live process writes."""
    return PointDone(task.key, BUSY, f"{Path(task.run_dir).name}: being written by another "
                     f"process (pid {pid or '?'}, e.g. `lstm-lab headless ... --resume`); "
                     "left as it is")


def written_elsewhere(task: PointTask) -> PointDone | None:
    """BUSY when a live process holds the point's writer lock now (a look, taking
    nothing: the driver skips such points before a backend sees them)."""
    lock = Path(task.run_dir) / WRITER_LOCK
    return busy(task, holder_pid(lock)) if is_held(lock) else None


def open_point(task: PointTask) -> RunWriter:
    """The point's run folder under its writer lock, cleared of an earlier try's files,
    and its RunWriter (holding that lock), marked with the sweep's name and the point's
    key.  NotOpened, with nothing touched, when another live process holds the lock
    (BUSY), or when the folder says this point ended since the driver looked (a resume
    by hand finished it: recorded from the folder, not trained again)."""
    run_dir = Path(task.run_dir)
    if run_dir.is_symlink() or (run_dir.exists() and not run_dir.is_dir()):
        run_dir.unlink()
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = FolderLock(run_dir / WRITER_LOCK)
    try:
        lock.acquire()
    except LockHeld as exc:
        raise NotOpened(busy(task, exc.pid)) from None
    try:
        summary = read_summary(run_dir / SUMMARY)[0]
        if summary.get("sweep_point") == task.key and summary.get("status") in DONE:
            raise NotOpened(PointDone(task.key, summary["status"], summary.get("message", ""),
                                      summary.get("seconds", 0.0)))
        clear_folder(run_dir)
        writer = RunWriter(run_dir, task.config, lock=lock)
    except BaseException:
        lock.release()
        raise
    writer.summary.update(sweep=task.sweep, sweep_point=task.key)   # written from RunStarted on
    return writer


def clear_folder(run_dir: Path) -> None:
    """Everything in a point's folder but its writer lock (which the caller holds)."""
    for entry in Path(run_dir).iterdir():
        if entry.name == WRITER_LOCK:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, onerror=_unless_gone)
        else:
            entry.unlink(missing_ok=True)   # a temporary renamed away meanwhile is gone too


def _unless_gone(_function, _path, exc_info) -> None:
    if not issubclass(exc_info[0], FileNotFoundError):
        raise exc_info[1]


class ProgressListener:
    """Turns one point's engine events into throttled progress messages."""

    def __init__(self, task: PointTask, report: Report, every: float = PROGRESS_EVERY):
        self.task, self.report, self.every = task, report, every
        self.total, self.metric, self.loss, self.last = 0, None, None, 0.0

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.total = event.total_steps
            self.report(PointStarted(self.task.key, self.task.run_dir, event.total_steps))
            self.last = time.monotonic()
            return
        if isinstance(event, ev.StepMetrics):
            self.loss = event.loss
        elif isinstance(event, ev.ValMetrics):
            self.metric = event.metric
        else:
            return
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self.report(PointProgress(self.task.key, event.step, self.total, self.metric,
                                      self.loss))


def point_trackers(task: PointTask) -> list:
    """The point's tracker listeners (its config's train.log_to), made where it trains."""
    from lstm_tui.trackers.listen import tracker_listeners
    return tracker_listeners(task.config.train.log_to, task.run_dir, sweep=True)


def fan_out(*listeners: Callable[[ev.Event], None]) -> Callable[[ev.Event], None]:
    """One emit for several listeners, the first (the RunWriter) hearing each event first."""
    def emit(event: ev.Event) -> None:
        for listen in listeners:
            listen(event)
    return emit


def done_from(key: str, last: ev.Event) -> PointDone:
    if isinstance(last, ev.Finished):
        return PointDone(key, last.status, last.message, last.seconds)
    if isinstance(last, ev.Failed):
        return PointDone(key, "failed", last.error, 0.0)
    return PointDone(key, "failed", f"no final event (got {type(last).__name__})")


def _agent(task: PointTask, link) -> PruneAgent | None:
    return PruneAgent(task.key, link.metric, link) if link is not None else None


def train_point(task: PointTask, report: Report, should_stop: StopCheck,
                link=None) -> PointDone:
    """Train one point into its run folder (what `experiment.start_run` does, plus the
    sweep marker); a failure is recorded in the folder and returned, never raised.
    With a scheduler `link`, each validation waits for the driver's verdict."""
    from lstm_tui.training.engine import train
    try:
        writer = open_point(task)
    except NotOpened as exc:
        if link is not None:
            link.ended(task.key)
        return exc.done
    agent = _agent(task, link)
    listeners = [writer, ProgressListener(task, report)] + ([agent] if agent else []) \
        + point_trackers(task)
    stop = (lambda: agent.stop() or should_stop()) if agent else should_stop
    try:
        last = train(task.config, instrument(Path(task.run_dir), fan_out(*listeners)), stop,
                     run_id=Path(task.run_dir).name, save_checkpoint=writer.save_checkpoint)
    except ConfigError as exc:       # e.g. a checkpoint or device problem found late
        last = ev.Failed(error=f"ConfigError: {exc}"[:500], step=0, traceback="")
        writer(last)
        if agent:
            agent(last)
    return done_from(task.key, last)


def train_group(tasks: Sequence[PointTask], report: Report,
                should_stop: StopCheck, link=None) -> list[PointDone]:
    """Train points of one ensemble group together (lstm_tui.training.ensemble); with a
    scheduler `link`, a pruned member leaves the stacks and the others go on."""
    import inspect

    from lstm_tui.training import ensemble
    opened, writers, skipped = [], [], []
    for t in tasks:          # a member written elsewhere stays out of the group
        try:
            writers.append(open_point(t))
            opened.append(t)
        except NotOpened as exc:
            if link is not None:
                link.ended(t.key)
            skipped.append(exc.done)
        except BaseException:
            for w in writers:
                w.close()
            raise
    if not opened:
        return skipped
    tasks = opened
    agents = [_agent(t, link) for t in tasks]
    # the members share one process: its resource samples go to the first member only
    emits = [instrument(Path(t.run_dir), fan_out(w, ProgressListener(t, report),
                                                 *([a] if a else []), *point_trackers(t)),
                        sample=i == 0)
             for i, (t, w, a) in enumerate(zip(tasks, writers, agents))]
    extra = {}
    if "run_ids" in inspect.signature(ensemble.train_ensemble).parameters:
        extra["run_ids"] = [Path(t.run_dir).name for t in tasks]
    if link is not None:
        extra["member_stops"] = [a.stop for a in agents]
    try:
        results = ensemble.train_ensemble([t.config for t in tasks], emits, should_stop,
                                          [w.save_checkpoint for w in writers], **extra)
    except Exception as exc:  # a broken group is recorded point by point; the sweep goes on
        import traceback
        failed = ev.Failed(error=f"ensemble: {error_line(exc)}"[:500], step=0,
                           traceback=traceback.format_exc())
        done = []
        for t, w in zip(tasks, writers):
            if w.summary.get("status") == "running":   # members that had ended keep their end
                w(failed)
            if link is not None:
                link.ended(t.key)
            done.append(PointDone(t.key, w.summary["status"], w.summary.get("message", ""),
                                  w.summary.get("seconds", 0.0)))
        return skipped + done
    return skipped + [done_from(t.key, r) for t, r in zip(tasks, results)]


def ensemble_jobs(tasks: Sequence[PointTask], workers: int,
                  split: bool = True) -> list[list[PointTask]]:
    """Tasks grouped by `ensemble.group_key` (in first-seen order); with several workers
    (and `split`), big groups are split until there are about as many jobs as workers."""
    from lstm_tui.training import ensemble
    groups: dict = {}
    for task in tasks:
        groups.setdefault(ensemble.group_key(task.config), []).append(task)
    jobs = list(groups.values())
    while split and workers > 1 and len(jobs) < workers:
        biggest = max(range(len(jobs)), key=lambda i: len(jobs[i]))
        group = jobs[biggest]
        if len(group) < 2:
            break
        half = (len(group) + 1) // 2
        jobs[biggest:biggest + 1] = [group[:half], group[half:]]
    return jobs

