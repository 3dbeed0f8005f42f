"""Following a run store written by other processes: look cheaply, reread only what changed.

The first scan lists the store through its index (runs.index: built if missing, else
only what changed since is reread).  After that, a scan costs a few stat calls, however
many runs there are:

- the folders that hold runs (the store, each sweep) are stat'ed: a run folder created
  or removed changes their mtime, and only then is that one folder listed again;
- runs that are `running` are brought up to date through the index at every scan
  (their files' stamps: a writer's progress; the liveness of their writer);
- the other run folders are stat'ed a slice at a time (ROUND runs a scan, in turn): a
  file a writer replaces (summary, tags, a resume) changes its folder's mtime;
- every FULL_SECONDS the whole store is walked and each run's files stat'ed again (what
  an edit in place, which leaves the folder's mtime alone, needs), rereading only the
  runs whose files changed; `reload` lists the store through the index again.

So an idle lab with 10,000 runs stats ~600 paths every POLL_SECONDS and reads nothing.
Shared by every screen that lists or follows runs (Runs, Compare, a run's detail), so it
lives here rather than in one of them.  The scan runs in the screens' thread workers;
nothing here touches a widget, and nothing here imports torch.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Iterable

from lstm_tui.runs.index import Progress, RunIndex
from lstm_tui.runs.index_rows import Stamps, walk
from lstm_tui.runs.layout import ANNOTATIONS, CONFIG, METRICS, SUMMARY
from lstm_tui.runs.reader import RunInfo

POLL_SECONDS = 1.5        # seconds between looks at the store
ROUND = 500               # finished runs whose folder mtime one scan looks at
FULL_SECONDS = 300.0      # a whole check of every file this often

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


def _mtime(path: Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


class StoreWatcher:
    """Cheap change detection over a run store (see the module's docstring)."""

    def __init__(self, root: Path, *, clock: Callable[[], float] = time.monotonic):
        self.root = Path(root)
        self.clock = clock
        self.infos: dict[Path, RunInfo] = {}
        self._runs: dict[Path, int | None] = {}      # run folder -> its mtime when read
        self._groups: dict[Path, int | None] = {}    # other folder -> its mtime when listed
        self._kids: dict[Path, set[Path]] = {}       # other folder -> its folders then
        self._live: set[Path] = set()                # runs whose status is `running`
        self._order: list[Path] = []                 # the finished runs, in turn
        self._stamps: dict[Path, Stamps] = {}       # run folder -> its files' when read
        self._turn = 0
        self._full_at = 0.0
        self._asked: set[Path] = set()               # runs changed here: look at them next

    def look_at(self, folders: Iterable[Path]) -> None:
        """Runs this process just changed (tags, a note): the next scan rereads them."""
        self._asked.update(folders)

    def scan(self, progress: Progress | None = None, *, full: bool = False) -> bool:
        """Bring `infos` up to date; True when any run appeared, changed or vanished.
        `full`: check every file of every run (what `reload` asks for)."""
        if full or not self._groups:
            return self._full(progress)
        if self.clock() - self._full_at >= FULL_SECONDS:
            return self._recheck()
        look: set[Path] = set()
        gone: set[Path] = set()
        for group, seen in list(self._groups.items()):
            if group in self._groups and _mtime(group) != seen:
                self._relist(group, look, gone)
        look |= self._live
        asked, self._asked = self._asked, set()
        look |= {p for p in asked if p in self._runs}
        if len(self._order) != len(self._runs):
            self._order = list(self._runs)
        if self._order:
            start = self._turn % len(self._order)
            turn = self._order[start:start + ROUND]
            turn += self._order[:min(ROUND, len(self._order)) - len(turn)]
            self._turn = start + len(turn)
            look.update(p for p in turn if p in self._runs and _mtime(p) != self._runs[p])
        return self._apply(look, gone)

    def runs(self) -> list[RunInfo]:
        return sorted(self.infos.values(), key=lambda r: (r.created, r.name, str(r.path)))

    # -- the whole store, through the index
    def _full(self, progress: Progress | None) -> bool:
        self._full_at = self.clock()
        since = time.time_ns() - 1_000_000_000    # a folder written since: look again
        with RunIndex(self.root) as index:
            entries = index.sync(progress)
        infos = {}
        for entry in entries:        # a run unchanged keeps its RunInfo (screens key on it)
            old = self.infos.get(entry.info.path)
            infos[entry.info.path] = old if old == entry.info else entry.info
        self._stamps = {e.info.path: e.stamps for e in entries}
        changed = infos != self.infos
        self.infos = infos
        self._live = {p for p, info in infos.items() if info.status == "running"}
        self._runs, self._groups, self._kids, self._order = {}, {}, {}, []
        known = {str(path): path for path in infos}     # (no new Path for 10,000 runs)
        stack = [self.root]
        while stack:
            group = stack.pop()
            self._groups[group] = _mtime(group)
            self._kids[group] = set(_children(group, known))
            for child in self._kids[group]:
                if child in infos:
                    mtime = _mtime(child)
                    self._runs[child] = mtime if mtime is not None and mtime < since else None
                else:
                    stack.append(child)
        return changed

    def _recheck(self) -> bool:
        """Every run's files stat'ed again (one walk): reread those that changed, add the
        runs that appeared, drop those that went."""
        self._full_at = self.clock()
        found = {self.root if rel == "." else self.root / rel: stamps
                 for rel, stamps in walk(self.root).items()}
        look = {p for p, stamps in found.items() if self._stamps.get(p) != stamps}
        for path in look - set(self._runs):                # new: under the groups it is in
            parent = path.parent
            self._kids.setdefault(parent, set()).add(path)
            self._groups.setdefault(parent, _mtime(parent))
        return self._apply(look, {p for p in self._runs if p not in found})

    # -- what changed since
    def _relist(self, group: Path, look: set[Path], gone: set[Path]) -> None:
        """A folder of runs changed: folders appeared in it, or went (or it became a run:
        a new run's folder is made first, its config written next)."""
        self._groups[group] = _mtime(group)
        now = set(_children(group))
        before = self._kids.get(group, set())
        gone |= before - now
        look |= now - before
        self._kids[group] = now
        if group != self.root and any(os.path.exists(group / f) for f in (CONFIG, SUMMARY)):
            look.add(group)

    def _apply(self, look: set[Path], gone: set[Path]) -> bool:
        """Reread `look` through the index and drop what is `gone`."""
        changed = False
        for path in gone:
            changed |= self._drop(path)
        if not look:
            return changed
        stamps = {p: _mtime(p) for p in look}        # before reading: never newer than seen
        with RunIndex(self.root) as index:
            entries = index.sync_folders(look)
        groups = []
        for path, entry in entries.items():
            if entry is None:                          # no run (any more): a group, or gone
                changed |= self._drop(path)
                if path.is_dir():
                    groups.append(path)
                continue
            if path in self._groups:                   # a group that became a run
                self._drop(path)
            self._runs[path] = stamps[path]
            self._stamps[path] = entry.stamps
            if entry.info.status == "running":
                self._live.add(path)
            else:
                self._live.discard(path)
            if entry.info != self.infos.get(path):
                self.infos[path] = entry.info
                changed = True
        for group in groups:                           # new, or a run no more
            self._groups[group] = _mtime(group)
            self._kids[group] = set(_children(group))
            changed |= self._apply(set(self._kids[group]), set())
        return changed

    def _drop(self, path: Path) -> bool:
        """Forget a folder (a run, or a group and everything under it)."""
        self._runs.pop(path, None)
        self._stamps.pop(path, None)
        self._groups.pop(path, None)
        self._live.discard(path)
        dropped = self.infos.pop(path, None) is not None
        for kid in self._kids.pop(path, set()):
            dropped |= self._drop(kid)
        return dropped


def _children(folder: Path, known: dict[str, Path] | None = None) -> list[Path]:
    """The folders in `folder`, hidden ones (.trash) and links left out, as the index does;
    `known`: Paths already made, by their text, to be used again (a Path is costly to make
    and to hash the first time)."""
    known = known or {}
    try:
        with os.scandir(folder) as entries:
            return [known.get(e.path) or Path(e.path) for e in entries
                    if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
