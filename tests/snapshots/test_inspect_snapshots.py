"""Snapshots of the Inspect screen at 120x40 and 80x24: an LSTM char_lm run with the
cursor moved (heatmap, readout, coloured text) and a bidirectional GRU on a later layer.
The weights come from a fixed seed (no training), so every frame is the same everywhere.
Update with `pytest --snapshot-update` after looking."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from lstm_tui.tui.screens.inspect import InspectScreen
from tests.tui.conftest import Host as StandaloneHost
from tests.tui.inspect_store import inspect_store

SIZES = [pytest.param((120, 40), id="120x40"), pytest.param((80, 24), id="80x24")]


class Host(StandaloneHost):
    TITLE = "lstm-lab"


@pytest.fixture
def runs(tmp_path, monkeypatch) -> dict[str, Path]:
    monkeypatch.chdir(tmp_path)
    paths = inspect_store(Path("runs"), tmp_path / "text.txt")
    return paths


async def settle(pilot, keys=()) -> None:
    for _ in range(100):
        await pilot.pause(0.05)
        if pilot.app.screen.loads:
            break
    await pilot.press(*keys)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_inspect_char_lm(snap_compare, runs, size):
    app = Host(lambda: InspectScreen(Path("runs"), runs["lm"]))
    assert snap_compare(app, terminal_size=size,
                        run_before=lambda pilot: settle(pilot, ["right"] * 6 + ["down"] * 2))


@pytest.mark.parametrize("size", SIZES)
def test_inspect_bidirectional_gru(snap_compare, runs, size):
    app = Host(lambda: InspectScreen(Path("runs"), runs["gru"]))
    assert snap_compare(app, terminal_size=size,
                        run_before=lambda pilot: settle(pilot, ["l", "g", "right", "down"]))
