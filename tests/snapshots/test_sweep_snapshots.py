"""Snapshots of the Sweep screen at 120x40 and 80x24: a finished sweep's grid, lines and
epochs views, and its definition.

The sweep folder is synthetic and fixed (tests/tui/test_sweep_screen.py writes it: no
training, no clocks), the run store path is relative, and a finished sweep shows no ETA,
so every frame is the same on every machine.  Update with `pytest --snapshot-update`
after looking.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from lstm_tui.tui.screens.sweep import SweepScreen
from lstm_tui.tui.widgets.run_charts import CurvesPlot
from tests.tui.test_sweep_screen import Host, synthetic_sweep

SIZES = [pytest.param((120, 40), id="120x40"), pytest.param((80, 24), id="80x24")]
NO_WATCH = 3600.0      # nothing changes during a snapshot


@pytest.fixture
def sweep(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    folder = synthetic_sweep(Path("runs"), diverged=(9,))
    return folder


def screen_for(folder: Path):
    return lambda: SweepScreen(Path("runs"), sweep_dir=folder, watch_seconds=NO_WATCH)


def settle_then(*keys: str):
    async def run_before(pilot) -> None:
        for _ in range(3):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
        for key in keys:
            await pilot.press(key)
            for _ in range(3):
                await pilot.app.workers.wait_for_complete()
                await pilot.pause()
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False            # a blinking cursor would make frames differ
        screen = pilot.app.screen
        screen.refresh_views()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        for plot in screen.query(CurvesPlot):
            plot.flush()
        await pilot.pause()
    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_sweep_grid(snap_compare, sweep, size):
    assert snap_compare(Host(screen_for(sweep)), terminal_size=size,
                        run_before=settle_then())


@pytest.mark.parametrize("size", SIZES)
def test_sweep_grid_pinned_with_spread(snap_compare, sweep, size):
    async def run_before(pilot) -> None:
        await settle_then()(pilot)
        pilot.app.screen.query_one(".fixed-axis").value = 1      # cell = gru
        await settle_then("down", "right", "s")(pilot)

    assert snap_compare(Host(screen_for(sweep)), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_sweep_definition(snap_compare, sweep, size):
    assert snap_compare(Host(screen_for(sweep)), terminal_size=size,
                        run_before=settle_then("1"))


@pytest.mark.parametrize("size", SIZES)
def test_sweep_lines(snap_compare, sweep, size):
    assert snap_compare(Host(screen_for(sweep)), terminal_size=size,
                        run_before=settle_then("3"))


@pytest.mark.parametrize("size", SIZES)
def test_sweep_epochs(snap_compare, sweep, size):
    assert snap_compare(Host(screen_for(sweep)), terminal_size=size,
                        run_before=settle_then("4"))


@pytest.mark.parametrize("size", SIZES)
def test_sweep_grid_with_its_verdicts(snap_compare, sweep, size):
    from tests.tui.test_sweep_screen import judge
    judge(sweep)                   # one met, one missed: the lines under the status line
    assert snap_compare(Host(screen_for(sweep)), terminal_size=size,
                        run_before=settle_then())
