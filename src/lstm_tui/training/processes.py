"""The processes that train (the lab's runs, the Sweep screen's sweep, the processes
backend's workers): how they start, and their lifeline.

Spawned, each would import torch afresh, about 2 s of a core.  Where the OS has pidfds
(Linux 5.3+), they are forked instead from a forkserver that imported torch once
(multiprocessing's "forkserver" start method, torch preloaded): the first pays for the
imports, the ones after it start in a fraction of a second.  Such a child inherits the
server's environment and has the server for its parent, so:

- the caller's environment travels with it (:func:`caller`) and is put back first thing
  (:func:`adopt`), as a spawned child would have had it;
- its lifeline watches the caller itself, through a pidfd (readable once the caller has
  exited), not its parent: a caller killed outright (SIGKILL, an OOM kill, a closed SSH
  session) cannot stop its children, which would otherwise train on for nothing (issue
  12 saw 20+ minutes at ~330 MB each).  The server ends once its last child has.

Elsewhere they are spawned and the lifeline watches the parent.  No torch here.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import select
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterator

# what the forkserver imports once: this module (below: the lab's server keeps off the
# terminal), torch, and torch._dynamo, which torch imports on the first optimizer a
# process builds (Optimizer.add_param_group is wrapped by torch._disable_dynamo): 1.4 s
# of a core in every child otherwise, longer than a small point trains.  No more of
# lstm_tui, whose registries find plugins when asked.
PRELOAD = ["lstm_tui.training.processes", "torch", "torch._dynamo"]
QUIET = "LSTM_LAB_QUIET_SERVER"   # set while the lab starts its server: output to devnull
POLL = 0.5            # seconds between looks at the parent, without pidfds
GRACE = 10.0          # seconds an orphan gets to record its run as interrupted

_orphaned = threading.Event()
_watched: dict = {}   # in a child: "fd" (the caller's pidfd) or "parent" (its pid)


@dataclass(frozen=True)
class Caller:
    """Who started a child, as the child needs to know it."""
    pid: int
    started: str                 # its start time (/proc): the pid is not a reused one
    env: dict = field(repr=False)


@contextmanager
def quiet_server() -> Iterator[None]:
    """Around a child's start in the lab: a forkserver started meanwhile sends its own
    output (a warning while it imports torch) to /dev/null, not to the terminal the UI
    draws on.  Its children set their own output up (tui.worker.child_session)."""
    os.environ[QUIET] = "1"
    try:
        yield
    finally:
        os.environ.pop(QUIET, None)


def context():
    """The multiprocessing context for a process that trains."""
    if not pidfds():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def caller() -> Caller:
    """This process, as the children it starts now will watch it."""
    env = {k: v for k, v in os.environ.items() if k != QUIET}
    return Caller(os.getpid(), _start_time(os.getpid()), env)


def adopt(who: Caller | None) -> None:
    """First thing in a child: the caller's environment, and a watch on the caller."""
    if who is None or who.pid == os.getppid():     # spawned: the parent is the caller
        _watched.clear()
        _watched["parent"] = os.getppid()
        return
    os.environ.clear()
    os.environ.update(who.env)
    _watched.clear()
    try:
        fd = os.pidfd_open(who.pid)
    except OSError:                                 # gone already
        _orphaned.set()
        return
    if _start_time(who.pid) != who.started:        # the pid is another process's now
        os.close(fd)
        _orphaned.set()
        return
    _watched["fd"] = fd


def caller_gone() -> bool:
    """Has the process that started this one exited?"""
    if _orphaned.is_set():
        return True
    if "fd" in _watched:
        gone = bool(select.select([_watched["fd"]], [], [], 0)[0])
    else:
        gone = "parent" in _watched and os.getppid() != _watched["parent"]
    if gone:
        _orphaned.set()
    return gone


def lifeline(poll: float = POLL, grace: float = GRACE,
             busy: Callable[[], bool] | None = None) -> None:
    """A daemon thread: once the caller is gone, `caller_gone()` says so (the run stops
    at its next step) and the process exits as soon as `busy()` is false (its run has
    recorded itself as interrupted), after `grace` seconds whatever it is doing."""
    def watch() -> None:
        if "fd" in _watched:
            select.select([_watched["fd"]], [], [])
        while not caller_gone():
            time.sleep(poll)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (busy is None or busy()):
            time.sleep(min(poll, 0.1))
        os._exit(1)

    threading.Thread(target=watch, name="lstm-lab-lifeline", daemon=True).start()


@lru_cache(maxsize=1)
def pidfds() -> bool:
    """Whether this OS has pidfds (and Python the call for them)."""
    if not hasattr(os, "pidfd_open") or not os.path.exists(f"/proc/{os.getpid()}/stat"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return True


def _start_time(pid: int) -> str:
    """Field 22 of /proc/PID/stat (the start time in clock ticks); "" when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return ""
    # the name (field 2) is in parentheses and may hold spaces: split after its end
    return stat[stat.rindex(b")") + 2:].split()[19].decode()


if os.environ.pop(QUIET, None):       # imported by a forkserver the lab started
    _devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(_devnull, 1)
    os.dup2(_devnull, 2)
    os.close(_devnull)
