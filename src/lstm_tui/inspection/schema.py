"""What an inspection records, as plain Python (no torch): the record whose ``to_json`` is
the documented ``--json`` schema.  The quantities a cell names (and which of them lie in
[0, 1]) are its spec's ``gates`` and ``bounded`` (:mod:`lstm_tui.models.cells`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

DIRECTIONS = ("forward", "backward")
TOP_CLASSES = 3


@dataclass
class LayerTrace:
    """One layer, one direction: each quantity as T rows of H values (time order)."""
    layer: int
    direction: str
    gates: dict[str, list[list[float]]]


@dataclass
class Record:
    """Everything one inspection found; `to_json` is the documented ``--json`` schema."""
    run: str
    checkpoint: str
    step: int
    task: str
    cell: str
    activation: str
    layers: int
    directions: int
    hidden: int
    tokens: list[str]
    text: str | None                 # the characters, for text tasks
    traces: list[LayerTrace]
    saliency: list[float]
    predictions: list[dict]
    sequence: dict = field(default_factory=dict)   # how the sequence was chosen
    notes: list[str] = field(default_factory=list)
    bounded: tuple[str, ...] = ()    # the gates whose values lie in [0, 1] (a sigmoid's)

    @property
    def gates(self) -> list[str]:
        """The quantities the cell names, in display order."""
        return list(self.traces[0].gates) if self.traces else ["hidden"]

    def trace(self, layer: int = 0, direction: str = "forward") -> LayerTrace:
        for t in self.traces:
            if t.layer == layer and t.direction == direction:
                return t
        raise KeyError((layer, direction))

    def to_json(self, layer: int = 0, direction: str = "forward") -> dict[str, Any]:
        chosen = self.trace(layer, direction)
        return _finite({
            "schema": 1, "run": self.run, "checkpoint": self.checkpoint, "step": self.step,
            "task": self.task, "cell": self.cell, "activation": self.activation,
            "hidden": self.hidden, "num_layers": self.layers,
            "bidirectional": self.directions == 2,
            "layer": chosen.layer, "direction": chosen.direction,
            "sequence": self.sequence, "notes": self.notes,
            "tokens": self.tokens, "gates": chosen.gates, "bounded": list(self.bounded),
            "saliency": self.saliency, "predictions": self.predictions,
            "layers": [{"layer": t.layer, "direction": t.direction, "gates": t.gates}
                       for t in self.traces],
        })


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: a non-finite float (a diverged model) becomes null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
