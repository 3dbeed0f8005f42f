"""The hand-over between a worker thread and the app: events waiting to be applied.

Its own module because both sides need it: :mod:`lstm_tui.tui.worker` fills it and
:mod:`lstm_tui.tui.messages` carries it.  Plain Python, no Textual.
"""

from __future__ import annotations

import threading


class EventInbox:
    """Events of one run not yet applied by the app; filled by a thread, emptied by the app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list = []

    def put(self, events: list) -> None:
        with self._lock:
            self._events.extend(events)

    def take(self) -> list:
        with self._lock:
            events, self._events = self._events, []
        return events
