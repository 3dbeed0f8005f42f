"""The headless progress display: a listener that draws engine events with rich.

In a terminal it shows a live bar (epoch, step, loss, metric, steps/s, ETA) with
validation lines above it; when output is a pipe or a file it prints plain lines.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeRemainingColumn)
from rich.table import Table
from rich.text import Text

from lstm_tui import events as ev
from lstm_tui.expect.verdicts import verdict_rows
from lstm_tui.numbers import fmt
from lstm_tui.render.model_summary import summary_table
from lstm_tui.render.task_rows import confusion_lines, result_rows

PLAIN_EVERY = 10.0   # seconds between train lines when output is not a terminal


class HeadlessDisplay:
    def __init__(self, console: Console | None = None):
        self.console = console or Console()
        self.progress = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  {task.fields[metric_name]} "
                       "{task.fields[metric]}  {task.fields[rate]} steps/s"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not self.console.is_terminal,
        )
        self.task_id = None
        self.metric = "metric"
        self.figures: dict = {}         # the task's baselines, test block, confusion
        self._last_plain = 0.0

    def __call__(self, event: ev.Event) -> None:
        out = self.progress.console
        if isinstance(event, ev.RunStarted):
            self.metric = event.metric
            out.print(f"[bold]run[/] {event.run_id}  device {event.device}  "
                      f"{event.dataset_size:,} training examples  {event.total_steps:,} steps")
            out.print(summary_table(event.summary))
            for note in event.summary.notes + event.notes:
                out.print(f"[dim]note: {note}[/]")
            if event.start_step:
                out.print(f"resuming at step {event.start_step}")
            self.progress.start()
            self.task_id = self.progress.add_task(
                "train", total=event.total_steps, completed=event.start_step, epoch=0,
                loss="-", metric="-", metric_name=event.metric, rate="-")
        elif isinstance(event, ev.StepMetrics):
            self.progress.update(self.task_id, completed=event.step, epoch=event.epoch,
                                 loss=fmt(event.loss), metric=fmt(event.metric),
                                 rate=f"{event.steps_per_sec:,.0f}")
            now = time.monotonic()
            if not self.console.is_terminal and now - self._last_plain >= PLAIN_EVERY:
                self._last_plain = now
                out.print(f"step {event.step} epoch {event.epoch} train loss {fmt(event.loss)} "
                          f"{self.metric} {fmt(event.metric)} grad_norm {fmt(event.grad_norm)} "
                          f"{event.steps_per_sec:,.0f} steps/s")
        elif isinstance(event, ev.ValMetrics):
            extra = "".join(f" {k} {fmt(v)}" for k, v in event.extra.items())
            mark = " *" if event.is_best else ""
            out.print(f"step {event.step} epoch {event.epoch} val loss {fmt(event.loss)} "
                      f"{self.metric} {fmt(event.metric)}{extra} (best {fmt(event.best)}){mark}")
        elif isinstance(event, ev.TaskReport):
            self.figures.update(event.figures)
        elif isinstance(event, ev.TextSample):
            # escaped: a sample may hold '[' (markup); soft_wrap: one line, never cut
            out.print(f"[dim]sample (T={event.temperature:g}):[/] {escape(repr(event.text))}",
                      soft_wrap=True)
        elif isinstance(event, ev.Preparing):
            out.print(f"{escape(event.what)}…" + (f" [dim]({escape(event.detail)})[/]"
                                                   if event.detail else ""))
        elif isinstance(event, (ev.Finished, ev.Failed)):
            self.progress.stop()

    def final_table(self, event: ev.Event, total_seconds: float | None = None,
                    summary: dict | None = None) -> Table:
        """The result; after a resume, `total_seconds` (summary.json's, every session)
        is shown beside this session's time; `summary` (summary.json) adds the verdicts
        on the preset's [expect]."""
        table = Table(title="Result", title_justify="left", show_header=False)
        table.add_column(style="bold")
        table.add_column()
        if isinstance(event, ev.Finished):
            table.add_row("status", event.status)
            table.add_row("steps", f"{event.step:,}")
            if total_seconds is None:
                table.add_row("seconds", f"{event.seconds:.1f}")
            else:
                table.add_row("seconds, this session", f"{event.seconds:.1f}")
                table.add_row("seconds, all sessions", f"{total_seconds:.1f} (summary.json)")
            table.add_row(f"best {self.metric}", fmt(event.best))
            table.add_row(f"final {self.metric}", fmt(event.final))
            for label, value in result_rows(self.figures, self.metric, event.best):
                table.add_row(label, value)
            lines = confusion_lines(self.figures)
            if lines:
                split = self.figures["confusion"].get("split", "val")
                table.add_row(f"confusion ({split})\nrows: true\ncolumns: predicted",
                              Text("\n".join(lines[1:])))
            for label, value in verdict_rows(summary or {}):
                table.add_row(Text(label), Text(value, style="green" if value.endswith(" met")
                                          else "bold red"))
            if event.message and event.status != "completed":   # completed: "trained N
                table.add_row("note", Text(event.message))        # steps", the steps row
        else:
            table.add_row("status", "failed")
            table.add_row("error", Text(event.error))
        return table
