"""LSTM without input activation function, NIAF (Greff et al. 2015): the candidate is the
pre-activation itself, unsquashed:

    g_t = W_g x_t + R_g h_{t-1} + b_g
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t

so the cell can grow faster; the output activation still squashes what is read.
"""

from __future__ import annotations

from lstm_tui.models.cells.lstm_family import Variant, family_spec

SPEC = family_spec("lstm_niaf", Variant(input_act=False),
                   "LSTM without input activation (g is linear)", "Greff et al. 2015",
                   label="LSTM-NIAF")
