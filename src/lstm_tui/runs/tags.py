"""Tags and a note on a run, kept in its own file (annotations.json) in the run folder.

The config, summary and metrics are never rewritten: annotating a run that is still
training is safe.  Each change is a read-modify-write under an OS lock (filelock's, as
in runs.lock) on the run folder's `.annotations.lock`, and the file is replaced atomically, so two `lstm-lab tag`
commands at once both land and a reader never sees half a file.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from filelock import lock_descriptor

from lstm_tui.fsio import atomic_write_json, open_regular, read_json_object
from lstm_tui.runs.index import note_change
from lstm_tui.runs.layout import ANNOTATIONS, RunError

LOCK = ".annotations.lock"
TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:=-]{0,39}")
MAX_NOTE = 2000
TAG_HELP = ("+TAG adds, -TAG removes; a tag is 1-40 letters, digits or _ . : = - "
            "starting with a letter or digit")


@dataclass(frozen=True)
class TagChange:
    add: tuple[str, ...]
    remove: tuple[str, ...]


def parse_tag_ops(ops: Iterable[str]) -> TagChange:
    """["+good", "-bad"] -> TagChange(add=("good",), remove=("bad",)); RunError otherwise."""
    add: list[str] = []
    remove: list[str] = []
    for op in ops:
        sign, name = op[:1], op[1:]
        if sign not in ("+", "-") or not TAG.fullmatch(name):
            raise RunError(f"{op!r}: not a tag change ({TAG_HELP})")
        add = [t for t in add if t != name]           # the last word about a tag wins
        remove = [t for t in remove if t != name]
        (add if sign == "+" else remove).append(name)
    return TagChange(tuple(add), tuple(remove))


def is_tag_op(word: str) -> bool:
    """A word that is meant as +TAG / -TAG (a run name never starts with + or -)."""
    return word[:1] in ("+", "-")


def check_note(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_NOTE:
        raise RunError(f"note: {len(text)} characters; at most {MAX_NOTE} are kept")
    return text


@contextmanager
def _locked(run_dir: Path) -> Iterator[dict]:
    """The run's annotations to change in place; written back atomically on exit."""
    path = Path(run_dir) / ANNOTATIONS
    try:
        lock = open_regular(Path(run_dir) / LOCK, "ab")   # a named pipe there: refused
    except OSError as exc:
        raise RunError(f"{run_dir}: cannot annotate this run ({exc.strerror})") from None
    with lock:
        lock_descriptor(lock.fileno())     # waits; closing the file lets go
        data = read_json_object(path) or {}
        tags = data.get("tags")
        data["tags"] = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
        if not isinstance(data.get("note"), str):
            data["note"] = ""
        yield data
        data["updated"] = time.time()
        atomic_write_json(path, data)
    note_change(Path(run_dir))


def change_tags(run_dir: Path, change: TagChange) -> tuple[str, ...]:
    """Apply a tag change to one run; returns its tags afterwards (in the order added)."""
    with _locked(run_dir) as data:
        tags = [t for t in data["tags"] if t not in change.remove]
        tags += [t for t in change.add if t not in tags]
        data["tags"] = tags
    return tuple(tags)


def set_note(run_dir: Path, text: str) -> str:
    """Replace the run's note ("" clears it)."""
    text = check_note(text)
    with _locked(run_dir) as data:
        data["note"] = text
    return text
