"""The parameter table and the hand-written cells at their edges (survivors of the
mutation run, see TESTING.md)."""

from __future__ import annotations

import pytest
import torch

from lstm_tui.config import ModelConfig
from lstm_tui.models import format_summary, summarize
from lstm_tui.config import ConfigError
from lstm_tui.models.cells import spec_of
from lstm_tui.models.layers import run
from lstm_tui.models.summary import recurrent_layer_params

# Counts by hand (PyTorch layout, gates * (H*I + H*H + 2*H) per direction):
# gru_1 2 * 3 * (2*1 + 2*2 + 2*2) = 60, gru_2 2 * 3 * (2*4 + 4 + 4) = 96, dense 4 + 1 = 5.
EVERY_NOTE = """\
______________________________________________________
 Layer (type)                Output Shape      Param #
======================================================
 input (Input)               (None, None, 1)         0

 gru_1 (Bidirectional GRU)   (None, None, 4)        60

 gru_2 (Bidirectional GRU)   (None, None, 4)        96

 last_step (Select)          (None, 4)               0

 dropout (Dropout)           (None, 4)               0

 dense (Linear)              (None, 1)               5
======================================================
Total params: 161
Trainable params: 161
Non-trainable params: 0
______________________________________________________
Note: PyTorch keeps two bias vectors per gate (b_ih and b_hh); Keras's GRU does too with \
reset_after=True (its default since TF 2), so the counts match; with reset_after=False \
Keras has 3·H = 6 fewer per direction.
Note: last_step joins the forward direction's last step and the backward direction's \
first step: both have then read the whole sequence.
Note: Dropout 0.5 also acts between the recurrent layers (training only).
Note: softsign runs the hand-written step-wise cell, slower than the fused tanh kernel."""

# The header ("Param #") is wider than every count: it sets the column.
NO_EXTRA_NOTE = """\
________________________________________
 Layer (type)     Output Shape   Param #
========================================
 input (Input)    (None, 3, 1)         0

 rnn_1 (RNN)      (None, 3, 1)         4

 dense (Linear)   (None, 3, 1)         2
========================================
Total params: 6
Trainable params: 6
Non-trainable params: 0
________________________________________
Note: PyTorch keeps two bias vectors (b_ih and b_hh), so each RNN layer here has H = 1 \
more parameters per direction than Keras's SimpleRNN, which keeps one."""


def test_the_table_with_every_note():
    cfg = ModelConfig(cell="gru", hidden=2, layers=2, bidirectional=True, dropout=0.5,
                      activation="softsign")
    assert format_summary(summarize(cfg, 1, 1, None, "last")) == EVERY_NOTE


def test_the_table_of_a_plain_rnn_has_only_the_bias_note():
    assert format_summary(summarize(ModelConfig(cell="rnn", hidden=1), 1, 1, 3, "all")) \
        == NO_EXTRA_NOTE
    # bidirectional without "last", one layer with dropout, tanh: no further notes
    cfg = ModelConfig(cell="rnn", hidden=1, bidirectional=True, dropout=0.5)
    assert len(summarize(cfg, 1, 1, 3, "all").notes) == 1


def test_one_direction_is_the_default():
    cfg = ModelConfig(cell="lstm", hidden=2)
    assert recurrent_layer_params(cfg, 3) == 4 * (2 * 3 + 2 * 2 + 2 * 2) == 56
    assert recurrent_layer_params(cfg, 3, 2) == 112


def test_a_bad_readout_is_refused():
    with pytest.raises(ValueError) as info:
        summarize(ModelConfig(), 1, 1, 4, "first")
    assert str(info.value) == "readout must be 'last' or 'all', got 'first'"


def test_unroll_runs_forward_by_default_and_refuses_unknown_cells():
    torch.manual_seed(0)
    rnn = torch.nn.RNN(2, 3, batch_first=True)
    x = torch.randn(1, 4, 2)
    p = {name: getattr(rnn, f"{name}_l0") for name in ("weight_ih", "weight_hh", "bias_ih",
                                                      "bias_hh")}
    hs, (h,) = run(spec_of("rnn"), p, x, (torch.zeros(1, 3),), ModelConfig(cell="rnn", hidden=3))
    seq, _ = rnn(x)
    assert torch.allclose(torch.stack(hs, 1), seq, atol=1e-6) and torch.equal(h, hs[-1])
    with pytest.raises(ConfigError) as info:
        spec_of("lstmx")
    assert str(info.value).startswith("model.cell: must be one of rnn, lstm, gru,")
