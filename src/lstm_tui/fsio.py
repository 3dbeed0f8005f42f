"""Files replaced whole or not at all, and small files read within a bound.

Every file the lab replaces (a run's config and summary, its checkpoints, annotations,
provenance, a sweep's results, exported tables and figures) is written by
:func:`atomic_write`: into a temporary file beside it, flushed to the disk, then renamed
over it.  A reader sees the old file or the new one, never half of one, and a failure (a
full disk) leaves the old file and no temporary behind.  A temporary is named
``.NAME.PID.tmp`` so that one left by a writer that died can be told from one being
written (:func:`temporary_owner`; ``runs.liveness.clean_stale_tmp`` removes them).

Every file of the store is opened for reading by :func:`open_regular`: a named pipe (or a
device, a socket) put where a file belongs would make a plain ``open`` wait for a writer
forever and hang a listing of the whole store; it is an OSError at once instead.

Pure Python: no torch, no Textual.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any, Callable

_TEMPORARY = re.compile(r"^\..+\.(\d+)\.tmp$")
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)          # not on Windows, which has no FIFOs here
_MODES = {"rb": os.O_RDONLY, "ab": os.O_WRONLY | os.O_APPEND | os.O_CREAT}


class NotRegularFile(OSError):
    """A named pipe, a device or a socket where a file belongs."""


def special_kind(mode: int) -> str:
    """What a non-regular file is, in words ('a named pipe'); '' for a regular file or a
    folder."""
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "" if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else "a special file"


def open_regular(path: Path, mode: str = "rb"):
    """`path` opened (binary; "rb", or "ab" to append, made if missing) only when it is a
    regular file: opening never waits (a named pipe without a writer would wait forever),
    and anything but a regular file is an OSError (IsADirectoryError for a folder,
    NotRegularFile for the others)."""
    fd = os.open(path, _MODES[mode] | _NONBLOCK | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(errno.EINVAL, f"{special_kind(info.st_mode)}, not a regular "
                                 "file", str(path))
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, mode)
    except BaseException:
        os.close(fd)
        raise


def temporary_for(path: Path) -> Path:
    """Where this process writes the next version of `path`."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def temporary_owner(path: Path) -> int | None:
    """The pid of the writer whose temporary `path` is, or None when it is not one."""
    match = _TEMPORARY.match(Path(path).name)
    return int(match.group(1)) if match else None


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """`write(tmp)` fills a temporary file, which then replaces `path`."""
    path = Path(path)
    tmp = temporary_for(path)
    try:
        write(tmp)
        _flush_to_disk(tmp)
        os.replace(tmp, path)
    except BaseException as exc:   # a full disk: leave no half-written temporary behind
        try:
            tmp.unlink()
        except OSError:
            pass
        hidden = os_error_beneath(exc, path)
        if hidden is not None:
            raise hidden from None
        raise


def os_error_beneath(exc: BaseException, path: Path) -> OSError | None:
    """The OSError a library's own error hides (torch.save: "enforce fail at
    inline_container.cc"), naming `path`: it says what happened; None when none."""
    cause = exc.__cause__ or exc.__context__
    if not isinstance(exc, OSError) and isinstance(cause, OSError):
        return OSError(cause.errno, cause.strerror, str(path))
    return None


def _flush_to_disk(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)
    atomic_write(path, write)


def atomic_link(source: Path, path: Path) -> bool:
    """Replace `path` atomically by a hard link to the file `source` (already on the
    disk: nothing to flush), so one file's bytes are stored once under two names; a
    later replacement of either name leaves the other as it was.  False, with nothing
    changed, when no link can be made (a file system without hard links, `source`
    gone): the caller then writes a copy, which fails in its turn if the disk does."""
    tmp = temporary_for(path)
    try:
        os.link(source, tmp)
    except OSError:
        return False
    try:
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    return True


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: Any) -> None:
    """Strict JSON (any reader takes it): a non-finite number is written as null."""
    atomic_write_text(path, json.dumps(finite(data), indent=2, allow_nan=False) + "\n")


def finite(value: Any) -> Any:
    """`value` with every NaN or infinity inside (dicts, lists) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def read_json_object(path: Path, limit: int = 1 << 20) -> dict | None:
    """A small JSON object file (annotations, provenance): None when missing, larger than
    `limit`, unreadable, not a regular file or not an object, so one bad file never breaks
    a listing."""
    try:
        with open_regular(path) as fh:
            raw = fh.read(limit + 1)
        value = json.loads(raw.decode("utf-8")) if len(raw) <= limit else None
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
