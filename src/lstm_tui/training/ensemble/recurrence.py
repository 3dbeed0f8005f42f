"""The batched recurrence: every member's recurrent layers at once, and the stacked model
built on it.

Any cell runs through generic.py (its own model under vmap).  For the parameter layout
that ``nn.LSTM``, ``nn.GRU`` and ``nn.RNN`` compute (a cell whose spec names one of them
as its fused module, with no parameter beyond PyTorch's four), a hand-tuned path is kept
because it is measurably faster (benchmarks/RESULTS.md): the recurrent layers run all
members at once with batched matmuls (``bmm``/``baddbmm``
over the member axis) in a hand-written autograd function (``recurrent.Recurrent``): the forward
loop writes each step into reused buffers, the backward is its own loop of a few batched
ops per step (``torch.func.vmap`` cannot batch ``nn.LSTM``, and autograd over step-wise
ops costs more than the arithmetic at these sizes).  PyTorch's nn.LSTM/GRU/RNN math, so
that a member's outputs equal its own ``SequenceModel``'s to float rounding.  On the CPU
the time loops run in C where that can be built.  The kernels themselves live in
lstm_tui.models.kernels (a single model runs them too).

Self-contained on purpose: the members' parameters come in as views of the flat stacks
under the ``SequenceModel``'s parameter names, and :func:`forward` is all the ensemble
calls, so the per-layout code here can be replaced as one piece.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from lstm_tui.models.kernels import recurrent
from lstm_tui.models.kernels.workspace import Workspace
from lstm_tui.training.ensemble import generic


@dataclass(frozen=True)
class Network:
    """The members' shared network shape (what `forward` computes)."""
    layout: str           # LSTM | GRU | RNN: the hand-tuned kernel; "" = generic.py
    activation: str       # the model's activation: tanh | softsign
    layers: int
    directions: int       # 2 when bidirectional
    readout: str          # last | all
    model: Any = None     # generic.py's template: a copy of a member's SequenceModel


def network(model, readout: str, hand_tuned: bool = True) -> Network:
    """The Network of the members' `model`: the hand-tuned kernel when its cell computes
    a layout it has (and `hand_tuned`), else the generic batched form."""
    layout = recurrent.layout_of(model.spec, tuple(model.layer_params(0, 0))) \
        if hand_tuned else ""
    return Network(layout, model.activation, model.layers, model.directions, readout,
                   None if layout else generic.template(model))


def forward(net: Network, params: dict[str, Tensor], x: Tensor,
            workspace: Workspace) -> Tensor:
    """x (M, T, B, I) -> output (M, B, O), or (M, T, B, O) when every step is read;
    `params` holds each SequenceModel parameter as an (M, ...) stack."""
    if not net.layout:
        return generic.forward(net.model, params, x)
    layer_in = x
    for k in range(net.layers):
        only_last = net.readout == "last" and k == net.layers - 1
        outs = []
        for d in range(net.directions):
            suffix = f"_l{k}{'_reverse' if d else ''}"
            w_ih, w_hh, b_ih, b_hh = (params[f"rnn.{kind}{suffix}"] for kind in
                                      ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            h, _ = recurrent.run(net.layout, net.activation, layer_in, w_ih, w_hh, b_ih, b_hh,
                                 only_last=only_last, reverse=d == 1, workspace=workspace,
                                 key=(k, d))
            outs.append(h)
        layer_in = outs[0] if len(outs) == 1 else torch.cat(outs, -1)
    w, b = params["head.weight"], params["head.bias"]
    m = layer_in.shape[0]
    out = torch.baddbmm(b.unsqueeze(1), layer_in.reshape(m, -1, layer_in.shape[-1]),
                        w.transpose(1, 2))
    return out.view(*layer_in.shape[:-1], w.shape[1])
