"""The app's own messages: small dataclasses, posted (thread-safely) by the training workers
and the sweep's process, and by the Sweep screen's views to their screen."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from lstm_tui.tui.inbox import EventInbox

if TYPE_CHECKING:
    from lstm_tui.config import RunConfig
    from lstm_tui.sweeps.spec import SweepSpec


@dataclass
class TrainingEvents(Message):
    """New engine events of run `key` wait in `inbox`.

    A newer message for the same run replaces a queued one: the inbox holds every event,
    so a busy app applies a whole backlog at once instead of redrawing per batch.
    """
    key: str
    inbox: EventInbox

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TrainingEvents) and message.key == self.key


@dataclass
class WorkerFailed(Message):
    """The training process of run `key` died without reporting an end (crash, kill)."""
    key: str
    error: str


@dataclass
class TaskPluginsScanned(Message):
    """The plugin scan (a thread, after the first frame) is done: every task kind now
    known, and one line per task or cell plugin that could not be loaded."""
    kinds: list[str]
    problems: list[str]
    cell_problems: list[str] = field(default_factory=list)


@dataclass
class DataFilesRead(Message):
    """The Lab's preset's data files were read in a thread (after the first frame), so
    checking and describing its task no longer waits on them; read or not (an unreadable
    file is the check's to say)."""


@dataclass
class SweepEvents(Message):
    """New events of the Sweep screen's sweep wait in `inbox` (filled by
    :class:`~lstm_tui.tui.sweep.process.SweepProcess`); a newer message replaces a queued one."""
    inbox: EventInbox

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SweepEvents) and message.inbox is self.inbox


# ---------------------------------------------------------------- the Sweep screen's views

@dataclass
class SweepDefined(Message):
    """The Define view's sweep changed: its spec, or None and the one-line `error`.

    `loaded` is True when the definition came from a config or a folder rather than an
    edit (the screen keeps showing an opened folder then)."""
    spec: SweepSpec | None
    error: str
    loaded: bool = False


@dataclass
class SweepFolderPicked(Message):
    """A ``sweep-*`` folder of the store was chosen to be opened."""
    path: Path


@dataclass
class RunPicked(Message):
    """A view asks for a run folder to be opened in the run detail screen."""
    path: Path


@dataclass
class SweepPresetLoaded(Message):
    """The Lab loaded a sweep preset: the Sweep screen, when built and idle, takes its
    [sweep] table (before it is built, the screen is made from the Lab's sweep_config)."""
    config: "RunConfig"
