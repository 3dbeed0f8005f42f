"""One way to turn an exception into the one line a user reads.

Errors shown to users (the CLI's stderr line, a run's `failed` message, a TUI notice, a
sweep row) are one line: the first line of the message, the exception's type named
unless the message is already written for users.  Pure Python, no torch, no Textual.
"""

from __future__ import annotations

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
    first = first_line(exc, limit)
    if isinstance(exc, known) or first == type(exc).__name__:
        return first[:limit]
    return f"{type(exc).__name__}: {first}"[:limit]
