"""The lstm-lab app: its screens (one mode each), the runs it trains, and its factory.

The app owns the training runs, so they outlive a switch of screen: ``start_training``
hands a config to the :class:`~lstm_tui.tui.worker.Trainer`, the worker's messages are
applied here to a :class:`~lstm_tui.tui.live.RunState` per run, and the Lab screen is
told which run changed (it redraws at its own pace).  Quitting stops every run first.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from lstm_tui.config import RunConfig
from lstm_tui.numbers import fmt
from lstm_tui.numbers import printable
from lstm_tui.tui import collector
from lstm_tui.tui.errors import report_worker_error
from lstm_tui.tui.messages import (SweepPresetLoaded, TaskPluginsScanned, TrainingEvents,
                                   WorkerFailed)

if TYPE_CHECKING:   # the run state and the trainer (events, multiprocessing, the run
    # store's modules) are imported when the first run starts, not before the first frame
    from lstm_tui.tui.live import RunState
    from lstm_tui.tui.worker import Trainer, TrainingHandle


@dataclass(frozen=True)
class Mode:
    """A top-level screen: its key, title, class ("module:Class", imported when first
    shown) and how to build it from the app."""
    name: str
    key: str
    title: str
    help: str
    screen: str
    build: Callable[[LabApp, type], Screen]


# A new screen (e.g. sweeps) is one more entry here, with its module under tui/screens/.
MODES = (
    Mode("lab", "f2", "Lab", "configure a task and a model, train it, watch it learn",
         "lstm_tui.tui.screens.lab:LabScreen", lambda app, cls: cls(preset=app.preset)),
    Mode("runs", "f3", "Runs", "every run in the store: open, compare, sample",
         "lstm_tui.tui.screens.runs:RunsScreen", lambda app, cls: cls(app.runs_root)),
    Mode("sample", "f4", "Sample", "generate text from a char_lm run",
         "lstm_tui.tui.screens.sample:SampleScreen", lambda app, cls: cls(app.runs_root)),
    Mode("sweep", "f5", "Sweep", "grid of runs over the Lab's config; watch the surface fill in",
         "lstm_tui.tui.screens.sweep:SweepScreen",
         lambda app, cls: cls(app.runs_root, app.lab.sweep_config() if app.lab else None)),
)


def screenshot_folder(runs_root: Path) -> Path:
    """Where a screenshot goes: the first writable of ~/Downloads, the current folder and
    the run store."""
    import os
    from platformdirs import user_downloads_path
    for folder in (user_downloads_path(), Path.cwd(), Path(runs_root)):
        if folder.is_dir() and os.access(folder, os.W_OK):
            return folder
    return Path.cwd()


class LabApp(App):
    """A terminal lab for recurrent networks."""

    CSS_PATH = "app.tcss"
    TITLE = "lstm-lab"
    BINDINGS = [Binding(m.key, f"mode('{m.name}')", m.title, tooltip=m.help) for m in MODES] + [
        Binding("ctrl+q", "quit", "Quit", priority=True, tooltip="stop every run, then quit"),
    ]
    DEFAULT_MODE = "lab"

    def __init__(self, runs_root: Path, trainer: Trainer | None = None,
                 preset: Path | None = None) -> None:
        super().__init__()
        self.runs_root = Path(runs_root)
        self._trainer = trainer
        self.preset = preset
        self.states: dict[str, RunState] = {}
        self.handles: dict[str, TrainingHandle] = {}
        for mode in MODES:
            self.add_mode(mode.name, partial(self._build, mode))

    def notify(self, message: str, *, title: str = "", **kwargs) -> None:
        """Every toast: its words often quote a run's name, a note or a file; shown
        with control characters escaped (lstm_tui.numbers)."""
        super().notify(printable(str(message), lines=True), title=printable(str(title)),
                       **kwargs)

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """ctrl+p → Screenshot: into ~/Downloads when it exists, else the current folder,
        else the run store (Textual would fail on a machine without ~/Downloads); the
        notice names the file."""
        if path is None:
            path = str(screenshot_folder(self.runs_root))
        return super().deliver_screenshot(filename, path, time_format)

    # ------------------------------------------------------------ after the first frame

    @on(events.Ready)
    def _first_frame_painted(self) -> None:
        """Start-up work the first frame does not show waits until it is painted: the scan
        for task plugins (it reads every installed package's metadata and imports the
        plugins: a thread), the Lab's hidden panes (in the Lab's own queue) and its
        preset's data files (a thread).  The garbage collector, if `lstm-lab` paused it
        for start-up, runs again."""
        collector.resume()
        self._scan_task_plugins()
        if self.lab is not None:
            self.lab.fill_hidden_panes()
            self.lab.read_data_files()

    @work(thread=True, group="task-plugins", exit_on_error=False)
    def _scan_task_plugins(self) -> None:
        from lstm_tui.models.cells import registry as cells
        from lstm_tui.tasks.registry import kinds, problems
        self.post_message(TaskPluginsScanned(kinds(), problems(), cells.problems()))

    @on(TaskPluginsScanned)
    def _task_plugins_scanned(self, message: TaskPluginsScanned) -> None:
        for line in message.problems:   # a broken plugin: said once, the lab goes on
            self.notify(line, title="task plugin skipped", severity="warning", timeout=15)
        for line in message.cell_problems:
            self.notify(line, title="cell plugin skipped", severity="warning", timeout=15)
        if self.lab is not None:
            self.lab.show_kinds(message.kinds)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "task-plugins" and event.state == WorkerState.ERROR:
            report_worker_error(self, event.worker)

    # ------------------------------------------------------------ screens

    def _screen_class(self, mode: Mode) -> type:
        module, name = mode.screen.split(":")
        return getattr(importlib.import_module(module), name)

    def _build(self, mode: Mode) -> Screen:
        return mode.build(self, self._screen_class(mode))

    def action_mode(self, name: str) -> None:
        mode = next(m for m in MODES if m.name == name)
        try:
            self._screen_class(mode)
        except (ImportError, AttributeError) as exc:
            self.notify(f"the {mode.title} screen is not available: {exc}",
                        severity="error")
            return
        self.switch_mode(name)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The key of the screen on show is left out of the footer (it would do nothing)."""
        if action == "mode" and parameters and parameters[0] == self.current_mode:
            return False
        return True

    def on_sweep_preset_loaded(self, message: SweepPresetLoaded) -> None:
        stack = self._screen_stacks.get("sweep")
        if stack:
            stack[0].take_preset(message.config)

    @property
    def lab(self):
        """The Lab screen once built (it draws the runs)."""
        stack = self._screen_stacks.get("lab")
        return stack[0] if stack else None

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette lists every action: screens, every binding (shown in the footer or
        kept out of it for room), screen extras."""
        yield from super().get_system_commands(screen)
        for mode in MODES:
            yield SystemCommand(f"{mode.title} screen ({mode.key})", mode.help,
                                partial(self.action_mode, mode.name))
        seen = {f"mode('{m.name}')" for m in MODES} | {"quit", "command_palette"}
        for active in screen.active_bindings.values():
            binding = active.binding
            if binding.action in seen or not binding.description:
                continue
            seen.add(binding.action)
            yield SystemCommand(f"{binding.description} ({binding.key})",
                                binding.tooltip or binding.description,
                                partial(self.run_action, binding.action, active.node))
        extras = getattr(screen, "palette_commands", None)
        if extras is not None:
            yield from extras()

    # ------------------------------------------------------------ training runs

    @property
    def trainer(self) -> Trainer:
        """The trainer given, else the real one (a process per run), made on first use."""
        if self._trainer is None:
            from lstm_tui.tui.worker import ProcessTrainer
            self._trainer = ProcessTrainer()
        return self._trainer

    def start_training(self, cfg: RunConfig) -> str | None:
        """Start a run; its events arrive as TrainingEvents.  Returns its key."""
        try:
            handle = self.trainer.start(cfg, self.runs_root, self.post_message)
        except Exception as exc:   # e.g. no process could be started
            self.notify(f"{type(exc).__name__}: {exc}", title="cannot start",
                        severity="error")
            return None
        from lstm_tui.tui.live import RunState
        self.handles[handle.key] = handle
        self.states[handle.key] = RunState(handle.key, cfg)
        return handle.key

    def stop_training(self, key: str) -> None:
        state, handle = self.states.get(key), self.handles.get(key)
        if state is None or handle is None or not state.active:
            return
        state.request_stop()
        handle.stop()
        self._changed(key)

    def _changed(self, key: str) -> None:
        lab = self.lab
        if lab is not None:
            lab.run_changed(key)

    @on(TrainingEvents)
    def _training_events(self, message: TrainingEvents) -> None:
        state = self.states.get(message.key)
        if state is None:
            return
        was_active = state.active
        for event in message.inbox.take():
            state.apply(event)
        if was_active and not state.active:
            self._announce_end(state)
        self._changed(message.key)

    @on(WorkerFailed)
    def _worker_failed(self, message: WorkerFailed) -> None:
        state = self.states.get(message.key)
        if state is None:
            return
        state.fail(message.error)
        self._announce_end(state)
        self._changed(message.key)

    def _announce_end(self, state: RunState) -> None:
        if state.status == "failed":
            self.notify(state.message, title=f"{state.label} failed", severity="error",
                        timeout=10)
        elif state.status == "diverged":
            self.notify(state.message, title=f"{state.label} diverged", severity="warning",
                        timeout=10)
        else:
            self.notify(f"{state.status} at step {state.step:,}; best {state.metric} "
                        f"{fmt(state.best)}", title=state.label)

    def active_handles(self) -> list[TrainingHandle]:
        return [h for h in self.handles.values() if h.alive]

    def stop_all_blocking(self, timeout: float | None = None) -> None:
        """Stop every run and wait for their processes (used on the way out; by default
        as long as a stopped process gets, and 5 s more)."""
        from lstm_tui.tui.worker import STOP_GRACE
        timeout = STOP_GRACE + 5 if timeout is None else timeout
        handles = self.active_handles()
        for handle in handles:
            handle.stop()
        deadline = time.monotonic() + timeout
        for handle in handles:
            handle.wait(max(0.0, deadline - time.monotonic()))

    async def action_quit(self) -> None:
        """Stop every run cleanly (they end `interrupted`), then quit."""
        if self.lab is not None:
            await self.lab.panes_settled()
        active = [key for key, h in self.handles.items() if h.alive]
        if active:
            for key in active:
                self.stop_training(key)
            self.notify(f"stopping {len(active)} run{'s' * (len(active) > 1)}…",
                        title="quitting")
            await asyncio.to_thread(self.stop_all_blocking)
        self.exit()


def make_app(runs_root: Path, trainer: Trainer | None = None,
             preset: Path | None = None) -> LabApp:
    """The app with its dependencies: tests pass a fake trainer (None: the real one)."""
    return LabApp(runs_root, trainer, preset)
