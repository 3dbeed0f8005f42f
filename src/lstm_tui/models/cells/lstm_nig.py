"""LSTM without input gate, NIG (Greff et al. 2015): i_t = 1, so every candidate is
written in whole:

    c_t = f_t ⊙ c_{t-1} + g_t

The forget gate alone decides how much of the old cell stays; the candidate always
enters.  The rest is :mod:`lstm_tui.models.cells.lstm` (peepholes on f and o when asked).
"""

from __future__ import annotations

from lstm_tui.models.cells.lstm_family import Variant, family_spec

SPEC = family_spec("lstm_nig", Variant(blocks=("f", "g", "o")),
                   "LSTM without input gate (i = 1)", "Greff et al. 2015", label="LSTM-NIG")
