"""LSTM without output gate, NOG (Greff et al. 2015): o_t = 1, the cell is always read:

    h_t = act(c_t)
"""

from __future__ import annotations

from lstm_tui.models.cells.lstm_family import Variant, family_spec

SPEC = family_spec("lstm_nog", Variant(blocks=("i", "f", "g")),
                   "LSTM without output gate (o = 1)", "Greff et al. 2015", label="LSTM-NOG")
