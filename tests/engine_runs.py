"""Training a config in-process and picking events out of what it emitted (engine tests)."""

from __future__ import annotations

from lstm_tui import events as ev
from lstm_tui.config import parse_config
from lstm_tui.training.engine import train


def run(data: dict, **kwargs) -> tuple[list, ev.Event]:
    """Train `data` (a preset's tables) to its end: every event, and the last one."""
    events: list = []
    last = train(parse_config(data), events.append, **kwargs)
    return events, last


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]
