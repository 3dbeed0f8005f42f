"""How a background failure reaches the user: one line, in a notification, never a crash."""

from __future__ import annotations

from textual.screen import Screen
from textual.worker import Worker

from lstm_tui.errors import first_line
from lstm_tui.textsafe import printable


def one_line(exc: BaseException) -> str:
    """The first line of an error's message (the core's errors are one-liners already),
    safe to show: it may quote a file's or a run's name (lstm_tui.textsafe)."""
    return printable(first_line(exc))


def report_worker_error(screen: Screen, worker: Worker) -> None:
    """The one place a background failure surfaces: a notification, never a crash."""
    error = worker.error or RuntimeError("unknown error")
    screen.notify(f"{type(error).__name__}: {one_line(error)}", title=f"{worker.name} failed",
                  severity="error", timeout=8)
