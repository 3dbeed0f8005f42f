"""The training engine: events, optimizers, schedules, stopping, divergence, failure."""

from __future__ import annotations

import math

import pytest
import torch

from lstm_tui import events as ev
from lstm_tui.config import parse_config
from lstm_tui.training.engine import train
from lstm_tui.training.optim import grad_norms_and_clip, learning_rate
from tests.engine_runs import of, run


def tiny(**sections) -> dict:
    data = {"task": {"kind": "nth_element", "seq_len": 4, "features": 4, "n": 1,
                     "train_size": 256, "val_size": 64},
            "model": {"cell": "lstm", "hidden": 8},
            "train": {"batch_size": 32, "steps": 40, "eval_every": 20, "log_every": 5}}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return data


def test_event_stream_of_a_run():
    saved = []
    events, last = run(tiny(), save_checkpoint=lambda tag, p: saved.append((tag, p)) or tag)
    assert isinstance(events[0], ev.RunStarted) and events[-1] is last
    assert last.status == "completed" and last.step == 40
    start = events[0]
    assert start.total_steps == 40 and start.metric == "accuracy" and start.goal == "max"
    assert start.summary.total == sum(r.params for r in start.summary.rows)
    steps = of(events, ev.StepMetrics)
    assert [s.step for s in steps] == [5, 10, 15, 20, 25, 30, 35, 40]
    first = steps[0]
    assert set(first.grad_norms) == set(first.grad_means) and "head.weight" in first.grad_norms
    assert first.grad_norm > 0 and first.mean_abs_grad > 0 and first.steps_per_sec > 0
    assert math.isclose(first.grad_norm, math.sqrt(sum(v * v for v in first.grad_norms.values())),
                        rel_tol=1e-4)
    vals = of(events, ev.ValMetrics)
    assert [v.step for v in vals] == [20, 40]
    grads = of(events, ev.TimestepGradients)
    assert len(grads) == 2 and len(grads[0].norms) == 4
    assert {tag for tag, _ in saved} == {"best", "last"}
    payload = saved[-1][1]
    assert payload["step"] == 40 and payload["config"]["model"]["hidden"] == 8


def test_same_seed_same_run_and_other_seed_differs():
    a = [e.loss for e in of(run(tiny())[0], ev.StepMetrics)]
    b = [e.loss for e in of(run(tiny())[0], ev.StepMetrics)]
    c = [e.loss for e in of(run(tiny(train={"seed": 1}))[0], ev.StepMetrics)]
    assert a == b and a != c


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.5), ("momentum", 0.1), ("adam", 0.02),
                                          ("rmsprop", 0.01), ("adagrad", 0.1), ("lbfgs", 0.5)])
def test_every_optimizer_lowers_the_loss(optimizer, lr):
    events, last = run(tiny(train={"optimizer": optimizer, "lr": lr, "steps": 60,
                                   "eval_every": 60}))
    losses = [e.loss for e in of(events, ev.StepMetrics)]
    assert last.status == "completed"
    assert losses[-1] < losses[0] * 0.98, losses


def test_step_decay_schedule():
    data = tiny(train={"lr": 10.0, "lr_decay": 0.1, "lr_decay_every": 10, "optimizer": "sgd",
                       "grad_clip": 1.0, "steps": 30})
    lrs = {e.step: e.lr for e in of(run(data)[0], ev.StepMetrics)}
    assert lrs[5] == 10.0 and math.isclose(lrs[15], 1.0) and math.isclose(lrs[25], 0.1)
    cfg = parse_config(tiny(train={"lr": 10.0, "lr_decay": 0.1, "lr_decay_every": 5000}))
    assert learning_rate(cfg.train, 4999) == 10.0 and math.isclose(learning_rate(cfg.train, 5000), 1.0)


def test_clipping_bounds_the_applied_gradient():
    grads = [torch.full((3,), 4.0), torch.full((4,), 3.0)]
    norms, total = grad_norms_and_clip(grads, 1.0)
    assert math.isclose(float(total), math.sqrt(3 * 16 + 4 * 9), rel_tol=1e-6)
    assert [round(float(n), 4) for n in norms] == [round(math.sqrt(48), 4), 6.0]
    assert math.isclose(float(torch.linalg.vector_norm(torch.cat(grads))), 1.0, rel_tol=1e-4)


def test_early_stopping_after_patience():
    data = tiny(train={"steps": 200, "eval_every": 10, "patience": 2, "min_delta": 10.0})
    events, last = run(data)
    assert last.status == "stopped_early"
    assert [v.step for v in of(events, ev.ValMetrics)] == [10, 20, 30]
    assert "patience 2" in last.message


def test_non_finite_loss_is_diverged_with_advice_not_a_crash():
    data = {"task": {"kind": "weighted_sum", "seq_len": 4, "train_size": 256, "val_size": 64},
            "model": {"cell": "rnn", "hidden": 4},
            "train": {"optimizer": "sgd", "lr": 1e6, "steps": 100, "log_every": 10}}
    events, last = run(data)
    assert isinstance(last, ev.Finished) and last.status == "diverged"
    assert "lower train.lr" in last.message and "grad_clip" in last.message
    step = int(last.message.split("at step ")[1].split(":")[0])
    assert 1 <= step <= last.step
    assert not of(events, ev.CheckpointWritten)


def test_stop_request_ends_interrupted_with_a_checkpoint():
    saved, calls = [], []

    def should_stop():
        calls.append(1)
        return len(calls) > 13

    events, last = run(tiny(train={"steps": 1000}), should_stop=should_stop,
                       save_checkpoint=lambda tag, p: saved.append((tag, p["step"])) or tag)
    assert last.status == "interrupted" and last.step == 13
    assert saved[-1] == ("last", 13)


def test_failure_is_an_event(monkeypatch):
    from lstm_tui.models import network

    def boom(self, x, state=None):
        raise RuntimeError("kaboom\nsecond line")
    monkeypatch.setattr(network.SequenceModel, "forward", boom)
    events, last = run(tiny())
    assert isinstance(last, ev.Failed) and last.error == "RuntimeError: kaboom"
    assert "Traceback" in last.traceback and events[-1] is last


def test_char_lm_reports_perplexity_bpc_and_samples():
    data = {"task": {"kind": "char_lm", "max_chars": 4000, "seq_len": 8, "sample_length": 30},
            "model": {"cell": "gru", "hidden": 16},
            "train": {"batch_size": 8, "steps": 20, "eval_every": 10}}
    events, last = run(data)
    assert last.status == "completed"
    val = of(events, ev.ValMetrics)[-1]
    assert 1 < val.metric < 28 and math.isclose(val.extra["bpc"], val.loss / math.log(2))
    samples = of(events, ev.TextSample)
    assert len(samples) == 2 and len(samples[0].text) == 30
    assert set(samples[0].text) <= set(" abcdefghijklmnopqrstuvwxyz")


def test_nth_element_easy_mode_converges():
    """The seed's easy mode must really learn: >= 99% validation accuracy."""
    from lstm_tui.config import load_preset
    from tests.conftest import PRESETS
    cfg = load_preset(PRESETS / "nth_element_lstm.toml", ["train.epochs=5"])
    events: list = []
    last = train(cfg, events.append)
    assert last.status == "completed"
    assert last.best >= 0.99, [v.metric for v in of(events, ev.ValMetrics)]
