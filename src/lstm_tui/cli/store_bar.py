"""The progress bar shown while the run store's index is (re)built.

The core reports (runs.index: `reporting`); this draws it, on stderr so that `runs
--json` stays clean, and only once there is something to report: a warm listing shows
nothing.  rich draws nothing animated when stderr is not a terminal.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class StoreBar:
    """A callable (done, total) that shows a transient bar from its first call."""

    def __init__(self, console: Console):
        self.console = console
        self.progress: Progress | None = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if self.progress is None:
            self.progress = Progress(TextColumn("indexing the run store"), BarColumn(),
                                     MofNCompleteColumn(), TimeRemainingColumn(),
                                     console=self.console, transient=True)
            self.progress.start()
            self.task = self.progress.add_task("index", total=total)
        self.progress.update(self.task, completed=done, total=total)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
