"""The Sweep screen: define axes from a config, launch the sweep, watch its grid fill in.

Four views (tabs), a status line above them and the footer below:

- **Define**: pick a config key (``config.field_specs`` of the task, model and train
  dataclasses) and type its values (comma-separated, parsed like ``--set`` and checked
  with ``config.check_value``), or a numeric range (low, high, count, log); seeds per
  point, metric and goal, backend and workers.  The point count follows every change, and
  every problem is the one-line message of the headless ``lstm-lab sweep`` (the table is
  checked by the same ``parse_sweep``).  A config holding a ``[sweep]`` table (a sweep
  preset) starts from it; an existing ``sweep-*`` folder of the run store can be opened.
- **Grid**: the heatmap of the best metric (mean over seeds; spread on demand) over two
  axes, the other axes folded (best of them) or pinned to a value; cells appear as points
  finish and running cells are marked.  The runs of the cell under the cursor are listed
  under it; Enter opens the cell's best run (or a listed one) in the run detail screen.
- **Lines**: the metric along one axis, min-max band over seeds, a line per value of
  another axis (RNN vs LSTM over sequence length).
- **Epochs**: the seed's "accuracy during training": the metric by epoch for each value
  of one axis.

Every number comes from :mod:`lstm_tui.sweeps.surface` (``surface``, ``lines``,
``epoch_lines``) through :mod:`lstm_tui.tui.sweep_state`; this module lays them out.

The sweep itself runs in a spawned process (:mod:`lstm_tui.tui.sweep_process`), whose
events arrive batched in one coalescing :class:`~lstm_tui.tui.messages.SweepEvents`
message.  Stop sets an event the child's ``should_stop`` reads; the sweep stays
resumable, so launching the same definition again trains only what is left.  The UI
process never imports torch.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (Button, Checkbox, DataTable, Footer, Input, Label, Select, Static,
                             TabbedContent, TabPane)
from textual.worker import Worker, WorkerState

from lstm_tui.config import ConfigError, RunConfig, allowed, parse_value
from lstm_tui.sweeps import surface as sf
from lstm_tui.sweeps.backends import backend_names, make_backend
from lstm_tui.sweeps.runner import (RESULTS_FILE, SWEEP_FILE, SweepFinished, read_results,
                                    sweep_dir_for)
from lstm_tui.sweeps.spec import SweepSpec, show_value, parse_sweep
from lstm_tui.tui.messages import SweepEvents
from lstm_tui.tui.screens.runs import RunDetailScreen, one_line, report_worker_error
from lstm_tui.tui.sweep_process import SOURCE, SweepCrashed, start_sweep
from lstm_tui.tui.sweep_state import (SEED, SweepState, cell_rows, current_value,
                                      describe_random, duration, grid_size, metric_options,
                                      parse_axis_values, range_values, results_stamp,
                                      running_cells, surface_view, sweep_folders, sweep_keys)
from lstm_tui.tui.widgets.band_plot import BandPlot
from lstm_tui.tui.widgets.heatmap import Heatmap, leaf
from lstm_tui.tui.widgets.run_charts import Curve, CurvesPlot
from lstm_tui.tui.worker import ChildProcess

REDRAW_EVERY = 0.25          # views redraw at most 4 times a second
WATCH_EVERY = 2.0            # seconds between looks at a sweep folder written elsewhere
BEST = "best"                # an extra axis folded into the cells (the best of it shown)
NO_AXIS = "none"


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
        Binding("1", "view('define')", "Views", key_display="1-4",
                tooltip="1 define, 2 grid, 3 lines, 4 epochs"),
        Binding("2", "view('grid')", "Grid", show=False),
        Binding("3", "view('lines')", "Lines", show=False),
        Binding("4", "view('epochs')", "Epochs", show=False),
        Binding("s", "toggle_spread", "Spread", tooltip="show ±std over seeds in the cells"),
        Binding("f", "toggle_final", "Best/final", tooltip="best or final metric of each run"),
        Binding("t", "swap_axes", "Swap x/y"),
        Binding("o", "open_folder", "Open sweep", tooltip="open a sweep folder of the store"),
        Binding("delete", "remove_axis", "Remove axis", show=False),
        Binding("escape", "back", "Back"),
    ]

    class Opened(Message):
        """A sweep folder was read (thread worker)."""

        def __init__(self, path: Path, cfg: RunConfig, spec: SweepSpec, rows: list[dict]):
            super().__init__()
            self.path, self.cfg, self.spec, self.rows = path, cfg, spec, rows

    class RowsRead(Message):
        """results.csv of the sweep shown was read (thread worker)."""

        def __init__(self, state: SweepState, rows: list[dict], stamp: tuple) -> None:
            super().__init__()
            self.state, self.rows, self.stamp = state, rows, stamp

    class EpochsReady(Message):
        def __init__(self, key: tuple, lines: list[sf.Line]) -> None:
            super().__init__()
            self.key, self.lines = key, lines

    def __init__(self, root: Path, config: RunConfig | None = None,
                 sweep_dir: Path | None = None, *, watch_seconds: float = WATCH_EVERY,
                 name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.root = Path(root)
        self.watch_seconds = watch_seconds
        config = config or RunConfig()
        self.base = dataclasses.replace(config, sweep=None)
        self.table: dict = copy.deepcopy(config.sweep) if config.sweep else {"grid": {}}
        self.open_path = Path(sweep_dir) if sweep_dir is not None else None
        self.backend = "sequential"
        self.n_workers = 1
        self.spec: SweepSpec | None = None
        self.spec_error = ""
        self.state: SweepState | None = None
        self.process: ChildProcess | None = None
        self.x = self.y = ""
        self.fixed: dict[str, Any] = {}      # extra axis -> BEST or a value index
        self.spread = False
        self.final = False
        self.log_x = False
        self.lines_x = ""
        self.lines_by = NO_AXIS
        self.epochs_axis = ""
        self._dirty = True
        self._rows_stamp: tuple | None = None
        self._reading = False
        self._epochs_key: tuple | None = None
        self._epochs_busy = False
        self._leaving = False
        self._my_timers: list[Timer] = []
        self._fixed_signature: tuple = ()
        self._view_axes: tuple = ()
        self._fixed_lock = asyncio.Lock()

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static(id="sweep-status")
        initial = "grid" if self.open_path is not None else "define"
        with TabbedContent(id="sweep-tabs", initial=initial):
            with TabPane("Define", id="define"):
                with Vertical():
                    with Horizontal(classes="row"):
                        yield Label("axis", classes="lbl")
                        yield Select([], prompt="config key…", id="axis-key", compact=True)
                        yield Label("values", classes="lbl gap")
                        yield Input(placeholder="comma-separated, e.g. 5, 10, 20",
                                    id="axis-values", compact=True)
                        yield Button("Add", id="axis-add", compact=True)
                    with Horizontal(classes="row"):
                        yield Label("or a range", classes="lbl")
                        yield Input(placeholder="low", id="range-low", compact=True)
                        yield Input(placeholder="high", id="range-high", compact=True)
                        yield Input(placeholder="count", id="range-count", compact=True)
                        yield Checkbox("log", id="range-log", compact=True)
                        yield Button("Add range", id="range-add", compact=True)
                    yield Static(id="axis-message")
                    yield DataTable(id="axes-table", cursor_type="row", zebra_stripes=True)
                    with Horizontal(classes="row"):
                        yield Label("seeds per point", classes="lbl")
                        yield Input(id="seeds", compact=True, restrict=r"[0-9]*")
                        yield Label("metric", classes="lbl gap")
                        yield Select([(m, m) for m in metric_options(self.base.task.kind)],
                                     allow_blank=False, id="metric", compact=True)
                        yield Label("goal", classes="lbl gap")
                        yield Select([("max", "max"), ("min", "min")], allow_blank=False,
                                     id="goal", compact=True)
                    with Horizontal(classes="row"):
                        yield Label("backend", classes="lbl")
                        yield Select([(b, b) for b in backend_names()], value="sequential",
                                     allow_blank=False, id="backend", compact=True)
                        yield Label("workers", classes="lbl gap")
                        yield Input("1", id="workers", compact=True, restrict=r"[0-9]*")
                        yield Static(id="point-count")
                        yield Button("Launch", id="launch", variant="primary", compact=True)
                    with Horizontal(classes="row"):
                        yield Label("open a sweep", classes="lbl")
                        yield Select([], prompt="sweep-* folders of the run store",
                                     id="open-sweep", compact=True)
            with TabPane("Grid", id="grid"):
                with Horizontal(classes="view-controls"):
                    yield Label("x", classes="lbl")
                    yield Select([], prompt="–", id="grid-x", compact=True)
                    yield Label("y", classes="lbl gap")
                    yield Select([], prompt="–", id="grid-y", compact=True)
                    yield Horizontal(id="grid-fixed")
                yield Heatmap(id="sweep-heatmap", empty_message="no sweep yet: define its axes "
                              "(1), or open a sweep folder (o)")
                yield Static(id="cell-info")
                yield DataTable(id="cell-runs", cursor_type="row", zebra_stripes=True)
            with TabPane("Lines", id="lines"):
                with Horizontal(classes="view-controls"):
                    yield Label("x", classes="lbl")
                    yield Select([], prompt="–", id="lines-x", compact=True)
                    yield Label("a line per", classes="lbl gap")
                    yield Select([], prompt="–", id="lines-by", compact=True)
                    yield Checkbox("log x", id="lines-logx", compact=True)
                yield BandPlot(id="lines-plot")
            with TabPane("Epochs", id="epochs"):
                with Horizontal(classes="view-controls"):
                    yield Label("a line per", classes="lbl")
                    yield Select([], prompt="–", id="epochs-axis", compact=True)
                yield CurvesPlot(id="epochs-plot", empty_message="no finished points yet")
        yield Footer()

    def on_mount(self) -> None:
        self._fill_definition()
        self._refresh_folders()
        self._respec()
        self._my_timers = [self.set_interval(REDRAW_EVERY, self._redraw),
                           self.set_interval(self.watch_seconds, self._watch_folder)]
        if self.open_path is not None:
            self.open_sweep(self.open_path)
        self._redraw()

    def on_unmount(self) -> None:
        if self.process is not None and self.process.alive:
            self.process.stop()                      # ends `interrupted`; resumable

    def on_screen_suspend(self) -> None:
        for timer in self._my_timers:
            timer.pause()

    def on_screen_resume(self) -> None:
        for timer in self._my_timers:
            timer.resume()
        self._dirty = True

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self._reading = self._epochs_busy = False
            report_worker_error(self, event.worker)

    # ------------------------------------------------------------ the definition

    @property
    def config(self) -> RunConfig:
        """The config with the sweep table as defined now."""
        return dataclasses.replace(self.base, sweep=copy.deepcopy(self.table))

    def _fill_definition(self) -> None:
        """Put the config's keys and the table's settings into the Define widgets."""
        keys = self.query_one("#axis-key", Select)
        with keys.prevent(Select.Changed):
            keys.set_options([(f"{key} = {show_value(current_value(self.base, key))}", key)
                              for key, _ in sweep_keys(self.base)])
        options = metric_options(self.base.task.kind)
        metric = self.table.get("metric", next(iter(options)))
        metric_select = self.query_one("#metric", Select)
        with metric_select.prevent(Select.Changed):
            metric_select.set_options([(m, m) for m in options])
            if metric in options:
                metric_select.value = metric
        goal = self.table.get("goal", options.get(metric, "max"))
        goal_select = self.query_one("#goal", Select)
        with goal_select.prevent(Select.Changed):
            goal_select.value = goal if goal in ("max", "min") else "max"
        seeds = self.query_one("#seeds", Input)
        with seeds.prevent(Input.Changed):
            seeds.value = str(self.table.get("seeds", 1))
        self._fill_axes_table()
        self._key_help()

    def _fill_axes_table(self) -> None:
        table = self.query_one("#axes-table", DataTable)
        if not table.columns:
            table.add_column("axis", key="axis")
            table.add_column("n", key="n")
            table.add_column("values", key="values")
        row = table.cursor_row
        table.clear()
        for key, values in (self.table.get("grid") or {}).items():
            shown = ", ".join(show_value(v) for v in values) if isinstance(values, list) \
                else show_value(values)
            count = str(len(values)) if isinstance(values, list) else "?"
            table.add_row(key, Text(count, justify="right"), shown, key=f"grid:{key}")
        random = self.table.get("random")
        if isinstance(random, dict):
            samples = random.get("samples", "?")
            for key, value in random.items():
                if key in ("samples", "seed"):
                    continue
                table.add_row(key, Text("rnd", justify="right"),
                              f"random: {describe_random(value)} ({samples} draws per grid "
                              "point)", key=f"random:{key}")
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)

    def _respec(self) -> None:
        """Check the definition with parse_sweep (the CLI's messages) and count points."""
        self.spec, self.spec_error = None, ""
        try:
            self.spec = parse_sweep(self.config, SOURCE)
        except ConfigError as exc:
            self.spec_error = str(exc)
        count = self.query_one("#point-count", Static)
        if self.spec is not None:
            count.update(self._count_text(self.spec))
            count.set_class(False, "-error")
        else:
            empty = not (self.table.get("grid") or self.table.get("random"))
            count.update("add an axis to begin" if empty else self.spec_error)
            count.set_class(not empty, "-error")
        if self.state is None or not self.state.active:
            self._show_definition()

    def _count_text(self, spec: SweepSpec) -> Text:
        sizes = [str(len(v)) for v in spec.grid.values()]
        if spec.random:
            sizes.append(f"{spec.samples} draws")
        if spec.seeds > 1:
            sizes.append(f"{spec.seeds} seeds")
        text = Text()
        text.append(f"{spec.size:,} point{'s' * (spec.size != 1)}", style="bold")
        if len(sizes) > 1:
            text.append(" = " + " × ".join(sizes), style="dim")
        return text

    def _show_definition(self) -> None:
        """The views follow the definition: its planned grid, and what its folder holds."""
        if self.spec is None:
            if self.state is not None and not self.state.active and self.open_path is None:
                self.state = None
                self._axes_changed()
            return
        folder = sweep_dir_for(self.root, self.spec)
        old = self.state
        if old is not None and old.sweep_dir == folder and old.total == self.spec.size:
            return
        self.state = SweepState(self.spec, folder)
        self.open_path = None
        self._rows_stamp = None
        self._axes_changed()
        self._watch_folder()

    def _key_help(self, message: str | Text = "", error: bool = False) -> None:
        widget = self.query_one("#axis-message", Static)
        widget.set_class(error, "-error")
        if message:
            widget.update(message)
            return
        key = self._axis_key()
        if key is None:
            widget.update("pick a config key, type its values (or a range) and press Enter; "
                          "delete removes the axis under the cursor")
            return
        spec = dict(sweep_keys(self.base))[key]
        hint = ""
        if spec.kind == "choice":
            hint = "; e.g. " + ", ".join(spec.choices)
        elif spec.kind == "bool":
            hint = "; e.g. false, true"
        widget.update(Text.assemble((key, "bold"), f": {spec.help} — {allowed(spec)} "
                                    f"(now {show_value(current_value(self.base, key))}){hint}"))

    def _axis_key(self) -> str | None:
        value = self.query_one("#axis-key", Select).value
        return value if isinstance(value, str) else None

    @on(Select.Changed, "#axis-key")
    def _axis_key_changed(self) -> None:
        key = self._axis_key()
        values = self.query_one("#axis-values", Input)
        if key is not None:
            current = (self.table.get("grid") or {}).get(key)
            spec = dict(sweep_keys(self.base))[key]
            if isinstance(current, list):
                values.value = ", ".join(show_value(v) for v in current)
            elif spec.kind in ("choice", "bool"):
                values.value = ", ".join(spec.choices) if spec.kind == "choice" \
                    else "false, true"
            else:
                values.value = ""
        self._key_help()
        if self._axis_key() is not None:
            self._preview()

    @on(Input.Changed, "#axis-values")
    def _values_changed(self) -> None:
        self._preview()

    def _preview(self) -> None:
        """While typing: the values read so far and the point count they would make."""
        key = self._axis_key()
        raw = self.query_one("#axis-values", Input).value
        if key is None or not raw.strip():
            self._key_help()
            return
        try:
            values = parse_axis_values(key, dict(sweep_keys(self.base))[key], raw)
        except ConfigError as exc:
            self._key_help(str(exc), error=True)
            return
        trial = {**self.table, "grid": {**(self.table.get("grid") or {}), key: values}}
        n = grid_size(trial)
        self._key_help(Text.assemble(
            (key, "bold"), f": {len(values)} value{'s' * (len(values) != 1)} "
            f"({', '.join(show_value(v) for v in values)}) → ", (f"{n:,} points", "bold"),
            "; Enter adds the axis"))

    @on(Input.Submitted, "#axis-values")
    @on(Button.Pressed, "#axis-add")
    def action_add_axis(self) -> None:
        key = self._axis_key()
        if key is None:
            self._key_help("pick a config key first", error=True)
            return
        try:
            values = parse_axis_values(key, dict(sweep_keys(self.base))[key],
                                       self.query_one("#axis-values", Input).value)
        except ConfigError as exc:
            self._key_help(str(exc), error=True)
            return
        self._add_axis(key, values)

    @on(Input.Submitted, "#range-low, #range-high, #range-count")
    @on(Button.Pressed, "#range-add")
    def action_add_range(self) -> None:
        key = self._axis_key()
        if key is None:
            self._key_help("pick a config key first", error=True)
            return
        try:
            values = range_values(key, dict(sweep_keys(self.base))[key],
                                  self.query_one("#range-low", Input).value,
                                  self.query_one("#range-high", Input).value,
                                  self.query_one("#range-count", Input).value,
                                  self.query_one("#range-log", Checkbox).value)
        except ConfigError as exc:
            self._key_help(str(exc), error=True)
            return
        with self.query_one("#axis-values", Input).prevent(Input.Changed):
            self.query_one("#axis-values", Input).value = ", ".join(show_value(v) for v in values)
        self._add_axis(key, values)

    def _add_axis(self, key: str, values: list) -> None:
        """Add (or replace) a grid axis, unless the sweep would then be invalid."""
        table = copy.deepcopy(self.table)
        random = table.get("random")
        if isinstance(random, dict) and key in random:
            del random[key]              # a key is swept in one place
            if not [k for k in random if k not in ("samples", "seed")]:
                table.pop("random")
        table.setdefault("grid", {})[key] = values
        try:
            parse_sweep(dataclasses.replace(self.base, sweep=table), SOURCE)
        except ConfigError as exc:
            self._key_help(str(exc), error=True)
            return
        self.table = table
        self._fill_axes_table()
        self._respec()
        self._key_help(Text.assemble("added ", (key, "bold"),
                                     f" ({len(values)} value{'s' * (len(values) != 1)})"))

    def action_remove_axis(self) -> None:
        table = self.query_one("#axes-table", DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        where, _, axis = key.partition(":")
        part = self.table.get(where)
        if isinstance(part, dict) and axis in part:
            del part[axis]
            if where == "random" and not [k for k in part if k not in ("samples", "seed")]:
                self.table.pop("random")
        self._fill_axes_table()
        self._respec()
        self._key_help(Text.assemble("removed ", (axis, "bold")))

    # Widgets post Changed with their first value after the screen has filled them: the
    # handlers read each widget's value now and change the table only when it differs.

    @on(Input.Changed, "#seeds")
    def _seeds_changed(self) -> None:
        value = parse_value(self.query_one("#seeds", Input).value.strip() or "''")
        if value != self.table.get("seeds", 1):
            self.table["seeds"] = value
            self._respec()

    @on(Select.Changed, "#metric")
    def _metric_changed(self) -> None:
        options = metric_options(self.base.task.kind)
        metric = self.query_one("#metric", Select).value
        if metric == self.table.get("metric", next(iter(options))):
            return
        if metric == next(iter(options)):
            self.table.pop("metric", None)
        else:
            self.table["metric"] = metric
        self.table.pop("goal", None)             # the metric's own goal, unless changed
        goal_select = self.query_one("#goal", Select)
        with goal_select.prevent(Select.Changed):
            goal_select.value = options.get(metric, "max")
        self._respec()

    @on(Select.Changed, "#goal")
    def _goal_changed(self) -> None:
        options = metric_options(self.base.task.kind)
        own = options.get(self.table.get("metric", next(iter(options))), "max")
        goal = self.query_one("#goal", Select).value
        if goal == self.table.get("goal", own):
            return
        if goal == own:
            self.table.pop("goal", None)
        else:
            self.table["goal"] = goal
        self._respec()

    @on(Select.Changed, "#backend")
    def _backend_changed(self) -> None:
        self.backend = str(self.query_one("#backend", Select).value)
        self._check_backend()

    @on(Input.Changed, "#workers")
    def _workers_changed(self) -> None:
        self.n_workers = parse_value(self.query_one("#workers", Input).value.strip() or "''")
        self._check_backend()

    def _check_backend(self) -> str:
        """The backend's own complaint about the choice ('' when it is fine)."""
        try:
            make_backend(self.backend, self.n_workers)
        except ConfigError as exc:
            self._key_help(str(exc), error=True)
            return str(exc)
        self._key_help()
        return ""

    # ------------------------------------------------------------ opening a sweep folder

    def _refresh_folders(self) -> None:
        select = self.query_one("#open-sweep", Select)
        folders = sweep_folders(self.root)
        with select.prevent(Select.Changed):
            select.set_options([(p.name, str(p)) for p in folders])

    def action_open_folder(self) -> None:
        self._refresh_folders()
        self.query_one(TabbedContent).active = "define"
        select = self.query_one("#open-sweep", Select)
        select.focus()
        if sweep_folders(self.root):
            select.action_show_overlay()
        else:
            self.notify(f"no sweep-* folders under {self.root}/ yet", title="Open sweep")

    @on(Select.Changed, "#open-sweep")
    def _open_chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.open_sweep(Path(event.value))

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
            spec = parse_sweep(cfg, str(path / SWEEP_FILE), yes=True)
        except ConfigError as exc:
            self.app.call_from_thread(self.notify, one_line(exc), title="cannot open sweep",
                                      severity="error")
            return
        self.post_message(self.Opened(path, cfg, spec, data.rows))

    @on(Opened)
    def _opened(self, message: Opened) -> None:
        self.base = dataclasses.replace(message.cfg, sweep=None)
        self.table = copy.deepcopy(message.cfg.sweep) or {"grid": {}}
        self._fill_definition()
        self._respec()
        self.state = SweepState(message.spec, message.path)
        self.state.set_rows(message.rows)
        self.open_path = message.path
        self._rows_stamp = results_stamp(message.path)
        self._refresh_folders()
        folders = self.query_one("#open-sweep", Select)
        if str(message.path) in {str(p) for p in sweep_folders(self.root)}:
            with folders.prevent(Select.Changed):
                folders.value = str(message.path)
        self._axes_changed()
        self.query_one(TabbedContent).active = "grid"
        self.query_one(Heatmap).focus()

    def _watch_folder(self) -> None:
        """A sweep written by another process (or an earlier one) shows up and moves on."""
        state = self.state
        if state is None or state.active or self._reading:
            return
        stamp = results_stamp(state.sweep_dir)
        if stamp == self._rows_stamp:
            return
        self._reading = True
        self._read_rows(state, stamp)

    @work(thread=True, group="sweep-rows", exit_on_error=False)
    def _read_rows(self, state: SweepState, stamp: tuple) -> None:
        self.post_message(self.RowsRead(state, read_results(state.sweep_dir / RESULTS_FILE),
                                        stamp))

    @on(RowsRead)
    def _rows_read(self, message: RowsRead) -> None:
        self._reading = False
        if message.state is not self.state or self.state.active:
            return
        self._rows_stamp = message.stamp
        self.state.set_rows(message.rows)
        self._dirty = True

    # ------------------------------------------------------------ launching and stopping

    def action_launch(self) -> None:
        if self.process is not None and self.process.alive:
            busy = self.state is not None and self.state.active
            self.notify("this sweep is running; stop it first (ctrl+g)" if busy else
                        "the last sweep's process is still ending; try again in a moment",
                        severity="warning")
            return
        if self.spec is None:
            self.query_one(TabbedContent).active = "define"
            self._key_help(self.spec_error or "add an axis first", error=True)
            self.notify(self.spec_error or "add an axis first", title="cannot launch",
                        severity="error")
            return
        problem = self._check_backend()
        if problem:
            self.notify(problem, title="cannot launch", severity="error")
            return
        cfg = self.config
        folder = sweep_dir_for(self.root, self.spec)
        state = self.state
        if state is None or state.sweep_dir != folder or state.total != self.spec.size:
            state = SweepState(self.spec, folder)
            self._axes_changed_for(state)
        self.state = state
        state.active, state.ended, state.error, state.stopping = True, "", "", False
        state.started_at = None
        try:
            self.process = start_sweep(cfg, self.root, self.backend, self.n_workers,
                                       self.post_message)
        except Exception as exc:   # no process could be started
            state.active = False
            self.notify(f"{type(exc).__name__}: {exc}", title="cannot launch", severity="error")
            return
        self.open_path = None
        self._dirty = True
        self.refresh_bindings()
        self.query_one(TabbedContent).active = "grid"
        self.query_one(Heatmap).focus()

    def action_stop(self) -> None:
        if self.process is None or not self.process.alive:
            return
        self.process.stop()
        if self.state is not None:
            self.state.stopping = True
        self._dirty = True
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
                best = state.best(self._column())
                said = f"; best {state.metric} {sf.fmt(best.stat.mean)}" if best else ""
                self.notify(f"{event.done}/{event.total} points done{said}",
                            title="sweep stopped" if event.interrupted else "sweep finished")
        if state is not None and not state.active:
            self._rows_stamp = None                   # read results.csv once more
            self._refresh_folders()
        self.refresh_bindings()
        self._dirty = True

    # ------------------------------------------------------------ the views

    def _column(self) -> str:
        metric = self.state.metric if self.state else "metric"
        return f"{'final' if self.final else 'best'}_{metric}"

    def _axes_changed(self) -> None:
        self._axes_changed_for(self.state)

    def _axes_changed_for(self, state: SweepState | None) -> None:
        """New axes: reset the views' axis choices and rebuild their selectors."""
        if state is None:
            self._view_axes = ()
            self.x = self.y = self.lines_x = self.epochs_axis = ""
            self.lines_by = NO_AXIS
            for select_id in ("#grid-x", "#grid-y", "#lines-x", "#lines-by", "#epochs-axis"):
                select = self.query_one(select_id, Select)
                with select.prevent(Select.Changed):
                    select.set_options([])
            self._build_fixed(None)
            self._dirty = True
            return
        if tuple(state.axes) != self._view_axes:       # new axes: the views start afresh
            self._view_axes = tuple(state.axes)
            self.x, self.y = state.default_xy()
            self.lines_x = self.epochs_axis = ""
            self.fixed = {}
        elif not ({self.x, self.y} <= set(state.view_axes()) and self.x != self.y):
            self.x, self.y = state.default_xy()
        if self.lines_x not in state.axes:     # along the numeric axis with most values
            numeric = [a for a in state.axes if all(
                isinstance(v, (int, float)) and not isinstance(v, bool)
                for v in state.planned(a))]
            self.lines_x = max(numeric or state.axes, key=lambda a: len(state.planned(a)))
        if self.lines_by not in state.axes or self.lines_by == self.lines_x:
            others = [a for a in state.axes if a != self.lines_x
                      and 1 < len(state.planned(a)) <= 6]      # a line per cell, say
            self.lines_by = min(others, key=lambda a: len(state.planned(a))) if others \
                else NO_AXIS
        if self.epochs_axis not in state.axes:
            self.epochs_axis = state.axes[0]
        options = [(leaf(a) if a != SEED else "seed (each run)", a) for a in state.view_axes()]
        self._set_select("#grid-x", options, self.x)
        self._set_select("#grid-y", options, self.y)
        axis_options = [(leaf(a), a) for a in state.axes]
        self._set_select("#lines-x", axis_options, self.lines_x)
        self._set_select("#lines-by", [("nothing", NO_AXIS)] + axis_options, self.lines_by)
        self._set_select("#epochs-axis", axis_options, self.epochs_axis)
        self._build_fixed(state)
        self._epochs_key = None
        self._dirty = True

    def _set_select(self, selector: str, options: list, value: Any) -> None:
        select = self.query_one(selector, Select)
        with select.prevent(Select.Changed):
            select.set_options(options)
            select.value = value

    def _build_fixed(self, state: SweepState | None) -> None:
        """One selector per axis that is neither x nor y: the best of it, or one value."""
        axes = [] if state is None else [a for a in state.axes if a not in (self.x, self.y)
                                         and len(state.planned(a)) > 1]
        planned = {a: state.planned(a) for a in axes}
        self.fixed = {a: self.fixed.get(a, BEST) for a in axes}
        self.fixed = {a: c if c == BEST or c < len(planned[a]) else BEST
                      for a, c in self.fixed.items()}
        signature = tuple((a, tuple(sf.fmt(v) for v in planned[a])) for a in axes)
        if signature == self._fixed_signature:
            return
        self._fixed_signature = signature
        self.run_worker(self._mount_fixed(signature, dict(self.fixed)), group="sweep-fixed")

    async def _mount_fixed(self, signature: tuple, choices: dict[str, Any]) -> None:
        async with self._fixed_lock:              # one rebuild at a time, the last one wins
            if signature != self._fixed_signature:
                return
            box = self.query_one("#grid-fixed", Horizontal)
            await box.remove_children()
            widgets = []
            for axis, labels in signature:
                options = [("best of all", BEST)] + [(label, i) for i, label in
                                                     enumerate(labels)]
                widgets.append(Label(leaf(axis), classes="lbl gap"))
                widgets.append(Select(options, value=choices.get(axis, BEST),
                                      allow_blank=False, compact=True, classes="fixed-axis",
                                      name=axis))
            if widgets:
                await box.mount_all(widgets)

    def where(self) -> dict[str, Any]:
        state = self.state
        if state is None:
            return {}
        return {axis: state.planned(axis)[choice] for axis, choice in self.fixed.items()
                if choice != BEST and axis not in (self.x, self.y)}

    @on(Select.Changed, "#grid-x, #grid-y")
    def _grid_axes_changed(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str) or self.state is None:
            return
        new = event.value
        if event.select.id == "grid-x":
            if new == self.y:
                self.y = self.x
            self.x = new
        else:
            if new == self.x:
                self.x = self.y
            self.y = new
        self._axes_changed()

    @on(Select.Changed, ".fixed-axis")
    def _fixed_changed(self, event: Select.Changed) -> None:
        self.fixed[event.select.name] = event.value
        self._dirty = True

    @on(Select.Changed, "#lines-x, #lines-by")
    def _lines_axes_changed(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str):
            return
        if event.select.id == "lines-x":
            self.lines_x = event.value
        else:
            self.lines_by = event.value
        if self.lines_by == self.lines_x:     # a line per value of x itself says nothing
            self.lines_by = NO_AXIS
            select = self.query_one("#lines-by", Select)
            with select.prevent(Select.Changed):
                select.value = NO_AXIS
        self._dirty = True

    @on(Checkbox.Changed, "#lines-logx")
    def _log_x_changed(self, event: Checkbox.Changed) -> None:
        self.log_x = event.value
        self._dirty = True

    @on(Select.Changed, "#epochs-axis")
    def _epochs_axis_changed(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str):
            return
        self.epochs_axis = event.value
        self._dirty = True

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self._dirty = True
        self.refresh_bindings()

    def action_view(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        focus = {"grid": "#sweep-heatmap", "lines": "#lines-x", "epochs": "#epochs-axis",
                 "define": "#axis-key"}[tab]
        self.query_one(focus).focus()

    def action_toggle_spread(self) -> None:
        self.spread = not self.spread
        self._dirty = True
        self._redraw()

    def action_toggle_final(self) -> None:
        self.final = not self.final
        self._epochs_key = None
        self._dirty = True
        self._redraw()

    def action_swap_axes(self) -> None:
        if self.state is None:
            return
        self.x, self.y = self.y, self.x
        self._axes_changed()
        self._redraw()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.state is not None and self.state.active
        if action == "launch":
            return self.state is None or not self.state.active
        if action in ("toggle_spread", "swap_axes"):
            return self._tab() == "grid" and self.state is not None
        if action == "toggle_final":
            return self._tab() in ("grid", "lines") and self.state is not None
        return True

    def _tab(self) -> str:
        try:
            return self.query_one(TabbedContent).active
        except Exception:
            return ""

    def _redraw(self) -> None:
        if not self._dirty:
            self._status()        # the ETA moves on by itself
            return
        self._dirty = False
        self._status()
        tab = self._tab()
        if tab == "grid":
            self._draw_grid()
        elif tab == "lines":
            self._draw_lines()
        elif tab == "epochs":
            self._draw_epochs()

    def _status(self) -> None:
        self.query_one("#sweep-status", Static).update(self.status_text())

    def status_text(self) -> Text:
        state = self.state
        text = Text(no_wrap=True, overflow="ellipsis")
        if state is None:
            text.append("Sweep ", style="bold")
            text.append(f"{self.base.name or self.base.task.kind}", style="bold")
            text.append("  define the axes (1), then ctrl+r; or open a sweep folder (o)",
                        style="dim")
            return text
        done, total = state.done, state.total
        if state.active:
            mark, style = ("■ stopping", "yellow") if state.stopping else ("● running", "cyan")
        elif state.ended == "crashed":
            mark, style = "✗ failed", "red"
        elif done >= total:
            mark, style = "✓ done", "green"
        elif state.ended == "interrupted" or done:
            mark, style = "■ stopped", "yellow"
        else:
            mark, style = "○ not run", "dim"
        text.append(mark, style=f"bold {style}")
        text.append(f" {state.name}  ", style="bold")
        filled = round(10 * done / total) if total else 0
        text.append("█" * filled, style=style)
        text.append("░" * (10 - filled), style="dim")
        text.append(f" {done}/{total}")
        if state.running:
            fractions = [r.fraction for r in state.running.values() if r.fraction is not None]
            pct = f" {100 * sum(fractions) / len(fractions):.0f}%" if fractions else ""
            text.append(f" · {len(state.running)} running{pct}")
        best = state.best(self._column())
        if best is not None:
            label = " ".join(f"{leaf(a)}={show_value(best.values[a])}" for a in state.axes)
            text.append(f" · best {sf.fmt(best.stat.mean, 3)} ", style="bold")
            text.append(f"@ {label}", style="dim")
        eta = state.eta()
        if eta is not None:
            text.append(f" · ETA {duration(eta)}")
        if not state.active and 0 < done < total and state.ended != "crashed":
            text.append(" · ctrl+r resumes", style="dim")
        if state.ended == "crashed":
            text.append(f" · {state.error}", style="red")
        return text

    def _draw_grid(self) -> None:
        heatmap = self.query_one(Heatmap)
        state = self.state
        if state is None:
            heatmap.show(None, message=self.spec_error if self.table.get("grid") else "")
            self._show_cell()
            return
        where = self.where()
        s = surface_view(state, self.x, self.y, self._column(), where)
        heatmap.show(s, running=running_cells(state, self.x, self.y, where),
                     spread=self.spread)
        self._show_cell()

    @on(Heatmap.CursorMoved)
    def _cursor_moved(self) -> None:
        self._show_cell()

    def _show_cell(self) -> None:
        """The cursor's cell: a line about it and a table of its runs."""
        info = self.query_one("#cell-info", Static)
        table = self.query_one("#cell-runs", DataTable)
        heatmap = self.query_one(Heatmap)
        values = heatmap.cursor_values()
        state = self.state
        if state is None or values is None:
            info.update("")
            table.clear(columns=True)
            table.display = False
            return
        xv, yv = values
        column = self._column()
        where = self.where()
        rows = cell_rows(state, self.x, self.y, xv, yv, column, where)
        cell = heatmap.cursor_cell()
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"{leaf(self.x)}={show_value(xv)} {leaf(self.y)}={show_value(yv)}", style="bold")
        for axis, value in where.items():
            line.append(f" {leaf(axis)}={show_value(value)}", style="bold")
        if cell is not None and cell.group.stat is not None:
            st = cell.group.stat
            line.append(f"  {column.replace('_', ' ')} {sf.fmt(st.mean)}")
            if st.n > 1:
                line.append(f" ±{sf.fmt(st.std, 2)} over {st.n} seeds "
                            f"(min {sf.fmt(st.min, 3)}, max {sf.fmt(st.max, 3)})")
            if cell.covered > 1:
                best_of = " ".join(f"{leaf(a)}={show_value(cell.group.values[a])}"
                                   for a in cell.group.values if a not in (self.x, self.y))
                line.append(f"  best of {cell.covered}: {best_of}", style="dim")
            if cell.group.troubled:
                line.append(f"  {cell.group.troubled} diverged/failed", style="red")
        elif any(r["status"] == "running" for r in rows):
            line.append("  running", style="cyan")
        elif cell is not None:
            line.append("  no number: " + ", ".join(sorted(set(cell.group.statuses))),
                        style="red")
        else:
            line.append("  not run yet", style="dim")
        if rows:
            line.append("  · enter opens the best run; tab to the list", style="dim")
        info.update(line)
        self._fill_runs(table, rows, state, column)

    def _fill_runs(self, table: DataTable, rows: list[dict], state: SweepState,
                   column: str) -> None:
        extra = [a for a in state.axes if a not in (self.x, self.y)]
        columns = ["point", *(leaf(a) for a in extra), "seed", "status",
                   column.replace("_", " "), "steps", "sec"]
        if [str(c.label) for c in table.columns.values()] != columns:
            table.clear(columns=True)
            for c in columns:
                table.add_column(c, key=c)
        else:
            table.clear()
        for r in rows:
            status = r.get("status", "")
            if status == "running" and r.get("_progress") is not None:
                status = f"running {r['_progress'] * 100:.0f}%"
            style = {"running": "cyan", "diverged": "magenta", "failed": "red", "pruned": "blue",
                     "interrupted": "yellow"}.get(status.split()[0] if status else "", "")
            run = str(r.get("run", ""))
            table.add_row(Path(run).name.split("-", 1)[0], *(show_value(r.get(a)) for a in extra),
                          show_value(r.get(SEED)), Text(status, style=style),
                          Text(sf.fmt(r.get(column)), justify="right"),
                          Text(show_value(r.get("steps", "")), justify="right"),
                          Text(sf.fmt(r.get("seconds"), 3) if r.get("seconds") is not None
                               else "", justify="right"),
                          key=run or None)
        table.display = bool(rows)

    def _run_path(self, run: str) -> Path | None:
        if not run or self.state is None:
            return None
        path = Path(run)
        return path if path.is_absolute() or path.parent != Path(".") \
            else self.state.sweep_dir / run

    @on(Heatmap.CellChosen)
    def _cell_chosen(self, event: Heatmap.CellChosen) -> None:
        state = self.state
        if state is None:
            return
        rows = cell_rows(state, self.x, self.y, event.x, event.y, self._column(), self.where())
        if not rows:
            self.notify("this cell has not run yet", title="Sweep", severity="warning")
            return
        self.open_run(self._run_path(str(rows[0].get("run", ""))))

    @on(DataTable.RowSelected, "#cell-runs")
    def _run_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_run(self._run_path(str(event.row_key.value or "")))

    def open_run(self, path: Path | None) -> None:
        if path is None:
            return
        if not path.exists():
            self.notify(f"{path} does not exist (yet)", title="Sweep", severity="warning")
            return
        self.app.push_screen(RunDetailScreen(self.root, path))

    def _draw_lines(self) -> None:
        plot = self.query_one("#lines-plot", BandPlot)
        state = self.state
        if state is None:
            plot.show([], title="no sweep yet", xlabel="")
            return
        column = self._column()
        by = None if self.lines_by == NO_AXIS else self.lines_by
        found = sf.lines(state.result_rows(), state.axes, self.lines_x, column, state.goal,
                         by=by)
        title = f"{column.replace('_', ' ')} over {leaf(self.lines_x)} (mean over seeds)"
        plot.show(found, title=title, xlabel=self.lines_x, log_x=self.log_x)

    def _draw_epochs(self) -> None:
        state = self.state
        plot = self.query_one("#epochs-plot", CurvesPlot)
        if state is None:
            plot.show([], title="no sweep yet")
            return
        key = (id(state), state.version, self.epochs_axis)
        if key == self._epochs_key or self._epochs_busy:
            if self._epochs_busy:
                self._dirty = True                   # try again at the next tick
            return
        self._epochs_busy = True
        self._load_epochs(key, state, self.epochs_axis, state.result_rows())

    @work(thread=True, group="sweep-epochs", exit_on_error=False)
    def _load_epochs(self, key: tuple, state: SweepState, axis: str, rows: list[dict]) -> None:
        records = sf.load_records(state.sweep_dir, rows)
        self.post_message(self.EpochsReady(key, sf.epoch_lines(rows, records, axis,
                                                               state.metric)))

    @on(EpochsReady)
    def _epochs_ready(self, message: EpochsReady) -> None:
        self._epochs_busy = False
        self._epochs_key = message.key
        state = self.state
        if state is None:
            return
        curves = [Curve(line.label, [float(x) for x in line.xs], line.means, index=i)
                  for i, line in enumerate(message.lines) if line.xs]
        plot = self.query_one("#epochs-plot", CurvesPlot)
        plot.show(curves, title=f"val {state.metric} per {leaf(message.key[2])} "
                  "(mean of runs)", xlabel="epoch",
                  message="" if curves else "no validation records yet")

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
