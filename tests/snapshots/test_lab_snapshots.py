"""Snapshots of the Lab screen at 120x40 and 80x24 (pytest-textual-snapshot).

Deterministic: a fake trainer with scripted events, a fixed run store path, no clocks.
Update after a deliberate change with `pytest tests/snapshots --snapshot-update`, and
look at the new SVGs before committing them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lstm_tui.tui.app import make_app
from tests.tui.fakes import FakeTrainer

SIZES = {"wide": (120, 40), "small": (80, 24)}


@pytest.fixture(autouse=True)
def _no_gpu_here(monkeypatch):
    """The device labels say what this machine has: pin them for the pictures."""
    monkeypatch.setattr("lstm_tui.devices.cuda_present", lambda: False)


def lab():
    return make_app(Path("runs"), trainer=FakeTrainer())


async def settle(pilot) -> None:
    """Let start-up focus and lazy panes settle, then take the focus away (no cursor)."""
    await pilot.pause(0.2)
    pilot.app.set_focus(None)
    await pilot.pause()


def show(pane: str):
    async def run_before(pilot) -> None:
        await pilot.pause()
        pilot.app.screen.action_pane(pane)
        await settle(pilot)
    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_dataset_pane(snap_compare, size):
    assert snap_compare(lab(), terminal_size=SIZES[size], run_before=show("dataset"))


@pytest.mark.parametrize("size", SIZES)
def test_model_pane(snap_compare, size):
    assert snap_compare(lab(), terminal_size=SIZES[size], run_before=show("model"))


# The Live pane's data is also asserted exactly in tests/tui/test_live_chart_data.py.
@pytest.mark.parametrize("size", SIZES)
def test_live_pane_with_a_run(snap_compare, size):
    async def run_before(pilot) -> None:
        await pilot.pause()
        await pilot.press("ctrl+r")
        # the fake run's 400 steps are posted at once: wait until all are taken in, so the
        # picture never depends on how far a loaded machine got
        for _ in range(200):
            await pilot.pause(0.02)
            states = list(pilot.app.states.values())
            if states and states[0].heat and states[0].heat[-1][0] == 400:   # the last event
                break
        # draw again once the layout has settled: plotext picks its ticks from the size
        pilot.app.screen.refresh_live(force=True)
        await pilot.pause(0.3)
        pilot.app.screen.refresh_live(force=True)
        await settle(pilot)
    assert snap_compare(lab(), terminal_size=SIZES[size], run_before=run_before)
