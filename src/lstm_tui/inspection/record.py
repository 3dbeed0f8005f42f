"""Record what a trained recurrent stack does at every time step of one sequence.

The gates are recomputed from the model's own parameter tensors by its cell's step
(:func:`lstm_tui.models.layers.trace`), the very step the hand-written path runs, so the
hidden and cell states are the ones the model computes (for the built-ins, the ones
``nn.LSTM``/``nn.GRU``/``nn.RNN`` compute: tests check this to 1e-5).  The same pass is
differentiable, which gives the saliency ‖∂(predicted output)/∂x_t‖.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from lstm_tui.inspection.schema import DIRECTIONS, TOP_CLASSES, LayerTrace
from lstm_tui.models.layers import trace


# ---------------------------------------------------------------- the recurrence

def trace_stack(model, x: Tensor) -> tuple[list[tuple[int, str, dict[str, list[Tensor]]]],
                                             list[list[Tensor]]]:
    """Every layer and direction of `model` (a SequenceModel) over x (1, T, I).

    Returns [(layer, direction, quantities)] and the top layer's h_t per direction
    (the read-out's input).  No dropout: this is the model as evaluated.
    """
    traces = []
    layer_in = x
    top: list[list[Tensor]] = []
    for k in range(model.layers):
        top = []
        for d in range(model.directions):
            q = trace(model.spec, model.layer_params(k, d), layer_in, model.cfg,
                      reverse=d == 1)
            traces.append((k, DIRECTIONS[d], q))
            top.append(q["hidden"])
        seqs = [torch.stack(hs, 1) for hs in top]       # (1, T, H) each
        layer_in = torch.cat(seqs, 2)
    return traces, top


# ---------------------------------------------------------------- one sequence

@dataclass
class Pass:
    """The raw result of :func:`run_sequence` (tensors as Python lists)."""
    traces: list[LayerTrace]
    output: list              # read-out steps x output_size (model units)
    readout_steps: list[int]
    saliency: list[float]


def run_sequence(model, x: Tensor) -> Pass:
    """Trace `model` over one sequence x (1, T, I) and take the saliency of its final
    prediction: ‖∂y/∂x_t‖ per step, where y is the predicted class's logit (several
    outputs) or the predicted value (one output) at the last read-out step."""
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            x = x.detach().clone().requires_grad_(True)
            traces, top = trace_stack(model, x)
            output = model.head(model._select_steps(top))     # (1, O) or (1, T, O)
            last = output[0, -1] if output.dim() == 3 else output[0]
            target = last[last.argmax()] if last.numel() > 1 else last.sum()
            (grad,) = torch.autograd.grad(target, x)
    finally:
        model.train(was_training)
    steps = x.shape[1]
    out = output.detach()[0]
    if out.dim() == 1:
        out, readout_steps = out.unsqueeze(0), [steps - 1]
    else:
        readout_steps = list(range(steps))
    return Pass(
        traces=[LayerTrace(k, d, {name: torch.cat(seq).detach().tolist()
                                  for name, seq in q.items()}) for k, d, q in traces],
        output=out.tolist(), readout_steps=readout_steps,
        saliency=grad[0].norm(dim=-1).tolist())


def predictions(outputs: Sequence[Sequence[float]], steps: Sequence[int], targets: Sequence,
                labels: Sequence[str] | None, classify: bool, scale: float = 1.0,
                offset: float = 0.0) -> list[dict]:
    """One entry per read-out step.  Classification: the top classes with softmax
    probabilities and the target; regression: predicted value and target in the task's
    original units (value * scale + offset)."""
    result = []
    for k, (row, t) in enumerate(zip(outputs, steps)):
        target = targets[k] if k < len(targets) else None
        if classify:
            probs = torch.softmax(torch.tensor(row), 0)
            top = probs.topk(min(TOP_CLASSES, len(row)))
            name = (lambda i: labels[i] if labels and i < len(labels) else str(i))
            result.append({
                "step": t,
                "top": [{"class": int(i), "label": name(int(i)), "prob": float(p)}
                        for p, i in zip(top.values.tolist(), top.indices.tolist())],
                "target": None if target is None else int(target),
                "target_label": None if target is None else name(int(target)),
            })
        else:
            result.append({"step": t, "value": _units(row, scale, offset),
                           "target": None if target is None
                           else _units(target, scale, offset)})
    return result


def _units(value, scale: float, offset: float):
    """A model-unit number (or a list of them, one per output) in original units."""
    if isinstance(value, (list, tuple)):
        return (_units(value[0], scale, offset) if len(value) == 1
                else [_units(v, scale, offset) for v in value])
    return float(value) * scale + offset
