"""The cell contract: what one recurrent cell kind declares, and nothing else.

A cell kind is one :class:`CellSpec` in one module (``models/cells/<name>.py``, or a
third-party package's module found through the entry-point group ``lstm_lab.cells``).
Everything else derives from it: the model's layers, directions and read-out, the
step-wise path, the ensemble's batched form, ``inspect`` and the parameter table.

The spec is read without torch (names, options, parameter shapes and counts are plain
Python), so a cell module imports torch only inside its functions.  The functions see
one direction of one layer:

- ``project(p, x, cfg)``: the part that reads only the input, for all steps at once,
  x (B, T, I) -> xp (B, T, K) (one big matmul instead of T small ones);
- ``step(p, xp_t, state, cfg)``: one time step, xp_t (B, K) and the state (a tuple of
  (B, H) tensors, h first) -> (new state, quantities); the quantities are the
  spec's ``gates`` by name, each a (B, H) tensor or a number (a removed gate is
  reported as the constant it became);
- ``prepare(p, cfg)``, optional: what the step reads, computed once per sequence
  (a transposed or reshaped weight); the default passes the parameters through;
- ``scan(p, xp, state, cfg)``, optional: the whole sequence at once (a parallel
  scan), -> (h_t (B, T, H), final state); ``state`` may be None (zeros); a test proves
  it equal to the steps.

`p` maps the names of :class:`Param` to tensors; `cfg` is the model's config (the
options a cell takes are its fields).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

# The ModelConfig fields a cell may take.  A cell that does not take one refuses any
# value but the field's default (one line naming the key, exit 2).
OPTIONS = ("activation", "forget_bias", "peepholes", "heads", "recurrent_max")
ROLES = ("input", "recurrent", "bias", "other")


@dataclass(frozen=True)
class Param:
    """One parameter tensor of one direction of one layer.

    name:  the model holds it as ``rnn.<name>_l<layer>`` (``_reverse`` for the backward
           direction), nn.LSTM's names
    role:  "input" and "recurrent" matrices are what ``model.init`` (xavier, orthogonal
           recurrent) fills, block by block; "bias" is zeroed by those schemes; "other"
           (peepholes, element-wise weights) keeps the default and the cell's own init
    block: rows per block the init schemes fill separately (0: the hidden size)
    """
    name: str
    shape: tuple[int, ...]
    role: str = "other"
    block: int = 0

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class CellSpec:
    """One cell kind.

    name:      the ``model.cell`` value
    label:     its name in the parameter table ("LSTM", "minGRU")
    summary:   one line: what it is
    paper:     where it comes from ("Hochreiter & Schmidhuber 1997")
    params:    ``(input_size, hidden, cfg) -> tuple[Param, ...]`` of one direction of one
               layer; their order is the order of the default init's draws
    state:     the state's parts, each (B, H), h (the output) first: ("h",), ("h", "c")
    start:     what a part starts from when it is not 0 (sLSTM's stabilizer: −inf)
    gates:     what ``inspect`` names, in display order, "hidden" among them
    bounded:   the gates whose values lie in [0, 1] (drawn on a [0, 1] scale)
    options:   the ModelConfig fields of :data:`OPTIONS` it takes
    project, step, prepare, scan:  see the module's docstring
    fused:     ``"module:attr"`` of a fused module (``torch.nn:LSTM``) that computes the
               cell over the same parameters, when ``fused_when(cfg)``; a test proves it
               equal to the steps
    init:      ``(p, cfg) -> None``: the cell's own init after the default uniform and
               ``model.init``'s scheme (forget-gate bias, element-wise weights), no grad
    constrain: ``(p, cfg) -> None``: applied after every optimizer step (a weight bound)
    check:     ``(cfg, source) -> None``: ConfigError naming the key (heads divide hidden)
    notes:     ``cfg -> tuple[str, ...]``: notes under the parameter table
    """
    name: str
    label: str
    summary: str
    paper: str
    params: Callable[[int, int, Any], tuple[Param, ...]]
    project: Callable
    step: Callable
    state: tuple[str, ...] = ("h",)
    start: dict = field(default_factory=dict)
    gates: tuple[str, ...] = ("hidden",)
    bounded: frozenset[str] = frozenset()
    options: frozenset[str] = frozenset()
    prepare: Callable | None = None
    scan: Callable | None = None
    fused: str = ""
    fused_when: Callable[[Any], bool] | None = None
    init: Callable | None = None
    constrain: Callable | None = None
    check: Callable[[Any, str], None] | None = None
    notes: Callable[[Any], tuple[str, ...]] | None = None
    extra: dict = field(default_factory=dict, compare=False)   # free for plugins

    def layer_params(self, input_size: int, hidden: int, cfg: Any) -> tuple[Param, ...]:
        return tuple(self.params(input_size, hidden, cfg))

    def count(self, input_size: int, hidden: int, cfg: Any) -> int:
        """Parameters of one direction of one layer (the parameter table's formula)."""
        return sum(p.numel for p in self.layer_params(input_size, hidden, cfg))

    def is_fused(self, cfg: Any) -> bool:
        """Whether the fused module computes this cell with `cfg`'s options."""
        return bool(self.fused) and (self.fused_when is None or self.fused_when(cfg))


# ---------------------------------------------------------------- shared by the cells

def activation(cfg: Any) -> Callable:
    """The cell activation `model.activation` names: tanh, or softsign x / (1 + |x|)
    (polynomial tails; ``torch.nn.functional.softsign``'s own formula)."""
    if cfg.activation == "softsign":
        return lambda x: x / (x.abs() + 1)
    return lambda x: x.tanh()


def gate_params(input_size: int, hidden: int, gates: int, *, biases: int = 2,
                recurrent: bool = True) -> tuple[Param, ...]:
    """PyTorch's layout of a gated cell: weight_ih (G·H, I), weight_hh (G·H, H),
    bias_ih and bias_hh (G·H each; `biases` = 1 keeps only bias_ih)."""
    rows = gates * hidden
    found = [Param("weight_ih", (rows, input_size), "input")]
    if recurrent:
        found.append(Param("weight_hh", (rows, hidden), "recurrent"))
    found.append(Param("bias_ih", (rows,), "bias"))
    if biases == 2:
        found.append(Param("bias_hh", (rows,), "bias"))
    return tuple(found)


def project_with_biases(p: dict, x: Any, cfg: Any) -> Any:
    """x W_ih^T + b_ih + b_hh: both biases folded into the input projection (they add)."""
    from torch.nn import functional as F
    return F.linear(x, p["weight_ih"], p["bias_ih"] + p["bias_hh"])


def project_input(p: dict, x: Any, cfg: Any) -> Any:
    """x W_ih^T + b_ih."""
    from torch.nn import functional as F
    return F.linear(x, p["weight_ih"], p["bias_ih"])


def transpose_recurrent(p: dict, cfg: Any) -> dict:
    """W_hh^T once per sequence: every step then costs one addmm."""
    return {**p, "weight_hh_t": p["weight_hh"].t()}
