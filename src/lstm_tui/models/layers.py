"""Any cell as layers: its parameters for every layer and direction, and one direction of
one layer run over a sequence, step by step or by the cell's scan.

The parameters are named as ``nn.LSTM`` names its own (``weight_ih_l0``,
``weight_hh_l1_reverse``...) and drawn as it draws them (uniform in ±1/√H, layer by
layer, direction by direction, in the spec's order), so a built-in cell on the step-wise
path starts from the very numbers of its fused module, and checkpoints read alike.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from lstm_tui.models.cells.base import CellSpec, Param


def suffix(layer: int, direction: int) -> str:
    return f"_l{layer}{'_reverse' if direction else ''}"


def stack_params(spec: CellSpec, cfg, input_size: int) -> list[tuple[Param, ...]]:
    """The params of each (layer, direction), in the order layer * directions + d."""
    dirs = 2 if cfg.bidirectional else 1
    width = cfg.hidden * dirs
    return [spec.layer_params(input_size if k == 0 else width, cfg.hidden, cfg)
            for k in range(cfg.layers) for _ in range(dirs)]


class CellParams(nn.Module):
    """The recurrent parameters of a stack of one cell that has no fused module here."""

    def __init__(self, spec: CellSpec, cfg, input_size: int):
        super().__init__()
        dirs = 2 if cfg.bidirectional else 1
        for i, params in enumerate(stack_params(spec, cfg, input_size)):
            for prm in params:
                name = prm.name + suffix(i // dirs, i % dirs)
                self.register_parameter(name, nn.Parameter(torch.empty(prm.shape)))
        bound = 1.0 / math.sqrt(cfg.hidden)
        with torch.no_grad():
            for p in self.parameters():   # nn.RNNBase.reset_parameters
                p.uniform_(-bound, bound)


def initial_state(spec: CellSpec, batch: int, hidden: int, like: Tensor) -> tuple[Tensor, ...]:
    """The state a sequence starts from: zeros, or the spec's start value of a part."""
    return tuple(like.new_full((batch, hidden), spec.start[name]) if name in spec.start
                 else like.new_zeros(batch, hidden) for name in spec.state)


def run(spec: CellSpec, p: dict[str, Tensor], x: Tensor, state: tuple[Tensor, ...] | None,
        cfg, reverse: bool = False,
        parallel: bool = True) -> tuple[list[Tensor] | Tensor, tuple[Tensor, ...]]:
    """One direction of one layer over x (B, T, I).

    With the cell's scan (`parallel`, and a sequence that starts from the zero state),
    returns h_t as one (B, T, H) tensor; else the step loop's h_t as a list in time order
    (index t is step t also when `reverse`), each the very tensor the recurrence
    continues from, so gradients taken with respect to them see every later step.  And
    the final state.
    """
    if parallel and spec.scan is not None and state is None:
        xp = spec.project(p, x.flip(1) if reverse else x, cfg)
        hs, final = spec.scan(spec.prepare(p, cfg) if spec.prepare else p, xp, cfg)
        return (hs.flip(1) if reverse else hs), final
    if state is None:
        state = initial_state(spec, x.shape[0], cfg.hidden, x)
    steps = spec.project(p, x, cfg).unbind(1)  # unbind once: per-step indexing is slow
    if reverse:
        steps = steps[::-1]
    ready = spec.prepare(p, cfg) if spec.prepare else p
    step = spec.step
    hs = []
    for xp in steps:
        state, _ = step(ready, xp, state, cfg)
        hs.append(state[0])
    if reverse:
        hs.reverse()
    return hs, state


def trace(spec: CellSpec, p: dict[str, Tensor], x: Tensor, cfg,
          reverse: bool = False) -> dict[str, list[Tensor]]:
    """Every gate the spec names, over x (B, T, I) from the start state, as lists of
    (B, H) in time order; a gate the step gives as a number (a removed gate) is that
    number everywhere."""
    state = initial_state(spec, x.shape[0], cfg.hidden, x)
    steps = spec.project(p, x, cfg).unbind(1)
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    ready = spec.prepare(p, cfg) if spec.prepare else p
    out: dict[str, list[Tensor]] = {name: [] for name in spec.gates}
    for t in order:
        state, gates = spec.step(ready, steps[t], state, cfg)
        for name in spec.gates:
            value = gates[name]
            if not isinstance(value, Tensor):
                value = state[0].new_full(state[0].shape, float(value))
            out[name].append(value)
    if reverse:
        for seq in out.values():
            seq.reverse()
    return out


def apply_init(spec: CellSpec, layers: list[dict[str, Tensor]], params: list[tuple[Param, ...]],
               scheme: str, hidden: int) -> None:
    """``model.init``'s scheme over the cell's matrices (per block of rows: each gate's
    own (H, fan_in) matrix), biases zeroed; "default" keeps the uniform draw."""
    if scheme == "default":
        return
    for p, prms in zip(layers, params):
        for prm in prms:
            value = p[prm.name]
            if prm.role == "bias":
                value.zero_()
            elif prm.role in ("input", "recurrent"):
                fill = (nn.init.orthogonal_ if scheme == "orthogonal" and prm.role == "recurrent"
                        else nn.init.xavier_uniform_)
                for block in value.split(prm.block or hidden):
                    fill(block)
