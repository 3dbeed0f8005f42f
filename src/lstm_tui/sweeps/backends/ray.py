"""The Ray backend: a sweep's points as Ray tasks, on this machine or on a cluster.

    lstm-lab sweep PRESET.toml --backend ray [--address HOST:PORT|auto] [--workers N]
                               [--cpus C] [--gpus G] [--retries R] [--ensemble]

Without an address a local Ray instance (workers × cpus CPUs, bound to 127.0.0.1, no
dashboard) is started for the sweep and stopped after it; with one, the sweep joins that
cluster (``auto``: the cluster this node belongs to).  Ray is imported here only, and
only when the backend runs: ``pip install 'lstm-lab[ray]'``.

Each point is one Ray task (with ``ensemble``: each ensemble group, as the ensemble
backend forms them) asking for ``cpus`` CPUs and ``gpus`` GPUs — a fraction lets several
small models share one GPU.  The task (.ray_task) is a streaming generator that is
given configs and run names, never a path: it trains in a thread and yields the events in
batches (every FLUSH_EVERY seconds, and at once on RunStarted, Finished and Failed); a
checkpoint comes back as bytes (``torch.save`` to memory).  The driver — this process — is the only
writer of the run store: it opens a point's run folder when its RunStarted arrives,
feeds the events to a RunWriter, writes the checkpoint bytes atomically into the folder
and hands the writer a CheckpointWritten that names them.  Workers need no shared
filesystem, and every point is a normal run folder.

Faults are the driver's to handle (tasks go out with ``max_retries=0``).  A task lost to
a system failure (its worker process or node died, an object was lost) is submitted
again up to ``retries`` times: members of a group that had finished are kept, the run
folders of the others are reset (a fresh RunWriter, no duplicated records).  After the
last try the point is recorded as failed with the reason.  Errors inside training are
the engine's Failed events and are not retried.  A stop request (Ctrl-C) cancels the
tasks in flight (``ray.cancel(force=True)``); started points are recorded as interrupted,
and the same command resumes the sweep.

With a scheduler (``scheduler = "asha"|"median"``) the driver keeps the sweep's Pruner,
as with the local backends.  A task sends each validation up its stream as a PointEval
(at once) and waits for the verdict, which the driver posts to a :class:`VerdictBoard`
actor (no CPU of its own) that the tasks read; a pruned point ends with status
``pruned``, and a pruned member of a group leaves the stacks.  Jobs are submitted in the
pruning order, so the verdict a task waits for never hangs on a job not yet started (a
job tried again when every slot is taken displaces the latest one: Driver.make_way); a
job tried again reports its evaluations again and gets the same verdicts.

The driver is one class because its state (jobs in flight, tries, the writers it alone
holds, the verdicts) is shared by submitting, receiving, retrying and stopping; the task
side lives in .ray_task, the options and the connection in .ray_cluster, the run folders
in .point.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from lstm_tui import events as ev
from lstm_tui.config import ConfigError
from lstm_tui.errors import error_line
from lstm_tui.runs.writer import RunWriter
from lstm_tui.sweeps.backends.base import More, PointDone, PointTask, Report, StopCheck
from lstm_tui.sweeps.backends.point import (NotOpened, ProgressListener, clear_folder,
                                            done_from, ensemble_jobs, fan_out, open_point,
                                            point_trackers)
from lstm_tui.sweeps.backends.ray_cluster import RayOptions, connect
from lstm_tui.sweeps.backends.ray_task import (FLUSH_EVERY, CheckpointBytes, VerdictBoard,
                                               _ray_job)
from lstm_tui.sweeps.scheduler import PointEnded, PointEval

POLL = 0.1               # seconds between the driver's looks at should_stop
CAPACITY_EVERY = 5.0     # seconds between the driver's looks at the cluster's size


def _remote_job(ray):
    return ray.remote(num_returns="streaming", max_retries=0)(_ray_job)


# ---------------------------------------------------------------- the driver's side

@dataclass
class _Member:
    """One point of a job, as the driver follows it."""
    task: PointTask
    report: Report
    writer: RunWriter | None = None
    emit: Callable[[ev.Event], None] | None = None
    ended: bool = False
    trackers: list = dataclasses.field(default_factory=list)   # train.log_to, on this side
    step: int = 0
    seconds: float = 0.0
    best: float | None = None
    final: float | None = None

    def open(self) -> PointDone | None:
        """A fresh run folder and RunWriter (a leftover of an earlier try is replaced);
        or, when the folder is not ours to write (point.open_point), the member ends and
        the PointDone to report instead is returned."""
        self.close()
        try:
            self.writer = open_point(self.task)
        except NotOpened as exc:
            self.writer, self.ended = None, True
            return exc.done
        self.trackers = point_trackers(self.task)     # beside the writer: files are here
        self.emit = fan_out(self.writer, ProgressListener(self.task, self.report),
                            *self.trackers)
        self.step, self.seconds, self.best, self.final = 0, 0.0, None, None
        return None

    def reset(self) -> None:
        """Before a retry: the failed try's folder goes (emptied under its writer lock,
        which this member holds; a folder it never opened is not its to remove), the new
        try writes a new one."""
        opened = self.writer is not None and self.writer.lock.held
        for tracker in self.trackers:      # their threads write trackers.json: done first
            tracker.close()
        if opened:
            clear_folder(Path(self.task.run_dir))
        self.close()
        self.writer = self.emit = None
        if opened:
            try:
                os.rmdir(self.task.run_dir)
            except OSError:       # someone else's lock file (or a tracker's) is there now
                pass

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        for tracker in self.trackers:
            tracker.close()

    def feed(self, item: Any) -> ev.Event | PointDone | None:
        """Record one item of the stream; returns the final event when it is one (or
        the PointDone of a folder that was not opened)."""
        if self.ended:
            return None
        if isinstance(item, ev.RunStarted) or self.writer is None:
            refused = self.open()
            if refused is not None:
                return refused
        if isinstance(item, CheckpointBytes):
            _write_bytes(Path(self.task.run_dir) / f"{item.tag}.pt", item.data)
            return None
        if isinstance(item, ev.CheckpointWritten):
            item = dataclasses.replace(
                item, path=str(Path(self.task.run_dir) / Path(item.path).name))
        if isinstance(item, (ev.StepMetrics, ev.ValMetrics)):
            self.step, self.seconds = item.step, item.seconds
            if isinstance(item, ev.ValMetrics):
                self.best, self.final = item.best, item.metric
        self.emit(item)
        if isinstance(item, (ev.Finished, ev.Failed)):
            self.ended = True
            return item
        return None


@dataclass
class _Job:
    """One Ray task: a point, or the points of one ensemble group."""
    members: list[_Member]
    tries: int = 0
    stream: Any = None

    def live(self) -> list[_Member]:
        return [m for m in self.members if not m.ended]


def _write_bytes(path: Path, data: bytes) -> None:
    """Replace `path` atomically (as runs.checkpoint.save_checkpoint does)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def describe(exc: BaseException) -> str:
    """`WorkerCrashedError: The worker died unexpectedly ...` (one line, short)."""
    cause = getattr(exc, "cause", None)
    shown = cause if isinstance(cause, BaseException) else exc
    return error_line(shown, limit=240)


class Driver:
    """Submits jobs, relays their streams to run folders and `report`, retries lost
    jobs.  `ray` is the ray module (or a stand-in with wait, get, cancel, exceptions).
    With a `pruner` (sweeps.scheduler.Pruner), the evaluations in the streams go to it
    and its verdicts to the `board` (a VerdictBoard actor's handle)."""

    def __init__(self, ray, remote, jobs: Sequence[Sequence[PointTask]], options: RayOptions,
                 report: Report, should_stop: StopCheck, *, workers: int = 1,
                 fixed_capacity: bool = False, pruner=None, board=None,
                 more: More | None = None):
        self.ray, self.remote, self.options = ray, remote, options
        self.more = more              # an adaptive search's source of points (base.More)
        self.report, self.should_stop = report, should_stop
        self.pruner, self.board = pruner, board
        self.workers, self.fixed_capacity = workers, fixed_capacity
        self.waiting: deque[_Job] = deque()
        self.running: dict[Any, _Job] = {}
        self._capacity, self._capacity_at = workers, -math.inf
        self.add(jobs)

    def add(self, jobs: Sequence[Sequence[PointTask]]) -> None:
        self.waiting.extend(_Job([_Member(t, self.report) for t in job]) for job in jobs)

    # -- the loop
    def run(self) -> None:
        try:
            while self.feed() or self.waiting or self.running:
                if self.should_stop():
                    self.stop(report=True)
                    return
                while self.waiting and len(self.running) < self.capacity():
                    self.submit(self.waiting.popleft())
                if self.waiting and self.pruner is not None:
                    self.make_way()
                streams = list(self.running)
                ready, _ = self.ray.wait(streams, num_returns=1, timeout=POLL)
                if ready and len(streams) > 1:
                    ready, _ = self.ray.wait(streams, num_returns=len(streams), timeout=0)
                for stream in ready:
                    self.pull(stream)
        except BaseException:
            self.stop(report=False)      # a forced stop: folders say interrupted
            raise

    def rank(self, job: _Job) -> int:
        """Where a job stands in the pruning order (its first member's place)."""
        return min(self.pruner.rank.get(m.task.key, len(self.pruner.order))
                   for m in job.members)

    def make_way(self) -> None:
        """With a scheduler, a task waits for verdicts that need the earlier points'
        evaluations.  Jobs go out in the pruning order, so the earlier ones are running,
        except a job tried again on a cluster that shrank: left waiting while later jobs
        hold every slot, it would wait for them as they wait for it.  The latest running
        job then goes back to the queue, to train again from the start (its evaluations
        come again, and so do its verdicts)."""
        head = self.rank(self.waiting[0])
        stream, latest = max(self.running.items(), key=lambda item: self.rank(item[1]))
        if self.rank(latest) < head:
            return
        del self.running[stream]
        try:
            self.ray.cancel(stream, force=True)
        except Exception:       # already finished, or its node is gone
            pass
        live = latest.live()
        for m in live:
            m.reset()
        back = _Job(live, latest.tries)
        at = next((i for i, job in enumerate(self.waiting) if self.rank(job) > self.rank(back)),
                  len(self.waiting))
        self.waiting.insert(at, back)

    def feed(self) -> bool:
        """Top the jobs up to capacity from `more` (after the last results were reported);
        whether any came."""
        if self.more is None or self.should_stop():
            return False
        free = self.capacity() - len(self.running) - len(self.waiting)
        fed = self.more(free) if free > 0 else []
        self.add([[t] for t in fed])
        return bool(fed)

    def capacity(self) -> int:
        """How many jobs to keep in flight: `workers` on a local instance; on a cluster,
        as many as its resources fit (looked at again every CAPACITY_EVERY seconds)."""
        if self.fixed_capacity:
            return self.workers
        now = time.monotonic()
        if now - self._capacity_at >= CAPACITY_EVERY:
            self._capacity_at = now
            total = self.ray.cluster_resources()
            fits = [math.floor(total.get(name, 0.0) / amount + 1e-9)
                    for name, amount in (("CPU", self.options.cpus), ("GPU", self.options.gpus))
                    if amount > 0]
            fit = min(fits) if fits else int(total.get("CPU", 1))
            self._capacity = max(1, self.workers, fit)
        return self._capacity

    def submit(self, job: _Job) -> None:
        opts: dict[str, Any] = {"num_cpus": self.options.cpus,
                                "name": f"lstm-lab {Path(job.members[0].task.run_dir).name}"}
        if self.options.gpus:
            opts["num_gpus"] = self.options.gpus
        extra: dict[str, Any] = {}
        if 0 < self.options.gpus < 1:
            extra["gpu_share"] = self.options.gpus
        if self.pruner is not None:
            extra["prune"] = ([m.task.key for m in job.members], self.board, self.pruner.metric)
        job.stream = self.remote.options(**opts).remote(
            [m.task.config for m in job.members],
            [Path(m.task.run_dir).name for m in job.members],   # names only: no paths
            self.options.ensemble, max(1, int(self.options.cpus)), FLUSH_EVERY, **extra)
        self.running[job.stream] = job

    def pull(self, stream) -> None:
        """Take the next batch of a ready stream (or its end, or its error)."""
        job = self.running[stream]
        try:
            ref = next(stream)
        except StopIteration:
            del self.running[stream]
            for m in job.live():
                self.finish(m, ev.Failed(error="the Ray task ended without a final event",
                                         step=m.step, traceback=""))
            return
        except Exception as exc:           # an error may surface here or in get()
            self.lost(job, exc)
            return
        try:
            batch = self.ray.get(ref)
        except Exception as exc:
            self.lost(job, exc)
            return
        for index, item in batch:
            if isinstance(item, (PointEval, PointEnded)):
                self.offer(item)
                continue
            if index is None:              # the job broke as a whole
                for m in job.live():
                    self.finish(m, item)
                continue
            final = job.members[index].feed(item)
            if final is not None:
                key = job.members[index].task.key
                self.offer(PointEnded(key))
                self.report(final if isinstance(final, PointDone) else done_from(key, final))
        if not job.live():
            del self.running[stream]       # its end of stream is not awaited

    def lost(self, job: _Job, exc: BaseException) -> None:
        """A job that raised: a system failure is retried, anything else recorded."""
        del self.running[job.stream]
        errors = self.ray.exceptions
        live = job.live()
        if self.should_stop():         # Ctrl-C reached the workers first: not a fault
            for m in live:
                self.interrupt(m, report=True)
            return
        if isinstance(exc, errors.RayTaskError) and not _system_failure(errors, exc):
            for m in live:      # an error of this code on the worker: trying again won't help
                self.finish(m, ev.Failed(error=f"ray task: {describe(exc)}", step=m.step,
                                         traceback=str(exc)[-4000:]))
            return
        job.tries += 1
        if job.tries <= self.options.retries:
            for m in live:
                m.reset()
            self.waiting.appendleft(_Job(live, job.tries))
            return
        tries = f"{job.tries} tr{'y' if job.tries == 1 else 'ies'}"
        for m in live:
            self.finish(m, ev.Failed(error=f"lost on Ray after {tries} (retries "
                                     f"{self.options.retries}): {describe(exc)}",
                                     step=m.step, traceback=""))

    def finish(self, member: _Member, event: ev.Event) -> None:
        """End a member with `event` (its folder records it; the driver hears it)."""
        if member.ended:
            return
        if member.writer is None:  # a point lost before it began still gets its folder
            refused = member.open()
            if refused is not None:
                self.offer(PointEnded(member.task.key))
                self.report(refused)
                return
        member.feed(event)
        self.offer(PointEnded(member.task.key))
        self.report(done_from(member.task.key, event))

    def offer(self, msg: PointEval | PointEnded) -> None:
        """An evaluation or an end to the Pruner; the verdicts it makes go to the board
        (an actor call does not block the driver)."""
        if self.pruner is None:
            return
        made = self.pruner.offer(msg)
        if made:
            self.board.post.remote(made)

    def stop(self, report: bool) -> None:
        """Cancel every task in flight; started points are recorded as interrupted."""
        jobs = list(self.running.values())
        self.running.clear()
        for job in jobs:
            try:
                self.ray.cancel(job.stream, force=True)
            except Exception:       # already finished, or the cluster is gone
                pass
        for job in jobs:
            for m in job.live():
                self.interrupt(m, report)
        for job in jobs + list(self.waiting):
            for m in job.members:
                m.close()

    def interrupt(self, member: _Member, report: bool) -> None:
        """A started point ends as interrupted (resumed later); one never started stays
        pending, unreported, as with the local backends."""
        if member.writer is None or member.ended:
            return
        event = ev.Finished(status="interrupted", step=member.step, seconds=member.seconds,
                            best=member.best, final=member.final,
                            message=f"stopped at step {member.step} by request")
        member.feed(event)
        if report:
            self.report(PointDone(member.task.key, "interrupted", event.message,
                                  member.seconds))


def _system_failure(errors, exc: BaseException) -> bool:
    """A RayTaskError whose cause is Ray's own failure (a crashed worker, a lost object)."""
    system = tuple(getattr(errors, name) for name in (
        "WorkerCrashedError", "NodeDiedError", "ObjectLostError", "LocalRayletDiedError",
        "RaySystemError", "OutOfMemoryError", "OwnerDiedError") if hasattr(errors, name))
    return isinstance(exc, system) or isinstance(getattr(exc, "cause", None), system)


# ---------------------------------------------------------------- the backend

class RayBackend:
    """Points (or ensemble groups) as Ray tasks; see the module docstring."""
    name = "ray"
    remote = True      # points train elsewhere: the driver's own devices do not matter

    Options = RayOptions

    def __init__(self, workers: int = 1, options: RayOptions = RayOptions()):
        self.workers = workers
        self.pruner = None          # a sweeps.scheduler.Pruner, set by the driver
        self.options = options
        if self.options.ensemble:
            self.name = "ray+ensemble"

    def run(self, tasks: Sequence[PointTask], report: Report, should_stop: StopCheck,
            more: More | None = None) -> None:
        self._check_devices(tasks)
        ray, started = connect(self.options, self.workers)
        board = None
        try:
            self._check_resources(ray)
            if self.pruner is not None:
                board = ray.remote(num_cpus=0)(VerdictBoard).remote()
            driver = Driver(ray, _remote_job(ray), [], self.options, report, should_stop,
                            workers=self.workers, fixed_capacity=started,
                            pruner=self.pruner, board=board, more=more)
            # the tasks come in the pruning order (runner): jobs keep it
            jobs = (ensemble_jobs(tasks, driver.capacity()) if self.options.ensemble
                    else [[t] for t in tasks])
            driver.add(jobs)
            driver.run()
        finally:
            if board is not None and not started:   # a cluster (or a test's) outlives it
                try:
                    ray.kill(board)
                except Exception:   # the cluster is gone: so is the actor
                    pass
            if started:
                ray.shutdown()

    def _check_devices(self, tasks: Sequence[PointTask]) -> None:
        if self.options.gpus == 0 and any(t.config.train.device.startswith("cuda")
                                      for t in tasks):
            raise ConfigError(*self.options.at("gpus"), "is 0 but train.device is cuda: give each "
                              "point a share of a GPU (--gpus 0.25, or gpus in the [sweep] "
                              "table), or use train.device = auto")

    def _check_resources(self, ray) -> None:
        """A request that no node can ever meet would wait forever: say so instead."""
        need = {"CPU": self.options.cpus, "GPU": self.options.gpus}
        nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
        if any(all(r.get(k, 0.0) >= v for k, v in need.items() if v > 0) for r in nodes):
            return
        best = {k: max((r.get(k, 0.0) for r in nodes), default=0.0) for k in need}
        short = [k for k, v in need.items() if v > 0 and best[k] < v]
        what = ", ".join(f"{need[k]:g} {k} per point but its largest node has {best[k]:g}"
                         for k in short) or "more than any node has"
        raise ConfigError(*self.options.at("gpus" if "GPU" in short else "cpus"),
                          f"the Ray cluster cannot run any point: asks for {what}")
