"""Following a run store written by other processes: stat files, reread only what changed.

Shared by every screen that lists or follows runs (Runs, Compare, a run's detail), so it
lives here rather than in one of them.  The scan itself runs in the screens' thread
workers; nothing here touches a widget.  Nothing here imports torch.
"""

from __future__ import annotations

import os
from pathlib import Path

from lstm_tui.runs.layout import ANNOTATIONS, CONFIG, METRICS, SUMMARY
from lstm_tui.runs.reader import RunInfo, read_info
from lstm_tui.tui.errors import one_line

POLL_SECONDS = 1.5        # seconds between looks at the store

WATCHED = (CONFIG, SUMMARY, METRICS, ANNOTATIONS)


def folder_stamp(folder: Path) -> tuple:
    """(mtime, size) of a run's watched files: when it changes, the run changed."""
    stamp = []
    for name in WATCHED:
        try:
            st = os.stat(folder / name)
            stamp.append((st.st_mtime_ns, st.st_size))
        except OSError:
            stamp.append(None)
    return tuple(stamp)


class StoreWatcher:
    """Cheap change detection over a run store: stat files, reread only what changed."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.infos: dict[Path, RunInfo] = {}
        self._stamps: dict[Path, tuple] = {}

    def run_dirs(self) -> list[Path]:
        """Folders holding a config.toml or a summary.json, at any depth (hidden ones skipped)."""
        found, stack = [], [self.root]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            names = set()
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    else:
                        names.add(entry.name)
                except OSError:
                    continue
            if CONFIG in names or SUMMARY in names:
                found.append(Path(folder))
        return found

    def scan(self) -> bool:
        """Bring `infos` up to date; True when any run appeared, changed or vanished."""
        found = set(self.run_dirs())
        changed = False
        for gone in set(self.infos) - found:
            del self.infos[gone]
            self._stamps.pop(gone, None)
            changed = True
        for folder in found:
            stamp = folder_stamp(folder)
            old = self.infos.get(folder)
            if old is not None and stamp == self._stamps.get(folder) and old.status != "running":
                continue
            try:
                info = read_info(folder)
            except Exception as exc:  # a folder vanishing mid-scan, a permission error...
                info = RunInfo(path=folder, name=folder.name, error=f"{folder}: {one_line(exc)}")
            self._stamps[folder] = stamp
            if info != old:
                self.infos[folder] = info
                changed = True
        return changed

    def runs(self) -> list[RunInfo]:
        return sorted(self.infos.values(), key=lambda r: (r.created, r.name))
