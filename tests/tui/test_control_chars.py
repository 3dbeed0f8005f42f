"""Issue 27: control characters in a run's name, folder, note, tags, description and
config reach no screen raw (they would retitle or scramble the terminal); each shows as
its escape (lstm_tui.textsafe)."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import DataTable

from lstm_tui.tui.screens.compare import CompareScreen
from lstm_tui.tui.screens.run_detail import RunDetailScreen
from lstm_tui.tui.screens.runs import RunsScreen
from tests.tui.conftest import Host
from tests.tui.test_runs_screens import settle, write_run

RAW = ("\x1b", "\x07", "\x9b", "\r", "\u202e")
EVIL = "\x1b]0;pwned\x07\x9b2J\r\u202e"
TOML_EVIL = "\\u001b]0;pwned\\u0007\\u009b2J\\r\\u202e"


def hostile_store(root: Path) -> tuple[Path, Path]:
    evil = write_run(root, f"20261101-120000-evil{EVIL}", name="EVILNAME",
                     model={"hidden": 8})
    config = evil / "config.toml"
    config.write_text(config.read_text().replace("EVILNAME", f"n{TOML_EVIL}")
                      .replace('description = ""', f'description = "d{TOML_EVIL}"'))
    summary = json.loads((evil / "summary.json").read_text())
    summary["metric"] = f"acc{EVIL}"
    (evil / "summary.json").write_text(json.dumps(summary))
    (evil / "annotations.json").write_text(json.dumps(
        {"tags": [f"t{EVIL}"], "note": f"note{EVIL}"}))
    other = write_run(root, "20261101-130000-plain", model={"hidden": 16})
    return evil, other


def assert_clean(app, where: str) -> None:
    svg = app.export_screenshot()
    raw = [repr(svg[max(0, svg.index(c) - 60):svg.index(c) + 10]) for c in RAW if c in svg]
    assert not raw, f"{where}: {raw} reach the terminal"
    assert "\\x1b" in svg, f"{where}: the escape is not shown"


async def test_no_screen_shows_a_control_character_raw(tmp_path):
    evil, other = hostile_store(tmp_path / "runs")
    app = Host(lambda: RunsScreen(tmp_path / "runs"))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(str(evil)))
        await pilot.pause()
        assert_clean(app, "runs")
        await pilot.press("n")                    # the note prompt shows the note escaped
        await pilot.pause()
        assert_clean(app, "note prompt")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("space")
        table.move_cursor(row=table.get_row_index(str(other)))
        await pilot.press("space")
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        assert_clean(app, "compare")
        await pilot.press("escape")
        table.move_cursor(row=table.get_row_index(str(evil)))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RunDetailScreen)
        for tab in "1234":
            await pilot.press(tab)
            await settle(pilot)
            assert_clean(app, f"detail tab {tab}")
