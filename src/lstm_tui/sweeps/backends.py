"""How the points of a sweep get trained: the Backend protocol and the local backends.

The driver (:mod:`lstm_tui.sweeps.runner`) hands a backend a list of :class:`PointTask`
(config + the run folder the driver chose) and a ``report`` callable.  The backend trains
them however it likes and calls ``report`` — always in the driver's own thread — with
small messages: :class:`PointStarted`, :class:`PointProgress` (throttled, never one per
step) and exactly one :class:`PointDone` per point it trained.  Points it never started
(a stop was requested) are simply not reported.  The driver is the only writer of
results.csv; each point's run folder is written by a RunWriter where the point trains,
so every point is a normal run in the store.

An adaptive search (sweeps.tpe) knows its points only as results come in: it passes
``more``, a :data:`More` callable the backend calls whenever it has free slots (``more(n)``
returns up to n new tasks, [] when there are none yet or left), after reporting the
results that freed them, so the search can tell a result before it draws the next point.
The backend is done when nothing is in flight and ``more`` gives nothing.

A new backend (Ray, say) is one module with a class ``X(workers, spec)`` — `spec` is the
:class:`~lstm_tui.sweeps.spec.SweepSpec`, whose ``cpus``, ``gpus`` and ``retries`` are
for schedulers — having ``name``, ``workers`` and ``run(tasks, report, should_stop)``
(and ``more=None`` to take an adaptive search's points: sequential, processes, ray),
plus one line in :data:`BACKENDS` (imported only when chosen).  Points are trained with
:func:`train_point` (or :func:`train_group`) wherever they run, so run folders are the
same whatever the backend.

  sequential  one point after another, in this process
  processes   a spawn pool of `workers` processes, each with its share of the CPUs
  ensemble    points of equal shapes trained together as one batched model
              (lstm_tui.training.ensemble); with workers > 1 the groups share a spawn pool
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import queue as queue_mod
import shutil
import signal
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence, Union

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, RunConfig
from lstm_tui.errors import error_line
from lstm_tui.runs.resources import instrument
from lstm_tui.runs.store import RunWriter
from lstm_tui.sweeps.scheduler import LocalLink, PointEnded, PointEval, PruneAgent, QueueLink
from lstm_tui.training import ensemble   # light: its torch engine loads on first use

PROGRESS_EVERY = 0.5      # seconds between progress messages of one point
EXIT_CUDA_BROKEN = 70     # a pool worker's exit status after a CUDA error
POLL = 0.1                # seconds between the driver's looks at a pool


# ---------------------------------------------------------------- what travels

@dataclass(frozen=True)
class PointTask:
    """One point to train, as the driver hands it to a backend (picklable)."""
    key: str
    index: int
    config: RunConfig
    run_dir: str
    sweep: str                 # the sweep's name, recorded in the run's summary.json


@dataclass(frozen=True)
class PointStarted:
    key: str
    run_dir: str
    total_steps: int


@dataclass(frozen=True)
class PointProgress:
    key: str
    step: int
    total_steps: int
    metric: float | None       # last validation value of the task metric (None before one)
    loss: float | None         # last training loss


@dataclass(frozen=True)
class PointDone:
    key: str
    status: str                # completed | stopped_early | diverged | failed | interrupted
                               # | pruned
    message: str = ""
    seconds: float = 0.0


Message = Union[PointStarted, PointProgress, PointDone]
Report = Callable[[Message], None]
StopCheck = Callable[[], bool]
More = Callable[[int], list[PointTask]]      # up to n more tasks; [] for none now


class Backend(Protocol):
    """Trains points and reports on them (see the module docstring)."""
    name: str
    workers: int

    def run(self, tasks: Sequence[PointTask], report: Report, should_stop: StopCheck,
            more: More | None = None) -> None:
        ...


BACKENDS: dict[str, str] = {
    "sequential": "lstm_tui.sweeps.backends:Sequential",
    "processes": "lstm_tui.sweeps.backends:Processes",
    "ensemble": "lstm_tui.sweeps.backends:Ensemble",
    "ray": "lstm_tui.sweeps.ray_backend:RayBackend",      # pip install 'lstm-lab[ray]'
}


def backend_names() -> list[str]:
    return list(BACKENDS)


def make_backend(name: str, workers: int = 1, spec=None) -> Backend:
    """The backend called `name`, or a ConfigError listing the known ones."""
    if name not in BACKENDS:
        from lstm_tui.config import suggest
        hint = suggest(name, BACKENDS)
        extra = f" (did you mean {hint!r}?)" if hint else ""
        raise ConfigError("--backend", "backend",
                          f"must be one of {', '.join(BACKENDS)}, got {name!r}{extra}")
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError("--workers", "workers", f"must be an integer >= 1, got {workers!r}")
    if workers > 1 and name == "sequential":
        raise ConfigError("--workers", "workers", "the sequential backend runs one point at a "
                          "time; use --backend processes (or ensemble) with --workers")
    module, attr = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), attr)(workers, spec)


# ---------------------------------------------------------------- one point, anywhere

def open_point(task: PointTask) -> RunWriter:
    """A fresh run folder for the point (a leftover of an interrupted try is replaced)
    and its RunWriter, marked with the sweep's name and the point's key."""
    run_dir = Path(task.run_dir)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    writer = RunWriter(run_dir, task.config)
    writer.summary.update(sweep=task.sweep, sweep_point=task.key)   # written from RunStarted on
    return writer


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
    writer = open_point(task)
    agent = _agent(task, link)
    listeners = [writer, ProgressListener(task, report)] + ([agent] if agent else [])
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

    writers = [open_point(t) for t in tasks]
    agents = [_agent(t, link) for t in tasks]
    # the members share one process: its resource samples go to the first member only
    emits = [instrument(Path(t.run_dir), fan_out(w, ProgressListener(t, report),
                                                 *([a] if a else [])), sample=i == 0)
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
        return done
    return [done_from(t.key, r) for t, r in zip(tasks, results)]


def _fed(tasks: Sequence[PointTask], more: More | None, should_stop: StopCheck):
    """The tasks one after another, then `more`'s one at a time, until a stop."""
    for task in tasks:
        if should_stop():
            return
        yield task
    while more is not None and not should_stop():
        fed = more(1)
        if not fed:
            return
        yield from fed


# ---------------------------------------------------------------- local backends

class Sequential:
    """One point after another, in this process."""
    name = "sequential"

    def __init__(self, workers: int = 1, spec=None):
        self.workers = 1
        self.pruner = None          # a sweeps.scheduler.Pruner, set by the driver

    def run(self, tasks: Sequence[PointTask], report: Report, should_stop: StopCheck,
            more: More | None = None) -> None:
        link = LocalLink(self.pruner) if self.pruner else None
        for task in _fed(tasks, more, should_stop):
            report(train_point(task, report, should_stop, link))


class Processes:
    """A spawn pool of `workers` processes (CPUs shared out); one point per job."""
    name = "processes"

    def __init__(self, workers: int = 2, spec=None):
        self.workers = workers
        self.pruner = None
        self.devices = getattr(spec, "devices", None)   # --devices 0,1 (placement.claim)

    def run(self, tasks: Sequence[PointTask], report: Report, should_stop: StopCheck,
            more: More | None = None) -> None:
        feed = (lambda n: [[t] for t in more(n)]) if more is not None else None
        run_pool([[t] for t in tasks], _points_job, self.workers, report, should_stop,
                 self.pruner, self.devices, feed)


class Ensemble:
    """Points with equal `ensemble.group_key` train together; groups are split so that
    `workers` processes share the work when workers > 1."""
    name = "ensemble"

    def __init__(self, workers: int = 1, spec=None):
        self.workers = workers
        self.pruner = None
        self.devices = getattr(spec, "devices", None)

    def run(self, tasks: Sequence[PointTask], report: Report, should_stop: StopCheck) -> None:
        # on a GPU a group is one batched model: splitting it would undo the batching
        jobs = ensemble_jobs(tasks, self.workers, split=not _on_cuda(tasks))
        if self.workers == 1:
            link = LocalLink(self.pruner) if self.pruner else None
            for job in jobs:
                if should_stop():
                    return
                for done in train_group(job, report, should_stop, link):
                    report(done)
        else:
            run_pool(jobs, _group_job, self.workers, report, should_stop, self.pruner,
                     self.devices)


def ensemble_jobs(tasks: Sequence[PointTask], workers: int,
                  split: bool = True) -> list[list[PointTask]]:
    """Tasks grouped by `ensemble.group_key` (in first-seen order); with several workers
    (and `split`), big groups are split until there are about as many jobs as workers."""
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


# ---------------------------------------------------------------- the spawn pool

_QUEUE = None
_STOP = None
_PARENT = 0
_LINK = None              # a QueueLink to the driver's Pruner, when the sweep has one


def _on_cuda(tasks: Sequence[PointTask]) -> bool:
    """Whether these points train on a GPU (as engine.select_device would resolve them)."""
    devices = {t.config.train.device for t in tasks}
    if any(d.startswith("cuda") for d in devices):
        return True
    if "auto" not in devices:
        return False
    from lstm_tui.training.placement import gpu_count
    return gpu_count() > 0


def _init_worker(queue, stop, workers: int = 1, slots=None, verdicts=None,
                 metric: str = "", devices: list[int] | None = None) -> None:
    """Runs first in every pool process: its share of the CPUs, Ctrl-C left to the
    driver, a lifeline that ends it when the driver is gone, and a GPU of its own when
    there are several (`slots` counts the workers started)."""
    global _QUEUE, _STOP, _PARENT, _LINK
    from lstm_tui.sweeps.lifeline import watch_parent
    from lstm_tui.training.threads import cpu_count, set_cpu_budget
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the driver asks through `stop`
    _QUEUE, _STOP, _PARENT = queue, stop, os.getppid()
    watch_parent(_PARENT)
    if verdicts is not None:
        _LINK = QueueLink(queue.put, verdicts, _worker_should_stop, metric)
    set_cpu_budget(max(1, cpu_count() // max(1, workers)))   # the engine applies the rule
    import lstm_tui.training.engine  # noqa: F401  (imports paid at start, not by a point)
    if slots is not None:
        from lstm_tui.training import placement
        with slots.get_lock():
            slot, slots.value = slots.value, slots.value + 1
        placement.claim(slot, devices)


def _worker_should_stop() -> bool:
    # a driver killed outright (SIGKILL) must not leave orphans writing its run folders
    return _STOP.is_set() or os.getppid() != _PARENT


def _points_job(tasks: list[PointTask]) -> list[PointDone]:
    if _worker_should_stop():
        return []          # stopped before it began: not reported, so still pending
    return _exit_if_cuda_broken([train_point(t, _QUEUE.put, _worker_should_stop, _LINK)
                                 for t in tasks])


def _group_job(tasks: list[PointTask]) -> list[PointDone]:
    if _worker_should_stop():
        return []
    return _exit_if_cuda_broken(train_group(tasks, _QUEUE.put, _worker_should_stop, _LINK))


def _exit_if_cuda_broken(results: list[PointDone]) -> list[PointDone]:
    """After a CUDA error this process's context is broken and would fail every later
    point it is handed: send the results through the queue and exit, so the driver
    runs the points not yet begun in a fresh process."""
    from lstm_tui.training.placement import is_cuda_fatal
    if not any(r.status == "failed" and is_cuda_fatal(r.message) for r in results):
        return results
    for r in results:
        _QUEUE.put(r)
    _QUEUE.close()
    _QUEUE.join_thread()
    os._exit(EXIT_CUDA_BROKEN)


def run_pool(jobs: list[list[PointTask]], job: Callable[[list[PointTask]], list[PointDone]],
             workers: int, report: Report, should_stop: StopCheck, pruner=None,
             devices: list[int] | None = None,
             feed: Callable[[int], list[list[PointTask]]] | None = None) -> None:
    """Run `job` over `jobs` in a spawn pool, relaying worker messages to `report`.

    Workers send throttled progress through one queue; results come back as futures.  A
    worker that dies (killed, out of memory) breaks the pool: the points it had started
    are recorded as failed, the others go to a fresh pool.  With a `pruner`, workers'
    evaluations go to it and its verdicts back through a manager's dict.  With a `feed`
    (an adaptive search), at most `workers` jobs are in flight and ``feed(free)`` is asked
    for more each time results have been reported.
    """
    ctx = mp.get_context("spawn")
    messages = ctx.Queue()
    stop = ctx.Event()
    slots = ctx.Value("i", 0)      # one slot per worker started: its GPU when there are several
    started: set[str] = set()
    finished: set[str] = set()
    manager = ctx.Manager() if pruner is not None else None
    verdicts = manager.dict() if manager is not None else None

    def relay(msg) -> None:
        if isinstance(msg, (PointEval, PointEnded)):
            for key, n, why in pruner.offer(msg):
                verdicts[(key, n)] = why
            return
        if isinstance(msg, PointStarted):
            started.add(msg.key)
        if isinstance(msg, PointDone):
            finished.add(msg.key)
            if pruner is not None:             # e.g. a dead worker's point: it ended too
                relay(PointEnded(msg.key))
        report(msg)

    def drain() -> None:
        while True:
            try:
                msg = messages.get_nowait()
            except (queue_mod.Empty, EOFError, OSError):
                return
            if msg.key not in finished:
                relay(msg)

    remaining = list(jobs)
    try:
        while remaining or feed is not None:
            size = workers if feed is not None else min(workers, len(remaining))
            with ProcessPoolExecutor(max_workers=size, mp_context=ctx,
                                     initializer=_init_worker,
                                     initargs=(messages, stop, workers, slots, verdicts,
                                               pruner.metric if pruner else "",
                                               devices)) as pool:
                futures = {pool.submit(job, j): j for j in remaining}
                more = (lambda free, pool=pool: {pool.submit(job, j): j for j in feed(free)}) \
                    if feed is not None else None
                try:
                    remaining, broken = _drive(futures, started, finished, relay, drain,
                                               stop, should_stop, more, workers)
                except BaseException:
                    # a forced stop (second Ctrl-C): workers stop at their next step, so
                    # leaving this block (which waits for them) is quick
                    stop.set()
                    for f in futures:
                        f.cancel()
                    raise
            drain()
            if stop.is_set() or not (remaining or broken):  # done (a fed pool ends empty)
                break
    finally:
        stop.set()
        messages.close()
        if manager is not None:
            manager.shutdown()


def _drive(futures: dict, started: set[str], finished: set[str], relay: Report,
           drain: Callable[[], None], stop, should_stop: StopCheck,
           more: Callable[[int], dict] | None = None,
           workers: int = 1) -> tuple[list[list[PointTask]], bool]:
    """Wait on a pool's futures, relaying results (and topping them up to `workers` from
    `more` after each round of results); returns the jobs to run again in a fresh pool
    and whether a worker died (the pool is then broken)."""
    again: list[list[PointTask]] = []
    broken = False
    while True:
        if more is not None and not broken and not stop.is_set() and not should_stop() \
                and len(futures) < workers:
            futures.update(more(workers - len(futures)))
        if not futures:
            break
        done, _ = wait(futures, timeout=POLL, return_when=FIRST_COMPLETED)
        drain()
        if should_stop() and not stop.is_set():
            stop.set()
            for f in futures:
                f.cancel()
        for f in done:
            tasks = futures.pop(f)
            if f.cancelled():
                continue
            try:
                results = f.result()
            except BrokenProcessPool:
                broken = True
                lost = [t for t in tasks if t.key not in finished]
                again += _after_crash(lost, started, relay)
                continue
            except Exception as exc:     # pickling and the like: record, go on
                for t in tasks:
                    relay(PointDone(t.key, "failed", f"worker: {type(exc).__name__}: "
                                    f"{exc}"[:500]))
                continue
            drain()
            for r in results:
                if r.key not in finished:
                    relay(r)
    return again, broken


def _after_crash(tasks: Iterable[PointTask], started: set[str],
                 relay: Report) -> list[list[PointTask]]:
    """Points a dead worker had begun are failed; the rest are run again (as one job each)."""
    again = []
    for t in tasks:
        if t.key in started:
            relay(PointDone(t.key, "failed", "worker process died (killed or out of memory)"))
        else:
            again.append([t])
    return again
