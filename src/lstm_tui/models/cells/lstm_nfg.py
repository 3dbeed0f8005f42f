"""LSTM without forget gate, NFG (Greff et al. 2015): f_t = 1, the original LSTM of
Hochreiter & Schmidhuber 1997, whose cell only accumulates:

    c_t = c_{t-1} + i_t ⊙ g_t

Greff et al. found it among the two variants that hurt most.
"""

from __future__ import annotations

from lstm_tui.models.cells.lstm_family import Variant, family_spec

SPEC = family_spec("lstm_nfg", Variant(blocks=("i", "g", "o")),
                   "LSTM without forget gate (f = 1)", "Greff et al. 2015", label="LSTM-NFG")
