"""The app's screens are one key away, and the Sweep screen starts from the Lab's config."""

from __future__ import annotations

from lstm_tui.config import parse_config
from lstm_tui.tui.screens.lab import LabScreen
from lstm_tui.tui.screens.runs import RunsScreen
from lstm_tui.tui.screens.sample import SampleScreen
from lstm_tui.tui.screens.sweep import SweepScreen
from tests.tui.conftest import type_into


async def test_function_keys_switch_screens_and_sweep_takes_the_lab_config(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LabScreen)
        await pilot.press("ctrl+p")  # the palette opens and closes without harm
        await pilot.press("escape")
        await type_into(pilot, "#task-seq_len-input", "7")
        assert app.lab.config.task.seq_len == 7
        for key, screen in (("f3", RunsScreen), ("f4", SampleScreen), ("f5", SweepScreen),
                            ("f2", LabScreen)):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, screen), key
        await pilot.press("f5")
        await pilot.pause()
        assert app.screen.base.task.seq_len == 7


async def test_footers_fit_and_say_each_key_once(app):
    """The Sweep footer fits 120 columns with every key of its Grid view, and Runs shows
    one Sample key (f4), not s and f4 both."""
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        screen = app.screen
        screen.define.load(parse_config({"task": {"kind": "nth_element"}, "sweep": {
            "grid": {"task.seq_len": [5, 10], "model.hidden": [8, 16]}}}, "t.toml"))
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        keys = list(screen.query_one("Footer").query("FooterKey"))
        said = {k.description for k in keys}
        assert {"Launch", "Views", "Spread", "Final", "Swap", "Open", "Quit", "Runs"} <= said
        assert max(k.region.right for k in keys) <= 120
        await pilot.press("f3")
        await pilot.pause()
        said = [k.description for k in app.screen.query_one("Footer").query("FooterKey")]
        assert said.count("Sample") == 1 and "Mark ↓" in said
