"""minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): forget and input gates read
only the input and are normalised to sum to one, so the sequence is a parallel scan:

    f_t = σ(W_f x_t + b_f),  i_t = σ(W_i x_t + b_i)
    f′_t = f_t / (f_t + i_t),  i′_t = i_t / (f_t + i_t)     (reported as forget, input)
    h̃_t = g(W_h x_t + b_h)                                  candidate (g as minGRU's)
    h_t = f′_t ⊙ h_{t-1} + i′_t ⊙ h̃_t

In log space (training): with d = softplus(−k_f) − softplus(−k_i), log f′ = −softplus(d)
and log i′ = −softplus(−d).  No output gate, no cell apart from h: 3·H·(I + 1)
parameters per direction.
"""

from __future__ import annotations

from lstm_tui.models.cells.base import CellSpec, Param, project_input
from lstm_tui.models.cells.scan import g, log_g, log_scan


def params(input_size: int, hidden: int, cfg) -> tuple:
    return (Param("weight_ih", (3 * hidden, input_size), "input"),
            Param("bias_ih", (3 * hidden,), "bias"))


def step(p: dict, xp, state: tuple, cfg) -> tuple:
    kf, ki, pre = xp.chunk(3, 1)
    f, i = kf.sigmoid(), ki.sigmoid()
    total = f + i
    f, i, candidate = f / total, i / total, g(pre)
    h = f * state[0] + i * candidate
    return (h,), {"forget": f, "input": i, "candidate": candidate, "hidden": h}


def scan(p: dict, xp, cfg) -> tuple:
    from torch.nn import functional as F
    kf, ki, pre = xp.chunk(3, -1)
    d = F.softplus(-kf) - F.softplus(-ki)
    hs = log_scan(-F.softplus(d), -F.softplus(-d) + log_g(pre))
    return hs, (hs[:, -1],)


SPEC = CellSpec(
    name="minlstm", label="minLSTM", summary="minimal LSTM: normalised gates from the "
    "input only, trained with a parallel scan", paper="Feng et al. 2024", params=params,
    project=project_input, step=step, scan=scan,
    gates=("forget", "input", "candidate", "hidden"), bounded=frozenset({"forget", "input"}))
