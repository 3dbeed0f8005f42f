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
    monkeypatch.setattr("lstm_tui.tui.screens.lab.cuda_present", lambda: False)


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


@pytest.mark.parametrize("size", SIZES)
def test_live_pane_with_a_run(snap_compare, size):
    async def run_before(pilot) -> None:
        await pilot.pause()
        await pilot.press("ctrl+r")
        await pilot.pause()
        pilot.app.screen.refresh_live(force=True)
        await settle(pilot)
    assert snap_compare(lab(), terminal_size=SIZES[size], run_before=run_before)
