"""How a task's data download (text8, on first use) reports its progress, and whether one
may start at all: set by whoever runs the task, read by the task's loader.

- Headless runs set nothing: the loader draws its own bar on stderr.
- The lab's training processes report through the run's event stream
  (:class:`lstm_tui.events.DataProgress`), so the Live pane shows it and nothing writes to
  the terminal behind Textual.
- The lab's own process only describes configs (sizes, summaries): there a download never
  starts (:func:`forbidden`) and the loader says what a run will fetch instead.
- The engine hands its ``should_stop`` to :func:`stoppable`, so the first Ctrl-C (or the
  lab's Stop) ends a download at its next chunk (:class:`Stopped`) instead of waiting for
  the first training step.

Context variables, so a setting holds for the code that set it and nothing else.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

# (what, bytes done, bytes in all or 0 when unknown); done < 0: the download ended
Progress = Callable[[str, int, int], None]

_reporter: ContextVar[Progress | None] = ContextVar("download_progress", default=None)
_allowed: ContextVar[bool] = ContextVar("downloads_allowed", default=True)
_stop: ContextVar[Callable[[], object] | None] = ContextVar("download_stop", default=None)


class Stopped(Exception):
    """A download given up because the run was asked to stop; nothing was cached."""


@contextmanager
def reporting(progress: Progress) -> Iterator[None]:
    """Downloads started inside report to `progress`."""
    token = _reporter.set(progress)
    try:
        yield
    finally:
        _reporter.reset(token)


@contextmanager
def forbidden() -> Iterator[None]:
    """No download starts inside (a loader raises its 'not downloaded yet' instead)."""
    token = _allowed.set(False)
    try:
        yield
    finally:
        _allowed.reset(token)


def reporter() -> Progress | None:
    return _reporter.get()


def allowed() -> bool:
    return _allowed.get()


@contextmanager
def stoppable(should_stop: Callable[[], object]) -> Iterator[None]:
    """Downloads started inside end when `should_stop()` turns true."""
    token = _stop.set(should_stop)
    try:
        yield
    finally:
        _stop.reset(token)


def check_stop(what: str) -> None:
    """Raise Stopped when the code that started the download asked to stop."""
    should_stop = _stop.get()
    if should_stop is not None and should_stop():
        raise Stopped(f"stopped by request during the {what} download (nothing was cached; "
                      "the next run fetches it again)")
