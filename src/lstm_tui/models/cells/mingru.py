"""minGRU (Feng et al. 2024, "Were RNNs All We Needed?"): a GRU whose gates read only the
input, so the whole sequence can be computed by a parallel scan:

    z_t = σ(W_z x_t + b_z)                    update
    h̃_t = g(W_h x_t + b_h)                    candidate; g(x) = x + ½ (x >= 0), σ(x) (x < 0)
    h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t     hidden

Training runs the paper's log-space scan (log(1 − z) = −softplus(k), log z =
−softplus(−k), log g; :mod:`lstm_tui.models.cells.scan`); sampling and ``inspect`` run
the step.  No reset gate, no recurrent weights: 2·H·(I + 1) parameters per direction.
"""

from __future__ import annotations

from lstm_tui.models.cells.base import CellSpec, Param, project_input
from lstm_tui.models.cells.scan import g, log_g, log_scan


def params(input_size: int, hidden: int, cfg) -> tuple:
    return (Param("weight_ih", (2 * hidden, input_size), "input"),
            Param("bias_ih", (2 * hidden,), "bias"))


def step(p: dict, xp, state: tuple, cfg) -> tuple:
    k, pre = xp.chunk(2, 1)
    z, candidate = k.sigmoid(), g(pre)
    h = (1 - z) * state[0] + z * candidate
    return (h,), {"update": z, "candidate": candidate, "hidden": h}


def scan(p: dict, xp, cfg) -> tuple:
    from torch.nn import functional as F
    k, pre = xp.chunk(2, -1)
    hs = log_scan(-F.softplus(k), -F.softplus(-k) + log_g(pre))
    return hs, (hs[:, -1],)


SPEC = CellSpec(
    name="mingru", label="minGRU", summary="minimal GRU: gates from the input only, "
    "trained with a parallel scan", paper="Feng et al. 2024", params=params,
    project=project_input, step=step, scan=scan, gates=("update", "candidate", "hidden"),
    bounded=frozenset({"update"}))
