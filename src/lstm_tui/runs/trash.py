"""Removing runs (and whole sweeps) to a trash folder inside the run store, and back.

  <root>/.trash/<entry>/origin.json   where the folder came from, when, what it was
  <root>/.trash/<entry>/<folder>/     the run or sweep folder, moved whole

A move is one rename inside the store's file system, so a folder is in the store or
in the trash, never half in each.  origin.json is written first: a crash between the
two leaves an entry with nothing to restore, which `purge` clears.  No listing of runs
looks inside .trash (list_runs, the index and the TUI skip it).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from lstm_tui.fsio import atomic_write_json, read_json_object
from lstm_tui.runs.layout import (METRICS, TRASH, RunError, check_root, is_run_dir,
                                  is_sweep_dir)
from lstm_tui.runs.liveness import writer_alive
from lstm_tui.runs.index import indexed_runs, note_removed
from lstm_tui.runs.resolve import resolve_run

ORIGIN = "origin.json"


@dataclass(frozen=True)
class TrashEntry:
    entry: Path          # .trash/<entry>
    folder: Path         # .trash/<entry>/<name>: the moved folder
    origin: str          # its path relative to the store before removal
    removed: float
    kind: str            # "run" | "sweep"

    @property
    def name(self) -> str:
        return self.entry.name


def trash_dir(root: Path) -> Path:
    """<root>/.trash; RunError when `root` is a file (--runs-dir FILE is bad input)."""
    return check_root(root) / TRASH


def resolve_target(root: Path, ref: str) -> Path:
    """A run or a whole sweep: a folder path, a sweep folder's name (or unique prefix)
    under `root`, or anything resolve_run accepts (`latest`, a run's name...)."""
    root = Path(root)
    direct = Path(ref)
    if is_sweep_dir(direct) or is_run_dir(direct):
        return direct
    sweeps = [p for p in sorted(root.iterdir()) if is_sweep_dir(p)] if root.is_dir() else []
    exact = [p for p in sweeps if p.name == ref]
    matches = exact or [p for p in sweeps if p.name.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise RunError(f"{ref}: matches {len(matches)} sweeps "
                       f"({', '.join(p.name for p in matches[:3])}...); give more of the name")
    return resolve_run(root, ref)


def _inside(root: Path, folder: Path) -> Path:
    """`folder` relative to the store; RunError when it lies elsewhere or is the trash."""
    try:
        rel = folder.resolve().relative_to(Path(root).resolve())
    except ValueError:
        raise RunError(f"{folder}: not under the run store {root}/ (pass --runs-dir)") from None
    if not rel.parts or rel.parts[0] == TRASH:
        raise RunError(f"{folder}: not a run or sweep folder of {root}/")
    return rel


def check_removable(root: Path, folder: Path) -> None:
    """RunError (nothing moved) when `folder` cannot go to the trash now."""
    _inside(root, folder)
    if writer_alive(folder):
        what = "sweep" if is_sweep_dir(folder) else "run"
        raise RunError(f"{folder}: this {what} is still running (its writer is alive); "
                       "stop it first")


def move_to_trash(root: Path, folder: Path) -> TrashEntry:
    """Move one run or sweep folder into the trash (checked again just before)."""
    root, folder = Path(root), Path(folder)
    check_removable(root, folder)
    rel = _inside(root, folder)
    trash = trash_dir(root)
    made = None                        # the entry this call created, if any
    try:
        trash.mkdir(exist_ok=True)
        for n in range(1, 10_000):
            entry = trash / (folder.name if n == 1 else f"{folder.name}~{n}")
            try:
                entry.mkdir()
                made = entry
                break
            except FileExistsError:
                continue
        else:
            raise RunError(f"{trash}: too many removed folders named {folder.name}")
        kind = "sweep" if is_sweep_dir(folder) else "run"
        removed = time.time()
        atomic_write_json(entry / ORIGIN, {"path": rel.as_posix(), "removed": removed,
                                           "kind": kind})
        os.rename(folder, entry / folder.name)
    except (OSError, RunError) as exc:
        # a read-only store or folder: nothing moved, and no half-made trash entry left
        if made is not None and not (made / folder.name).exists():
            shutil.rmtree(made, ignore_errors=True)
        if isinstance(exc, RunError):
            raise
        raise RunError(f"{folder}: cannot move it to {trash}/ ({exc.strerror or exc}); "
                       "is the run store read-only? nothing was removed") from None
    note_removed(root, folder)
    return TrashEntry(made, made / folder.name, rel.as_posix(), removed, kind)


def list_trash(root: Path) -> list[TrashEntry]:
    """What the trash holds, oldest removal first (entries without origin are skipped)."""
    trash = trash_dir(root)
    if not trash.is_dir():
        return []
    found = []
    for entry in trash.iterdir():
        try:
            origin = read_json_object(entry / ORIGIN)      # None: unreadable, or a pipe
            rel = Path(str(origin["path"]))
            removed = float(origin.get("removed") or 0.0)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        folder = entry / rel.name
        if rel.is_absolute() or ".." in rel.parts or not folder.is_dir():
            continue
        found.append(TrashEntry(entry, folder, rel.as_posix(), removed,
                                str(origin.get("kind", "run"))))
    return sorted(found, key=lambda e: (e.removed, e.name))


def find_in_trash(root: Path, ref: str) -> TrashEntry:
    """An entry by its name, its original path, a unique prefix, or `latest` (the one
    removed last)."""
    entries = list_trash(root)
    if not entries:
        raise RunError(f"{ref}: the trash of {root}/ is empty")
    if ref == "latest":
        return entries[-1]
    exact = [e for e in entries if ref in (e.name, e.origin, e.folder.name)]
    matches = exact or [e for e in entries if e.name.startswith(ref)
                        or e.folder.name.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunError(f"{ref}: not in the trash of {root}/ (`lstm-lab restore` lists it)")
    raise RunError(f"{ref}: matches {len(matches)} removed folders "
                   f"({', '.join(e.name for e in matches[:3])}...); give more of the name")


def restore(root: Path, entry: TrashEntry) -> Path:
    """Put a removed folder back where it was; RunError when that place is taken."""
    target = Path(root) / entry.origin
    if target.exists():
        raise RunError(f"{target}: exists already; move it away first, nothing restored")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(entry.folder, target)
    except OSError as exc:
        raise RunError(f"{target}: cannot restore it there ({exc.strerror or exc}); is the "
                       "run store read-only? it stays in the trash") from None
    shutil.rmtree(entry.entry, ignore_errors=True)
    return target


def purge(root: Path) -> int:
    """Delete everything in the trash for good; returns how many entries went."""
    trash = trash_dir(root)
    if not trash.is_dir():
        return 0
    count = 0
    for entry in list(trash.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        count += 1
    return count


def empty_runs(root: Path) -> list[Path]:
    """Runs that never reached a step (interrupted at start-up) and are not running."""
    return [r.path for r in indexed_runs(root)
            if (r.empty or (r.steps == 0 and r.status != "running"))
            and not _has_records(r.path) and not writer_alive(r.path)]


def _has_records(folder: Path) -> bool:
    try:
        return (folder / METRICS).stat().st_size > 0
    except OSError:
        return False
