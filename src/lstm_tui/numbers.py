"""The one number formatter of every front end (tables, charts, the TUI, figure labels)."""

from __future__ import annotations

import math
from typing import Any

from lstm_tui.textsafe import printable


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
