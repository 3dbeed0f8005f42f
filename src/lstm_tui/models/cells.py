"""Hand-written recurrent cells, one time step at a time, with a pluggable activation.

They compute exactly what PyTorch's ``nn.LSTM``/``nn.GRU``/``nn.RNN`` compute, from the same
parameter tensors and gate order (LSTM i, f, g, o; GRU r, z, n), but let the activation
that PyTorch hard-wires as tanh be swapped (softsign).  :func:`unroll` runs one direction
of one layer; the model stacks layers and directions.

Speed: the input projection ``x @ W_ih^T + b`` of all steps is one matmul before the
loop, so a step costs one ``addmm`` with the recurrent weights plus a few element-wise
ops.  The step functions take ``W_hh`` already transposed for the same reason.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor
from torch.nn import functional as F

Activation = Callable[[Tensor], Tensor]


def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|): like tanh in shape, but with polynomial rather than exponential tails."""
    return F.softsign(x)


ACTIVATIONS: dict[str, Activation] = {"tanh": torch.tanh, "softsign": softsign}


def lstm_step(xp: Tensor, h: Tensor, c: Tensor, w_hh_t: Tensor,
              act: Activation) -> tuple[Tensor, Tensor]:
    """One LSTM step.  `xp` is W_ih x_t + b_ih + b_hh (both biases folded in: they add)."""
    i, f, g, o = torch.addmm(xp, h, w_hh_t).chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * act(g)
    return torch.sigmoid(o) * act(c), c


def gru_step(xp: Tensor, h: Tensor, w_hh_t: Tensor, b_hh: Tensor, act: Activation) -> Tensor:
    """One GRU step (PyTorch's form: n = act(W_in x + b_in + r * (W_hn h + b_hn))).

    `xp` is W_ih x_t + b_ih; b_hh stays separate because b_hn sits inside r * (...).
    """
    hp = torch.addmm(b_hh, h, w_hh_t)
    hidden = h.shape[1]
    r, z = (xp[:, :2 * hidden] + hp[:, :2 * hidden]).sigmoid().chunk(2, 1)
    n = act(torch.addcmul(xp[:, 2 * hidden:], r, hp[:, 2 * hidden:]))
    return torch.lerp(n, h, z)  # (1 - z) * n + z * h


def rnn_step(xp: Tensor, h: Tensor, w_hh_t: Tensor, act: Activation) -> Tensor:
    """One Elman RNN step.  `xp` is W_ih x_t + b_ih + b_hh."""
    return act(torch.addmm(xp, h, w_hh_t))


def unroll(cell: str, x: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor,
           h: Tensor, c: Tensor | None, act: Activation,
           reverse: bool = False) -> tuple[list[Tensor], Tensor, Tensor | None]:
    """Run one direction of one layer over x (B, T, I) from state h (and c for LSTM).

    Returns the hidden states h_t as a list in time order (index t is step t even when
    `reverse`), and the final h and c (c is None except for LSTM).  The h_t are the very
    tensors the recurrence continues from, so gradients taken with respect to them
    include every path through later steps.
    """
    bias = b_ih if cell == "gru" else b_ih + b_hh
    steps = F.linear(x, w_ih, bias).unbind(1)  # unbind once: per-step indexing is slow
    if reverse:
        steps = steps[::-1]
    w_hh_t = w_hh.t()
    hs = []
    if cell == "lstm":
        for xp in steps:
            h, c = lstm_step(xp, h, c, w_hh_t, act)
            hs.append(h)
    elif cell == "gru":
        for xp in steps:
            h = gru_step(xp, h, w_hh_t, b_hh, act)
            hs.append(h)
    elif cell == "rnn":
        for xp in steps:
            h = rnn_step(xp, h, w_hh_t, act)
            hs.append(h)
    else:
        raise ValueError(f"unknown cell {cell!r} (lstm, gru or rnn)")
    if reverse:
        hs.reverse()
    return hs, h, c
