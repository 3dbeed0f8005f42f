"""The app's own messages: small dataclasses, posted (thread-safely) by the training workers
and the sweep's process."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from lstm_tui.tui.worker import EventInbox


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
class SweepEvents(Message):
    """New events of the Sweep screen's sweep wait in `inbox` (filled by
    :class:`~lstm_tui.tui.sweep_process.SweepProcess`); a newer message replaces a queued one."""
    inbox: EventInbox

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SweepEvents) and message.inbox is self.inbox
