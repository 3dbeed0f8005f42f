"""Where a task's data file is: as given, else among the data sets shipped with lstm-lab.

A relative path is read from the working directory first; when nothing is there, from
``lstm_tui/data`` (the shipped sets, e.g. ``co2_mauna_loa.csv``), so a shipped preset
works from any folder.  Nothing is ever downloaded.
"""

from __future__ import annotations

from pathlib import Path


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
