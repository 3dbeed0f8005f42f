"""The Lab screen: configure a task, a model and training; start runs; watch them learn.

Panes (tabs, so the screen works from 80x24 up): Dataset, Model (with the live parameter
summary), Training, Live (active runs, charts, gradient heatmap, text sample).  Two status
lines stay visible under every pane: the selected run's progress and the config check.
The forms come from ``config.field_specs``; training goes through ``app.start_training``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container, Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header, Label, Select, Static, TabbedContent, TabPane

from lstm_tui.devices import device_labels
from lstm_tui.config import (ConfigError, ModelConfig, RunConfig, TrainConfig, load_preset,
                             parse_config)
from lstm_tui.models.cells import registry as cells
from lstm_tui.models.cells.base import OPTIONS
from lstm_tui.tasks import downloads
from lstm_tui.tasks.registry import DEFAULT_KIND, data_files, data_preview, known_kinds, spec_of
from lstm_tui.numbers import printable
from lstm_tui.tasks.shapes import describe_task
from lstm_tui.tui.messages import DataFilesRead, SweepPresetLoaded
from lstm_tui.tui.widgets.footer import Footer
from lstm_tui.tui.widgets.config_form import ConfigForm, FormColumn
from lstm_tui.tui.widgets.data_preview import DataPreview
from lstm_tui.tui.widgets.summary_table import SummaryPanel, task_text

if TYPE_CHECKING:
    from lstm_tui.tui.live import RunState

PANES = {"dataset": "Dataset", "model": "Model", "training": "Training", "live": "Live"}
HIDDEN_PANES = ("model", "training", "live")   # not on the first frame: filled after it
class LabScreen(Screen):
    """Configure, start, stop, save/load presets, and watch the selected run."""

    BINDINGS = [
        Binding("ctrl+r", "start", "Start", tooltip="Train this config in a new process"),
        Binding("ctrl+g", "stop", "Stop", tooltip="Stop the selected run (ends interrupted)"),
        Binding("ctrl+s", "save_preset", "Save", tooltip="Save the config as a preset file"),
        Binding("ctrl+o", "load_preset", "Load", tooltip="Load a preset into the forms"),
        Binding("ctrl+l", "pane('live')", "Live", tooltip="Show the live charts",
                show=False),  # the Live tab is one click away; the footer must fit 80 columns
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    REDRAW_EVERY = 0.5           # seconds: charts redraw at most twice a second (each redraw
                                 # costs ~25 ms of a core that a 2-core box needs for training)

    def __init__(self, preset: Path | None = None) -> None:
        # The width class from the start: Textual sets it on the first resize, which would
        # restyle every widget once more before the first frame.
        width = self.app.size.width
        width_class = next(name for at, name in sorted(self.HORIZONTAL_BREAKPOINTS, reverse=True)
                           if width >= at)
        super().__init__(id="lab", classes=width_class)
        self.preset = preset
        self.selected: str | None = None
        self._cursor_to_selected = False    # a new run is selected: its row gets the cursor
        self.config: RunConfig | None = None
        self.config_error = ""
        self.expect: dict | None = None     # the loaded preset's [expect], kept for its runs
        self.sweep_tables: dict = {}        # a loaded sweep preset's [sweep] and [expect]
        self._dirty: set[str] = set()
        self._drawn_once = False
        self._summary_shown: tuple = ()
        self._task_values: dict[str, dict] = {}
        self._filling = False
        self._filled = asyncio.Event()      # the hidden panes' contents are mounted
        self._resumed = False
        self._reading = False               # the preset's data files: read after the first frame
        # Built here, mounted in their panes: the hidden panes mount after the first frame,
        # and the config can be read and set before that.
        kind, values = DEFAULT_KIND, None
        if preset is not None:      # its task's form from the start; on_mount loads the rest
            with contextlib.suppress(ConfigError):      # said then
                task = load_preset(preset, files=False).task
                kind, values = task.kind, dataclasses.asdict(task)
        self.task_form = ConfigForm("task", spec_of(kind).config, values, skip=("kind",),
                                    id="task-form")
        self._kinds = known_kinds()     # with a preset's plugin kind; others join after the scan
        self.model_form = ConfigForm("model", ModelConfig, id="model-form")
        self._cell_fields()
        self.run_form = ConfigForm("", RunConfig, id="run-form")
        self.train_form = ConfigForm("train", TrainConfig, labels={"device": device_labels()},
                                     id="train-form")
        self.task_info = Static(id="task-info")
        self.data_preview = DataPreview(id="data-preview")
        self.summary = SummaryPanel(id="summary")

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="panes", initial="dataset"):
            with TabPane(PANES["dataset"], id="dataset"):
                with Horizontal(classes="pane-row"):
                    with FormColumn(classes="form-column", id="task-column"):
                        with Container(classes="config-form"):
                            yield Label("kind", classes="field-name")
                            yield Select([(k, k) for k in self._kinds], value=self.kind,
                                         allow_blank=False, compact=True, id="task-kind",
                                         classes="field-editor")
                            yield Static("the task the network learns", classes="field-help")
                        yield self.task_form
                    yield VerticalScroll(self.task_info, self.data_preview, classes="side-panel")
            for pane in HIDDEN_PANES:       # empty until fill_hidden_panes
                yield TabPane(PANES[pane], id=pane)
        yield Static(id="run-status")
        yield Static(id="check-status")
        yield Footer(compact=True)

    def _pane_content(self, pane: str) -> Widget:
        """What a pane holds beyond the first frame (built when it is mounted)."""
        if pane == "model":
            return Horizontal(FormColumn(self.model_form, classes="form-column"),
                              VerticalScroll(self.summary, classes="side-panel"),
                              classes="pane-row")
        if pane == "training":
            return FormColumn(self.run_form, self.train_form, classes="form-column single")
        from lstm_tui.tui.widgets.live_view import live_view   # plotext, DataTable: only now
        return live_view()

    def read_data_files(self) -> None:
        """Read the opening preset's data files in a thread: the app calls this once the
        first frame is painted, which showed "reading…" where their sizes go."""
        if self._reading:           # no config: a field is wrong, the check says which
            self._read_files(self.config.task if self.config else None)

    @work(thread=True, group="data-files", exit_on_error=False)
    def _read_files(self, task_cfg) -> None:
        try:     # the readers cache what they read: the check and the summary reuse it
            with downloads.forbidden():
                if task_cfg is not None:
                    describe_task(task_cfg)
                    data_preview(task_cfg)
        except Exception:   # noqa: BLE001  (the check, on the UI's side, says what is wrong)
            pass
        finally:
            self.post_message(DataFilesRead())

    @on(DataFilesRead)
    def _files_read(self) -> None:
        if self._reading:
            self._reading = False
            self.revalidate()

    def _unread_files(self, task_cfg) -> list[str]:     # while they are being read
        return data_files(task_cfg) if self._reading else []

    def fill_hidden_panes(self) -> None:
        """Fill the panes the first frame does not show, in this screen's queue: the app
        calls this once that frame is painted.  Their forms hold their values meanwhile,
        and the Live view draws once its pane is there."""
        if not self._filling:
            self._filling = True        # from now on, quitting waits for the fill
            self.call_later(self._fill)

    async def _fill(self) -> None:
        if self.panes_filled:
            return
        self._filling = True
        try:
            for pane in HIDDEN_PANES:
                holder = self.query_one(f"#{pane}", TabPane)
                if not holder.is_attached:      # the app is closing
                    return
                await holder.mount(self._pane_content(pane))
        finally:
            self._filled.set()      # also after a failure: quitting must never wait forever
        self._show_model_summary()
        self.refresh_live(force=True)

    @property
    def panes_filled(self) -> bool:
        return self._filled.is_set()

    async def panes_settled(self) -> None:
        """Return once no pane is being filled (quitting in the middle of a mount would cut
        it short and fail).  Not from this screen's own queue, where the fill runs."""
        if self._filling:
            await self._filled.wait()

    def show_kinds(self, kinds: list[str]) -> None:
        """Offer these task kinds (the app's plugin scan found them after the first frame)."""
        if kinds == self._kinds:
            return
        self._kinds = list(kinds)
        select = self.query_one("#task-kind", Select)
        with select.prevent(Select.Changed):     # new options reset the choice: keep it
            select.set_options([(k, k) for k in self._kinds])
            select.value = self.kind

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        """Textual restyles every widget of a resumed screen (in its handler, after this
        one); at the first resume they were styled a moment before, as they mounted."""
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    async def on_mount(self) -> None:
        self.sub_title = printable(str(self.app.runs_root))
        if self.preset is not None:
            self._reading = True    # its data files (pandas, numpy) wait for the first frame
            await self.load(self.preset)
        self.revalidate()
        self.refresh_live(force=True)
        self.set_interval(self.REDRAW_EVERY, self.refresh_live)

    # ------------------------------------------------------------ forms

    @property
    def kind(self) -> str:
        return self.task_form.cls.__dataclass_fields__["kind"].default

    @property
    def forms(self) -> list[ConfigForm]:
        """In the order of the panes, so the first error named is the first one on screen."""
        return [self.task_form, self.model_form, self.run_form, self.train_form]

    def config_data(self) -> dict:
        """The forms' valid values as preset tables."""
        data = {**self.run_form.values, "task": {"kind": self.kind, **self.task_form.values},
                "model": dict(self.model_form.values), "train": dict(self.train_form.values)}
        if self.expect is not None:
            try:
                parse_config({**data, "expect": self.expect}, files=not self._reading)
                data["expect"] = self.expect
            except ConfigError:
                pass    # the edited config no longer records what the preset expected
        return data

    def sweep_config(self) -> RunConfig | None:
        """The config for the Sweep screen: with the loaded sweep preset's tables while the
        edited config still takes them, else the config alone."""
        if self.config is None or not self.sweep_tables:
            return self.config
        try:
            return parse_config({**self.config_data(), **self.sweep_tables})
        except ConfigError:
            return self.config

    @on(ConfigForm.Changed)
    def _form_changed(self, event: ConfigForm.Changed) -> None:
        if event.form is self.model_form and event.name == "cell":
            self._cell_fields()
        self.revalidate()

    def _cell_fields(self) -> None:
        """The Model pane shows the options the chosen cell takes, and what the cell is."""
        spec = cells.get(self.model_form.values.get("cell", ""))
        if spec is not None:      # else not a cell (the field says why)
            self.model_form.hide({o for o in OPTIONS if o not in spec.options})
            self.model_form.set_help("cell", f"{spec.summary} ({spec.paper})")

    @on(Select.Changed, "#task-kind")
    async def _kind_changed(self, event: Select.Changed) -> None:
        # the select's value now, not the event's: a queued, stale Changed must not undo a load
        await self.set_task(str(self.query_one("#task-kind", Select).value))
        self.revalidate()

    async def set_task(self, kind: str, values: dict | None = None) -> None:
        """Show the fields of task `kind` (values given, remembered, or the defaults)."""
        if kind not in self._kinds:      # a preset's plugin kind, before the scan reported it
            self.show_kinds(known_kinds())
        select = self.query_one("#task-kind", Select)
        if select.value != kind:
            with select.prevent(Select.Changed):
                select.value = kind
        if self.kind == kind:
            if values:
                self.task_form.set_values(values)
            return
        self._task_values[self.kind] = dict(self.task_form.values)
        old, self.task_form = self.task_form, ConfigForm(
            "task", spec_of(kind).config, values or self._task_values.get(kind), skip=("kind",),
            id="task-form")
        await old.remove()
        await self.query_one("#task-column").mount(self.task_form)

    def revalidate(self) -> RunConfig | None:
        """Check the whole config (cross-field rules too); update summary and status line."""
        forms = self.forms
        self.config, self.config_error, key = None, "", None
        field_errors = [e for f in forms for e in f.errors.values()]
        if field_errors:
            self.config_error = field_errors[0]
        else:
            try:
                self.config = parse_config(self.config_data(), files=not self._reading)
            except ConfigError as exc:
                self.config_error, key = str(exc), exc.key
        for form in forms:
            form.show_cross_error(key, self.config_error)
        self._show_summary()
        status = self.query_one("#check-status", Static)
        status.set_class(bool(self.config_error), "-error")
        unread = self._unread_files(self.config.task) if self.config else []
        if self.config_error:
            more = f" (+{len(field_errors) - 1} more)" if len(field_errors) > 1 else ""
            status.update(Text(f"✗ {self.config_error}{more}"), layout=False)
        elif unread:
            status.update(Text(f"reading {', '.join(unread)}… (checked once read)",
                               style="dim"), layout=False)
        else:
            cfg = self.config
            status.update(Text(f"✓ ready: {cfg.task.kind}, {cfg.model.cell} "
                               f"{cfg.model.hidden}×{cfg.model.layers}"
                               f"{' bidirectional' if cfg.model.bidirectional else ''}"
                               f" · ctrl+r starts it"), layout=False)
        return self.config

    def _show_summary(self) -> None:
        """The task's sizes and the model's summary (redrawn only when they change): from
        (task config, its shape, model config); without a task config the shape is the
        error to show, and while its data files are read it is their list."""
        task_form, model_form = self.task_form, self.model_form
        if task_form.errors or model_form.errors:
            shown: tuple = (None, "", None)
        else:
            task_cfg = task_form.cls(**task_form.values)
            unread = self._unread_files(task_cfg)
            try:   # describing never downloads (text8): a run fetches it, in its process
                with downloads.forbidden():
                    shown = (task_cfg, describe_task(task_cfg) if not unread else unread,
                             ModelConfig(**model_form.values))
            except (ConfigError, ValueError) as exc:   # an unreadable text; a kind shapes lacks
                shown = (None, str(exc), None)
        if shown == self._summary_shown:
            return
        self._summary_shown = shown
        task_cfg, shape, _ = shown
        if isinstance(shape, list):     # its data files are being read
            self.task_info.update(Text(f"reading {', '.join(shape)}…", style="dim"))
            self.data_preview.show(None)
        elif task_cfg is None:
            error = shape or "fix the fields marked in red"
            self.task_info.update(Text(error, style="red" if shape else "dim"))
            self.data_preview.show(None)
        else:
            self.task_info.update(task_text(task_cfg, shape))
            self.data_preview.show(data_preview(task_cfg))
        self._show_model_summary()

    def _show_model_summary(self) -> None:
        """The Model pane's parameter table, once that pane is there (the first frame
        does without it, and without the modules that compute it)."""
        if self.summary.is_attached:
            self.summary.show_config(*(self._summary_shown or (None, "", None)))

    async def apply_config(self, cfg: RunConfig) -> None:
        """Fill every form from a config (a loaded preset)."""
        self.expect = cfg.expect if cfg.sweep is None else None   # a sweep's is its own
        self.sweep_tables = {} if cfg.sweep is None else {
            "sweep": cfg.sweep, **({"expect": cfg.expect} if cfg.expect else {})}
        await self.set_task(cfg.task.kind, dataclasses.asdict(cfg.task))
        self.model_form.set_values(dataclasses.asdict(cfg.model))
        self._cell_fields()
        self.train_form.set_values(dataclasses.asdict(cfg.train))
        self.run_form.set_values({"name": cfg.name, "description": cfg.description})
        self.revalidate()

    async def load(self, path: Path) -> bool:
        try:
            cfg = load_preset(path, files=not self._reading)
        except ConfigError as exc:
            self.notify(str(exc), title="cannot load preset", severity="error")
            return False
        await self.apply_config(cfg)
        extra = ""
        if cfg.sweep is not None:
            extra = " (the base config here; its [sweep] table opens in the Sweep screen, f5)"
            self.app.post_message(SweepPresetLoaded(cfg))
        self.notify(f"loaded {path}{extra}", title="preset")
        return True

    # ------------------------------------------------------------ actions

    def action_pane(self, pane: str) -> None:
        """Show a pane and put the focus in it (a focus left behind would switch back)."""
        self.query_one("#panes", TabbedContent).active = pane
        self.set_focus(next(iter(self.query(f"#{pane} .field-editor, #{pane} #active-runs")),
                            None))

    def action_start(self) -> None:
        if self._reading:       # the data files' check cannot wait for the thread
            self._files_read()
        cfg = self.revalidate()
        if cfg is None:
            self.notify(self.config_error, title="cannot start", severity="error")
            return
        key = self.app.start_training(cfg)
        if key is None:
            return
        self.selected, self._cursor_to_selected = key, True
        self._dirty.add(key)
        self.action_pane("live")
        self.refresh_live(force=True)

    def action_stop(self) -> None:
        state = self.app.states.get(self.selected or "")
        if state is None or not state.active:
            self.notify("no training run is selected", severity="warning")
            return
        self.app.stop_training(state.key)

    def action_stop_all(self) -> None:
        for state in list(self.app.states.values()):
            if state.active:
                self.app.stop_training(state.key)

    def action_save_preset(self) -> None:
        from lstm_tui.tui.screens.presets import save_preset
        cfg = self.revalidate()
        if cfg is None:
            self.notify(self.config_error, title="cannot save", severity="error")
            return
        save_preset(self, cfg)

    def action_load_preset(self) -> None:
        from lstm_tui.tui.screens.presets import LoadPresetScreen

        async def loaded(result: tuple[Path, RunConfig] | None) -> None:
            if result is not None:
                await self.load(result[0])
        self.app.push_screen(LoadPresetScreen(), loaded)

    def palette_commands(self) -> Iterable[SystemCommand]:
        """Actions without a key of their own (the app adds every bound one)."""
        for pane, title in PANES.items():
            yield SystemCommand(f"Show the {title} pane", f"switch the Lab to its {title} tab",
                                lambda pane=pane: self.action_pane(pane))
        yield SystemCommand("Stop all runs", "stop every run that is training",
                            self.action_stop_all)

    # ------------------------------------------------------------ live view

    def run_changed(self, key: str) -> None:
        """The app applied new events of run `key` (drawn at the next tick)."""
        self._dirty.add(key)

    def on_data_table_row_highlighted(self, event) -> None:
        """The run highlighted in the Live pane's table is drawn (a DataTable's message)."""
        if event.data_table.id != "active-runs":
            return
        if event.row_key.value != self.selected:
            self.selected = event.row_key.value
            self.refresh_live(force=True)

    def refresh_live(self, force: bool = False) -> None:
        """Redraw what changed: rows of the runs table, the selected run's charts."""
        if not self.query("#active-runs"):
            return      # the Live pane is not mounted yet; the next tick draws
        force, self._drawn_once = force or not self._drawn_once, True
        states = self.app.states
        dirty, self._dirty = self._dirty, set()
        from lstm_tui.tui.widgets.live_view import show_rows     # imported by now
        move, self._cursor_to_selected = self._cursor_to_selected, False
        force = show_rows(self.query_one("#active-runs"), states, dirty, self.selected, move,
                          self.app.size.width) or force     # refitted: every row anew
        if force or self.selected in dirty:
            self._draw(states.get(self.selected or ""))

    @on(TabbedContent.TabActivated, "#panes")
    async def _pane_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id != "dataset":
            await self._fill()      # shown before the first frame was painted
        if event.pane.id == "live":
            self.refresh_live(force=True)

    def _draw(self, state: RunState | None) -> None:
        """The status line always; the charts only while the Live pane is on show."""
        status = self.query_one("#run-status", Static)
        if state is None:
            status.update(Text("no run yet · ctrl+r trains the config in a new process; "
                               "several may run at once", style="dim"), layout=False)
            self.query_one("#sample", Static).display = False
            return
        line = Text(f"{state.label}: ", style="bold")
        room = (status.size.width or self.app.size.width) - 2 - line.cell_len
        line.append(state.progress_line(room))
        if state.message:
            line.append(f" · {printable(state.message)}",
                        style="red" if state.status in ("failed", "diverged") else "dim")
        status.update(line, layout=False)
        status.set_class(state.status == "failed", "-error")
        if self.query_one("#panes", TabbedContent).active == "live":   # else when shown
            from lstm_tui.tui.widgets.live_view import draw_charts     # imported by now
            draw_charts(self, state)
