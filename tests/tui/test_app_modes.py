"""The app's screens are one key away, and the Sweep screen starts from the Lab's config."""

from __future__ import annotations

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
