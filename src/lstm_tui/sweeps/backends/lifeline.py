"""A worker process's lifeline: it ends itself soon after the process that started it.

A sweep driver killed outright (SIGKILL, an OOM kill, a closed SSH session) cannot stop
its pool; its workers would keep training for nothing (issue 12 saw 20+ minutes at
~330 MB each).  A daemon thread watches the parent: once it is gone the worker's
training is asked to stop at its next step (``orphaned``), and after GRACE seconds the
process exits whatever it is doing.  Pure Python; no torch.
"""

from __future__ import annotations

import os
import threading
import time

POLL = 0.5      # seconds between looks at the parent
GRACE = 10.0    # seconds an orphan gets to record its run as interrupted

_orphaned = threading.Event()


def orphaned() -> bool:
    """Has the parent this process watches gone away?"""
    return _orphaned.is_set()


def watch_parent(parent: int | None = None, poll: float = POLL, grace: float = GRACE) -> None:
    """Start the watcher thread for `parent` (default: the current parent process)."""
    parent = os.getppid() if parent is None else parent

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        _orphaned.set()
        time.sleep(grace)
        os._exit(1)

    threading.Thread(target=watch, name="lstm-lab-lifeline", daemon=True).start()
