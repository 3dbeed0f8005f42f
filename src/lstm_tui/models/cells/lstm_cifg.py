"""LSTM with coupled input and forget gate, CIFG (Greff et al. 2015; the GRU's idea):
there is no forget gate of its own,

    f_t = 1 − i_t
    c_t = (1 − i_t) ⊙ c_{t-1} + i_t ⊙ g_t

(peepholes on i and o when asked).  Greff et al. found it no worse than V.
"""

from __future__ import annotations

from lstm_tui.models.cells.lstm_family import Variant, family_spec

SPEC = family_spec("lstm_cifg", Variant(blocks=("i", "g", "o"), coupled=True),
                   "LSTM with coupled input and forget gate (f = 1 - i)", "Greff et al. 2015",
                   label="LSTM-CIFG")
