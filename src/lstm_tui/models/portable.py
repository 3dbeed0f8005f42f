"""The model as other programs use it: one normalised tensor in, one tensor out.

:class:`Portable` wraps a trained :class:`~lstm_tui.models.network.SequenceModel`:
``input`` (batch, time, features) -> ``output`` (batch, outputs), or (batch, time,
outputs) for a model that predicts at every step.  The Python API hands it out, and
:func:`graph` turns it into TorchScript whose batch and time sizes are free, which
``torch.onnx`` exports as it is.

A fused model (nn.LSTM/GRU/RNN) traces into one recurrent op that takes any length.  A
model on the step-wise path (softsign, or a cell without a fused module) is a Python
loop over the steps, which tracing would unroll at the example's length; it becomes a
scripted loop over two traced pieces instead: its first step (from the cell's own start
state) and one step from a given state, the state's parts joined into one tensor.
This needs only the model's ``forward(x, state) -> (output, state)`` and a state that
runs forward: a bidirectional step-wise model has no such graph (:class:`NotPortable`).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor, nn

INPUT, OUTPUT = "input", "output"       # the graph's names, in ONNX files too


class NotPortable(ValueError):
    """The model has no graph with free batch and time sizes."""


class Portable(nn.Module):
    """forward(input) -> output: the model without its state (see the module's docstring)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)[0]


def graph(model: nn.Module, input_size: int, length: int = 4) -> torch.jit.ScriptModule:
    """TorchScript of ``Portable(model)`` (in eval mode) for any batch and time size;
    `length` is the example's time size."""
    model.eval()
    example = torch.zeros(2, max(2, length), input_size)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")      # tracer warnings about Python values
        if getattr(model, "fused", False):
            return torch.jit.trace(Portable(model), (example,))
        if getattr(model, "directions", 1) != 1:
            raise NotPortable("a bidirectional model on the step-wise path has no graph "
                              "with a free sequence length (its backward pass needs the "
                              "whole sequence first)")
        return _loop(model, example)


def _loop(model: nn.Module, example: Tensor) -> torch.jit.ScriptModule:
    out, state = model(example[:, :1])
    parts = [s.shape[-1] for s in state] if isinstance(state, tuple) else None
    first = torch.jit.trace(_First(model), (example[:, :1],))
    _, packed = first(example[:, :1])
    step = torch.jit.trace(_Step(model, parts), (example[:, 1], packed))
    loop = _LoopAll(first, step) if out.dim() == 3 else _LoopLast(first, step)
    return torch.jit.script(loop)


def _pack(state: Any) -> Tensor:
    """The state as one tensor: its parts (each (L*D, B, width)) side by side."""
    return torch.cat(state, -1) if isinstance(state, tuple) else state


def _last(out: Tensor) -> Tensor:
    return out[:, -1] if out.dim() == 3 else out


class _First(nn.Module):
    """The first step from the cell's start state: (output (B, O), packed state)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        out, state = self.model(x)
        return _last(out), _pack(state)


class _Step(nn.Module):
    """One step x_t (B, F) from a packed state (`parts`: each part's width, or None for
    a state of one tensor)."""

    def __init__(self, model: nn.Module, parts: list[int] | None):
        super().__init__()
        self.model, self.parts = model, parts

    def forward(self, x: Tensor, packed: Tensor) -> tuple[Tensor, Tensor]:
        state = packed if self.parts is None else tuple(packed.split(self.parts, -1))
        out, state = self.model(x.unsqueeze(1), state)
        return _last(out), _pack(state)


class _LoopAll(nn.Module):
    """An output at every step: (B, T, O)."""

    def __init__(self, first: nn.Module, step: nn.Module):
        super().__init__()
        self.first, self.step = first, step

    def forward(self, input: Tensor) -> Tensor:
        out, state = self.first(input[:, :1])
        outs = [out]
        for t in range(1, input.size(1)):
            out, state = self.step(input[:, t], state)
            outs.append(out)
        return torch.stack(outs, 1)


class _LoopLast(nn.Module):
    """The output after the last step: (B, O)."""

    def __init__(self, first: nn.Module, step: nn.Module):
        super().__init__()
        self.first, self.step = first, step

    def forward(self, input: Tensor) -> Tensor:
        out, state = self.first(input[:, :1])
        for t in range(1, input.size(1)):
            out, state = self.step(input[:, t], state)
        return out
