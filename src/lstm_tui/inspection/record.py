"""Record what a trained recurrent stack does at every time step of one sequence.

The gates are recomputed from the model's own parameter tensors with PyTorch's layout
(LSTM rows i, f, g, o; GRU rows r, z, n; both biases), so the hidden and cell states are
the ones ``nn.LSTM``/``nn.GRU``/``nn.RNN`` compute (tests check this to 1e-5), and the
activation is the model's (tanh, or softsign for the hand-written cell).  The same pass
is differentiable, which gives the saliency ‖∂(predicted output)/∂x_t‖.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import Tensor

from lstm_tui.inspection.schema import DIRECTIONS, GATES, TOP_CLASSES, LayerTrace
from lstm_tui.models.cells import ACTIVATIONS


# ---------------------------------------------------------------- the recurrence

def trace_direction(cell: str, x: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor,
                    b_hh: Tensor, act: Callable[[Tensor], Tensor],
                    reverse: bool = False) -> dict[str, list[Tensor]]:
    """One direction of one layer over x (1, T, I) from a zero state: every quantity of
    GATES[cell] as a list of (1, H) tensors in time order (also when `reverse`)."""
    hidden = w_hh.shape[1]
    h = x.new_zeros(1, hidden)
    c = x.new_zeros(1, hidden)
    steps = torch.nn.functional.linear(x, w_ih, b_ih).unbind(1)
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    out: dict[str, list[Tensor]] = {name: [] for name in GATES[cell]}
    for t in order:
        hp = torch.nn.functional.linear(h, w_hh, b_hh)
        if cell == "lstm":
            i, f, g, o = (steps[t] + hp).chunk(4, 1)
            i, f, g, o = i.sigmoid(), f.sigmoid(), act(g), o.sigmoid()
            c = f * c + i * g
            h = o * act(c)
            values = {"input": i, "forget": f, "candidate": g, "output": o, "cell": c,
                      "hidden": h}
        elif cell == "gru":
            xr, xz, xn = steps[t].chunk(3, 1)
            hr, hz, hn = hp.chunk(3, 1)
            r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
            n = act(xn + r * hn)
            h = (1 - z) * n + z * h
            values = {"reset": r, "update": z, "candidate": n, "hidden": h}
        elif cell == "rnn":
            h = act(steps[t] + hp)
            values = {"hidden": h}
        else:
            raise ValueError(f"unknown cell {cell!r} (lstm, gru or rnn)")
        for name, value in values.items():
            out[name].append(value)
    if reverse:
        for seq in out.values():
            seq.reverse()
    return out


def trace_stack(model, x: Tensor) -> tuple[list[tuple[int, str, dict[str, list[Tensor]]]],
                                             list[list[Tensor]]]:
    """Every layer and direction of `model` (a SequenceModel) over x (1, T, I).

    Returns [(layer, direction, quantities)] and the top layer's h_t per direction
    (the read-out's input).  No dropout: this is the model as evaluated.
    """
    act = ACTIVATIONS[model.activation]
    traces = []
    layer_in = x
    top: list[list[Tensor]] = []
    for k in range(model.layers):
        top = []
        for d in range(model.directions):
            suffix = "_reverse" if d else ""
            w_ih, w_hh, b_ih, b_hh = (getattr(model.rnn, f"{kind}_l{k}{suffix}") for kind in
                                      ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
            q = trace_direction(model.cell, layer_in, w_ih, w_hh, b_ih, b_hh, act,
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
