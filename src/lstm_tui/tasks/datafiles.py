"""A task's data file: where it is, whether it may be read, and which values it may hold.

A relative path is read from the working directory first; when nothing is there, from
``lstm_tui/data`` (the shipped sets, e.g. ``co2_mauna_loa.csv``), so a shipped preset
works from any folder.  Nothing is ever downloaded.

Before a table is read whole (``check`` does it too), the file must be a regular file (a
FIFO would hang the reader) of at most :func:`max_bytes` (reading grows a table about
twice in memory); ``LSTM_LAB_MAX_DATA_MB`` raises or lowers that limit.  Values must be
finite and within ±:data:`MAX_VALUE`, in the file and after normalization: training is
float32 (largest 3.4e38) and adds errors over many values.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable

from lstm_tui.errors import ConfigError

MAX_DATA_MB = 256          # default size limit of a series / classification file
LIMIT_VAR = "LSTM_LAB_MAX_DATA_MB"
MAX_VALUE = 1e30           # |value| past this is refused (float32 training)


def data_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "data"


def locate(path: str) -> Path:
    given = Path(path).expanduser()
    if given.exists() or given.is_absolute():
        return given
    shipped = data_dir() / given
    return shipped if shipped.exists() else given


def shipped_sets() -> list[Path]:
    return sorted(p for p in data_dir().iterdir() if p.suffix in (".csv", ".tsv", ".npy", ".npz"))


def max_bytes() -> int:
    """The largest data file a run reads: $LSTM_LAB_MAX_DATA_MB MB, else MAX_DATA_MB."""
    raw = os.environ.get(LIMIT_VAR, "").strip()
    if not raw:
        return MAX_DATA_MB * 1_000_000
    try:
        mb = float(raw)
    except ValueError:
        mb = -1.0
    if not 0 < mb < 1e9:
        raise ConfigError(f"${LIMIT_VAR}", LIMIT_VAR, f"must be a number of megabytes > 0, "
                          f"got {raw[:40]!r}")
    return int(mb * 1_000_000)


def checked_file(path: str, key: str, suffixes: Iterable[str], what: str) -> tuple[Path, int]:
    """The file at `path` (see :func:`locate`) and its size, if a task may read it whole:
    it exists, is a regular file named ``*.suffix``, is not empty and not past the size
    limit.  Otherwise a ConfigError naming `key`."""
    suffixes = tuple(suffixes)
    file = locate(path)
    try:
        info = file.stat()
    except OSError:
        raise ConfigError("", key, f"no such file {path!r}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError("", key, f"{path!r} is a folder, not a {what} file")
    if file.suffix.lower() not in suffixes:
        raise ConfigError("", key, f"{path!r} is not a {what} file (its name must end "
                          f"in {', '.join(suffixes)})")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError("", key, f"{path!r} is not a regular file (a pipe or a device "
                          "cannot be read as data)")
    if info.st_size == 0:
        raise ConfigError("", key, f"{path!r} is empty")
    limit = max_bytes()
    if info.st_size > limit:
        raise ConfigError("", key, f"{path!r} is {info.st_size / 1e6:,.0f} MB, past the "
                          f"{limit / 1e6:,.0f} MB a run reads (set ${LIMIT_VAR} to allow more; "
                          "reading takes about twice the file's size in memory)")
    return file, info.st_size


def bad_values(values):
    """Mask of the values a run refuses: infinite, or beyond ±MAX_VALUE (NaN is not
    bad here: it is a missing cell or padding, each task says what it does with it)."""
    import numpy as np
    with np.errstate(invalid="ignore"):
        return np.isinf(values) | (np.abs(values) > MAX_VALUE)


def value_rule() -> str:
    return f"values must be finite numbers within ±{MAX_VALUE:g} (training is float32)"
