"""Real training processes behind the app: a failure, a crash and a stop are all reported.

Each test spawns a real worker (a fresh Python that imports torch): a few seconds each.
"""

from __future__ import annotations

import json
import os
import signal

import pytest

from lstm_tui.config import RunConfig, TrainConfig
from lstm_tui.runs.reader import read_info
from lstm_tui.tui.app import make_app
from lstm_tui.tui.worker import ProcessTrainer
from tests.tui.conftest import wait_for

pytestmark = pytest.mark.slow
SIZE = (120, 40)


def long_run(log_every: int = 10) -> RunConfig:
    return RunConfig(train=TrainConfig(steps=1_000_000, log_every=log_every, eval_every=50,
                                       device="cpu"))


async def test_a_worker_that_raises_is_reported_as_failed(tmp_path):
    app = make_app(tmp_path / "runs", trainer=ProcessTrainer())
    async with app.run_test(size=SIZE) as pilot:
        cfg = RunConfig(train=TrainConfig(steps=20, device="mps"))   # no mps on this box
        app.screen.train_form.set_values({"device": "mps", "steps": 20})
        app.screen.revalidate()
        assert app.screen.config == cfg
        await pilot.press("ctrl+r")
        state = app.states[next(iter(app.states))]
        await wait_for(pilot, lambda: not state.active)
        assert state.status == "failed"
        assert state.message.startswith("train.device: mps was asked for")
        app.screen.refresh_live(force=True)
        assert "mps was asked for" in str(app.screen.query_one("#run-status").content)
        await wait_for(pilot, lambda: not app.active_handles(), timeout=10)  # process reaped


async def test_two_real_runs_one_killed_one_stopped(tmp_path):
    """Two runs train at once; a killed worker is reported, the other still stops cleanly."""
    app = make_app(tmp_path / "runs", trainer=ProcessTrainer())
    async with app.run_test(size=SIZE) as pilot:
        doomed, kept = app.start_training(long_run()), app.start_training(long_run(log_every=1))
        a, b = app.states[doomed], app.states[kept]
        await wait_for(pilot, lambda: a.last is not None and len(b.train_loss) >= 100)
        os.kill(app.handles[doomed].pid, signal.SIGKILL)
        await wait_for(pilot, lambda: not a.active)
        assert a.status == "failed"
        assert a.message.startswith("the training process died (SIGKILL)")
        summary = json.loads((a.run_dir / "summary.json").read_text())
        assert summary["status"] == "failed" and "SIGKILL" in summary["message"]
        assert b.status == "running"                    # the other run goes on
        # the app still answers its keys: show the failure, then stop the other run
        await pilot.press("ctrl+l")
        await pilot.pause()
        app.screen.refresh_live(force=True)
        assert "SIGKILL" in str(app.screen.query_one("#run-status").content)
        app.screen.selected = kept
        steps_seen = b.step
        await pilot.press("ctrl+g")
        assert b.status in ("stopping", "interrupted")
        await wait_for(pilot, lambda: not b.active, timeout=20)
        assert b.status == "interrupted" and b.step >= steps_seen
        assert read_info(b.run_dir).status == "interrupted"
        assert len(b.heat) >= 1                         # validations came through too
        # batches on a timer, not one message per logged step
        assert app.handles[kept].batches < len(b.train_loss) / 2
        await wait_for(pilot, lambda: not app.active_handles(), timeout=10)


@pytest.mark.parametrize("start", ["forkserver", "spawn"])
async def test_quitting_stops_a_real_run_cleanly(tmp_path, monkeypatch, start):
    from lstm_tui.training import processes
    if start == "spawn":          # as where the OS has no pidfds
        monkeypatch.setattr(processes, "pidfds", lambda: False)
    elif not processes.pidfds():
        pytest.skip("no pidfds here: runs are spawned")
    trainer = ProcessTrainer()
    assert trainer._ctx.get_start_method() == start
    app = make_app(tmp_path / "runs", trainer=trainer)
    async with app.run_test(size=SIZE) as pilot:
        key = app.start_training(long_run())
        await wait_for(pilot, lambda: app.states[key].run_dir is not None)
        run_dir = app.states[key].run_dir
        await pilot.press("ctrl+q")
        await pilot.pause(0.5)
    assert read_info(run_dir).status == "interrupted"
    assert not app.active_handles()


async def test_a_worker_that_does_not_stop_in_time_is_terminated(tmp_path, monkeypatch):
    """Stop asks first; a child still busy (here: importing torch) past the grace is ended."""
    from lstm_tui.training import processes
    # spawned, so that it imports torch afresh (seconds): a child forked from a warm
    # forkserver can be quick enough to stop within the grace
    monkeypatch.setattr(processes, "pidfds", lambda: False)
    app = make_app(tmp_path / "runs", trainer=ProcessTrainer(stop_grace=0.05))
    async with app.run_test(size=SIZE) as pilot:
        key = app.start_training(long_run())
        app.stop_training(key)
        state = app.states[key]
        await wait_for(pilot, lambda: not state.active, timeout=20)
        assert state.status == "interrupted"
        assert "did not stop within 0.05 s and was terminated" in state.message
        await wait_for(pilot, lambda: not app.active_handles(), timeout=10)
