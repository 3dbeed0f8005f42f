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


# ---------------------------------------------------------------- a held-out sample (seed 17)

def test_an_unknown_cell_is_refused_naming_the_cells():
    import dataclasses

    from lstm_tui.models.network import SequenceModel
    cfg = dataclasses.replace(ModelConfig(), cell="lstn")          # past the config's check
    with pytest.raises(ValueError) as info:
        SequenceModel(cfg, 3, 2)
    assert str(info.value).startswith("model.cell: must be one of rnn, lstm, gru, ")
    assert str(info.value).endswith(", got 'lstn' (did you mean 'lstm'?)")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_the_fused_recurrence_drops_out_between_its_layers_while_training(cell):
    from lstm_tui.models.network import SequenceModel
    x = torch.randn(4, 6, 3)
    for dropout, differs in ((0.5, True), (0.0, False)):
        model = SequenceModel(ModelConfig(cell=cell, hidden=8, layers=2, dropout=dropout), 3, 2)
        model.train()
        torch.manual_seed(0)
        a, _ = model.rnn(x)
        b, _ = model.rnn(x)
        assert (not torch.equal(a, b)) is differs
        model.eval()
        assert torch.equal(model.rnn(x)[0], model.rnn(x)[0])
