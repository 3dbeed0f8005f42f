"""The Sweep screen's status line: whether the sweep runs, how far it is, its best point
and ETA (Rich text; the screen redraws it on its 4 Hz tick)."""

from __future__ import annotations

from rich.text import Text

from lstm_tui.numbers import fmt
from lstm_tui.config import RunConfig
from lstm_tui.sweeps.spec import show_value
from lstm_tui.textsafe import printable
from lstm_tui.tui.sweep.state import SweepState, duration
from lstm_tui.tui.widgets.heatmap import leaf


def status_text(state: SweepState | None, base: RunConfig, column: str) -> Text:
    """The one line above the views: state, progress, best point, ETA."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if state is None:
        text.append("Sweep ", style="bold")
        text.append(printable(base.name or base.task.kind), style="bold")
        text.append("  define the axes (1), then ctrl+r; or open a sweep folder (o)",
                    style="dim")
        return text
    done, total = state.done, state.total
    if state.active:
        mark, style = ("■ stopping", "yellow") if state.stopping else ("● running", "cyan")
    elif state.ended == "crashed":
        mark, style = "✗ failed", "red"
    elif done >= total:
        mark, style = "✓ done", "green"
    elif state.ended == "interrupted" or done:
        mark, style = "■ stopped", "yellow"
    else:
        mark, style = "○ not run", "dim"
    text.append(mark, style=f"bold {style}")
    text.append(f" {printable(state.name)}  ", style="bold")
    filled = round(10 * done / total) if total else 0
    text.append("█" * filled, style=style)
    text.append("░" * (10 - filled), style="dim")
    text.append(f" {done}/{total}")
    if state.running:
        fractions = [r.fraction for r in state.running.values() if r.fraction is not None]
        pct = f" {100 * sum(fractions) / len(fractions):.0f}%" if fractions else ""
        text.append(f" · {len(state.running)} running{pct}")
    best = state.best(column)
    if best is not None:
        label = " ".join(f"{leaf(a)}={show_value(best.values[a])}" for a in state.axes)
        text.append(f" · best {fmt(best.stat.mean, 3)} ", style="bold")
        text.append(f"@ {label}", style="dim")
    eta = state.eta()
    if eta is not None:
        text.append(f" · ETA {duration(eta)}")
    if not state.active and 0 < done < total and state.ended != "crashed":
        text.append(" · ctrl+r resumes", style="dim")
    if state.ended == "crashed":
        text.append(f" · {printable(state.error)}", style="red")
    return text
