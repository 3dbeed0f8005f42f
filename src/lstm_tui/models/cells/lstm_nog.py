"""LSTM without output gate, NOG (Greff et al. 2015): o_t = 1, the cell is always read:

    h_t = act(c_t)

The input and forget gates still decide what the cell holds; nothing decides when it is
shown.  The rest is :mod:`lstm_tui.models.cells.lstm` (peepholes on i and f when asked).
"""

from __future__ import annotations

from lstm_tui.models.cells.lstm_family import Variant, family_spec

SPEC = family_spec("lstm_nog", Variant(blocks=("i", "f", "g")),
                   "LSTM without output gate (o = 1)", "Greff et al. 2015", label="LSTM-NOG")
