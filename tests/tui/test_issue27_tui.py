"""Issue 27, "tried as a new user would": the screenshot command, the Inspect screen's
axis and status line, the run detail's baselines, the Dataset preview's time axis."""

from __future__ import annotations

from lstm_tui.tui.app import make_app
from tests.tui.conftest import record_notifications


async def test_a_screenshot_without_a_downloads_folder_lands_here_and_says_where(
        tmp_path, monkeypatch, fake_trainer):
    home, here = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    here.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.chdir(here)
    app = make_app(tmp_path / "runs", trainer=fake_trainer)
    async with app.run_test(size=(100, 30)) as pilot:
        said = record_notifications(app)
        app.action_screenshot()
        for _ in range(50):
            await pilot.pause(0.05)
            if said:
                break
        shots = list(here.glob("*.svg"))
        assert len(shots) == 1 and shots[0].read_text().lstrip().startswith("<svg")
        assert not (home / "Downloads").exists()
        assert any(str(shots[0]) in s for s in said), said


# ---------------------------------------------------------------- the Inspect screen

def test_tick_labels_stay_over_their_columns_with_wide_and_control_tokens():
    from rich.cells import cell_len
    from lstm_tui.render.inspection_view import LABEL_WIDTH, Scale, heatmap
    tokens = list("ab日本語cd\x1bef") + ["x"] * 12
    picture = heatmap([[0.5]] * len(tokens), tokens, [0], Scale(-1, 1, True), colour=False,
                      width=200, cursor=(10, 0))
    top, row, ruler = picture.plain.split("\n")
    assert "\x1b" not in picture.plain and "␛" in top
    step = 3                                   # two cells (日) and a gap
    assert cell_len(top) == cell_len(row) == LABEL_WIDTH + step * len(tokens)
    assert ruler.index("10") == LABEL_WIDTH + 10 * step == row.index("◆")
    assert top[LABEL_WIDTH + 2 * step] == "日"  # t=2 sits over its column too


async def test_the_map_says_what_is_out_of_view_and_the_readout_keeps_its_spaces(tmp_path):
    from lstm_tui.tui.screens.inspect import InspectScreen
    from lstm_tui.tui.widgets.activation_map import ActivationMap
    from tests.tui.conftest import Host, text_of
    from tests.tui.inspect_store import make_run
    run = make_run(tmp_path / "runs", "wide", "adding_problem",
                   ["model.hidden=30", "task.seq_len=30"])
    app = Host(lambda: InspectScreen(run.parent, run))
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.screen.loads:
                break
        await pilot.pause()
        await pilot.press("end", "down", "down")
        await pilot.pause()
        shown = text_of(pilot, "#inspect-map")
        assert "shown: steps " in shown and "of 30 (←→ Home End)" in shown
        assert "units 0-" in shown and "of 30 (↑↓ PgUp PgDn)" in shown
        readout = text_of(pilot, "#inspect-readout")
        assert " · unit 2 · cell = " in readout and " · saliency " in readout
        assert app.screen.query_one(ActivationMap).hidden_note().startswith("shown:")
