"""The step-decay schedule at its edges (survivors of the mutation run, TESTING.md)."""

from __future__ import annotations

import pytest

from lstm_tui.config import TrainConfig
from lstm_tui.training.optim import learning_rate


def test_decay_every_single_step():
    cfg = TrainConfig(lr=0.8, lr_decay=0.5, lr_decay_every=1)
    assert [learning_rate(cfg, s) for s in range(4)] == [0.8, 0.4, 0.2, 0.1]


@pytest.mark.parametrize("decay", [1.0, 0.5])
def test_no_decay_interval_or_a_unit_factor_keeps_the_rate(decay):
    assert learning_rate(TrainConfig(lr=0.3, lr_decay=decay, lr_decay_every=0), 10 ** 6) == 0.3
    assert learning_rate(TrainConfig(lr=0.3, lr_decay=1.0, lr_decay_every=3), 10 ** 6) == 0.3
