"""The Runs screen's table: its columns, how they fit a width, and what each run shows.

RunRows keeps, per RunInfo (the store watcher hands a new one only when the run
changed), what filtering, sorting and sizing need, so that with 10,000 runs a key press
in the filter costs one pass over kept strings.  Nothing here touches a widget.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rich.cells import cell_len
from rich.text import Text

from lstm_tui.numbers import age as fmt_age
from lstm_tui.numbers import printable
from lstm_tui.runs.index import no_gc
from lstm_tui.runs.reader import RunInfo
from lstm_tui.tui.run_labels import (STARTED_CELLS, best_text, display_name, name_text,
                                     started_text, status_of, status_text)

@dataclass(frozen=True)
class Column:
    key: str
    label: str
    sort: Callable[[RunInfo], object] | None
    justify: str = "left"


COLUMNS = (
    Column("mark", " ", None),
    Column("name", "name", lambda r: r.name.lower()),   # (sorted by the name shown)
    Column("task", "task", lambda r: r.task),
    Column("cell", "cell", lambda r: r.cell),
    Column("hidden", "hidden", lambda r: r.hidden if isinstance(r.hidden, int) else -1, "right"),
    Column("status", "status", status_of),
    Column("best", "best", lambda r: (r.best is None, r.best if r.best is not None else 0.0),
           "right"),
    Column("steps", "steps", lambda r: r.steps, "right"),
    Column("age", "started", lambda r: -(r.created or r.updated), "right"),
)
SORTABLE = [c for c in COLUMNS if c.sort is not None]
DROP_FIRST = ("hidden", "cell", "task")   # what goes when the terminal is narrow
NAME_WANTS = 24      # the name column's width before a column is dropped for it
NAME_MIN = 12
CELL_PAD = 2         # a DataTable cell's padding (one each side)


def plan_columns(width: int, natural: dict[str, int]) -> tuple[list[str], int]:
    """The columns shown in `width` cells and the name column's width.

    Every column gets its natural width; when the name column would get less than it
    wants, the optional columns go (hidden, cell, then task), and only then does the
    name shrink (cut in the middle): status, best and the start time always show."""
    keys = [c.key for c in COLUMNS]

    def room() -> int:
        return width - sum(natural.get(k, 0) + CELL_PAD for k in keys if k != "name") \
            - CELL_PAD

    for key in DROP_FIRST:
        if room() >= min(natural.get("name", 0), NAME_WANTS):
            break
        keys.remove(key)
    return keys, max(NAME_MIN, min(natural.get("name", 0), room()))


@dataclass(frozen=True)
class RowFacts:
    """What filtering, sorting and sizing the table need of a run, worked out once."""
    info: RunInfo
    name: str                  # the name shown, lower case (sorting)
    search: str                # what the filter looks in, lower case
    widths: dict[str, int]     # the cells each column needs


class RunRows:
    """What the table needs of each run, worked out once per RunInfo; the runs in order
    kept until the runs or the order change."""

    def __init__(self, root: Path):
        self.root = root
        self._facts: dict[Path, RowFacts] = {}
        self._ordered: tuple = (None, [])     # (for which runs and order, [(run, facts)])
        self._natural: tuple = (None, {})     # (for which runs, each column's width)
        self._by_key: tuple = (None, {})      # (for which runs, the runs by row key)

    def facts(self, info: RunInfo) -> RowFacts:
        facts = self._facts.get(info.path)
        if facts is None or facts.info is not info:
            name = display_name(info, self.root)
            tags = "".join(f" #{t}" for t in info.tags)
            status = status_of(info)
            search = " ".join((name, info.task, info.cell, status,
                               *(f"#{g}" for g in info.tags))).lower()
            widths = {"mark": 1, "name": cell_len(name + tags), "task": cell_len(info.task),
                      "cell": cell_len(info.cell),
                      "hidden": len(str(info.hidden)) if info.hidden is not None else 1,
                      "status": len(status) + (2 if status == "running" else 0),
                      "best": cell_len(best_text(info)), "steps": len(str(info.steps)),
                      "age": (STARTED_CELLS if info.created or info.updated else 1) + 4}
            facts = self._facts[info.path] = RowFacts(info, name.lower(), search, widths)
        return facts

    def forget_others(self, runs: list[RunInfo]) -> None:
        """Drop what is kept of runs no longer in the store."""
        live = {r.path for r in runs}
        for path in [p for p in self._facts if p not in live]:
            del self._facts[path]

    def visible(self, runs: list[RunInfo], filter_text: str, column: str,
                reverse: bool) -> list[RunInfo]:
        """The runs whose name, task, cell, status or #tags hold every word of the filter,
        sorted by `column` (then by name); sorted once per change of runs or order."""
        order = (id(runs), column, reverse)
        if self._ordered[0] != order:
            col = next(c for c in COLUMNS if c.key == column)
            pairs = [(r, self.facts(r)) for r in runs]
            pairs.sort(key=lambda p: p[1].name)
            pairs.sort(key=(lambda p: p[1].name) if col.key == "name" else
                       (lambda p: col.sort(p[0])), reverse=reverse)
            self._ordered = (order, pairs)
        tokens = filter_text.lower().split()
        return [r for r, facts in self._ordered[1] if all(t in facts.search for t in tokens)]

    def natural(self, runs: list[RunInfo]) -> dict[str, int]:
        """Each column's width for all `runs` (not only those the filter lets through)."""
        if self._natural[0] != id(runs):
            natural = {c.key: len(c.label) + 2 for c in COLUMNS}
            with no_gc():
                for info in runs:
                    for key, cells in self.facts(info).widths.items():
                        if cells > natural[key]:
                            natural[key] = cells
            self._natural = (id(runs), natural)
        return self._natural[1]

    def by_key(self, runs: list[RunInfo], key: str) -> RunInfo | None:
        """The run whose row key (its folder) is `key`."""
        if self._by_key[0] != id(runs):
            self._by_key = (id(runs), {str(r.path): r for r in runs})
        return self._by_key[1].get(key)

    def cells(self, info: RunInfo, marked: bool, now: float) -> dict[str, Text]:
        """A run's cells, every column (the screen picks those that fit)."""
        return {
            "mark": Text("●", style="bold cyan") if marked else Text(" "),
            "name": name_text(info, self.root, marked),
            "task": Text(printable(info.task)),
            "cell": Text(printable(info.cell)),
            "hidden": Text(str(info.hidden) if info.hidden is not None else "-", justify="right"),
            "status": status_text(status_of(info)),
            "best": Text(best_text(info), justify="right"),
            "steps": Text(str(info.steps), justify="right"),
            "age": Text(f"{started_text(info.created or info.updated)} "
                        f"{fmt_age(max(0.0, now - (info.created or info.updated))):>3}",
                        justify="right"),
        }
