"""Engine behaviour that mutation testing found unchecked (see TESTING.md).

Through `train` and its events, or the engine's public helpers, only.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lstm_tui import events as ev
from lstm_tui.config import parse_config
from lstm_tui.training.validation import copy_to_cpu, cpu_copy
from tests.engine_runs import of, run


def _accuracy_run(**train_cfg) -> dict:
    """nth_element: goal "max" (accuracy), validated often enough to rise and fall."""
    return {"task": {"kind": "nth_element", "seq_len": 4, "features": 4, "n": 1,
                     "train_size": 128, "val_size": 64},
            "model": {"hidden": 6},
            "train": {"batch_size": 16, "steps": 60, "eval_every": 3, "log_every": 3,
                      "optimizer": "adam", "lr": 0.05, **train_cfg}}


@pytest.mark.parametrize("monitor,min_delta", [("metric", 0.0), ("loss", 0.0),
                                               ("metric", 0.05)])
def test_goal_max_is_best_follows_the_monitored_figure(monitor, min_delta):
    """`best` is the running maximum of accuracy (by more than min_delta); `is_best`
    marks a rise of accuracy when monitoring the metric, a fall of the loss otherwise."""
    events, last = run(_accuracy_run(monitor=monitor, min_delta=min_delta))
    assert events[0].goal == "max"
    vals = of(events, ev.ValMetrics)
    assert len(vals) == 20
    best, watched_best, flags = None, None, []
    for v in vals:
        if best is None or v.metric > best + min_delta:
            best = v.metric
        assert v.best == best, v.step
        watched = v.metric if monitor == "metric" else v.loss
        if monitor == "metric":
            improved = watched_best is None or watched > watched_best + min_delta
        else:
            improved = watched_best is None or watched < watched_best - min_delta
        watched_best = watched if improved else watched_best
        flags.append(improved)
    assert [v.is_best for v in vals] == flags
    assert True in flags[1:] and False in flags      # both kinds of validation happened
    assert last.best == best


def test_copy_to_cpu_copies_parameters_flags_and_buffers():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    model[0].bias.requires_grad_(False)
    model[1].running_mean.fill_(0.25)
    copied = copy_to_cpu(model)
    pairs = list(zip(model.parameters(), copied.parameters()))
    assert [b.requires_grad for _, b in pairs] == [True, False, True, True]
    for a, b in pairs:
        assert isinstance(b, nn.Parameter) and torch.equal(a, b)
        assert b.data_ptr() != a.data_ptr()      # a copy, not the same storage
    buffers = list(copied.buffers())
    assert buffers and all(b.device.type == "cpu" for b in buffers)
    assert torch.equal(copied[1].running_mean, torch.full((2,), 0.25))
    assert copied[1].running_mean.data_ptr() != model[1].running_mean.data_ptr()


def test_cpu_copy_of_a_cpu_model_is_the_model_itself():
    model = nn.Linear(2, 2)
    assert cpu_copy(model) is model
    assert cpu_copy(nn.Sequential()) is not None


def _exploding(lr: float) -> dict:
    """Plain SGD on an unscaled regression: the loss grows step by step (lr 0.5) or the
    first update throws the weights out of range (lr 1e30)."""
    return {"task": {"kind": "weighted_sum", "seq_len": 4, "train_size": 64, "val_size": 32},
            "model": {"cell": "rnn", "hidden": 4},
            "train": {"batch_size": 64, "steps": 30, "eval_every": 1, "log_every": 1,
                      "optimizer": "sgd", "lr": lr}}


def test_a_loss_grown_past_the_limit_is_diverged_with_its_figures():
    events, last = run(_exploding(0.5))
    losses = [e.loss for e in of(events, ev.StepMetrics)]
    assert last.status == "diverged" and last.step == len(losses)
    assert losses[-1] > 1000 * losses[0] and max(losses[:-1]) <= 1000 * losses[0]
    assert last.message == (
        f"train loss grew to {losses[-1]:.3g}, over 1000x its start ({losses[0]:.3g}), by "
        f"step {last.step}: lower train.lr (now 0.5), set train.grad_clip (e.g. 1.0) or "
        "standardize the inputs")


def test_a_non_finite_validation_loss_is_diverged_at_its_step():
    events, last = run(_exploding(1e30))
    assert [e.step for e in of(events, ev.StepMetrics)] == [1]    # the train loss was finite
    assert last.status == "diverged" and last.step == 1
    assert last.message == ("loss became non-finite at step 1: lower train.lr (now 1e+30), "
                            "set train.grad_clip (e.g. 1.0) or standardize the inputs")


def test_select_device_refuses_a_missing_mps():
    from lstm_tui.config import ConfigError
    from lstm_tui.training.engine import select_device
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        pytest.skip("this machine has mps")
    with pytest.raises(ConfigError) as info:
        select_device("mps")
    assert info.value.key == "train.device"
    assert info.value.message == "mps was asked for but is not available (allowed here: auto, cpu)"
    assert select_device("cpu") == torch.device("cpu")


def _small(**train_cfg) -> dict:
    return {"task": {"kind": "weighted_sum", "seq_len": 4, "train_size": 64, "val_size": 32},
            "model": {"hidden": 4},
            "train": {"batch_size": 16, "steps": 8, "eval_every": 2, "log_every": 2,
                      "optimizer": "adam", "lr": 0.01, **train_cfg}}


def _payloads(data: dict) -> dict[int, dict]:
    import copy
    saved: dict[int, dict] = {}
    run(data, save_checkpoint=lambda tag, p: saved.setdefault(p["step"], copy.deepcopy(p)) and tag)
    return saved


def test_a_failure_after_a_resume_is_reported_at_the_resumed_step(monkeypatch):
    from lstm_tui.models.network import SequenceModel
    payload = _payloads(_small())[4]

    def boom(self, x, state=None):
        raise RuntimeError("boom")
    monkeypatch.setattr(SequenceModel, "forward", boom)
    _, last = run(_small(), resume=payload)
    assert isinstance(last, ev.Failed) and last.step == 4 and last.error == "RuntimeError: boom"


def test_a_checkpoint_without_a_patience_count_resumes_with_none_used():
    """Older checkpoints lack `bad_evals`: the resumed run starts its patience afresh."""
    payload = _payloads(_small())[2]
    del payload["bad_evals"]
    # nothing can improve by 1e9: every validation after the resume is a bad one
    _, last = run(_small(patience=2, min_delta=1e9), resume=payload)
    assert last.status == "stopped_early" and last.step == 6


def test_start_and_validation_events_carry_their_notes_and_times():
    events, _ = run(_small())
    assert events[0].notes == ()                      # a CPU run has nothing to warn about
    vals = of(events, ev.ValMetrics)
    assert len(vals) == 4 and all(v.seconds > 0 for v in vals)
    assert [v.seconds for v in vals] == sorted(v.seconds for v in vals)


def _ucr(path, n: int, seed: int) -> str:
    import numpy as np
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        t = np.linspace(0, 1, 12)
        v = {0: t, 1: -t, 2: 0 * t}[i % 3] + rng.normal(0, 1.5, 12)
        rows.append([("up", "down", "flat")[i % 3]] + [f"{x:.4f}" for x in v])
    path.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    return str(path)


def test_the_final_report_is_measured_with_the_best_weights(tmp_path):
    """A task with a final report (sequence classification: test confusion) gets the
    baseline report before training and, at the end, the figures of the best weights."""
    data = {"task": {"kind": "sequence_classification", "path": _ucr(tmp_path / "a.tsv", 60, 0),
                     "test_path": _ucr(tmp_path / "b.tsv", 30, 1)},
            "model": {"hidden": 6},
            "train": {"batch_size": 8, "steps": 24, "eval_every": 3, "log_every": 3,
                      "optimizer": "adam", "lr": 0.05}}
    import copy
    best: list[dict] = []
    events, last = run(data, save_checkpoint=lambda tag, p: (
        best.append(copy.deepcopy(p)) if tag == "best" else None) or tag)
    assert last.status == "completed"
    reports = [e for e in events if isinstance(e, ev.TaskReport)]
    assert len(reports) == 2
    assert events.index(reports[0]) == 1 and "baselines" in reports[0].figures
    assert events[-2] is reports[1]
    from lstm_tui.training.engine import build
    exp = build(parse_config(data))
    exp.model.load_state_dict(best[-1]["model"])
    assert reports[1].figures == exp.task.final_report(exp.model, 8)
    exp.model.load_state_dict(_last_weights(data))
    # the last weights would report otherwise (else this test could not tell them apart)
    assert reports[1].figures != exp.task.final_report(exp.model, 8)


def _last_weights(data: dict) -> dict:
    import copy
    last: list[dict] = []
    run(data, save_checkpoint=lambda tag, p: last.append(copy.deepcopy(p["model"])) or tag)
    return last[-1]


def test_a_cuda_index_past_the_devices_names_the_key_and_the_range(monkeypatch):
    import torch

    from lstm_tui.config import ConfigError
    from lstm_tui.training.engine import select_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ConfigError) as info:
        select_device("cuda:2")
    assert (info.value.key, info.value.message) == (
        "train.device", "cuda:2 was asked for but torch sees 2 CUDA device(s) (allowed here: "
        "auto, cpu, cuda, cuda:0..cuda:1)")


def test_a_run_without_an_id_is_announced_without_one():
    from lstm_tui.training.engine import train
    cfg = parse_config({"task": {"kind": "nth_element", "seq_len": 3, "features": 3, "n": 0,
                                 "train_size": 32, "val_size": 16},
                        "model": {"hidden": 4}, "train": {"steps": 2, "batch_size": 16}})
    events = []
    train(cfg, events.append)
    [started] = [e for e in events if isinstance(e, ev.RunStarted)]
    assert started.run_id == ""
