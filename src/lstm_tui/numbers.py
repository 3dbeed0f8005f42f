"""How every front end shows a value (tables, charts, the TUI, figure labels): the one
number formatter, durations, and user text made safe for a terminal.

A note, a run or sweep name, a description, a config value or a folder name may hold
control characters (`note RUN $'\\e]0;title\\a'` retitles the terminal, `\\r` overwrites
a line, a bidi override reorders what is shown) or a lone surrogate (an undecodable file
name) that no terminal can encode.  Shown anywhere, they become visible escapes
(`\\x1b`, `\\u202e`) through :func:`printable`; what is saved is never changed.
"""

from __future__ import annotations

import math
import re
from typing import Any


def fmt(value: Any, digits: int = 4) -> str:
    """A value as a short label: None '-', ints grouped (12,345), floats to `digits`
    significant digits (switching to 1.235e+05 form when long), booleans and lists as
    TOML writes them, anything else as its str (control characters escaped)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(fmt(v, digits) for v in value) + "]"
    return printable(str(value))

def age(seconds: float) -> str:
    """A duration as its largest whole unit: 42s, 5m, 3h, 2d."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


# C0 and C1 controls, DEL, the bidi embeddings, overrides and isolates, lone surrogates
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")
_UNSAFE_IN_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f"
                              "\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, lines: bool = False) -> str:
    """`text` with every control character shown as its escape; with `lines`, newlines
    and tabs are kept (a note printed on its own, a multi-line message)."""
    return (_UNSAFE_IN_LINES if lines else _UNSAFE).sub(_escape, text)
