"""LSTM with full gate recurrence, FGR (Greff et al. 2015; the original formulation of
Hochreiter & Schmidhuber 1997): every gate also sees all gates' previous activations
through nine more H×H matrices (``weight_gg``, rows and columns i, f, o):

    [ĩ_t, f̃_t, õ_t] += W_gg [i_{t-1}, f_{t-1}, o_{t-1}]

so the state carries i, f and o besides h and c (zeros at the start).
"""

from __future__ import annotations

from lstm_tui.models.cells.lstm_family import Variant, family_spec

SPEC = family_spec("lstm_fgr", Variant(full_recurrence=True),
                   "LSTM with full gate recurrence (gates see the previous gates)",
                   "Greff et al. 2015", label="LSTM-FGR")
