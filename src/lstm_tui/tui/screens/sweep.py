"""The Sweep screen: define axes from a config, launch the sweep, watch its grid fill in.

A status line, the sweep's ``[expect]`` verdicts when it has been judged
(:mod:`~lstm_tui.tui.sweep.expect_table`), four views (tabs), each a widget of its own
module, and the footer:

- **Define** (:mod:`~lstm_tui.tui.sweep.define`): the axes, seeds, metric, goal,
  backend and workers; posts :class:`~lstm_tui.tui.messages.SweepDefined` as it changes.
  A config holding a ``[sweep]`` table (a sweep preset) starts from it; an existing
  ``sweep-*`` folder of the run store can be opened.
- **Grid** (:mod:`~lstm_tui.tui.sweep.grid`): the heatmap of the best metric over
  two axes; Enter on a cell posts :class:`~lstm_tui.tui.messages.RunPicked`.
- **Lines** (:mod:`~lstm_tui.tui.sweep.lines`) and **Epochs**
  (:mod:`~lstm_tui.tui.sweep.epochs`).
- **Trials** (:mod:`~lstm_tui.tui.sweep.trials`), only for a tpe or random search:
  its trials in order, the best so far and the Pareto front; such a sweep opens on it.

The screen owns the sweep: its :class:`~lstm_tui.tui.sweep.state.SweepState` (fed by the
sweep's process or by results.csv), the process, and whether best or final metrics are
shown.  Messages come up from the views; what they draw goes down as a
:class:`~lstm_tui.tui.sweep.state.Shown`, handed to the view on screen at most 4 times a
second (a reactive attribute: an unchanged sweep draws nothing).

The sweep itself runs in a spawned process (:mod:`lstm_tui.tui.sweep.process`), whose
events arrive batched in one coalescing :class:`~lstm_tui.tui.messages.SweepEvents`
message.  Stop sets an event the child's ``should_stop`` reads; the sweep stays
resumable, so launching the same definition again trains only what is left.  The UI
process never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Button, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from lstm_tui.numbers import fmt
from lstm_tui.config import ConfigError, RunConfig
from lstm_tui.expect import sweep as expect
from lstm_tui.runs.layout import RESULTS_FILE, SWEEP_FILE
from lstm_tui.sweeps import surface as sf
from lstm_tui.sweeps.runner import SweepFinished, read_results, sweep_dir_for
from lstm_tui.sweeps.spec import SweepSpec, parse_sweep
from lstm_tui.tui.errors import one_line, report_worker_error
from lstm_tui.tui.messages import RunPicked, SweepDefined, SweepEvents, SweepFolderPicked
from lstm_tui.tui.screens.run_detail import RunDetailScreen
from lstm_tui.tui.sweep.process import SweepCrashed, start_sweep
from lstm_tui.tui.sweep.state import Shown, SweepState, results_stamp
from lstm_tui.tui.sweep.define import DefineView
from lstm_tui.tui.sweep.epochs import EpochsView
from lstm_tui.tui.sweep.expect_table import ExpectView
from lstm_tui.tui.sweep.status import status_text
from lstm_tui.tui.sweep.grid import GridView
from lstm_tui.tui.sweep.lines import LinesView
from lstm_tui.tui.sweep.trials import TrialsView, has_trials, show_tab
from lstm_tui.tui.worker import ChildProcess
from lstm_tui.tui.widgets.footer import Footer

REDRAW_EVERY = 0.25          # views redraw at most 4 times a second
WATCH_EVERY = 2.0            # seconds between looks at a sweep folder written elsewhere
VIEWS = {"define": DefineView, "grid": GridView, "lines": LinesView, "epochs": EpochsView,
         "trials": TrialsView}


class SweepScreen(Screen):
    """Define a sweep from a config, launch it, watch its grid fill in, open its runs."""

    AUTO_FOCUS = None
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]

    CSS_PATH = "sweep.tcss"

    BINDINGS = [
        Binding("ctrl+r", "launch", "Launch", tooltip="train the points not done yet "
                "(the same definition again resumes)"),
        Binding("ctrl+g", "stop", "Stop", tooltip="stop the sweep (finished points are kept)"),
        Binding("1", "view('define')", "Views", key_display="1-5",
                tooltip="1 define, 2 grid, 3 lines, 4 epochs (5 trials: tpe, random)"),
        Binding("2", "view('grid')", "Grid", show=False),
        Binding("3", "view('lines')", "Lines", show=False),
        Binding("4", "view('epochs')", "Epochs", show=False),
        Binding("5", "view('trials')", "Trials", show=False),
        Binding("s", "toggle_spread", "Spread", tooltip="show ±std over seeds in the cells"),
        Binding("f", "toggle_final", "Final", tooltip="best or final metric of each run"),
        Binding("t", "swap_axes", "Swap", tooltip="swap the x and y axes"),
        Binding("o", "open_folder", "Open", tooltip="open a sweep folder of the store"),
        Binding("delete", "remove_axis", "Remove axis", show=False),
        Binding("escape", "back", "Back"),
    ]

    final: reactive[bool] = reactive(False, init=False)   # final (not best) metric of runs

    @dataclass
    class Opened(Message):
        """A sweep folder was read (thread worker)."""
        path: Path
        cfg: RunConfig
        spec: SweepSpec
        rows: list[dict]
        verdicts: list[dict]

    @dataclass
    class RowsRead(Message):
        """results.csv of the sweep shown was read (thread worker)."""
        state: SweepState
        rows: list[dict]
        stamp: tuple
        verdicts: list[dict]

    def __init__(self, root: Path, config: RunConfig | None = None,
                 sweep_dir: Path | None = None, *, watch_seconds: float = WATCH_EVERY,
                 name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.root = Path(root)
        self.watch_seconds = watch_seconds
        self.initial_config = config or RunConfig()
        self.open_path = Path(sweep_dir) if sweep_dir is not None else None
        self.spec: SweepSpec | None = None
        self.spec_error = ""
        self.state: SweepState | None = None
        self.process: ChildProcess | None = None
        self._rows_stamp: tuple | None = None     # results.csv as last read
        self._leaving = False
        self._ticks: list = []

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static(id="sweep-status")
        yield ExpectView(id="sweep-expect")
        initial = "grid" if self.open_path is not None else "define"
        with TabbedContent(id="sweep-tabs", initial=initial):
            with TabPane("Define", id="define"):
                yield DefineView(self.root, self.initial_config)
            with TabPane("Grid", id="grid"):
                yield GridView()
            with TabPane("Lines", id="lines"):
                yield LinesView()
            with TabPane("Epochs", id="epochs"):
                yield EpochsView()
            with TabPane("Trials", id="trials"):
                yield TrialsView()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._ticks = [self.set_interval(REDRAW_EVERY, self.refresh_views),
                       self.set_interval(self.watch_seconds, self._watch_folder)]
        if self.open_path is not None:
            self.open_sweep(self.open_path)
        self.refresh_views()

    def on_unmount(self) -> None:
        if self.process is not None and self.process.alive:
            self.process.stop()                      # ends `interrupted`; resumable

    def on_screen_suspend(self) -> None:
        for timer in self._ticks:
            timer.pause()

    def on_screen_resume(self) -> None:
        for timer in self._ticks:
            timer.resume()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            report_worker_error(self, event.worker)

    # ------------------------------------------------------------ the definition

    def take_preset(self, cfg: RunConfig) -> None:
        """A sweep preset loaded in the Lab: its definition, unless a sweep runs here."""
        if self.process is not None and self.process.alive:
            self.notify("a sweep is running here: the preset's [sweep] table is not taken",
                        severity="warning")
            return
        self.define.load(cfg)

    @property
    def define(self) -> DefineView:
        return self.query_one(DefineView)

    @property
    def base(self) -> RunConfig:
        """The config the sweep varies (without its [sweep] table)."""
        return self.define.base

    @property
    def config(self) -> RunConfig:
        """The config with the sweep table as defined now."""
        return self.define.config

    @property
    def table(self) -> dict:
        """The ``[sweep]`` table as defined now."""
        return self.define.table

    @on(SweepDefined)
    def _defined(self, message: SweepDefined) -> None:
        """The views follow the definition: its planned grid, and what its folder holds."""
        self.spec, self.spec_error = message.spec, message.error
        if self.state is not None and self.state.active:
            return
        if self.spec is None:
            if self.state is not None and self.open_path is None:
                self.state = None
            self.refresh_views()
            return
        if message.loaded and self.open_path is not None:
            return                                   # an opened folder stays shown
        folder = sweep_dir_for(self.root, self.spec)
        old = self.state
        if old is not None and old.sweep_dir == folder and old.total == self.spec.size:
            return
        self.state = SweepState(self.spec, folder)
        self.open_path = None
        self._rows_stamp = None
        self._watch_folder()
        self.refresh_views()

    # ------------------------------------------------------------ opening a sweep folder

    def action_open_folder(self) -> None:
        self.query_one(TabbedContent).active = "define"
        folders = self.define.refresh_folders()
        select = self.query_one("#open-sweep")
        select.focus()
        if folders:
            select.action_show_overlay()
        else:
            self.notify(f"no sweep-* folders under {self.root}/ yet", title="Open sweep")

    @on(SweepFolderPicked)
    def _folder_picked(self, message: SweepFolderPicked) -> None:
        self.open_sweep(message.path)

    def open_sweep(self, path: Path) -> None:
        """Read a sweep folder (sweep.toml and results.csv) in a thread, then show it."""
        if self.state is not None and self.state.active:
            self.notify("a sweep is running: stop it first (ctrl+g)", severity="warning")
            return
        self._read_folder(Path(path))

    @work(thread=True, group="sweep-open", exit_on_error=False)
    def _read_folder(self, path: Path) -> None:
        from lstm_tui.config import load_preset
        try:
            data = sf.load_sweep(path)                 # its axes, metric and rows
            cfg = load_preset(path / SWEEP_FILE)       # the definition, to resume it
            spec = parse_sweep(cfg, str(path / SWEEP_FILE), yes=True, reading=True)
        except ConfigError as exc:
            self.app.call_from_thread(self.notify, one_line(exc), title="cannot open sweep",
                                      severity="error")
            return
        self.post_message(self.Opened(path, cfg, spec, data.rows, expect.load(path)))

    @on(Opened)
    def _opened(self, message: Opened) -> None:
        self.open_path = message.path
        self.state = SweepState(message.spec, message.path)
        self.state.set_rows(message.rows, message.verdicts)
        self._rows_stamp = results_stamp(message.path)
        self.define.load(message.cfg)
        self.define.refresh_folders(chosen=message.path)
        self._results_view()
        self.refresh_views()

    def _watch_folder(self) -> None:
        """A sweep written by another process (or an earlier one) shows up and moves on."""
        state = self.state
        if state is None or state.active:
            return
        stamp = results_stamp(state.sweep_dir)
        if stamp == self._rows_stamp:
            return
        self._rows_stamp = stamp                 # read once per change
        self._read_rows(state, stamp)

    @work(thread=True, group="sweep-rows", exclusive=True, exit_on_error=False)
    def _read_rows(self, state: SweepState, stamp: tuple) -> None:
        self.post_message(self.RowsRead(state, read_results(state.sweep_dir / RESULTS_FILE),
                                        stamp, expect.load(state.sweep_dir)))

    @on(RowsRead)
    def _rows_read(self, message: RowsRead) -> None:
        if message.state is not self.state or self.state.active:
            return
        self.state.set_rows(message.rows, message.verdicts)

    # ------------------------------------------------------------ launching and stopping

    @on(Button.Pressed, "#launch")
    def action_launch(self) -> None:
        if self.process is not None and self.process.alive:
            busy = self.state is not None and self.state.active
            self.notify("this sweep is running; stop it first (ctrl+g)" if busy else
                        "the last sweep's process is still ending; try again in a moment",
                        severity="warning")
            return
        if self.spec is None:
            self.query_one(TabbedContent).active = "define"
            self.define.say(self.spec_error or "add an axis first", error=True)
            self.notify(self.spec_error or "add an axis first", title="cannot launch",
                        severity="error", markup=False)     # "[optuna]" is no markup
            return
        define = self.define
        problem = define.backend_problem()
        if problem:
            self.notify(problem, title="cannot launch", severity="error")
            return
        folder = sweep_dir_for(self.root, self.spec)
        state = self.state
        if state is None or state.sweep_dir != folder or state.total != self.spec.size:
            state = SweepState(self.spec, folder)
        self.state = state
        state.active, state.ended, state.error, state.stopping = True, "", "", False
        state.started_at = None
        try:
            self.process = start_sweep(define.config, self.root, define.backend,
                                       define.n_workers, self.post_message)
        except Exception as exc:   # no process could be started
            state.active = False
            self.notify(f"{type(exc).__name__}: {exc}", title="cannot launch", severity="error")
            return
        self.open_path = None
        self.refresh_bindings()
        self._results_view()
        self.refresh_views()

    def action_stop(self) -> None:
        if self.process is None or not self.process.alive:
            return
        self.process.stop()
        if self.state is not None:
            self.state.stopping = True
        self.notify("stopping after the current step: finished points are kept, and "
                    "launching again resumes", title="Sweep")

    @on(SweepEvents)
    def _sweep_events(self, message: SweepEvents) -> None:
        if self.process is None or message.inbox is not self.process.inbox:
            return
        state = self.state
        for event in message.inbox.take():
            if state is not None:
                state.apply(event)
            if isinstance(event, SweepCrashed):
                self.notify(event.error, title="sweep failed", severity="error", timeout=10)
            elif isinstance(event, SweepFinished) and state is not None:
                best = state.best(self.column)
                said = f"; best {state.metric} {fmt(best.stat.mean)}" if best else ""
                self.notify(f"{event.done}/{event.total} points done{said}",
                            title="sweep stopped" if event.interrupted else "sweep finished")
        if state is not None and not state.active:
            self._rows_stamp = None                   # read results.csv once more
            self.define.refresh_folders()
        self.refresh_bindings()

    # ------------------------------------------------------------ the views

    @property
    def column(self) -> str:
        """The results column the views show: best_<metric> or final_<metric>."""
        metric = self.state.metric if self.state else "metric"
        return f"{'final' if self.final else 'best'}_{metric}"

    def refresh_views(self) -> None:
        """Bring the status line and the view on screen up to date with the sweep (the
        4 Hz tick; a view whose sweep did not change draws nothing)."""
        self.query_one("#sweep-status", Static).update(self.status_text())
        self.query_one(ExpectView).verdicts = list(self.state.verdicts) if self.state else []
        show_tab(self.query_one(TabbedContent), self.state)
        tab = self._tab()
        state = self.state
        shown = Shown(state, state.version if state else 0, self.column)
        if tab == "grid":
            grid = self.query_one(GridView)
            grid.message = self.spec_error if self.table.get("grid") else ""
            grid.shown = shown
        elif tab == "lines":
            self.query_one(LinesView).shown = shown
        elif tab == "epochs":
            self.query_one(EpochsView).shown = shown
        elif tab == "trials":
            self.query_one(TrialsView).shown = shown

    def _results_view(self) -> None:
        """Where a launched or opened sweep is watched: drawn points as trials, else the
        grid."""
        trials = has_trials(self.state)
        show_tab(self.query_one(TabbedContent), self.state)
        self.query_one(TabbedContent).active = "trials" if trials else "grid"
        self.query_one("#trials-table" if trials else "#sweep-heatmap").focus()

    def watch_final(self) -> None:
        self.refresh_views()

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_views()
        self.refresh_bindings()

    def _tab(self) -> str:
        try:
            return self.query_one(TabbedContent).active
        except Exception:
            return ""

    def action_view(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        focus = {"grid": "#sweep-heatmap", "lines": "#lines-x", "epochs": "#epochs-axis",
                 "define": "#axis-key", "trials": "#trials-table"}[tab]
        self.query_one(focus).focus()

    def action_toggle_spread(self) -> None:
        grid = self.query_one(GridView)
        grid.spread = not grid.spread

    def action_toggle_final(self) -> None:
        self.final = not self.final

    def action_swap_axes(self) -> None:
        self.query_one(GridView).swap_axes()

    def action_remove_axis(self) -> None:
        self.define.remove_axis()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.state is not None and self.state.active
        if action == "launch":
            return self.state is None or not self.state.active
        if action in ("toggle_spread", "swap_axes"):
            return self._tab() == "grid" and self.state is not None
        if action == "toggle_final":
            return self._tab() in ("grid", "lines", "trials") and self.state is not None
        if action == "view" and parameters == ("trials",):
            return has_trials(self.state)
        if action == "back":             # only when pushed over another screen
            return len(self.app.screen_stack) > 1
        return True

    @on(RunPicked)
    def open_run(self, message: RunPicked) -> None:
        path = message.path
        if not path.exists():
            self.notify(f"{path} does not exist (yet)", title="Sweep", severity="warning")
            return
        self.app.push_screen(RunDetailScreen(self.root, path))

    # ------------------------------------------------------------ the status line

    def status_text(self) -> Text:
        return status_text(self.state, self.base, self.column)

    # ------------------------------------------------------------ leaving

    def action_back(self) -> None:
        if len(self.app.screen_stack) <= 1:
            return
        if self.process is not None and self.process.alive and not self._leaving:
            self._leaving = True
            self.notify("the sweep is running: escape again stops it and leaves "
                        "(it resumes with ctrl+r)", title="Sweep", severity="warning")
            return
        self.app.pop_screen()
