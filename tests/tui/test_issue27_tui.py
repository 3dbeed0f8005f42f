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
