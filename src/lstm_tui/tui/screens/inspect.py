"""The Inspect screen: a trained run's gates, cell state and hidden state over one sequence.

Choose the run, checkpoint, layer (and direction), the quantity, and the sequence (a
validation index, or typed text for char_lm runs); move the cursor over time steps and
units with the arrow keys to read exact values.  For text, the sequence is also shown
coloured by the cursor's unit (Karpathy-style).  The checkpoint is read, and torch
imported, in a thread worker; the screen only draws what it posts back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from lstm_tui.inspection.schema import Record
from lstm_tui.render.inspection_view import Scale, coloured_text, visible
from lstm_tui.runs.index import indexed_runs
from lstm_tui.runs.reader import RunInfo, read_info
from lstm_tui.runs.trained import CHECKPOINTS, checkpoint_file
from lstm_tui.numbers import printable
from lstm_tui.tui.errors import one_line, report_worker_error
from lstm_tui.tui.run_labels import display_name
from lstm_tui.tui.widgets.footer import Footer
from lstm_tui.tui.widgets.activation_map import ActivationMap, MapData


@dataclass(frozen=True)
class Job:
    """What to load: a run's checkpoint and a sequence (an index, or text)."""
    run: Path
    checkpoint: str
    index: int
    text: str


class InspectScreen(Screen):
    """Gates and states of a trained run over one sequence, with a cursor."""

    CSS_PATH = "inspect.tcss"
    AUTO_FOCUS = "#inspect-map"

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("g", "cycle('gate')", "Gate"),
        Binding("l", "cycle('layer')", "Layer"),
        Binding("n", "sequence(1)", "Next seq"),
        Binding("p", "sequence(-1)", "Prev seq", show=False),
        Binding("t", "focus_text", "Text", show=False),
        Binding("r", "reload", "Reload runs", show=False),
    ]

    class RunsListed(Message):
        def __init__(self, runs: list[RunInfo]) -> None:
            super().__init__()
            self.runs = runs

    class Loaded(Message):
        def __init__(self, job: Job, record: Record | None, error: str = "") -> None:
            super().__init__()
            self.job, self.record, self.error = job, record, error

    def __init__(self, root: Path, run_path: Path | None = None, *,
                 name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.root = Path(root)
        self.run_path = Path(run_path) if run_path is not None else None
        self.runs: list[RunInfo] = []
        self.record: Record | None = None
        self.job: Job | None = None
        self.loads = 0                 # finished loads (tests wait on it)
        self._opened: dict[tuple, object] = {}
        self._options: dict[str, list[tuple[str, str]]] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="inspect-bar"):
            yield Select([], prompt="run", id="inspect-run", compact=True)
            yield Select([(c, c) for c in CHECKPOINTS], value="best", allow_blank=False,
                         id="inspect-ckpt", compact=True)
            yield Select([("layer 0", "0:forward")], value="0:forward", allow_blank=False,
                         id="inspect-layer", compact=True)
            yield Select([("hidden", "hidden")], value="hidden", allow_blank=False,
                         id="inspect-gate", compact=True)
        with Horizontal(id="inspect-seq-bar"):
            yield Label("sequence", classes="inspect-label")
            yield Input("0", id="inspect-index", type="integer", compact=True)
            yield Input("", placeholder="or type text (char_lm)", id="inspect-text",
                        compact=True)
        yield Static("", id="inspect-status")
        yield ActivationMap(id="inspect-map")
        yield Static("", id="inspect-readout")
        yield Static("", id="inspect-words")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ActivationMap).clear("loading…")
        self._list_runs()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return len(self.app.screen_stack) > 1
        return True

    # -- runs
    def action_reload(self) -> None:
        self._list_runs()

    @work(thread=True, group="inspect-list", exit_on_error=False)
    def _list_runs(self) -> None:
        runs = [r for r in indexed_runs(self.root) if not r.error]
        if self.run_path is not None and all(r.path != self.run_path for r in runs):
            try:
                runs.append(read_info(self.run_path))
            except Exception as exc:
                runs.append(RunInfo(path=self.run_path, name=self.run_path.name,
                                    error=one_line(exc)))
        self.post_message(self.RunsListed(runs))

    @on(RunsListed)
    def _runs_listed(self, message: RunsListed) -> None:
        self.runs = sorted(message.runs, key=lambda r: -(r.created or r.updated))
        select = self.query_one("#inspect-run", Select)
        current = select.value if select.value is not Select.NULL else None
        options = [(f"{display_name(r, self.root)} ({r.task}, {r.cell})", str(r.path))
                   for r in self.runs]
        select.set_options(options)
        wanted = current or (str(self.run_path) if self.run_path else None) or \
            (options[0][1] if options else None)
        if wanted is not None and any(v == wanted for _, v in options):
            select.value = wanted
            self.load()
        elif not options:
            self.query_one(ActivationMap).clear(f"No runs under {self.root}/; train one "
                                                "first.")

    # -- loading
    def current_job(self) -> Job | str:
        run = self.query_one("#inspect-run", Select).value
        if run is Select.NULL:
            return "pick a run"
        raw = self.query_one("#inspect-index", Input).value.strip() or "0"
        try:
            index = int(raw)
        except ValueError:
            return f"sequence must be a whole number, got {raw!r}"
        if index < 0:
            return f"sequence must be 0 or more, got {index}"
        text = self.query_one("#inspect-text", Input).value
        return Job(Path(str(run)), str(self.query_one("#inspect-ckpt", Select).value), index,
                   text)

    def load(self) -> None:
        job = self.current_job()
        if isinstance(job, str):
            self.set_status(job, error=True)
            return
        self.job = job
        self.set_status("reading the checkpoint…")
        self._load(job)

    @work(thread=True, exclusive=True, group="inspect-load", exit_on_error=False)
    def _load(self, job: Job) -> None:
        """Open the checkpoint (cached per file and mtime) and record the sequence."""
        from lstm_tui.inspection import source
        try:
            path = checkpoint_file(job.run, job.checkpoint)
            key = (job.run, path, path.stat().st_mtime_ns)
            if key not in self._opened:
                self._opened = {key: source.open_run(job.run, job.checkpoint)}
            opened = self._opened[key]
            seq = (source.text_sequence(opened, job.text) if job.text
                   else source.validation_sequence(opened, job.index))
            record = source.inspect_sequence(opened, seq)
        except Exception as exc:   # RunError, ConfigError, a damaged file...
            self.post_message(self.Loaded(job, None, one_line(exc)))
            return
        self.post_message(self.Loaded(job, record))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.job != self.job:
            return                       # an older request
        self.loads += 1
        if message.record is None:
            self.set_status(message.error, error=True)
            self.query_one(ActivationMap).clear(message.error)
            self.query_one("#inspect-readout", Static).update("")
            self.query_one("#inspect-words", Static).update("")
            return
        previous, record = self.record, message.record
        self.record = record
        layers = [(f"layer {k}" + (f" {'→' if d == 'forward' else '←'}"
                                   if record.directions == 2 else ""), f"{k}:{d}")
                  for k in range(record.layers) for d in ("forward", "backward")
                  [:record.directions]]
        self._set_options("#inspect-layer", layers)
        self._set_options("#inspect-gate", [(g, g) for g in record.gates],
                          prefer="cell" if "cell" in record.gates else "hidden",
                          keep=previous is not None and previous.cell == record.cell)
        self.query_one("#inspect-text", Input).disabled = record.text is None and \
            not message.job.text
        how = ("typed text" if message.job.text else
               f"validation sequence {message.job.index}")
        notes = "".join(f" · {n}" for n in record.notes)
        self.set_status(f"{record.task} · {record.cell} {record.hidden}×{record.layers}"
                        f"{' bi' if record.directions == 2 else ''} · {record.activation} · "
                        f"{record.checkpoint} step {record.step} · {how}, "
                        f"{len(record.tokens)} steps{notes}")
        self.draw()

    def _set_options(self, selector: str, options: list[tuple[str, str]],
                     prefer: str | None = None, keep: bool = True) -> None:
        select = self.query_one(selector, Select)
        current = select.value
        values = [v for _, v in options]
        if self._options.get(selector) != options:
            self._options[selector] = options
            select.set_options(options)
        if keep and current in values:
            select.value = current
        else:
            select.value = prefer if prefer in values else values[0]

    def set_status(self, text: str, error: bool = False) -> None:
        self.query_one("#inspect-status", Static).update(
            Text(printable(text), style="bold red" if error else "dim"))

    # -- drawing
    def selection(self) -> tuple[int, str, str]:
        layer = str(self.query_one("#inspect-layer", Select).value)
        k, _, direction = layer.partition(":")
        return int(k or 0), direction or "forward", str(self.query_one("#inspect-gate",
                                                                       Select).value)

    def draw(self) -> None:
        if self.record is None:
            return
        layer, direction, gate = self.selection()
        try:
            trace = self.record.trace(layer, direction)
        except KeyError:
            return
        if gate not in trace.gates:
            return
        self.query_one(ActivationMap).show(MapData(gate, trace.gates[gate], self.record.tokens,
                                                   gate in self.record.bounded))

    @on(Select.Changed, "#inspect-layer, #inspect-gate")
    def _view_changed(self) -> None:
        self.draw()

    @on(Select.Changed, "#inspect-run, #inspect-ckpt")
    def _source_changed(self) -> None:
        job = self.current_job()
        if isinstance(job, Job) and job != self.job:
            self.load()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.load()
        self.query_one(ActivationMap).focus()

    @on(ActivationMap.CursorMoved)
    def _cursor(self, message: ActivationMap.CursorMoved) -> None:
        record = self.record
        if record is None:
            return
        layer, direction, gate = self.selection()
        values = record.trace(layer, direction).gates.get(gate)
        if not values:
            return
        t, u = message.step, message.unit
        # " · " between the fields: they never run together, whatever the token
        line = Text.assemble(("t=", "dim"), f"{t} ", (visible(record.tokens[t]), "bold"),
                             (" · unit ", "dim"), str(u), (f" · {gate} = ", "dim"),
                             (f"{values[t][u]:+.5f}", "bold"),
                             (" · saliency ", "dim"), f"{record.saliency[t]:.4g}")
        pred = next((p for p in record.predictions if p["step"] == t), None)
        if pred is not None:
            line.append("\nprediction ", style="dim")
            if "top" in pred:
                line.append("  ".join(f"{visible(c['label'])} {c['prob']:.3f}"
                                      for c in pred["top"]))
                if pred.get("target_label") is not None:
                    line.append(f"   target {visible(pred['target_label'])}", style="dim")
            else:
                line.append(f"{pred['value']}")
                if pred.get("target") is not None:
                    line.append(f"   target {pred['target']}", style="dim")
        self.query_one("#inspect-readout", Static).update(line)
        words = self.query_one("#inspect-words", Static)
        if record.text is not None:
            column = [row[u] for row in values]
            scale = Scale.for_values(gate, [column], record.bounded)
            words.update(coloured_text(record.text, column, scale,
                                       width=max(20, self.size.width - 2)))
            words.display = True
        else:
            words.display = False

    # -- actions
    def action_cycle(self, which: str) -> None:
        select = self.query_one(f"#inspect-{which}", Select)
        values = [v for _, v in self._options.get(f"#inspect-{which}", [])]
        if values and select.value in values:
            select.value = values[(values.index(select.value) + 1) % len(values)]

    def action_sequence(self, delta: int) -> None:
        field = self.query_one("#inspect-index", Input)
        try:
            index = int(field.value or 0)
        except ValueError:
            index = 0
        field.value = str(max(0, index + delta))
        self.query_one("#inspect-text", Input).value = ""
        self.load()

    def action_focus_text(self) -> None:
        self.query_one("#inspect-text", Input).focus()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            report_worker_error(self, event.worker)
