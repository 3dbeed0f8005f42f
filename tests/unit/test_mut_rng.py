"""When a run says its CUDA results are not repeatable (mutation pass 3)."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from lstm_tui.training.rng import FUSED_DROPOUT_NOTE, notes

CUDA, CPU = torch.device("cuda"), torch.device("cpu")


def test_only_a_fused_model_with_dropout_on_cuda_gets_the_note():
    assert notes(SimpleNamespace(fused=True, inter_dropout=0.5), CUDA) == (FUSED_DROPOUT_NOTE,)
    assert notes(SimpleNamespace(fused=True, inter_dropout=0.5), CPU) == ()
    assert notes(SimpleNamespace(fused=True, inter_dropout=0.0), CUDA) == ()
    assert notes(SimpleNamespace(fused=False, inter_dropout=0.5), CUDA) == ()


def test_a_model_without_the_attributes_gets_no_note():
    assert notes(SimpleNamespace(inter_dropout=0.5), CUDA) == ()
    assert notes(SimpleNamespace(fused=True), CUDA) == ()
    assert notes(SimpleNamespace(), CUDA) == ()
