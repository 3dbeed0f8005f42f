"""A run in detail: its curves (train/val loss and task metric), the gradient per time step
(diagnostics.jsonl, as the Live pane shows it), summary and config, live.

Opened from the Runs screen (Enter), a sweep's cell, or anything else that knows a run
folder.  The folder is reread in a thread worker when its files change, so a run still
training elsewhere moves on by itself.  Nothing here imports torch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.message import Message
from textual.widgets import Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from lstm_tui.numbers import age as fmt_age
from lstm_tui.numbers import fmt
from lstm_tui.runs.provenance import display_rows, read_provenance
from lstm_tui.runs.layout import CONFIG, DIAGNOSTICS, METRICS, SUMMARY
from lstm_tui.runs.reader import RunInfo, read_info
from lstm_tui.runs.summary import read_summary as store_read_summary
from lstm_tui.expect.verdicts import verdict_rows
from lstm_tui.render.task_rows import confusion_lines, result_rows
from lstm_tui.tasks.registry import samples_text
from lstm_tui.numbers import printable
from lstm_tui.tui.errors import one_line, report_worker_error
from lstm_tui.tui.plotting import baseline_lines, decimate, finite_pairs
from lstm_tui.tui.run_labels import display_name, status_of, status_text
from lstm_tui.tui.screens.polling import PollingScreen
from lstm_tui.tui.screens.sample import SampleScreen
from lstm_tui.tui.store_watcher import POLL_SECONDS, folder_stamp
from lstm_tui.tui.widgets.footer import Footer
from lstm_tui.tui.widgets.charts import GradHeatmap
from lstm_tui.tui.widgets.run_charts import Curve, CurvesPlot, MetricsTail, read_heat_rows

Clock = Callable[[], float]


def read_summary(path: Path) -> dict:
    """summary.json's well-typed fields; {} when it is missing or damaged."""
    return store_read_summary(path)[0]



def run_curves(tail: MetricsTail, metric: str) -> dict[str, tuple[str, list[Curve]]]:
    """Train/val curves of the loss and of the task metric, decimated (worker side)."""
    out = {}
    for plot_id, key in (("detail-loss", "loss"), ("detail-metric", metric)):
        curves = []
        if key:
            for i, split in enumerate(("train", "val")):
                xs, ys = finite_pairs(*tail.series(split, key))
                curves.append(Curve(split, *decimate(xs, ys), index=i))
        out[plot_id] = (key, curves)
    return out


@dataclass
class RunSnapshot:
    info: RunInfo
    config_text: str
    summary: dict
    provenance: dict | None = None


class RunDetailScreen(PollingScreen):
    """One run: its curves (train/val loss and task metric), summary and config, live."""

    CSS_PATH = "runs.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (70, "-wide")]

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("1", "tab('curves')", "Curves/gradients/summary/config", key_display="1-4"),
        Binding("2", "tab('gradients')", "Gradients", show=False),
        Binding("3", "tab('summary')", "Summary", show=False),
        Binding("4", "tab('config')", "Config", show=False),
        Binding("l", "toggle_log", "Log y"),
        Binding("s", "sample", "Sample"),
        Binding("i", "inspect", "Inspect"),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sample":   # only char_lm runs can be sampled
            return self.snapshot is not None and samples_text(self.snapshot.info.task)
        if action == "inspect":  # a finished run: its checkpoints no longer change
            return self.snapshot is not None and self.snapshot.info.status != "running"
        return True

    class Loaded(Message):
        """What the load worker found: a new snapshot and/or new curves (None: unchanged)."""

        def __init__(self, snapshot: RunSnapshot | None,
                     curves: dict[str, tuple[str, list[Curve]]] | None,
                     heat: list[tuple[int, tuple[float, ...]]] | None = None) -> None:
            super().__init__()
            self.snapshot, self.curves, self.heat = snapshot, curves, heat

    def __init__(self, root: Path, run_path: Path, *, clock: Clock = time.time,
                 poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__()
        self.root, self.run_path = Path(root), Path(run_path)
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.tail = MetricsTail(self.run_path / METRICS)
        self.snapshot: RunSnapshot | None = None
        self.curves: dict[str, tuple[str, list[Curve]]] = {}
        self.log_y = False
        self.heat: list[tuple[int, tuple[float, ...]]] = []   # diagnostics.jsonl's rows
        self._stamp: tuple | None = None
        self._busy = False

    def compose(self) -> ComposeResult:
        yield Static(Text(printable(self.run_path.name), style="bold"), id="detail-title")
        with TabbedContent(initial="curves", id="detail-tabs"):
            with TabPane("Curves", id="curves"):
                with Container(id="detail-curves"):
                    yield CurvesPlot(id="detail-loss")
                    yield CurvesPlot(id="detail-metric")
            with TabPane("Gradients", id="gradients"):
                yield GradHeatmap(id="detail-heatmap")
            with TabPane("Summary", id="summary"):
                with VerticalScroll():
                    yield Static("", id="detail-summary")
            with TabPane("Config", id="config"):
                with VerticalScroll():
                    yield Static("", id="detail-config")
        yield Footer()

    def on_mount(self) -> None:
        self.start_polling()

    def poll(self) -> None:
        if not self._busy:
            self._busy = True
            self._load()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self._busy = False
            report_worker_error(self, event.worker)

    @work(thread=True, group="detail-load", exit_on_error=False)
    def _load(self) -> None:
        stamp = folder_stamp(self.run_path)
        curves_changed = self.tail.update()
        if stamp == self._stamp and not curves_changed:
            self.post_message(self.Loaded(None, None))
            return
        snapshot = self._read_snapshot() if stamp != self._stamp else None
        self._stamp = stamp
        current = snapshot or self.snapshot
        metric = current.info.metric if current else ""
        # a validation appends to diagnostics.jsonl and metrics.jsonl alike
        heat = read_heat_rows(self.run_path / DIAGNOSTICS)
        self.post_message(self.Loaded(snapshot, run_curves(self.tail, metric), heat))

    def _read_snapshot(self) -> RunSnapshot:
        try:
            info = read_info(self.run_path)
        except Exception as exc:
            info = RunInfo(path=self.run_path, name=self.run_path.name,
                           error=f"{self.run_path}: {one_line(exc)}")
        try:
            config_text = (self.run_path / CONFIG).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            config_text = f"# {self.run_path / CONFIG}: {one_line(exc)}"
        summary = read_summary(self.run_path / SUMMARY)
        return RunSnapshot(info, config_text, summary, read_provenance(self.run_path))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self._busy = False
        if message.snapshot is not None:
            self.snapshot = message.snapshot
            self._show_info()
            self.refresh_bindings()
        if message.curves is not None:
            self.curves = message.curves
        if message.curves is not None or (message.snapshot is not None and self.curves):
            self.draw_curves()            # new points, or new baselines in the summary
        if message.heat is not None:
            self.heat = message.heat
            version = (len(self.heat), self.heat[-1][0] if self.heat else None)
            self.query_one("#detail-heatmap", GradHeatmap).show(self.heat, version)

    def _show_info(self) -> None:
        snap = self.snapshot
        info = snap.info
        title = Text()
        title.append(display_name(info, self.root), style="bold")
        title.append("  ")
        title.append_text(status_text(status_of(info)))
        if info.best is not None:
            title.append(f"  best {printable(info.metric)} {fmt(info.best)}")
        title.append(f"  step {info.steps:,}  ")
        title.append(printable(f"{info.task} · {info.cell} {info.hidden or ''}"), style="dim")
        self.query_one("#detail-title", Static).update(title)

        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        s = snap.summary

        def stamp(t: float | None) -> str:
            if not t:
                return "-"
            ago = fmt_age(max(0.0, self.clock() - t))
            return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + f"  ({ago} ago)"

        rows = [
            ("folder", str(info.path)),
            ("status", status_text(status_of(info))),
            ("task", info.task),
            ("model", f"{info.cell}, hidden {info.hidden}"),
            ("metric", f"{info.metric} ({'higher' if info.goal == 'max' else 'lower'} is better)"
             if info.metric else "-"),
            ("best", fmt(info.best)),
            ("final", fmt(info.final)),
            ("steps", f"{info.steps:,}" + (f" of {s['total_steps']:,}"
                                             if isinstance(s.get("total_steps"), int) else "")),
            ("seconds", fmt(info.seconds, 3)),
            ("params", fmt(info.params)),
            ("device", str(s.get("device", "-"))),
            ("host / pid", f"{s.get('host', '-')} / {s.get('pid', '-')}"),
            ("created", stamp(info.created)),
            ("updated", stamp(info.updated)),
            ("checkpoints", ", ".join(sorted((s.get("checkpoints") or {}).values())) or "-"),
            ("message", str(s.get("message", "")) or "-"),
            ("tags", " ".join(f"#{t}" for t in info.tags) or "-"),
            ("note", info.note or "-"),
        ]
        environment = display_rows(snap.provenance or {})
        rows.append(("environment", "" if environment else "not recorded"))
        rows += [(f"  {label}", text) for label, text in environment]
        if info.error:
            rows.insert(1, ("error", Text(printable(info.error), style="bold red")))
        rows += result_rows(s, info.metric, info.best)     # baselines, skill, test block
        rows += [(Text(label), Text(text, style="green" if text.endswith(" met") else "bold red"))
                 for label, text in verdict_rows(s)]       # the preset's [expect]
        confusion = confusion_lines(s)
        if confusion:
            rows.append(("confusion", Text("\n".join(confusion))))
        for key, value in rows:     # text from the run's files: no markup, no controls
            table.add_row(key, value if isinstance(value, Text) else Text(printable(value)))
        self.query_one("#detail-summary", Static).update(table)
        self.query_one("#detail-config", Static).update(
            Syntax(printable(snap.config_text, lines=True), "toml", theme="ansi_dark",
                   background_color="default", word_wrap=True))

    def draw_curves(self) -> None:
        for plot_id, (key, curves) in self.curves.items():
            if plot_id == "detail-metric":
                curves = curves + self._baselines(key, curves)
            title = (key or "task metric") + (" · log y" if self.log_y else "")
            empty = not any(c.xs for c in curves)
            self.query_one(f"#{plot_id}", CurvesPlot).show(
                curves, title=title, log_y=self.log_y,
                message="no metrics recorded yet" if empty else "")

    def _baselines(self, metric: str, curves: list[Curve]) -> list[Curve]:
        """The task's baselines as the Live pane draws them: a flat line each across the
        validation curve (from summary.json's "baselines")."""
        val = next((c for c in curves if c.label == "val" and c.xs), None)
        if val is None or self.snapshot is None or not metric:
            return []
        first = min(c.xs[0] for c in curves if c.xs)
        return [Curve(name, xs, ys, index=len(curves) + i) for i, (name, xs, ys) in
                enumerate(baseline_lines(self.snapshot.summary.get("baselines"), metric,
                                         first, val.xs[-1]))]

    # -- actions
    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self.draw_curves()

    def action_sample(self) -> None:
        info = self.snapshot.info if self.snapshot else None
        if info is None or not samples_text(info.task):
            task = info.task if info else "unknown"
            self.notify(f"This is a {task} run; sampling needs a char_lm run.",
                        title="Sample", severity="warning")
            return
        self.app.push_screen(SampleScreen(self.root, self.run_path))

    def action_inspect(self) -> None:
        from lstm_tui.tui.screens.inspect import InspectScreen
        self.app.push_screen(InspectScreen(self.root, self.run_path))
