"""Units of the app that need no screen: decimation, run state, batching, chart helpers."""

from __future__ import annotations

import threading
import time

import pytest

from lstm_tui import events as ev
from lstm_tui.config import RunConfig
from lstm_tui.tui.live import MAX_POINTS, RunState, Series, clock, layer_norms, layer_of
from lstm_tui.tui.widgets.summary_table import rule_of_thumb
from lstm_tui.tui.worker import BatchingForwarder, RunCreated, death_message
from tests.tui.fakes import started, step, training_script, validation


# ---------------------------------------------------------------- bounded series

def test_series_stays_bounded_over_a_million_steps():
    s = Series()
    for n in range(1_000_000):
        s.append(n, 1.0 / (1 + n) + (5.0 if n == 123_456 else 0.0))
    assert len(s) <= MAX_POINTS
    assert max(s.ys) > 5.0                         # the spike survived repeated decimation
    assert s.xs[-1] == 999_999 and s.xs == sorted(s.xs)
    view_x, _ = s.view(200)
    assert len(view_x) <= 200


def test_series_skips_non_finite_values():
    s = Series()
    for v in (1.0, float("nan"), float("inf"), None, 2.0):
        s.append(len(s), v)
    assert s.ys == [1.0, 2.0]


# ---------------------------------------------------------------- run state

def test_layer_names_follow_the_summary_table():
    assert layer_of("rnn.weight_hh_l0", "lstm") == "lstm_1"
    assert layer_of("rnn.bias_ih_l1_reverse", "gru") == "gru_2"
    assert layer_of("head.weight", "lstm") == "dense"
    norms = layer_norms({"rnn.weight_ih_l0": 3.0, "rnn.weight_hh_l0": 4.0,
                         "head.weight": 1.0, "head.bias": float("nan")}, "rnn")
    assert norms == {"rnn_1": 5.0, "dense": 1.0}


def test_run_state_follows_a_run():
    cfg = RunConfig()
    state = RunState("k", cfg)
    assert state.status == "starting" and state.active
    for event in training_script(cfg, steps=300):
        state.apply(event)
    assert state.run_dir is not None and state.run_dir.name == "fake-run"
    state.apply(ev.CheckpointWritten(step=300, tag="last", path="runs/fake-run/last.pt"))
    assert state.run_dir.name == "fake-run"       # a checkpoint's path is not the folder
    assert state.status == "running"
    assert state.step == 300 and len(state.train_loss) == 30 and len(state.val_loss) == 3
    assert set(state.layers) == {"lstm_1", "dense"}
    assert len(state.heat) == 3 and len(state.heat[-1][1]) == cfg.task.seq_len
    line = state.progress_line()
    assert "step 300/1,000" in line and "epoch 4/10" in line
    assert "best accuracy" in line and "250 steps/s" in line
    # ETA from the run's own pace: 700 steps left at 250 steps/s
    assert state.eta() == pytest.approx(2.8)
    assert "ETA 0:02" in line
    # a narrow status line drops the least telling parts first, never status/step/ETA/best
    full = state.progress_line(200)
    assert full == line and "cpu" in full
    for width in (70, 60, 40):
        short = state.progress_line(width)
        assert len(short) <= max(width, 58), (width, short)      # 58: what always stays
        for kept in ("running", "step 300/1,000", "ETA 0:02", "best accuracy"):
            assert kept in short
    assert "cpu" not in state.progress_line(len(full) - 1)
    state.apply(step(cfg, 1000))                  # the last step: epoch index 10 of 0..9
    state.apply(ev.Finished(status="completed", step=1000, seconds=4.0, best=0.9, final=0.9))
    assert state.status == "completed" and not state.active and state.eta() is None
    assert "epoch 10/10" in state.progress_line()


def test_run_state_failure_and_stop():
    state = RunState("k", RunConfig())
    state.apply(started(RunConfig()))
    state.request_stop()
    assert state.status == "stopping" and state.active
    state.apply(ev.Failed(error="RuntimeError: boom", step=3))
    assert state.status == "failed" and state.message == "RuntimeError: boom"
    other = RunState("j", RunConfig())
    other.fail("the training process died (SIGKILL)")
    assert other.status == "failed" and not other.active


def test_clock():
    assert clock(5) == "0:05" and clock(3725) == "1:02:05"


def test_rule_of_thumb_says_over_and_under():
    assert rule_of_thumb(5_000, 5_000)[1].startswith("about")
    assert rule_of_thumb(1_000_000, 5_000)[1].startswith("over")
    assert rule_of_thumb(100, 465_000)[1].startswith("under")


# ---------------------------------------------------------------- the child's forwarder

class ListQueue:
    def __init__(self):
        self.batches = []
        self.lock = threading.Lock()

    def put(self, batch):
        with self.lock:
            self.batches.append(list(batch))


def test_forwarder_batches_a_flood_of_steps():
    """10k step records in ~0.3 s reach the queue in a handful of batches, in order."""
    q = ListQueue()
    forward = BatchingForwarder(q, hz=15).start()
    cfg = RunConfig()
    forward(RunCreated("/tmp/x"))
    forward(started(cfg))
    assert len(q.batches) == 2                     # start events go at once
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < 0.3:
        n += 1
        forward(step(cfg, n))
    forward(ev.Finished(status="completed", step=n, seconds=1.0, best=None, final=None))
    forward.close()
    events = [e for batch in q.batches for e in batch]
    steps = [e.step for e in events if isinstance(e, ev.StepMetrics)]
    assert steps == list(range(1, n + 1))           # nothing lost, nothing reordered
    assert isinstance(events[-1], ev.Finished)
    assert n > 1000
    # about 15 batches a second (+ the urgent ones), never one per step
    assert len(q.batches) <= 2 + 0.3 * 15 + 3


def test_forwarder_flushes_on_its_timer_without_new_events():
    q = ListQueue()
    forward = BatchingForwarder(q, hz=20).start()
    forward(validation(100)[0])
    time.sleep(0.2)
    assert len(q.batches) == 1                     # delivered although nothing followed
    forward.close()


def test_death_message_names_the_signal_and_the_last_words(tmp_path):
    log = tmp_path / "log"
    log.write_text("Fatal Python error: Segmentation fault\n\nCurrent thread ...\n")
    assert death_message(-11, str(log)) == ("the training process died (SIGSEGV): "
                                            "Fatal Python error: Segmentation fault")
    assert death_message(3, str(tmp_path / "missing")) == \
        "the training process died (exit code 3)"


def test_a_compile_before_the_first_step_shows_in_the_status_line():
    cfg = RunConfig()
    state = RunState("k", cfg)
    state.apply(ev.Preparing("compiling the slstm step loop (torch.compile)", "minutes"))
    assert state.progress_line() == "starting · compiling the slstm step loop (torch.compile)…"
    state.apply(started(cfg))
    assert "compiling" not in state.progress_line()
