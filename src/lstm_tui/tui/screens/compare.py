"""The Compare screen: several runs' curves overlaid, their config differences, results.

Data is read in thread workers (metrics.jsonl incrementally, so a live run costs only
its new lines), curves are smoothed and decimated in a thread worker too, and the plot
redraws at most 4 times a second.  Nothing here imports torch.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Checkbox, DataTable, Select, Static
from textual.worker import Worker, WorkerState, get_current_worker

from lstm_tui.tomlfile import loads_toml
from lstm_tui.tui.screens.polling import PollingScreen
from lstm_tui.numbers import fmt
from lstm_tui.runs.listing import differing_keys
from lstm_tui.runs.layout import CONFIG, METRICS
from lstm_tui.runs.reader import RunInfo, read_info
from lstm_tui.numbers import printable
from lstm_tui.tui.errors import one_line, report_worker_error
from lstm_tui.tui.plotting import decimate, ema, finite_pairs, marker_glyph, rich_color
from lstm_tui.tui.run_labels import display_name, status_of, status_text
from lstm_tui.tui.store_watcher import POLL_SECONDS, folder_stamp
from lstm_tui.tui.widgets.footer import Footer
from lstm_tui.tui.widgets.run_charts import Curve, CurvesPlot, MetricsTail
from lstm_tui.tui.widgets.slider import Slider
from lstm_tui.tui.widgets.check import Check

RESULT_COLUMNS = [(key, Text(label, justify=justify)) for key, label, justify in (
    ("n", "#", "left"), ("status", "status", "left"), ("metric", "metric", "left"),
    ("best", "best", "right"), ("final", "final", "right"), ("steps", "steps", "right"),
    ("seconds", "sec", "right"), ("run", "run", "left"))]
TASK_METRIC = "metric"   # the metric Select's value for "each run's own task metric"
DEFAULT_SMOOTHING = 0.6
SPLITS = ("val", "train")
X_AXES = ("step", "time")


def value_text(value: object) -> str:
    """A config value as the diff table shows it."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return fmt(value)
    return printable(str(value))


@dataclass
class ComparedRun:
    """One run of the comparison, as last read."""
    index: int
    path: Path
    info: RunInfo
    tail: MetricsTail
    config: dict = field(default_factory=dict)
    stamp: tuple | None = None

    @property
    def label(self) -> str:
        return f"#{self.index + 1}"

    @property
    def glyph(self) -> str:
        """The run's marker in the plot (its legend in the tables)."""
        return marker_glyph(self.index)


@dataclass(frozen=True)
class CurveRequest:
    metric: str
    split: str
    x_axis: str
    smoothing: float
    log_y: bool


def build_curves(runs: list[ComparedRun], req: CurveRequest) -> tuple[list[Curve], str, str]:
    """(curves, title, note) for the request; falls back to the other split when the
    chosen one recorded nothing (grad_norm is a train-only field, for instance)."""
    def collect(split: str) -> list[Curve]:
        curves = []
        for run in runs:
            key = run.info.metric if req.metric == TASK_METRIC else req.metric
            if not key:
                continue
            xs, ys = run.tail.series(split, key, req.x_axis)
            xs, ys = finite_pairs(xs, ys)
            if not ys:
                continue
            xs, ys = decimate(xs, ema(ys, req.smoothing))
            curves.append(Curve(run.label, xs, ys, run.index))
        return curves

    split, note = req.split, ""
    curves = collect(split)
    if not curves:
        other = SPLITS[1] if split == SPLITS[0] else SPLITS[0]
        curves = collect(other)
        if curves:
            note = f"nothing recorded for {split}; showing {other}"
            split = other
    if req.metric == TASK_METRIC:
        names = sorted({r.info.metric for r in runs if r.info.metric})
        metric = "/".join(names) or "task metric"
    else:
        metric = req.metric
    title = f"{split} {metric}"
    if req.smoothing > 0:
        title += f" · EMA {req.smoothing:.2f}"
    if req.log_y:
        title += " · log y"
    return curves, title, note


class CompareScreen(PollingScreen):
    """Overlaid curves of a chosen metric, the config keys that differ, best/final side by side."""

    CSS_PATH = "runs.tcss"
    AUTO_FOCUS = "#cmp-metric"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("m", "next_metric", "Metric", tooltip="next metric the runs recorded"),
        Binding("v", "toggle_split", "Val/train"),
        Binding("l", "toggle_log", "Log", tooltip="log-scale y axis"),
        Binding("e", "toggle_smoothing", "EMA", tooltip="exponential moving average on/off"),
        Binding("x", "toggle_x", "Step/time", tooltip="x axis: step or seconds"),
        Binding("r", "reload", "Reload", show=False),
    ]

    class Polled(Message):
        """The runs' files were looked at (from a thread worker)."""

        def __init__(self, changed: bool) -> None:
            super().__init__()
            self.changed = changed

    class CurvesReady(Message):
        def __init__(self, request: CurveRequest, curves: list[Curve], title: str,
                     note: str) -> None:
            super().__init__()
            self.request, self.curves, self.title, self.note = request, curves, title, note

    def __init__(self, root: Path, run_paths: list[Path], *,
                 poll_seconds: float = POLL_SECONDS, name: str | None = None,
                 id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.root = Path(root)
        self.runs = [ComparedRun(i, Path(p), RunInfo(path=Path(p), name=Path(p).name),
                                 tail=MetricsTail(Path(p) / METRICS))
                     for i, p in enumerate(run_paths)]
        self.poll_seconds = poll_seconds
        self.metric = TASK_METRIC
        self.split = "val"
        self.x_axis = "step"
        self.log_y = False
        self.smoothing = 0.0
        self._last_smoothing = DEFAULT_SMOOTHING
        self.loaded = False
        self.updates = 0
        self.diff: dict[str, list] = {}
        self._results_shown: list = []
        self._diff_shown: list = []
        self._busy = False
        self._syncing = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="cmp-controls"):
            yield Select([("task metric", TASK_METRIC)], value=TASK_METRIC, allow_blank=False,
                         id="cmp-metric", compact=True)
            yield Select([(s, s) for s in SPLITS], value="val", allow_blank=False,
                         id="cmp-split", compact=True)
            yield Select([(f"x: {x}", x) for x in X_AXES], value="step", allow_blank=False,
                         id="cmp-x", compact=True)
            yield Check("log y", False, id="cmp-log", compact=True)
            yield Slider(0.0, minimum=0.0, maximum=0.95, step=0.05, label="EMA",
                         zero_label="off", id="cmp-smooth")
        yield CurvesPlot(id="cmp-plot", empty_message="loading runs")
        with Vertical(id="cmp-tables"):
            with Vertical(id="cmp-results-box"):
                yield Static("Results", classes="cmp-caption")
                yield DataTable(id="cmp-results", show_cursor=False, zebra_stripes=True)
            with Vertical(id="cmp-diff-box"):
                yield Static("Config keys that differ", classes="cmp-caption")
                yield DataTable(id="cmp-diff", show_cursor=False, zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.start_polling()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            if event.worker.group == "compare-load":
                self._busy = False
            report_worker_error(self, event.worker)

    # -- data
    def poll(self) -> None:
        if not self._busy:
            self._busy = True
            self._refresh_data()

    @work(thread=True, group="compare-load", exit_on_error=False)
    def _refresh_data(self) -> None:
        changed = False
        for run in self.runs:
            stamp = folder_stamp(run.path)
            if stamp != run.stamp:
                run.stamp = stamp
                try:
                    run.info = read_info(run.path)
                except Exception as exc:
                    run.info = RunInfo(path=run.path, name=run.path.name,
                                       error=f"{run.path}: {one_line(exc)}")
                try:
                    run.config = loads_toml((run.path / CONFIG).read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                    run.config = {}
                changed = True
            if run.tail.update():
                changed = True
        self.post_message(self.Polled(changed or not self.loaded))

    @on(Polled)
    def _polled(self, message: Polled) -> None:
        self._busy = False
        if not message.changed:
            return
        self.loaded = True
        self.updates += 1
        self._update_metric_options()
        self._update_tables()
        self.request_curves()

    def metric_options(self) -> list[tuple[str, str]]:
        """The task metric, loss, then every other number the runs recorded."""
        task_metrics = sorted({r.info.metric for r in self.runs if r.info.metric})
        keys: set[str] = set()
        for run in self.runs:
            keys |= run.tail.keys()
        keys -= set(task_metrics) | {"loss"}
        return ([("task metric", TASK_METRIC), ("loss", "loss")]
                + [(printable(k), k) for k in sorted(keys)])

    def _update_metric_options(self) -> None:
        select = self.query_one("#cmp-metric", Select)
        options = self.metric_options()
        if options != getattr(self, "_options", None):
            self._options = options
            self._syncing = True
            with self.prevent(Select.Changed):
                select.set_options(options)
                select.value = self.metric if any(v == self.metric for _, v in options) \
                    else TASK_METRIC
            self.metric = select.value
            self._syncing = False

    def _update_tables(self) -> None:
        """Refill the tables when what they show changed (a live run changes results only)."""
        results = [(str(run.path), self._result_cells(run)) for run in self.runs]
        if results != self._results_shown:
            self._results_shown = results
            self._fill(self.query_one("#cmp-results", DataTable), RESULT_COLUMNS, results)

        readable = [r for r in self.runs if r.config]
        diff = differing_keys([r.config for r in readable]) if len(readable) > 1 else {}
        self.diff = {key: values for key, values in diff.items()}
        rows = []
        for key, values in diff.items():
            by_run = dict(zip((r.index for r in readable), values))
            rows.append((key, [Text(key)] + [
                Text("?" if not run.config else value_text(by_run.get(run.index)))
                for run in self.runs]))
        if not rows:
            rows.append(("", [Text("(none: same config)" if len(readable) > 1 else "-")]
                         + [Text("") for _ in self.runs]))
        if rows != self._diff_shown:
            self._diff_shown = rows
            columns = [("key", Text("key"))] + [
                (run.label, Text(run.label, style=f"bold {rich_color(run.index)}"))
                for run in self.runs]
            self._fill(self.query_one("#cmp-diff", DataTable), columns, rows)
        unreadable = [r for r in self.runs if not r.config]
        caption = "Config keys that differ"
        if unreadable:
            caption += f" ({', '.join(r.label for r in unreadable)}: config unreadable)"
        self.query_one("#cmp-diff-box .cmp-caption", Static).update(caption)

    def _result_cells(self, run: ComparedRun) -> list[Text]:
        info = run.info
        return [
            Text(f"{run.glyph} {run.index + 1}", style=f"bold {rich_color(run.index)}"),
            status_text(status_of(info)),
            Text(printable(info.metric) or "-"),
            Text(fmt(info.best), justify="right"),
            Text(fmt(info.final), justify="right"),
            Text(str(info.steps), justify="right"),
            Text(fmt(info.seconds, 3), justify="right"),
            Text(display_name(info, self.root)),
        ]

    @staticmethod
    def _fill(table: DataTable, columns: list[tuple[str, Text]],
              rows: list[tuple[str, list[Text]]]) -> None:
        """Replace a table's content, keeping where it was scrolled to."""
        scroll = (table.scroll_x, table.scroll_y)
        table.clear(columns=True)
        for key, label in columns:
            table.add_column(label, key=key)
        for key, cells in rows:
            table.add_row(*cells, key=key or None)
        table.scroll_to(*scroll, animate=False)

    # -- curves
    def curve_request(self) -> CurveRequest:
        return CurveRequest(self.metric, self.split, self.x_axis, self.smoothing, self.log_y)

    def request_curves(self) -> None:
        if self.loaded:
            self._compute_curves(self.curve_request())

    @work(thread=True, exclusive=True, group="compare-curves", exit_on_error=False)
    def _compute_curves(self, request: CurveRequest) -> None:
        curves, title, note = build_curves(self.runs, request)
        if not get_current_worker().is_cancelled:
            self.post_message(self.CurvesReady(request, curves, title, note))

    @on(CurvesReady)
    def _curves_ready(self, message: CurvesReady) -> None:
        if message.request != self.curve_request():
            return  # a newer request is on its way
        message.stop()
        xlabel = "time (s)" if message.request.x_axis == "time" else "step"
        empty = "" if message.curves else "nothing recorded for this metric"
        self.query_one("#cmp-plot", CurvesPlot).show(
            message.curves, title=message.title, xlabel=xlabel, log_y=message.request.log_y,
            message=message.note or empty)

    # -- controls
    @on(Select.Changed, "#cmp-metric")
    def _metric_changed(self, event: Select.Changed) -> None:
        if not self._syncing and event.value is not Select.NULL:
            self.metric = str(event.value)
            self.request_curves()

    @on(Select.Changed, "#cmp-split")
    def _split_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.split = str(event.value)
            self.request_curves()

    @on(Select.Changed, "#cmp-x")
    def _x_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.x_axis = str(event.value)
            self.request_curves()

    @on(Checkbox.Changed, "#cmp-log")
    def _log_changed(self, event: Checkbox.Changed) -> None:
        self.log_y = event.value
        self.request_curves()

    @on(Slider.Changed, "#cmp-smooth")
    def _smoothing_changed(self, event: Slider.Changed) -> None:
        self.smoothing = event.value
        if event.value > 0:
            self._last_smoothing = event.value
        self.request_curves()

    def action_next_metric(self) -> None:
        values = [v for _, v in self.metric_options()]
        if self.metric in values:
            nxt = values[(values.index(self.metric) + 1) % len(values)]
        else:
            nxt = values[0]
        self.query_one("#cmp-metric", Select).value = nxt

    def action_toggle_split(self) -> None:
        select = self.query_one("#cmp-split", Select)
        select.value = "train" if self.split == "val" else "val"

    def action_toggle_x(self) -> None:
        select = self.query_one("#cmp-x", Select)
        select.value = "time" if self.x_axis == "step" else "step"

    def action_toggle_log(self) -> None:
        self.query_one("#cmp-log", Checkbox).toggle()

    def action_toggle_smoothing(self) -> None:
        slider = self.query_one("#cmp-smooth", Slider)
        slider.value = 0.0 if self.smoothing > 0 else self._last_smoothing

    def action_reload(self) -> None:
        for run in self.runs:
            run.stamp = None
        self.poll()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

