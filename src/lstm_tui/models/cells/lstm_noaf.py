"""LSTM without output activation function, NOAF (Greff et al. 2015): the cell is read
unsquashed,

    h_t = o_t ⊙ c_t

so h is unbounded.  Greff et al. found it among the two variants that hurt most.
"""

from __future__ import annotations

from lstm_tui.models.cells.lstm_family import Variant, family_spec

SPEC = family_spec("lstm_noaf", Variant(output_act=False),
                   "LSTM without output activation (h = o * c)", "Greff et al. 2015",
                   label="LSTM-NOAF")
