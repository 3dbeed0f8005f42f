"""The live display of `lstm-lab sweep`: a listener of the sweep driver's events.

In a terminal: one bar over the points (done/total, ETA) with the running points and the
best so far, and a line above it as each point ends.  In a pipe or a file: the lines only.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeRemainingColumn)

from lstm_tui.sweeps.backends import PointProgress, PointStarted
from lstm_tui.sweeps.runner import PointFinished, PointSkipped, SweepFinished, SweepStarted
from lstm_tui.numbers import fmt
from lstm_tui.sweeps.trials import drawn

STATUS_STYLE = {"completed": "green", "stopped_early": "green", "diverged": "red",
                "failed": "red", "interrupted": "yellow", "pruned": "blue"}


class SweepDisplay:
    def __init__(self, console: Console | None = None):
        self.console = console or Console()
        self.progress = Progress(
            TextColumn("[bold]sweep[/]"),
            BarColumn(bar_width=16),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[running]}"),
            TextColumn("{task.fields[best]}"),
            console=self.console,
            disable=not self.console.is_terminal,
        )
        self.task_id = None
        self.metric, self.goal = "metric", "max"
        self.best: tuple[float, str] | None = None
        self.running: dict[str, tuple[int, int]] = {}

    def __call__(self, event) -> None:
        out = self.progress.console
        if isinstance(event, SweepStarted):
            self.metric, self.goal = event.metric, event.goal
            resumed = f", {event.done} already done (resuming)" if event.done else ""
            workers = f" × {event.workers}" if event.workers > 1 else ""
            out.print(f"[bold]sweep[/] {event.name}: {event.total} points over "
                      f"{', '.join(event.axes)}{resumed}; backend {event.backend}{workers}")
            out.print(f"folder {event.sweep_dir}")
            for note in event.notes:
                out.print(f"[yellow]repaired[/] {escape(note)}", highlight=False)
            self.progress.start()
            self.task_id = self.progress.add_task("sweep", total=event.total,
                                                  completed=event.done, running="", best="")
        elif isinstance(event, PointStarted):
            self.running[event.key] = (0, event.total_steps)
            self._refresh()
        elif isinstance(event, PointProgress):
            self.running[event.key] = (event.step, event.total_steps)
            self._refresh()
        elif isinstance(event, PointFinished):
            self.running.pop(event.key, None)
            row = event.row
            value = row.get(f"best_{self.metric}")
            status = row["status"]
            if isinstance(value, (int, float)) and status in ("completed", "stopped_early",
                                                              "pruned"):
                if self.best is None or (value > self.best[0] if self.goal == "max"
                                         else value < self.best[0]):
                    self.best = (value, event.label)
            style = STATUS_STYLE.get(status, "")
            out.print(f"\\[{event.done}/{event.total}] {escape(event.label)}: [{style}]{status}[/] "
                      f"best {self.metric} {fmt(value)}  {fmt(row.get('seconds'), 3)}s",
                      highlight=False)
            if status in ("diverged", "failed") and row.get("message"):
                out.print(f"  [dim]{escape(row['message'])}[/]", highlight=False)
            self.progress.update(self.task_id, completed=event.done)
            self._refresh()
        elif isinstance(event, PointSkipped):
            out.print(f"[yellow]skipped[/] {escape(event.label)}: {escape(event.message)}",
                      highlight=False)
        elif isinstance(event, SweepFinished):
            self.progress.stop()

    def _refresh(self) -> None:
        if self.task_id is None:
            return
        steps = [s / t for s, t in self.running.values() if t]
        running = f"{len(self.running)} running" if self.running else ""
        if steps:
            running += f" ({100 * sum(steps) / len(steps):.0f}%)"
        best = ""
        if self.best:
            label = self.best[1].rsplit(" seed=", 1)[0]
            best = f"best {fmt(self.best[0])} @ {label}"
            best = best if len(best) <= 32 else best[:31] + "…"
        self.progress.update(self.task_id, running=running, best=best)

    def folder_hint(self, sweep_dir: Path, search: str = "grid") -> str:
        if drawn(search):                    # shown as trials (sweeps.trials)
            views = "(the trials in order, the best so far) [--x KEY]"
        else:
            views = "[--x AXIS --y AXIS | --x AXIS --by AXIS | --epochs AXIS]"
        return (f"results: {sweep_dir / 'results.csv'}\n"
                f"views:   lstm-lab sweep-report {sweep_dir} {views}")
