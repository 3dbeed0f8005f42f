"""Gated recurrent unit (Cho et al. 2014), PyTorch's ``nn.GRU`` (gate rows r, z, n):

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)            reset
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)            update
    n_t = act(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))  candidate
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}

b_hn sits inside r_t ⊙ (...), so b_hh is not folded into the input projection.
"""

from __future__ import annotations

from lstm_tui.models.cells.base import (CellSpec, activation, gate_params, project_input,
                                        transpose_recurrent)


def params(input_size: int, hidden: int, cfg) -> tuple:
    return gate_params(input_size, hidden, 3)


def step(p: dict, xp, state: tuple, cfg) -> tuple:
    h = state[0]
    hp = p["bias_hh"].addmm(h, p["weight_hh_t"])
    hidden = h.shape[1]
    r, z = (xp[:, :2 * hidden] + hp[:, :2 * hidden]).sigmoid().chunk(2, 1)
    n = activation(cfg)(xp[:, 2 * hidden:].addcmul(r, hp[:, 2 * hidden:]))
    h = n.lerp(h, z)  # (1 - z) * n + z * h
    return (h,), {"reset": r, "update": z, "candidate": n, "hidden": h}


def notes(cfg) -> tuple[str, ...]:
    return (f"PyTorch keeps two bias vectors per gate (b_ih and b_hh); Keras's GRU does too "
            f"with reset_after=True (its default since TF 2), so the counts match; with "
            f"reset_after=False Keras has 3·H = {3 * cfg.hidden:,} fewer per direction.",)


SPEC = CellSpec(
    name="gru", label="GRU", summary="gated recurrent unit: reset and update gates",
    paper="Cho et al. 2014", params=params, project=project_input, step=step,
    prepare=transpose_recurrent, state=("h",),
    gates=("reset", "update", "candidate", "hidden"), bounded=frozenset({"reset", "update"}),
    options=frozenset({"activation"}), fused="torch.nn:GRU",
    fused_when=lambda cfg: cfg.activation == "tanh", notes=notes)
