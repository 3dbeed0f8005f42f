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


async def test_a_sweep_preset_loaded_in_the_lab_opens_in_the_sweep_screen(tmp_path, fake_trainer):
    """`lstm-lab sweep_nth_features`, then f5: the preset's grid is defined there; a sweep
    preset loaded later reaches the Sweep screen already built."""
    from lstm_tui.presets import resolve_preset
    from lstm_tui.tui.app import make_app
    app = make_app(tmp_path / "runs", trainer=fake_trainer,
                   preset=resolve_preset("sweep_nth_features"))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(50):
            await pilot.pause(0.05)
            if app.lab is not None and app.lab.config is not None \
                    and app.lab.config.name == "nth-features":
                break
        await pilot.press("f5")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        assert set(screen.table["grid"]) == {"task.features", "model.hidden"}
        assert screen.base.task.kind == "nth_element" and screen.config.expect
        await pilot.press("f2")
        await pilot.pause()
        assert await app.lab.load(resolve_preset("sweep_nth_cells_tpe"))
        await pilot.pause(0.1)
        await pilot.press("f5")
        await pilot.pause()
        assert app.screen.table["search"] == "tpe"
        assert set(app.screen.table["space"]) == {"model.cell", "model.hidden", "train.lr"}
