"""What the engine promises, checked through `train` and its events alone.

- a stateful task (char_lm) hands each training batch the state the previous batch of
  the same epoch ended with, detached (truncated BPTT); a stateless one never does;
- with a goal-"min" metric, `best` is the running minimum and `is_best` marks exactly
  the validations that lowered it;
- a decayed learning rate is the optimizer's own, not only the reported one;
- each step's gradient is that batch's alone: nothing piles up from earlier steps.
"""

from __future__ import annotations

import math

import pytest
import torch

from lstm_tui import events as ev
from lstm_tui.models.network import SequenceModel
from tests.engine_runs import of, run


def _tensors(state) -> list[torch.Tensor]:
    if state is None:
        return []
    return list(state) if isinstance(state, tuple) else [state]


@pytest.fixture
def training_calls(monkeypatch):
    """(state given, state returned) of every forward pass in training mode."""
    calls: list[tuple] = []
    forward = SequenceModel.forward

    def spy(self, x, state=None):
        out, new_state = forward(self, x, state)
        if self.training and torch.is_grad_enabled():
            given = None if state is None else [t.clone() for t in _tensors(state)]
            grads = [t.requires_grad for t in _tensors(state)]
            calls.append((given, grads, [t.detach().clone() for t in _tensors(new_state)]))
        return out, new_state

    monkeypatch.setattr(SequenceModel, "forward", spy)
    return calls


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_char_lm_carries_the_hidden_state_between_training_batches(training_calls, cell):
    data = {"task": {"kind": "char_lm", "max_chars": 400, "seq_len": 8},
            "model": {"cell": cell, "hidden": 8},
            "train": {"batch_size": 4, "steps": 30, "eval_every": 4, "log_every": 4}}
    events, last = run(data)
    assert last.status == "completed"
    per_epoch = events[0].steps_per_epoch
    assert 2 <= per_epoch < 30          # several epochs, several batches each
    assert len(training_calls) == 30
    for k, (given, grads, _) in enumerate(training_calls):
        if k % per_epoch == 0:
            assert given is None, f"step {k + 1} starts an epoch: fresh state"
            continue
        previous = training_calls[k - 1][2]
        assert given is not None, f"step {k + 1} got no state"
        assert not any(grads), "the carried state must be detached"
        assert len(given) == len(previous)
        for a, b in zip(given, previous):
            assert torch.equal(a, b)
        assert any(t.abs().sum() > 0 for t in given)


def test_a_stateless_task_gets_no_state(training_calls):
    data = {"task": {"kind": "nth_element", "seq_len": 4, "features": 4, "n": 1,
                     "train_size": 64, "val_size": 32},
            "model": {"hidden": 4}, "train": {"batch_size": 16, "steps": 8, "eval_every": 4}}
    run(data)
    assert len(training_calls) == 8 and all(given is None for given, _, _ in training_calls)


def _regression(**train_cfg) -> dict:
    return {"task": {"kind": "weighted_sum", "seq_len": 4, "train_size": 128, "val_size": 64},
            "model": {"cell": "lstm", "hidden": 6},
            "train": {"batch_size": 16, "steps": 60, "eval_every": 3, "log_every": 3,
                      "optimizer": "adam", "lr": 0.2, **train_cfg}}


@pytest.mark.parametrize("monitor", ["metric", "loss"])
def test_goal_min_best_is_the_running_minimum_and_is_best_marks_it(monitor):
    events, last = run(_regression(monitor=monitor))
    assert events[0].goal == "min" and events[0].metric == "mad"
    vals = of(events, ev.ValMetrics)
    assert len(vals) == 20
    best_metric, best_monitor, flags = None, None, []
    for v in vals:
        best_metric = v.metric if best_metric is None else min(best_metric, v.metric)
        watched = v.metric if monitor == "metric" else v.loss
        improved = best_monitor is None or watched < best_monitor
        best_monitor = watched if improved else best_monitor
        flags.append(improved)
        assert v.best == best_metric
    assert [v.is_best for v in vals] == flags
    assert True in flags[1:] and False in flags     # both kinds of validation happened
    assert last.best == best_metric


def test_goal_min_best_checkpoint_is_the_lowest_validation():
    saved = []
    events, _ = run(_regression(), save_checkpoint=lambda tag, p: saved.append(
        (tag, p["step"], p["best"])) or tag)
    vals = of(events, ev.ValMetrics)
    lowest = min(vals, key=lambda v: v.metric)
    best_saves = [(step, best) for tag, step, best in saved if tag == "best"]
    assert best_saves[-1] == (lowest.step, lowest.metric)


@pytest.mark.parametrize("optimizer", ["adam", "momentum", "sgd", "lbfgs"])
def test_a_checkpoint_payload_is_the_run_s_own_copy(optimizer):
    """A writer may keep a payload and write it later (runs.writer writes behind):
    the training after the checkpoint leaves it as it was (the flat update's buffers,
    the per-tensor optimizer's state, the weights)."""
    import copy
    kept, at_save = [], []

    def save(tag, payload):
        kept.append(payload)
        at_save.append(copy.deepcopy(payload))
        return tag
    _, last = run(_regression(optimizer=optimizer, lr=0.05, steps=12, eval_every=4),
                  save_checkpoint=save)
    assert last.status == "completed" and len(kept) >= 3

    def same(a, b):
        if isinstance(a, torch.Tensor):
            return torch.equal(a, b)
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, (list, tuple)):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return a == b
    for payload, then in zip(kept, at_save):
        assert payload["optimizer"]["state"] or optimizer == "sgd"
        assert same(payload, then), payload["step"]


def test_a_decayed_learning_rate_reaches_the_optimizer():
    saved = {}
    data = _regression(optimizer="sgd", lr=0.1, lr_decay=0.5, lr_decay_every=4, steps=14,
                       eval_every=5, log_every=1)

    def save(tag, payload):
        saved[payload["step"]] = payload["optimizer"]["param_groups"][0]["lr"]
        return tag

    events, last = run(data, save_checkpoint=save)
    assert last.status == "completed"
    reported = {e.step: e.lr for e in of(events, ev.StepMetrics)}
    # step n's update used the lr of step index n - 1: decayed after every 4 updates
    assert reported[4] == 0.1 and reported[5] == 0.05 and reported[13] == 0.0125
    assert sorted(saved) == [5, 10, 14]
    for step, lr in saved.items():
        assert math.isclose(lr, reported[step]), (step, lr, reported[step])
    assert math.isclose(saved[10], 0.025) and math.isclose(saved[14], 0.0125)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_gradients_do_not_pile_up_between_steps(optimizer):
    """Full-batch steps with a learning rate too small to move the weights: every step
    sees the same gradient, so its norm must stay put rather than grow step by step."""
    data = {"task": {"kind": "nth_element", "seq_len": 4, "features": 4, "n": 1,
                     "train_size": 32, "val_size": 32},
            "model": {"hidden": 4},
            "train": {"batch_size": 32, "steps": 5, "eval_every": 5, "log_every": 1,
                      "optimizer": optimizer, "lr": 1e-12}}
    events, _ = run(data)
    norms = [e.grad_norm for e in of(events, ev.StepMetrics)]
    assert len(norms) == 5 and norms[0] > 0
    for n in norms[1:]:
        assert n == pytest.approx(norms[0], rel=1e-4), norms


def _tiny() -> dict:
    return {"task": {"kind": "nth_element", "seq_len": 4, "features": 4, "n": 1,
                     "train_size": 64, "val_size": 32},
            "model": {"hidden": 4}, "train": {"batch_size": 16, "steps": 4, "eval_every": 4}}


def test_the_run_id_reaches_the_start_event():
    events, _ = run(_tiny(), run_id="run-42")
    assert events[0].run_id == "run-42" and events[0].start_step == 0


def test_a_failure_without_a_message_is_still_one_line_at_its_step(monkeypatch):
    def boom(self, x, state=None):
        raise RuntimeError()
    monkeypatch.setattr(SequenceModel, "forward", boom)
    events, last = run(_tiny())
    assert isinstance(last, ev.Failed) and last.error == "RuntimeError" and last.step == 0


def test_without_steps_training_runs_whole_epochs():
    data = _tiny()
    data["train"] |= {"steps": 0, "epochs": 2, "eval_every": 0}
    events, last = run(data)
    per_epoch = events[0].steps_per_epoch
    assert per_epoch == 4 and events[0].total_steps == 2 * per_epoch
    assert last.status == "completed" and last.step == 2 * per_epoch
    assert [v.step for v in of(events, ev.ValMetrics)] == [per_epoch, 2 * per_epoch]


def test_train_threads_sets_torch_threads():
    before = torch.get_num_threads()
    try:
        data = _tiny()
        data["train"]["threads"] = 2
        run(data)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_resuming_with_another_vocabulary_is_a_config_error():
    from lstm_tui.config import ConfigError
    with pytest.raises(ConfigError) as info:
        run(_tiny(), resume={"vocab": ["a", "b"], "step": 2})
    assert info.value.key == "task" and info.value.source == ""
    assert str(info.value).startswith("task: ")
    assert str(info.value.message).startswith("the checkpoint's vocabulary differs from the "
                                              "task's (the text or normalize setting changed)")


def test_resuming_from_any_checkpoint_continues_like_the_uninterrupted_run():
    """Best, best_monitor, patience count, step and RNG all come back from the payload.

    Checkpoints at epoch ends only: a resume mid-epoch draws a new batch order for the
    rest of that epoch, so it is not bit-for-bit the same run (a known limit).
    """
    import copy
    data = _regression(patience=3, steps=96, eval_every=4)
    saved: list[dict] = []
    full, full_last = run(data, save_checkpoint=lambda tag, p: saved.append(
        copy.deepcopy(p)) or tag)
    assert full_last.status == "stopped_early" and full_last.final is not None
    per_epoch = full[0].steps_per_epoch
    for payload in saved:
        assert payload["epoch"] == payload["step"] // per_epoch
        assert {"vocab", "bad_evals", "best", "best_monitor", "final", "seed"} <= set(payload)

    def key(v):
        return (v.step, v.loss, v.metric, v.best, v.is_best)

    resumed_from = sorted({p["step"] for p in saved
                           if p["step"] < full_last.step and p["step"] % per_epoch == 0})
    assert len(resumed_from) >= 3
    for payload in [p for p in saved if p["step"] in resumed_from]:
        events, last = run(data, resume=payload)
        assert events[0].start_step == payload["step"]
        after = [key(v) for v in of(full, ev.ValMetrics) if v.step > payload["step"]]
        assert [key(v) for v in of(events, ev.ValMetrics)] == after, payload["step"]
        assert (last.status, last.step, last.best, last.final) == \
            (full_last.status, full_last.step, full_last.best, full_last.final)
