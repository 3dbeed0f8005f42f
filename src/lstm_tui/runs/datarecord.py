"""The data files a run trained on, pinned: data.json in the run folder.

When a run starts, each data file its task names (``TaskSpec.data_files``: a series
table, a classification file, a text) is stored in config.toml by its resolved path, so
the run can be opened from any folder, and recorded here with its size and SHA-256::

    {"files": [{"key": "task.path", "path": "/abs/load.csv", "size": 1234,
                "sha256": "..."}]}

Opening the run for work that reads the data again (resume, inspect) checks the record
first, so a moved or changed file is said as such, not taken for a corrupt run; listing
runs never reads a data file.  Pure Python, no torch; the run store writes and reads the
file (this module imports neither the store nor Textual).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
from pathlib import Path
from typing import Any

DATA = "data.json"


def pin(cfg: Any) -> tuple[Any, dict]:
    """(a copy of `cfg` whose data file paths are resolved, the record of those files)."""
    from lstm_tui.tasks.datafiles import locate
    from lstm_tui.tasks.registry import get
    spec = get(cfg.task.kind)
    if spec is None or spec.data_files is None:
        return cfg, {}
    pinned, files = copy.deepcopy(cfg), []
    for field, value in spec.data_files(cfg.task).items():
        if not value:
            continue
        file = locate(value)
        if not file.is_file():      # the task's own check says what is wrong with it
            continue
        resolved = file.resolve()
        setattr(pinned.task, field, str(resolved))
        stat = resolved.stat()
        files.append({"key": f"task.{field}", "path": str(resolved), "size": stat.st_size,
                      "sha256": _sha256(str(resolved), stat.st_size, stat.st_mtime_ns)})
    return pinned, ({"files": files} if files else {})


def problem(record: dict | None) -> str | None:
    """Why the recorded data files are not the ones the run trained on (None: they are,
    or nothing was recorded)."""
    files = record.get("files") if isinstance(record, dict) else None
    for entry in files if isinstance(files, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue
        path, key = entry["path"], entry.get("key", "task.path")
        try:
            stat = os.stat(path)
        except OSError:
            return (f"{key}: the data file {path} this run trained on is gone (moved or "
                    "deleted?); put it back there to use the run")
        size, digest = entry.get("size"), entry.get("sha256")
        if isinstance(size, int) and size != stat.st_size:
            return (f"{key}: the data file {path} changed since this run trained on it "
                    f"({size:,} bytes then, {stat.st_size:,} now)")
        if isinstance(digest, str) and digest != _sha256(path, stat.st_size,
                                                         stat.st_mtime_ns):
            return (f"{key}: the data file {path} changed since this run trained on it "
                    "(its SHA-256 differs)")
    return None


@functools.lru_cache(maxsize=16)     # the points of a sweep share their file
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(Path(path), "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
