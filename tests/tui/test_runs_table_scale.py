"""The Runs table with many runs: filled a chunk at a time up to a margin past the cursor,
rebuilt by the filter without losing the run under the cursor, updated in place when
one run changes (CHUNK and AHEAD made small so that a few runs stand for thousands)."""

from __future__ import annotations

import json

import pytest
from textual.widgets import DataTable, Input

import lstm_tui.tui.screens.runs as runs_screen
from lstm_tui.tui.screens.runs import RunsScreen
from tests.store_helpers import NOW, make_run
from tests.tui.conftest import Host


@pytest.fixture
def many(tmp_path, monkeypatch):
    monkeypatch.setattr(runs_screen, "CHUNK", 4)
    monkeypatch.setattr(runs_screen, "AHEAD", 6)
    root = tmp_path / "runs"
    for n in range(40):
        make_run(root, f"run-{n:02d}-{('lstm', 'gru')[n % 2]}", cell=("lstm", "gru")[n % 2],
                 created=NOW - 1000 + n)
    return root


async def loaded(pilot) -> RunsScreen:
    for _ in range(200):
        await pilot.pause(0.02)
        if getattr(pilot.app.screen, "loaded", False):
            break
    await pilot.app.workers.wait_for_complete()
    await filled(pilot)
    return pilot.app.screen


async def filled(pilot) -> None:
    """Until the table stops adding rows (the rows it wants are there)."""
    for _ in range(100):
        await pilot.pause()
        if not pilot.app.screen._filling:
            return


async def test_rows_are_added_ahead_of_the_cursor_not_all_at_once(many):
    app = Host(lambda: RunsScreen(many, poll_seconds=3600))
    async with app.run_test(size=(120, 20)) as pilot:
        screen = await loaded(pilot)
        table = screen.query_one(DataTable)
        assert screen.query_one("#runs-count").render().plain == "40 runs"
        first = table.row_count
        assert 4 <= first < 40                        # a view plus AHEAD, not the 40
        table.move_cursor(row=first - 1)
        await filled(pilot)
        assert table.row_count > first                # moving down asks for more
        for _ in range(40):
            table.move_cursor(row=table.row_count - 1)
            await filled(pilot)
        assert table.row_count == 40


async def test_the_filter_rebuilds_and_the_cursor_keeps_its_run(many):
    app = Host(lambda: RunsScreen(many, poll_seconds=3600))
    async with app.run_test(size=(120, 20)) as pilot:
        screen = await loaded(pilot)
        table = screen.query_one(DataTable)
        table.move_cursor(row=8)                      # past the first chunk
        await pilot.pause()
        chosen = screen.current_run()
        assert chosen.cell == "gru"                   # it stays visible through "gru"
        screen.query_one("#runs-filter", Input).value = "gru"
        await pilot.pause()
        await pilot.pause()
        assert screen.query_one("#runs-count").render().plain == "20/40 runs"
        assert all("gru" in str(table.get_row_at(i)[1]) for i in range(table.row_count))
        screen.query_one("#runs-filter", Input).value = ""
        await filled(pilot)
        assert screen.current_run() == chosen         # back on the run it was on


async def test_one_run_changing_updates_its_row_only(many):
    app = Host(lambda: RunsScreen(many, poll_seconds=3600))
    async with app.run_test(size=(120, 20)) as pilot:
        screen = await loaded(pilot)
        table = screen.query_one(DataTable)
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        summary_path = many / key.rsplit("/", 1)[-1] / "summary.json"
        summary = json.loads(summary_path.read_text())
        summary_path.write_text(json.dumps(dict(summary, steps=4321)))
        added = []
        real = table.add_row
        table.add_row = lambda *a, **k: added.append(k.get("key")) or real(*a, **k)
        screen.watcher.look_at([summary_path.parent])
        screen.poll()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert str(table.get_cell(key, "steps")) == "4321" and added == []


async def test_a_first_listing_that_builds_the_index_says_how_far_it_is(many, monkeypatch):
    import lstm_tui.runs.index as run_index
    monkeypatch.setattr(run_index, "PROGRESS_AFTER", 10)
    said = []
    app = Host(lambda: RunsScreen(many, poll_seconds=3600))
    async with app.run_test(size=(120, 20), message_hook=lambda m: said.append(m)) as pilot:
        screen = await loaded(pilot)
        reports = [(m.done, m.total) for m in said if isinstance(m, RunsScreen.Indexing)]
        assert reports and reports[-1] == (40, 40)
        assert screen.query_one("#runs-count").render().plain == "40 runs"
