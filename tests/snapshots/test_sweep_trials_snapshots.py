"""Snapshots of the Sweep screen's Trials tab at 120x40 and 80x24: a finished random
search with two objectives (tests/sweep_trials_data.py writes it: fixed numbers, no
training, no clocks), so every frame is the same on every machine.  Update with
`pytest --snapshot-update` after looking."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstm_tui.tui.screens.sweep import SweepScreen
from tests.snapshots.test_sweep_snapshots import NO_WATCH, SIZES, settle_then
from tests.sweep_trials_data import trials_sweep
from tests.tui.test_sweep_screen import Host


@pytest.mark.parametrize("size", SIZES)
def test_sweep_trials(snap_compare, tmp_path, monkeypatch, size):
    monkeypatch.chdir(tmp_path)
    folder = trials_sweep(Path("runs"))
    app = Host(lambda: SweepScreen(Path("runs"), sweep_dir=folder, watch_seconds=NO_WATCH))
    assert snap_compare(app, terminal_size=size, run_before=settle_then())
