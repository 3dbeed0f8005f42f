"""Snapshots of the Runs, run detail, Compare and Sample screens at 120x40 and 80x24.

The store is synthetic and fixed (names, curves, creation times), the screens get a
frozen clock, local time is UTC and the store path is relative, so every frame is
the same on every machine.  Update with `pytest --snapshot-update` after looking.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import Input

from lstm_tui.tui.screens.compare import CompareScreen
from lstm_tui.tui.screens.run_detail import RunDetailScreen
from lstm_tui.tui.screens.runs import RunsScreen
from lstm_tui.tui.screens.sample import SampleScreen
from lstm_tui.tui.widgets.run_charts import CurvesPlot
from tests.tui.conftest import Host as StandaloneHost
from tests.tui.test_runs_screens import BASE_TIME, synthetic_store

SIZES = [pytest.param((120, 40), id="120x40"), pytest.param((80, 24), id="80x24")]
NO_POLL = 3600.0   # nothing changes during a snapshot


class Host(StandaloneHost):
    TITLE = "lstm-lab"


async def settle(pilot) -> None:
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False            # a blinking cursor would make frames differ
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    for plot in pilot.app.screen.query(CurvesPlot):
        plot.flush()
    await pilot.pause()


@pytest.fixture
def runs(tmp_path, monkeypatch) -> dict[str, Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    paths = synthetic_store(tmp_path / "runs")
    yield {key: Path("runs") / path.relative_to(tmp_path / "runs")
           for key, path in paths.items()}
    monkeypatch.undo()
    time.tzset()


def clock() -> float:
    return BASE_TIME


@pytest.mark.parametrize("size", SIZES)
def test_runs_screen(snap_compare, runs, size):
    app = Host(lambda: RunsScreen(Path("runs"), clock=clock, poll_seconds=NO_POLL))
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_runs_screen_filtered_and_marked(snap_compare, runs, size):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("down", "space", "space", "6")   # two marks, sort by best
        await pilot.press("slash", *"lstm")
        await settle(pilot)

    app = Host(lambda: RunsScreen(Path("runs"), clock=clock, poll_seconds=NO_POLL))
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_run_detail_screen(snap_compare, runs, size):
    app = Host(lambda: RunDetailScreen(Path("runs"), runs["lstm"], clock=clock,
                                       poll_seconds=NO_POLL))
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_compare_screen(snap_compare, runs, size):
    paths = [runs["lstm"], runs["gru"], runs["rnn"], runs["sweep"]]
    app = Host(lambda: CompareScreen(Path("runs"), paths, poll_seconds=NO_POLL))
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_compare_screen_train_loss_log_smoothed(snap_compare, runs, size):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("m", "v", "l", "e")
        await settle(pilot)

    paths = [runs["lstm"], runs["gru"], runs["rnn"]]
    app = Host(lambda: CompareScreen(Path("runs"), paths, poll_seconds=NO_POLL))
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_sample_screen(snap_compare, runs, size):
    app = Host(lambda: SampleScreen(Path("runs"), runs["lm"]))
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_sample_screen_error_for_another_task(snap_compare, runs, size):
    app = Host(lambda: SampleScreen(Path("runs"), runs["gru"]))
    assert snap_compare(app, terminal_size=size, run_before=settle)
