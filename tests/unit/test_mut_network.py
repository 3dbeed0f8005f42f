"""SequenceModel edges that mutation testing found unchecked (see TESTING.md)."""

from __future__ import annotations

import pytest
import torch

from lstm_tui.config import ModelConfig
from lstm_tui.models import build_model


def test_an_unknown_init_is_refused_with_the_schemes():
    with pytest.raises(ValueError) as info:
        build_model(ModelConfig(init="glorot"), 2, 2, "last")
    assert str(info.value) == "unknown init 'glorot' (default, xavier or orthogonal)"


def test_timestep_grads_when_the_loss_reaches_only_some_states():
    """Bidirectional, read-out "all", a loss on the last step only: the backward
    direction's later states (earlier steps) do not reach it, and count as zero."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=4, bidirectional=True), 3, 2, "all")
    x, y = torch.randn(2, 5, 3), torch.randint(2, (2,))

    def last_step_loss(out, target):
        return torch.nn.functional.cross_entropy(out[:, -1], target, reduction="sum")

    norms = model.timestep_grad_norms(x, y, last_step_loss)
    assert len(norms) == 5 and all(n > 0 for n in norms)
