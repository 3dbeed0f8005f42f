"""Checkboxes read on or off without colour (NO_COLOR)."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from lstm_tui.tui.widgets.check import Check
from tests.tui.conftest import text_of


class CheckHost(App):
    def compose(self) -> ComposeResult:
        yield Check("log y", id="box")


@pytest.mark.parametrize("no_color", [True, False])
async def test_on_and_off_differ_without_colour(monkeypatch, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = CheckHost()
    async with app.run_test(size=(30, 3)) as pilot:
        assert app.no_color == no_color
        off = text_of(pilot, "#box")
        app.query_one(Check).value = True
        await pilot.pause()
        on = text_of(pilot, "#box")
        assert "X" in on and "log y" in on and "log y" in off
        assert ("X" not in off) == no_color     # with colour, Textual's dim X stays
