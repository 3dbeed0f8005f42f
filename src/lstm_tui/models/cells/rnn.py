"""Elman RNN (Elman 1990, "Finding structure in time"), PyTorch's ``nn.RNN``:

    h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

act is tanh (the fused ``nn.RNN`` kernel) or softsign (the step-wise path).  The plain
recurrent net whose gradient vanishes over long gaps: the baseline every gated cell is
measured against.
"""

from __future__ import annotations

from lstm_tui.models.cells.base import (CellSpec, activation, gate_params,
                                        project_with_biases, transpose_recurrent)


def params(input_size: int, hidden: int, cfg) -> tuple:
    return gate_params(input_size, hidden, 1)


def step(p: dict, xp, state: tuple, cfg) -> tuple:
    h = activation(cfg)(xp.addmm(state[0], p["weight_hh_t"]))
    return (h,), {"hidden": h}


def notes(cfg) -> tuple[str, ...]:
    return (f"PyTorch keeps two bias vectors (b_ih and b_hh), so each RNN layer here has "
            f"H = {cfg.hidden:,} more parameters per direction than Keras's SimpleRNN, "
            f"which keeps one.",)


SPEC = CellSpec(
    name="rnn", label="RNN", summary="plain recurrent net: h_t = tanh(W x_t + U h_{t-1} + b)",
    paper="Elman 1990", params=params, project=project_with_biases, step=step,
    prepare=transpose_recurrent, options=frozenset({"activation"}),
    fused="torch.nn:RNN", fused_when=lambda cfg: cfg.activation == "tanh", notes=notes)
