"""One validation's figures (training.validation.measure): where the gradient probe's batch
is the first validation batch, the probe's forward stands in for that batch's own, and the
figures are those of an evaluation and a probe done apart."""

from __future__ import annotations

import pytest
import torch

from lstm_tui.config import parse_config
from lstm_tui.training import validation
from lstm_tui.training.engine import build


def _built(task: dict, model: dict, batch_size: int = 16):
    cfg = parse_config({"task": task, "model": {"hidden": 8, **model},
                        "train": {"batch_size": batch_size, "steps": 4}})
    exp = build(cfg)
    return exp.model, exp.task


def _forwards(model) -> list[int]:
    """Counts the model's own forward calls (the probe runs its step-wise path instead)."""
    calls = []
    forward = model.forward

    def counted(*args, **kwargs):
        calls.append(args[0].shape[0])
        return forward(*args, **kwargs)
    model.forward = counted
    return calls


NTH = {"kind": "nth_element", "seq_len": 6, "train_size": 64, "val_size": 300}


@pytest.mark.parametrize("cell", ["lstm", "gru", "mingru"])
def test_the_probe_s_forward_is_the_first_validation_batch_s(cell):
    model, task = _built(NTH, {"cell": cell})
    apart_loss, apart_metric = validation.evaluate(model, task, 16)
    apart_norms = validation.probe_timestep_grads(model, task)
    firsts = []
    calls = _forwards(model)
    loss, metric, norms = validation.measure(model, task, 16, firsts.append)
    # 300 sequences in batches of 256: the model's own forward runs for the second only
    assert calls == [44]
    assert norms == apart_norms
    assert loss == pytest.approx(apart_loss, rel=1e-5) and metric == pytest.approx(apart_metric)
    assert firsts[0].shape[0] == 256 and not firsts[0].requires_grad
    assert model.training                      # the mode it had


def test_a_batch_larger_than_the_probe_s_evaluates_as_before():
    model, task = _built(NTH, {"cell": "lstm"}, batch_size=300)
    expected = validation.evaluate(model, task, 300)
    calls = _forwards(model)
    loss, metric, _ = validation.measure(model, task, 300)
    assert calls == [300] and (loss, metric) == expected


def test_a_stateful_task_evaluates_its_streams_as_before(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog " * 40)
    model, task = _built({"kind": "char_lm", "text": str(text), "seq_len": 8}, {"cell": "lstm"})
    expected = validation.evaluate(model, task, 16)
    calls = _forwards(model)
    loss, metric, norms = validation.measure(model, task, 16)
    batches = [x.shape[0] for x, _ in task.val_batches(16)]    # its streams: 16 wide
    assert calls == batches == [16] * len(batches) and (loss, metric) == expected
    assert len(norms) == 8 and all(torch.isfinite(torch.tensor(norms)))
