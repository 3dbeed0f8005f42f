"""The Predict screen (p on the Runs screen): one run used on a file you pick.

The file field starts at the run's own data file; Enter (or the button) predicts in a
thread worker through :func:`lstm_tui.runs.predict.predict`, the function behind
``lstm-lab predict``, so the screen shows the very numbers the command prints.  A series
run shows its forecast after the window it came from (with rolling: the step-1 forecasts
against the truth over every window, and the scores); a classifier its labels and
probabilities (and accuracy when the file has labels); a char_lm run the next-character
distribution.  Bad input is the command's one line, in red.  Torch is imported in the
worker, when the first prediction is asked for.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from lstm_tui.config import ConfigError
from lstm_tui.numbers import fmt
from lstm_tui.runs.layout import RunError
from lstm_tui.runs.reader import read_run_config
from lstm_tui.runs.trained import CHECKPOINTS
from lstm_tui.tasks.registry import get
from lstm_tui.tui.errors import one_line, report_worker_error
from lstm_tui.tui.plotting import legend_entry, series_color, series_marker
from lstm_tui.tui.widgets.footer import Footer
from lstm_tui.tui.widgets.safe_plot import SafePlot

SHOWN_ROWS = 500        # table rows (the command's --output has them all)


class ForecastChart(SafePlot):
    """Curves (label, xs, ys); the legend is the title."""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id, classes="chart")
        self.plotted: list[tuple[str, list, list]] = []

    def show(self, curves: list[tuple[str, list, list]], title: str) -> None:
        self.plotted = curves
        plt = self.plt
        plt.clear_figure()
        plt.frame(False)
        legend = [title]
        for i, (label, xs, ys) in enumerate(curves):
            plt.plot(xs, ys, marker=series_marker(i), color=series_color(i))
            legend.append(legend_entry(i, label))
        self.border_title = "  ".join(legend)
        self.refresh()


class PredictScreen(Screen):
    """Predict with one run from a file (see the module's docstring)."""

    CSS_PATH = "predict.tcss"
    AUTO_FOCUS = "#predict-file"
    BINDINGS = [Binding("escape", "back", "Back")]

    class Predicted(Message):
        def __init__(self, doc: dict, notes: list[str]) -> None:
            super().__init__()
            self.doc, self.notes = doc, notes

    class Refused(Message):
        """Bad input or a run that cannot predict: the one line the command prints."""

        def __init__(self, line: str) -> None:
            super().__init__()
            self.line = line

    def __init__(self, root: Path, run_path: Path) -> None:
        super().__init__()
        self.root, self.run_path = Path(root), Path(run_path)
        self.kind, self.default = "", ""
        try:
            task = read_run_config(self.run_path).task
            self.kind = task.kind
            self.default = getattr(task, "test_path", "") or getattr(task, "path", "") or \
                getattr(task, "text", "")
        except RunError as exc:
            self.problem = one_line(exc)
        else:
            self.problem = ""
        spec = get(self.kind)
        self.rolling = spec is not None and spec.rolling     # --rolling: a series option
        self.doc: dict | None = None

    def compose(self) -> ComposeResult:
        yield Label(Text(f"Predict with {self.run_path.name}" +
                         (f" ({self.kind})" if self.kind else ""), style="bold"),
                    id="predict-title")
        with Horizontal(id="predict-bar"):
            yield Input(self.default, placeholder="a file to predict from", id="predict-file")
            yield Checkbox("rolling", id="predict-rolling",
                           tooltip="a forecast for every window of the file, scored")
            yield Select([(c, c) for c in CHECKPOINTS], value="best", allow_blank=False,
                         id="predict-checkpoint", compact=True)
            yield Button("Predict", id="predict-go", variant="primary")
        yield Static("", id="predict-status")
        yield ForecastChart(id="predict-chart")
        yield DataTable(id="predict-table", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#predict-rolling").display = self.rolling
        self.query_one("#predict-chart").display = False
        self.set_status(self.problem or "Enter predicts from the file", error=bool(self.problem))

    def set_status(self, text: str, error: bool = False) -> None:
        self.query_one("#predict-status", Static).update(
            Text(text, style="bold red" if error else ""))

    def action_back(self) -> None:
        self.app.pop_screen()

    # ---------------------------------------------------------------- predicting

    @on(Input.Submitted, "#predict-file")
    @on(Button.Pressed, "#predict-go")
    def start(self) -> None:
        path = self.query_one("#predict-file", Input).value.strip()
        if not path:
            self.set_status("--input: is required: the data to predict from", error=True)
            return
        rolling = self.query_one("#predict-rolling", Checkbox).value and self.rolling
        checkpoint = str(self.query_one("#predict-checkpoint", Select).value)
        self.set_status(f"predicting from {path} ...")
        self._predict(path, rolling, checkpoint)

    @work(thread=True, group="predict", exclusive=True, exit_on_error=False)
    def _predict(self, path: str, rolling: bool, checkpoint: str) -> None:
        from lstm_tui.runs.predict import PredictOptions, predict
        from lstm_tui.runs.trained import open_trained
        try:
            run = open_trained(self.run_path, checkpoint)
            doc = predict(run, Path(path).expanduser(), PredictOptions(rolling=rolling))
        except (ConfigError, RunError) as exc:
            self.post_message(self.Refused(one_line(exc)))
            return
        self.post_message(self.Predicted(doc, list(run.notes)))

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            report_worker_error(self, event.worker)

    @on(Refused)
    def _refused(self, message: Refused) -> None:
        self.set_status(f"error: {message.line}", error=True)

    @on(Predicted)
    def _predicted(self, message: Predicted) -> None:
        doc = self.doc = message.doc
        chart = self.query_one("#predict-chart", ForecastChart)
        table = self.query_one("#predict-table", DataTable)
        table.clear(columns=True)
        chart.display = "forecast" in doc
        if "forecast" in doc:
            status = self._show_series(doc, chart, table)
        elif "predictions" in doc:
            status = self._show_classes(doc, table)
        elif "next" in doc:
            status = self._show_next(doc, table)
        else:
            status = "  ".join(f"{k} {fmt(v)}" for k, v in doc.items()
                               if isinstance(v, (int, float)))
        notes = "".join(f"  (note: {n})" for n in message.notes)
        self.set_status(f"{doc['checkpoint']} checkpoint, step {fmt(doc['step'])}: {status}"
                        + notes)

    def _show_series(self, doc: dict, chart: ForecastChart, table: DataTable) -> str:
        targets = doc["targets"]
        table.add_columns("step", "time", *targets)
        for f in doc["forecast"]:
            table.add_row(str(f["step"]), "-" if f["time"] is None else str(f["time"]),
                          *(fmt(f["values"][t]) for t in targets))
        rolling = doc.get("rolling")
        if rolling:
            rows = rolling["rows"]
            xs = [r["window"] for r in rows]
            curves = []
            for t in targets:
                curves.append((f"{t} truth", xs, [r["truth"][t][0] for r in rows]))
                curves.append((f"{t} forecast", xs, [r["forecast"][t][0] for r in rows]))
            chart.show(curves, "step-1 forecasts over the windows")
            skill = rolling.get("skill")
            return (f"{fmt(rolling['windows'])} windows: MAE {fmt(rolling['mae'])}  RMSE "
                    f"{fmt(rolling['rmse'])}  skill {fmt(skill)} (persistence MAE "
                    f"{fmt(rolling['baselines']['persistence']['mae'])})")
        history = doc.get("history")
        steps = [f["step"] for f in doc["forecast"]]
        curves = []
        for t in targets:
            ahead = [f["values"][t] for f in doc["forecast"]]
            if history:
                past = history["values"][t]
                curves.append((f"{t}", list(range(1 - len(past), 1)), past))
                curves.append((f"{t} forecast", [0, *steps], [past[-1], *ahead]))  # joined
            else:
                curves.append((f"{t} forecast", steps, ahead))
        after = f" after {doc['last_time']}" if doc.get("last_time") is not None else ""
        chart.show(curves, f"forecast{after} (x: steps from the last row)")
        return f"forecast of {len(steps)} steps{after}"

    def _show_classes(self, doc: dict, table: DataTable) -> str:
        labelled = doc.get("accuracy") is not None
        table.add_columns("index", "label", "prob", *(["true"] if labelled else []))
        for p in doc["predictions"][:SHOWN_ROWS]:
            table.add_row(str(p["index"]), str(p["label"]), fmt(p["probs"][str(p["label"])]),
                          *([str(p["true"])] if labelled else []))
        count = len(doc["predictions"])
        text = f"{fmt(count)} sequences"
        if count > SHOWN_ROWS:
            text += f" (the first {SHOWN_ROWS} shown)"
        return text + (f", accuracy {fmt(doc['accuracy'])}" if labelled else "")

    def _show_next(self, doc: dict, table: DataTable) -> str:
        table.add_columns("char", "prob")
        for n in doc["next"]:
            table.add_row(repr(n["char"]), fmt(n["prob"]))
        return f"the next character after {fmt(doc['chars'])} characters"
