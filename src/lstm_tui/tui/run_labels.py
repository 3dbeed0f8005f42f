"""How a run is named and described on screen: its status, short name and best metric.

Shared by the Runs, Compare, Sample and run detail screens.  Nothing here imports torch.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from rich.text import Text

from lstm_tui.numbers import fmt
from lstm_tui.runs.reader import RunInfo
from lstm_tui.numbers import printable

METRIC_SHORT = {"accuracy": "acc", "perplexity": "ppl", "mad": "mad"}
STATUS_STYLES = {
    "running": "bold cyan",
    "completed": "green",
    "stopped_early": "green",
    "interrupted": "yellow",
    "diverged": "magenta",
    "pruned": "blue",
    "failed": "bold red",
    "corrupt": "bold red",
}


def status_of(info: RunInfo) -> str:
    """The status shown: a folder that could not be read fully is 'corrupt'."""
    return "corrupt" if info.error else info.status


def status_text(status: str) -> Text:
    mark = "● " if status == "running" else ""
    return Text(mark + status, style=STATUS_STYLES.get(status, ""))


STAMP = re.compile(r"^\d{8}-\d{6}-(?=.)")


def display_name(info: RunInfo, root: Path) -> str:
    """The folder relative to the store (sweep groups show as group/run), without the
    creation stamp that new_run_dir puts in front (the age column tells it)."""
    path, base = str(info.path), os.path.join(str(root), "")
    if path.startswith(base) and len(path) > len(base):   # (10,000 names: no pathlib)
        parts = path[len(base):].split(os.sep)
    else:
        try:
            parts = info.path.relative_to(root).parts or (info.name,)
        except ValueError:
            parts = (info.name,)
    return printable("/".join(STAMP.sub("", part) for part in parts))


def name_text(info: RunInfo, root: Path, marked: bool = False) -> Text:
    """The name shown, followed by the run's tags as #tag."""
    text = Text(display_name(info, root), style="bold" if marked else "", no_wrap=True)
    for tag in info.tags:
        text.append(f" #{printable(tag)}", style="magenta")
    return text


def best_text(info: RunInfo) -> str:
    if info.best is None:
        return "-"
    short = METRIC_SHORT.get(info.metric, printable(info.metric))
    return f"{fmt(info.best)} {short}".strip()


STARTED = "%m-%d %H:%M"
STARTED_CELLS = 11          # what STARTED always makes: its numbers are zero-padded


def started_text(created: float) -> str:
    """When a run started, in local time: 11-05 14:03 (what tells same-named runs apart)."""
    if not created:
        return "-"
    return time.strftime(STARTED, time.localtime(created))


def fit(text: str, width: int) -> str:
    """`text` in at most `width` cells, cut in the middle (the start and the end of a run
    name tell it apart: its sweep or preset, and its cell and size)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head):]


def run_choice(info: RunInfo, root: Path) -> str:
    """A run in a picker, short enough for a narrow select: its name, when it started, its
    best metric, and its status unless it simply completed."""
    status = status_of(info)
    shown = [display_name(info, root), started_text(info.created), best_text(info)]
    if status != "completed":
        shown.append(status)
    return "  ".join(shown)
