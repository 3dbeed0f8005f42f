"""The `sequential` and `ensemble` backends (`processes` is the pool's own: .pool).

  sequential  one point after another, in this process
  ensemble    points of equal shapes trained together as one batched model
              (lstm_tui.training.ensemble), in this process; with workers > 1 the
              groups share a spawn pool (.pool), whose options (--devices) it takes
"""

from __future__ import annotations

from typing import Sequence

from lstm_tui.sweeps.backends.base import More, NoOptions, PointTask, Report, StopCheck
from lstm_tui.sweeps.backends.point import ensemble_jobs, train_group, train_point
from lstm_tui.sweeps.backends.pool import PoolOptions, group_job, run_pool
from lstm_tui.sweeps.scheduler import LocalLink


class Sequential:
    """One point after another, in this process."""
    name = "sequential"
    Options = NoOptions

    def __init__(self, workers: int = 1, options: NoOptions = NoOptions()):
        self.workers = 1
        self.pruner = None          # a sweeps.scheduler.Pruner, set by the driver

    def run(self, tasks: Sequence[PointTask], report: Report, should_stop: StopCheck,
            more: More | None = None) -> None:
        link = LocalLink(self.pruner) if self.pruner else None
        for task in _fed(tasks, more, should_stop):
            report(train_point(task, report, should_stop, link))


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


class Ensemble:
    """Points with equal `ensemble.group_key` train together; groups are split so that
    `workers` processes share the work when workers > 1."""
    name = "ensemble"
    Options = PoolOptions

    def __init__(self, workers: int = 1, options: PoolOptions = PoolOptions()):
        self.workers = workers
        self.pruner = None
        self.devices = options.devices

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
            run_pool(jobs, group_job, self.workers, report, should_stop, self.pruner,
                     self.devices)


def _on_cuda(tasks: Sequence[PointTask]) -> bool:
    """Whether these points train on a GPU (as engine.select_device would resolve them)."""
    devices = {t.config.train.device for t in tasks}
    if any(d.startswith("cuda") for d in devices):
        return True
    if "auto" not in devices:
        return False
    from lstm_tui.training.placement import gpu_count
    return gpu_count() > 0
