"""text8 from the lab: describing a config never downloads, and a run's first-use download
shows in the Live status line (events from the training process), never on the terminal
behind Textual.  The archive is served on 127.0.0.1; nothing here reaches the network."""

from __future__ import annotations

import hashlib
import time

import pytest
from textual.widgets import Select

from lstm_tui import events as ev
from lstm_tui.config import RunConfig
from lstm_tui.tui import live
from lstm_tui.tui.app import make_app
from lstm_tui.tui.worker import ProcessTrainer, RunCreated
from tests.tui.conftest import text_of, type_into
from tests.tui.fakes import FakeTrainer, started
from tests.unit.test_text8 import TEXT, server  # noqa: F401  (the loopback server fixture)

SIZE = (120, 40)


@pytest.fixture
def env(tmp_path, monkeypatch, server):  # noqa: F811
    monkeypatch.setenv("LSTM_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LSTM_LAB_TEXT8_URL", server.url)
    monkeypatch.setenv("LSTM_LAB_TEXT8_SHA256", hashlib.sha256(TEXT).hexdigest())
    monkeypatch.setenv("LSTM_LAB_TEXT8_ZIP_SHA256", hashlib.sha256(server.body).hexdigest())
    return tmp_path / "cache"


async def choose_text8(pilot) -> None:
    pilot.app.screen.query_one("#task-kind", Select).value = "char_lm"
    await pilot.pause()
    await type_into(pilot, "#task-text-input", "text8")
    await pilot.pause()


async def test_describing_a_text8_config_downloads_nothing(tmp_path, env, capfd,
                                                           server):  # noqa: F811
    app = make_app(tmp_path / "runs", trainer=FakeTrainer())
    async with app.run_test(size=SIZE) as pilot:
        await choose_text8(pilot)
        assert app.screen.config.task.text == "text8"
        info = text_of(pilot, "#task-info")
        assert "text8 is not downloaded yet: the first run fetches it" in info, info
        assert "✓ ready" in text_of(pilot, "#check-status")      # ctrl+r may start it
    assert server.hits == 0 and not env.exists()
    assert "downloading" not in capfd.readouterr().err


async def test_a_runs_download_shows_in_the_live_status_line(tmp_path):
    def script(cfg: RunConfig) -> list:
        return [RunCreated(str(tmp_path / "runs" / "r")),
                ev.DataProgress("text8", 4_700_000, 31_344_016)]

    trainer = FakeTrainer(script)
    app = make_app(tmp_path / "runs", trainer=trainer)
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await pilot.press("ctrl+r")
        await pilot.pause()
        lab.refresh_live(force=True)
        status = text_of(pilot, "#run-status")
        assert "running" not in status
        assert "downloading text8 4.7/31.3 MB (14%)" in status, status
        # the download ends and training starts: the line is the usual one again
        trainer.handles[0].emit(ev.DataProgress("text8", -1, 0), started(lab.config))
        await pilot.pause(lab.REDRAW_EVERY + 0.1)
        lab.refresh_live(force=True)
        status = text_of(pilot, "#run-status")
        assert "downloading" not in status and "step 0/1,000" in status, status


def test_the_line_without_a_known_size():
    state = live.RunState("k", RunConfig())
    state.apply(ev.DataProgress("text8", 2_500_000, 0))
    assert state.progress_line() == "starting · downloading text8 2.5 MB"
    state.apply(ev.DataProgress("text8", -1, 0))
    assert state.fetching is None and state.progress_line() == "starting"


@pytest.mark.slow
async def test_a_real_lab_run_downloads_text8_through_its_events(tmp_path, env, monkeypatch,
                                                                 capfd, server):  # noqa: F811
    """A real training process (spawned, as the lab starts it) fetches text8 from the
    loopback server; its progress reaches the UI as DataProgress events."""
    seen: list = []
    apply = live.RunState.apply

    def recording(self, event):
        if isinstance(event, ev.DataProgress):
            seen.append(event)
        apply(self, event)

    monkeypatch.setattr(live.RunState, "apply", recording)
    app = make_app(tmp_path / "runs", trainer=ProcessTrainer())
    async with app.run_test(size=SIZE) as pilot:
        await choose_text8(pilot)
        app.screen.train_form.set_values({"steps": 4, "eval_every": 2, "log_every": 1,
                                          "batch_size": 4, "device": "cpu"})
        app.screen.task_form.set_values({"seq_len": 5, "sample_length": 0})
        app.screen.revalidate()
        await pilot.press("ctrl+r")
        state = app.states[next(iter(app.states))]
        deadline = time.monotonic() + 90
        while state.active:
            assert time.monotonic() < deadline, "timed out waiting for the run"
            await pilot.pause(0.1)
        assert state.status == "completed", state.message
    assert server.hits == 1 and (env / "text8").read_bytes() == TEXT
    assert seen and seen[0].what == "text8" and seen[-1].done == -1
    assert max(e.done for e in seen) == len(server.body)
    assert "downloading" not in capfd.readouterr().err
