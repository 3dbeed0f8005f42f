"""File writes done behind the training loop: in order, on one thread per process.

Each atomic replacement of a run file (summary.json, best.pt, last.pt) waits for the
disk twice, a flush and a rename: 5-20 ms here, several times per validation, which a
training loop need not wait for.  A :class:`WriteBehind` hands such writes to a
background thread that does them one at a time in the order they were asked for, so the
folder on disk is always one that writing them on the spot could have left: a crash loses
the newest writes, never their order (a summary never names a checkpoint whose file is
not there yet).

- A write given `supersede=True` drops its file's pending write, if that one has not
  started (the newest summary or checkpoint replaces a queued one); it takes the back of
  the queue, so it still comes after everything asked for before it.
- A failed write stops the writes queued after it for the same owner (the folder stays as
  that failure left it) and is raised in the caller's thread by the next `put`, `check`
  or `drain`, where writing on the spot would have raised it.
- A write given `wake=False` waits, without waking the thread, for the next one that
  wakes it, for LIMIT / 2 of them, for `drain`, or LATER seconds at most (the thread's
  own timed wake): a validation's lines and checkpoints go with its summary in one go,
  and a run validating every few milliseconds replaces its heartbeat summary about once
  a second instead of at every validation.  On a busy machine each wake of a Python
  thread costs the training thread the GIL hand-overs, and a scheduler slice when the
  woken thread is descheduled holding it.
- At most LIMIT writes per owner wait; `put` blocks beyond that, so a disk slower than
  training slows training instead of filling the memory.

Pure Python: no torch, no Textual.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Callable

LIMIT = 64     # a few validations' writes (only the appended lines are never replaced)
LATER = 1.0    # seconds a write without a wake waits at most


class WriteBehind:
    """One owner's writes (a run folder's): queued with `put`, waited for with `drain`."""

    def __init__(self) -> None:
        self.pending = 0                       # queued or being written
        self.error: BaseException | None = None

    def put(self, path: Path, write: Callable[[], None], supersede: bool = False,
            wake: bool = True) -> None:
        """Queue `write()`, which writes `path`; raises an earlier write's error."""
        with _cond:
            self._raise()
            if supersede:
                self._drop(path)
            while self.pending >= LIMIT:
                _hurry()
                _cond.wait()
                self._raise()
            _jobs.append(_Job(self, os.fspath(path), write))
            self.pending += 1
            _start()
            if wake or self.pending >= LIMIT // 2:
                _hurry()
            elif _due[0] is None:    # the thread, asleep, learns when to wake up
                _due[0] = time.monotonic() + LATER
                _cond.notify_all()

    def drop(self, path: Path) -> None:
        """Forget the pending writes of `path` that have not started (a newer version of
        the file will be written on the spot)."""
        with _cond:
            self._drop(path)
            _cond.notify_all()

    def check(self) -> None:
        """Raise the error of a write that failed since the last call, if any."""
        with _cond:
            self._raise()

    def drain(self, quiet: bool = False) -> None:
        """Wait until every queued write is done; raise a failed one's error (unless
        `quiet`: the run has already failed, or its last write says why)."""
        with _cond:
            while self.pending:
                _hurry()
                _cond.wait()
            if quiet:
                self.error = None
            else:
                self._raise()

    def _drop(self, path: Path) -> None:
        key = os.fspath(path)    # compared as a string: a Path's == costs ~20x more
        for job in [j for j in _jobs if j.owner is self and j.path == key]:
            _jobs.remove(job)
            self.pending -= 1

    def _raise(self) -> None:
        error, self.error = self.error, None
        if error is not None:
            raise error


def wake() -> None:
    """Start now the writes of every owner that wait for a wake (a run that ends: its
    last files go to the disk while the caller writes another)."""
    with _cond:
        _hurry()


def _hurry() -> None:
    """Have the thread write everything queued now (called holding _cond)."""
    if _jobs:
        _urgent[0] = True
    _cond.notify_all()


class _Job:
    __slots__ = ("owner", "path", "write")

    def __init__(self, owner: WriteBehind, path: str, write: Callable[[], None]) -> None:
        self.owner, self.path, self.write = owner, path, write


_cond = threading.Condition()
_jobs: deque[_Job] = deque()
_thread: list[threading.Thread | None] = [None]
_urgent = [False]                  # write the queue now, to its end
_due: list[float | None] = [None]  # else when the writes without a wake must start


def _start() -> None:
    """The writing thread, started with the first write (called holding _cond)."""
    if _thread[0] is None:
        _thread[0] = threading.Thread(target=_work, name="lstm-lab-write-behind", daemon=True)
        _thread[0].start()


def _work() -> None:
    while True:
        with _cond:
            while True:
                if not _jobs:
                    _urgent[0], _due[0] = False, None
                    _cond.wait()
                elif _urgent[0] or _due[0] is None or time.monotonic() >= _due[0]:
                    break
                else:
                    _cond.wait(_due[0] - time.monotonic())
            job = _jobs.popleft()
        error = None
        try:
            job.write()
        except BaseException as exc:   # handed to the owner's thread, never lost
            error = exc
        with _cond:
            if error is not None:
                job.owner.error = error
                # later writes of this owner would build on the one that failed
                for later in [j for j in _jobs if j.owner is job.owner]:
                    _jobs.remove(later)
                    job.owner.pending -= 1
            job.owner.pending -= 1
            _cond.notify_all()


def _after_fork() -> None:
    # a forked child has no writing thread and maybe a lock held by the parent's
    global _cond, _jobs
    _cond, _jobs, _thread[0] = threading.Condition(), deque(), None
    _urgent[0], _due[0] = False, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
