"""Screens that follow the run store: a timer that rereads it, paused while covered."""

from __future__ import annotations

from textual.screen import Screen
from textual.timer import Timer


class PollingScreen(Screen):
    """Calls ``self.poll()`` now and every ``poll_seconds``; the timer pauses while another
    screen covers this one.  Textual runs the suspend/resume handlers of every class in
    the MRO, so a subclass may add its own without calling these."""

    poll_seconds: float = 1.5
    _poll_timer: Timer | None = None

    def start_polling(self) -> None:
        self._poll_timer = self.set_interval(self.poll_seconds, self.poll)
        self.poll()

    def on_screen_suspend(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.pause()

    def on_screen_resume(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.resume()
