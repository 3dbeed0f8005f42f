"""Is a process still writing a run folder or a sweep folder?

Answered here only, from what the store records about its writers (a run's OS writer
lock, a sweep driver's OS lock, and for folders of versions without the lock the pid
and host in summary.json), never from a pid read and then trusted alone.  The listing
asks it to tell a running run from an interrupted one; `lstm-lab rm` (and the Runs
screen's delete) asks :func:`writer_alive` before moving a folder away; writers ask it
before removing the temporaries of a dead writer.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from lstm_tui.fsio import temporary_owner
from lstm_tui.runs.layout import SUMMARY, SWEEP_LOCK, WRITER_LOCK, is_run_dir, is_sweep_dir
from lstm_tui.runs.lock import is_held
from lstm_tui.runs.summary import read_summary


def pid_alive(pid: int) -> bool:
    """Is there a process `pid` on this host?"""
    if os.name == "nt":      # signal 0 is CTRL_C_EVENT there, not a probe
        import psutil
        return psutil.pid_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_writer_alive(path: Path, summary: dict) -> bool:
    """Is the process that writes this run (its summary says `running`) still there?

    Its writer lock says so on any host that shares the folder's locks; a folder from a
    version without the lock falls back to the pid (only knowable on its own host)."""
    if (path / WRITER_LOCK).exists():
        return is_held(path / WRITER_LOCK)
    pid, host = summary.get("pid"), summary.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return host is not None and host != socket.gethostname()
    return pid_alive(pid)


def _sweep_driver_alive(sweep_dir: Path) -> bool:
    """The driver holds an OS lock on the sweep's lock file while it runs (runs.lock)."""
    return is_held(Path(sweep_dir) / SWEEP_LOCK)


def writer_alive(folder: Path) -> bool:
    """True when a live process may still write into `folder` (a run or a sweep)."""
    folder = Path(folder)
    if is_sweep_dir(folder):
        return _sweep_driver_alive(folder) or any(
            writer_alive(child) for child in folder.iterdir()
            if child.is_dir() and is_run_dir(child))
    if is_sweep_dir(folder.parent) and _sweep_driver_alive(folder.parent):
        return True
    if not is_run_dir(folder):
        return False
    summary = read_summary(folder / SUMMARY)[0]
    return summary.get("status") == "running" and run_writer_alive(folder, summary)


def clean_stale_tmp(folder: Path) -> list[Path]:
    """Remove the temporaries of writers that died mid-write (lstm_tui.fsio); returns them."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for path in entries:
        pid = temporary_owner(path)
        if pid is not None and pid != os.getpid() and not pid_alive(pid):
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                pass
    return removed
