"""The pool: the `processes` backend, and the ensemble backend's groups with workers > 1.

Each job (a point, or an ensemble group) runs in a pool process (started as
lstm_tui.training.processes starts them: forked from a server that imported torch once,
where it can) that got its share of the CPUs, leaves Ctrl-C to the driver, ends itself
when the driver is gone (a lifeline) and, with several GPUs, claims one of its own
(``--devices``: which ones, in turn).
Workers send throttled progress through one queue; results come back as futures.  A
worker that dies breaks the pool: the points it had begun are failed, the others go to
a fresh pool.  With a scheduler, workers' evaluations go to the driver's Pruner and its
verdicts come back through a manager's dict.
"""

from __future__ import annotations

import os
import queue as queue_mod
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from lstm_tui.config import opt
from lstm_tui.sweeps.backends.base import (More, PointDone, PointStarted, PointTask, Report,
                                           StopCheck)
from lstm_tui.sweeps.backends.point import train_group, train_point
from lstm_tui.sweeps.scheduler import PointEnded, PointEval, QueueLink
from lstm_tui.training import processes   # no torch: how workers start, their lifeline

EXIT_CUDA_BROKEN = 70     # a pool worker's exit status after a CUDA error
POLL = 0.1                # seconds between the driver's looks at a pool


@dataclass(frozen=True)
class PoolOptions:
    """The options of the backends that train in a pool (processes, ensemble)."""
    devices: tuple[int, ...] | None = opt(None, "the GPUs the workers use, in turn (e.g. "
                                          "0,1; default: every GPU)")

    @classmethod
    def build(cls, spec: Any = None, devices: str | None = None) -> "PoolOptions":
        """`devices` as the command line gives it ("0,1"), checked against this machine."""
        if devices is None:
            return cls()
        from lstm_tui.training.placement import parse_devices
        return cls(tuple(parse_devices(devices)))


class Processes:
    """A pool of `workers` processes (CPUs shared out); one point per job."""
    name = "processes"
    Options = PoolOptions

    def __init__(self, workers: int = 2, options: PoolOptions = PoolOptions()):
        self.workers = workers
        self.pruner = None          # a sweeps.scheduler.Pruner, set by the driver
        self.devices = options.devices

    def run(self, tasks: Sequence[PointTask], report: Report, should_stop: StopCheck,
            more: More | None = None) -> None:
        feed = (lambda n: [[t] for t in more(n)]) if more is not None else None
        run_pool([[t] for t in tasks], points_job, self.workers, report, should_stop,
                 self.pruner, self.devices, feed)


# ---------------------------------------------------------------- in a worker

_QUEUE = None
_STOP = None
_LINK = None              # a QueueLink to the driver's Pruner, when the sweep has one
_BUSY = [0]               # jobs this worker is running: an orphan waits for them to end


def _init_worker(queue, stop, workers: int = 1, slots=None, verdicts=None,
                 metric: str = "", devices: Sequence[int] | None = None,
                 driver: Any = None) -> None:
    """Runs first in every pool process: its share of the CPUs, Ctrl-C left to the
    driver, a lifeline that ends it when the driver is gone, and a GPU of its own when
    there are several (`slots` counts the workers started)."""
    global _QUEUE, _STOP, _LINK
    from lstm_tui.training.threads import cpu_count, set_cpu_budget
    processes.adopt(driver)                         # its environment; a watch on it
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the driver asks through `stop`
    _QUEUE, _STOP = queue, stop
    processes.lifeline(busy=lambda: _BUSY[0] > 0)   # an idle orphan goes at once
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
    return _STOP.is_set() or processes.caller_gone()


def points_job(tasks: list[PointTask]) -> list[PointDone]:
    return _busy(lambda: [train_point(t, _QUEUE.put, _worker_should_stop, _LINK)
                          for t in tasks])


def group_job(tasks: list[PointTask]) -> list[PointDone]:
    return _busy(lambda: train_group(tasks, _QUEUE.put, _worker_should_stop, _LINK))


def _busy(train: Callable[[], list[PointDone]]) -> list[PointDone]:
    if _worker_should_stop():
        return []          # stopped before it began: not reported, so still pending
    _BUSY[0] += 1
    try:
        results = train()
    finally:
        _BUSY[0] -= 1
    return _exit_if_cuda_broken(results)


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
             devices: Sequence[int] | None = None,
             feed: Callable[[int], list[list[PointTask]]] | None = None) -> None:
    """Run `job` over `jobs` in a pool, relaying worker messages to `report`.

    Workers send throttled progress through one queue; results come back as futures.  A
    worker that dies (killed, out of memory) breaks the pool: the points it had started
    are recorded as failed, the others go to a fresh pool.  With a `pruner`, workers'
    evaluations go to it and its verdicts back through a manager's dict.  With a `feed`
    (an adaptive search), at most `workers` jobs are in flight and ``feed(free)`` is asked
    for more each time results have been reported.
    """
    ctx = processes.context()
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
                                               devices, processes.caller())) as pool:
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
