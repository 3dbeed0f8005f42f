"""A run folder as a row of the store's index (runs.index): its stamps, then the parts
its listing is made of (runs.reader) as columns; finding the run folders of a store;
reading rows, in other processes when there are thousands to read.

A stamp is (mtime_ns, size, inode) of one file, taken before the file is read, so a row
is never newer than its stamps say.  Reading a row costs a millisecond or so (most of
it parsing and checking config.toml), so a cold index of 10,000 runs is read by as many
processes as there are cores (plain subprocesses: safe beside the lab's threads).
Pure Python: no torch, no Textual.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

from lstm_tui.errors import first_line
from lstm_tui.runs.layout import ANNOTATIONS, CONFIG, SUMMARY
from lstm_tui.runs.reader import (SUMMARY_LISTED, folder_mtime, read_config_part,
                                  read_notes_part, read_summary_part)

PARALLEL_AFTER = 3000      # folders to read before other processes help (each starts Python)
CHUNK = 250                # rows a helper process writes at a time

Stamps = tuple[str | None, str | None, str | None]   # config, summary, annotations
Todo = tuple[str, Stamps, tuple | None]              # a folder, its stamps, its old row

# a row: the folder, its stamps, then each part's columns (runs.reader's parts: the
# config's listed fields and the config flattened as JSON; summary.json's listed fields,
# NULL where absent, and its note; the tags as JSON and the note)
HEAD = ("rel", "config_stamp", "summary_stamp", "notes_stamp", "folder_mtime")
CONFIG_COLUMNS = ("task", "cell", "hidden", "config_error", "flat")
SUMMARY_COLUMNS = (*SUMMARY_LISTED, "summary_note")
NOTES_COLUMNS = ("tags", "note")
COLUMNS = (*HEAD, *CONFIG_COLUMNS, *SUMMARY_COLUMNS, *NOTES_COLUMNS)
CONFIG_PART = slice(len(HEAD), len(HEAD) + len(CONFIG_COLUMNS))     # a row's parts
SUMMARY_PART = slice(CONFIG_PART.stop, CONFIG_PART.stop + len(SUMMARY_COLUMNS))
NOTES_PART = slice(SUMMARY_PART.stop, SUMMARY_PART.stop + len(NOTES_COLUMNS))
FLAT = COLUMNS.index("flat")


def _stamp(path: str) -> str | None:
    """mtime_ns, size and inode: an atomic replacement (a new inode) is seen even when it
    lands in the same clock tick with the same size."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}"


def folder_stamps(folder: str) -> Stamps:
    folder += os.sep
    return _stamp(folder + CONFIG), _stamp(folder + SUMMARY), _stamp(folder + ANNOTATIONS)


def walk(root: Path) -> dict[str, Stamps]:
    """Every run folder under `root` (relative, posix) with its stamps.

    A folder holding a config.toml or a summary.json is a run (not looked into); any
    other folder (a sweep, a group) is looked into.  Hidden folders (.trash) and links
    are skipped, as they always were."""
    found: dict[str, Stamps] = {}
    top = str(root)
    stamps = folder_stamps(top)
    if stamps[0] or stamps[1]:
        found["."] = stamps        # --runs-dir pointed at one run folder
    stack = [("", top)]
    while stack:
        rel, folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                children = [(e.name, e.path) for e in entries if not e.name.startswith(".")
                            and e.is_dir(follow_symlinks=False)]
        except OSError:
            continue
        for name, path in children:
            stamps = folder_stamps(path)
            if stamps[0] or stamps[1]:
                found[rel + name] = stamps
            else:
                stack.append((f"{rel}{name}/", path))
    return found


# ---------------------------------------------------------------- reading rows

def read_row(root: Path, rel: str, stamps: Stamps, old: tuple | None) -> tuple:
    """The row of `rel`, rereading only the files whose stamp differs from `old`'s."""
    folder = root if rel == "." else root / rel
    if old is not None and old[1] == stamps[0]:
        config = old[CONFIG_PART]
    else:
        part = read_config_part(folder)
        hidden = part["hidden"]
        if not isinstance(hidden, (int, float, str)) or isinstance(hidden, bool):
            hidden = None if hidden is None else str(hidden)   # a damaged config's
        config = (part["task"], part["cell"], hidden, part["error"],
                  json.dumps(part["flat"], default=str))
    if old is not None and old[2] == stamps[1]:
        summary = old[SUMMARY_PART]
    else:
        part = read_summary_part(folder)
        summary = (*(part["summary"].get(k) for k in SUMMARY_LISTED), part["note"])
    if old is not None and old[3] == stamps[2]:
        notes = old[NOTES_PART]
    else:
        part = read_notes_part(folder)
        notes = (json.dumps(part["tags"]), part["note"])
    mtime = old[4] if old is not None and old[1:4] == stamps else folder_mtime(folder)
    return (rel, *stamps, mtime, *config, *summary, *notes)


def unreadable_row(root: Path, rel: str, exc: Exception) -> tuple:
    """The row of a folder that could not be read: its error and no stamps (so it is
    listed, never stored, and read again next time)."""
    error = f"{root / rel}: {first_line(exc)}"
    summary = (None,) * len(SUMMARY_LISTED) + ("",)
    return (rel, None, None, None, 0.0, "?", "?", None, error, "{}", *summary, "[]", "")


def _read_all(root: Path, todo: list[Todo]) -> list[tuple]:
    rows = []
    for rel, stamps, old in todo:
        try:
            rows.append(read_row(root, rel, stamps, old))
        except Exception as exc:   # a folder vanishing mid-read, a permission error...
            rows.append(unreadable_row(root, rel, exc))
    return rows


def helpers() -> int:
    """How many processes may read at once: the cores this process may use (at most 4)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:       # not on Linux
        cores = os.cpu_count() or 1
    return min(cores, 4)


def read_rows(root: Path, todo: list[Todo]) -> Iterator[tuple]:
    """The rows of `todo`, as they are read (not in order): here, or by helper processes
    when there are PARALLEL_AFTER folders or more and more than one core.  A helper that
    cannot start or dies leaves its folders to this process."""
    workers = helpers()
    if len(todo) < PARALLEL_AFTER or workers < 2:
        for item in todo:
            yield from _read_all(root, [item])
        return
    done: set[str] = set()
    try:
        for row in _helped(root, [todo[i::workers] for i in range(workers)]):
            done.add(row[0])
            yield row
    except (OSError, ValueError):     # no processes here (a sandbox), a helper's bad line
        pass
    for item in todo:
        if item[0] not in done:
            yield from _read_all(root, [item])


def _helped(root: Path, shares: list[list[Todo]]) -> Iterator[tuple]:
    """Rows read by one helper process a share: `python -m lstm_tui.runs.index_rows` (a
    plain subprocess: unlike multiprocessing, it never imports the caller's __main__),
    the share as JSON on its stdin, one JSON row a line on its stdout."""
    import selectors
    import subprocess
    import sys
    package = str(Path(__file__).resolve().parents[2])          # where lstm_tui is found
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (package, os.environ.get("PYTHONPATH", "")) if p))
    procs = []
    with selectors.DefaultSelector() as sel:
        try:
            for share in shares:
                proc = subprocess.Popen([sys.executable, "-m", "lstm_tui.runs.index_rows"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=env, text=True)
                procs.append(proc)
                proc.stdin.write(json.dumps([str(root), share]))
                proc.stdin.close()
                sel.register(proc.stdout, selectors.EVENT_READ)
            while sel.get_map():
                for key, _ in sel.select():
                    line = key.fileobj.readline()
                    if not line:
                        sel.unregister(key.fileobj)
                        continue
                    yield tuple(json.loads(line))
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
                proc.stdout.close()


def _helper() -> None:
    """A helper process: read the share given on stdin, print its rows."""
    import sys
    root, share = json.load(sys.stdin)
    todo = [(rel, tuple(stamps), tuple(old) if old else None) for rel, stamps, old in share]
    for n in range(0, len(todo), CHUNK):
        for row in _read_all(Path(root), todo[n:n + CHUNK]):
            sys.stdout.write(json.dumps(row, default=str) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _helper()
