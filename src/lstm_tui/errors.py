"""Errors a user reads: ConfigError (a bad key, in one line), and one way to turn any
exception into the one line a user reads.

Errors shown to users (the CLI's stderr line, a run's `failed` message, a TUI notice, a
sweep row) are one line: the first line of the message, the exception's type named
unless the message is already written for users.  Pure Python, no torch, no Textual.
"""

from __future__ import annotations

import difflib
import errno
from typing import Iterable

LIMIT = 500   # characters kept: a message, not a dump


def first_line(exc: BaseException | str, limit: int = LIMIT) -> str:
    """The first non-empty line of an error's message (the type's name when it has none)."""
    lines = str(exc).strip().splitlines()
    if lines:
        return lines[0].strip()[:limit]
    return type(exc).__name__ if isinstance(exc, BaseException) else ""


def error_line(exc: BaseException, known: tuple[type[BaseException], ...] = (),
               limit: int = LIMIT) -> str:
    """`Type: first line`, or just the first line for the `known` (user-facing) types."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}the disk is full ({exc.strerror or 'No space left on device'})"[:limit]
    first = first_line(exc, limit)
    if isinstance(exc, known) or first == type(exc).__name__:
        return first[:limit]
    return f"{type(exc).__name__}: {first}"[:limit]


class ConfigError(ValueError):
    """A problem with a preset or an override: where it is, which key, what is allowed."""

    def __init__(self, source: str, key: str, message: str):
        self.source, self.key, self.message = source, key, message
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{key}: {message}" if key else f"{where}{message}")


def suggest(word: str, options: Iterable[str]) -> str | None:
    """The option a typo most likely meant (close spelling, or the word as a prefix)."""
    options = [str(o) for o in options]
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return close[0]
    prefixed = [o for o in options if word and o.startswith(word)]
    return prefixed[0] if len(prefixed) == 1 else None
