"""Is a process still writing a run folder or a sweep folder?

The one question `lstm-lab rm` (and the Runs screen's delete) asks before moving a
folder away.  It is answered here only, from what the store records about its writers
(read_info's status, which asks the run's OS writer lock, and the sweep driver's OS
lock), never from a pid read and then trusted.
"""

from __future__ import annotations

from pathlib import Path

from lstm_tui.runs.lock import is_held
from lstm_tui.runs.store import CONFIG, SUMMARY, read_info

# file names owned by lstm_tui.sweeps.runner (not imported: it pulls in the backends);
# tests/unit/test_trash.py checks they agree
SWEEP_FILE, SWEEP_LOCK = "sweep.toml", ".sweep.lock"


def is_sweep_dir(folder: Path) -> bool:
    return (Path(folder) / SWEEP_FILE).is_file()


def is_run_dir(folder: Path) -> bool:
    folder = Path(folder)
    return (folder / CONFIG).is_file() or (folder / SUMMARY).is_file()


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
    return is_run_dir(folder) and read_info(folder).status == "running"
