"""The Runs screen keeps the store: t tags, n writes a note, d removes to the trash after
a confirmation (a running run is refused); the detail shows tags, note and provenance."""

from __future__ import annotations

import json

from textual.widgets import DataTable

from lstm_tui.runs.reader import read_info
from lstm_tui.tui.screens.runs import RunDetailScreen, RunsScreen
from lstm_tui.tui.screens.store_dialogs import ConfirmDialog, TextPrompt
from tests.tui.conftest import Host, type_into
from tests.tui.test_runs_screens import (BASE_TIME, cell, names, settle, synthetic_store,
                                         visible_text)


def screen_for(root):
    return Host(lambda: RunsScreen(root, clock=lambda: BASE_TIME))


async def to_row(pilot, path) -> None:
    table = pilot.app.screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(str(path)))
    await pilot.pause()


async def test_t_tags_the_marked_runs_and_the_table_shows_them(tmp_path):
    root = tmp_path / "runs"
    runs = synthetic_store(root)
    app = screen_for(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await to_row(pilot, runs["lstm"])
        await pilot.press("space")
        await to_row(pilot, runs["gru"])
        await pilot.press("space")
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        await type_into(pilot, "#prompt-input", "+good -x")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)
        assert read_info(runs["lstm"]).tags == ("good",) == read_info(runs["gru"]).tags
        assert cell(app.screen.query_one(DataTable), runs["gru"], "name").endswith("#good")
        await pilot.press("slash", *"#good")
        await pilot.pause()
        assert len(names(app.screen.query_one(DataTable))) == 2

        await pilot.press("escape")
        await pilot.press("t")
        await pilot.pause()
        await type_into(pilot, "#prompt-input", "+bad@")          # unknown syntax
        await pilot.press("enter")
        await settle(pilot)
        assert read_info(runs["lstm"]).tags == ("good",)          # nothing changed


async def test_n_writes_a_note_shown_under_the_table(tmp_path):
    root = tmp_path / "runs"
    runs = synthetic_store(root)
    config = (runs["rnn"] / "config.toml").read_bytes()
    app = screen_for(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await to_row(pilot, runs["rnn"])
        await pilot.press("n")
        await pilot.pause()
        await type_into(pilot, "#prompt-input", "diverged at lr 0.1")
        await pilot.press("enter")
        await settle(pilot)
        await to_row(pilot, runs["rnn"])
        assert read_info(runs["rnn"]).note == "diverged at lr 0.1"
        assert "note: diverged at lr 0.1" in visible_text(app.screen.query_one("#runs-info"))
        assert (runs["rnn"] / "config.toml").read_bytes() == config


async def test_d_asks_then_moves_to_the_trash_and_refuses_a_running_run(tmp_path):
    root = tmp_path / "runs"
    runs = synthetic_store(root)
    app = screen_for(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await to_row(pilot, runs["running"])          # its writer may be alive: refused
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen) and runs["running"].is_dir()
        assert any("still running" in n.message for n in app._notifications)

        await to_row(pilot, runs["gru"])
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")                         # declined: nothing moves
        await settle(pilot)
        assert runs["gru"].is_dir()

        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert not runs["gru"].exists()
        assert (root / ".trash" / runs["gru"].name / runs["gru"].name).is_dir()
        assert str(runs["gru"]) not in [str(r.path) for r in app.screen.runs]


async def test_detail_summary_shows_tags_note_and_environment(tmp_path):
    root = tmp_path / "runs"
    runs = synthetic_store(root)
    (runs["lstm"] / "annotations.json").write_text(json.dumps(
        {"tags": ["good"], "note": "the baseline"}))
    (runs["lstm"] / "provenance.json").write_text(json.dumps(
        {"lstm_lab": "0.1.0", "python": "3.11.7", "torch": "2.13.0", "cuda": None,
         "device": "cpu", "device_name": "Xeon", "torch_threads": 2, "host": "box",
         "git": {"commit": "0123456789abcdef", "dirty": True}, "command": "lstm-lab x",
         "peak": {"rss_bytes": 2 ** 30}}))
    app = Host(lambda: RunDetailScreen(root, runs["lstm"], clock=lambda: BASE_TIME))
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        await pilot.press("3")   # the Summary tab
        await pilot.pause()
        summary = visible_text(app.screen.query_one("#detail-summary"))
        for text in ("#good", "the baseline", "0123456789ab (dirty)", "cpu · Xeon",
                     "RSS 1.0 GB", "lstm-lab x"):
            assert text in summary, text
