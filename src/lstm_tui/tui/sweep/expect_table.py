"""The Sweep screen's expectations: the sweep preset's ``[expect]`` as judged when the
sweep ended (expectations.json, or the driver's SweepJudged event), met or MISSED, with the
observed value and the band, like a run's in its detail.  Hidden while there are none.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from lstm_tui.expect.verdicts import verdict_rows


class ExpectView(Static):
    """A summary line, then one line per expectation."""

    DEFAULT_CSS = """
    ExpectView {
        height: auto;
        max-height: 6;
        padding: 0 1;
        display: none;
    }
    ExpectView.-shown {
        display: block;
    }
    """

    verdicts: reactive[list] = reactive(list, init=False)

    def watch_verdicts(self, verdicts: list) -> None:
        self.set_class(bool(verdicts), "-shown")
        self.update(expect_text(verdicts))


def expect_text(verdicts: list[dict]) -> Text:
    if not verdicts:
        return Text()
    rows = verdict_rows({"expectations": verdicts})
    missed = sum(not v["met"] for v in verdicts)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("expect ", style="bold")
    text.append(f"{len(verdicts) - missed} met", style="green")
    if missed:
        text.append(f" · {missed} MISSED", style="bold red")
    text.append("  (judged when the sweep ended)", style="dim")
    for label, line in rows:
        met = line.endswith(" met")
        text.append("\n")
        text.append("✓ " if met else "✗ ", style="green" if met else "bold red")
        text.append(label.removeprefix("expect "))
        text.append(f"  {line}", style="green" if met else "bold red")
    return text
