"""summary.json: what each of its fields must hold, and its one reader.

The writer (runs.writer) replaces the file atomically at every validation and at the
end; everything that reads it (the listing, liveness, resume, the TUI, `--strict`) goes
through :func:`read_summary`, so a hand-edited or damaged field is dropped and named
once, never trusted.  Pure Python: no torch, no Textual.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from lstm_tui import events as ev
from lstm_tui.errors import first_line
from lstm_tui.fsio import open_regular
from lstm_tui.runs.layout import fs_error

FINAL_STATUSES = ("completed", "stopped_early", "interrupted", "diverged", "failed",
                  "pruned")
MAX_SUMMARY_BYTES = 1 << 20


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2 ** 53


def _number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and abs(v) < 1e300)


def _seconds(v: Any) -> bool:
    return _number(v) and v >= 0


# what each field of summary.json must hold, and how to say it
SUMMARY_FIELDS: dict[str, tuple[Any, str]] = {
    "status": (lambda v: v in ev.STATUSES, f"one of {', '.join(ev.STATUSES)}"),
    "steps": (_count, "a whole number >= 0"),
    "total_steps": (_count, "a whole number >= 0"),
    "params": (_count, "a whole number >= 0"),
    "dataset_size": (_count, "a whole number >= 0"),
    "pid": (lambda v: _count(v) and 0 < v < 2 ** 31, "a process id"),
    "seconds": (_seconds, "a number of seconds >= 0"),
    "seconds_before": (_seconds, "a number of seconds >= 0"),
    "created": (_seconds, "a time stamp"),
    "updated": (_seconds, "a time stamp"),
    "best": (lambda v: v is None or _number(v), "a finite number or null"),
    "final": (lambda v: v is None or _number(v), "a finite number or null"),
    "metric": (lambda v: isinstance(v, str), "a string"),
    "goal": (lambda v: v in ("min", "max"), "min or max"),
    "name": (lambda v: isinstance(v, str), "a string"),
    "host": (lambda v: isinstance(v, str), "a string"),
    "sweep": (lambda v: isinstance(v, str), "a string"),
    "sweep_point": (lambda v: isinstance(v, str), "a string"),
    "message": (lambda v: isinstance(v, str), "a string"),
    "device": (lambda v: isinstance(v, str), "a string"),
    "empty": (lambda v: isinstance(v, bool), "true or false"),
    "checkpoints": (lambda v: isinstance(v, dict) and all(
        isinstance(k, str) and isinstance(x, str) for k, x in v.items()),
        "a table of file names"),
}


def read_summary(path: Path) -> tuple[dict, str]:
    """summary.json checked field by field: (the fields that are right, a note or "").

    A missing file is ({}, ""); an unreadable one is ({}, why); a field of the wrong type
    (``"steps": "abc"``, ``1e400``, a pid past any real one) is left out and named in the
    note, so callers can use what remains as is.  Fields it does not know are passed
    through untouched.
    """
    path = Path(path)
    try:
        with open_regular(path) as fh:
            raw = fh.read(MAX_SUMMARY_BYTES + 1)
    except FileNotFoundError:
        return {}, ""
    except OSError as exc:
        return {}, str(fs_error(path, exc))
    if len(raw) > MAX_SUMMARY_BYTES:
        return {}, f"{path}: unreadable (larger than {MAX_SUMMARY_BYTES // 1024} KiB)"
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return {}, f"{path}: unreadable ({first_line(exc, 120)})"
    if not isinstance(value, dict):
        return {}, f"{path}: unreadable (not a JSON object)"
    clean, bad = {}, []
    for key, item in value.items():
        check = SUMMARY_FIELDS.get(key)
        if check is None or check[0](item):
            clean[key] = item
        else:
            bad.append(f"{key} must be {check[1]}, got {json.dumps(item)[:40]}")
    note = f"{path}: {bad[0]}" + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "") \
        if bad else ""
    return clean, note
