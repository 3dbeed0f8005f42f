"""The ensemble backend: many same-shape runs trained at once as one batched model.

Sweep points that can share one stack (see grouping.py) train as M *members* of one
model, each reporting exactly what its own ``engine.train`` run would.

  grouping.py    which configs can train together: group_key, unbatchable_reason (no torch)
  sizing.py      how many members fit at once: member_bytes, workspace_budget
  engine.py      the training loop on the flat (M, P) stacks: train_ensemble
  members.py     one member: its own task, model and optimizer, its record, its result
  batches.py     the members' batches, stacked per step
  recurrence.py  the batched recurrent layers: the hand-tuned kernels of
                 lstm_tui.models.kernels for PyTorch's layouts (their time loops in C
                 where a C compiler is), generic.py for any other cell
  generic.py     any cell's batched form: the members' own model under torch.func.vmap
  optim.py       the members' optimizers on the stacks, and their torch state_dicts

Importing the package does not import torch: ``group_key`` and ``unbatchable_reason``
come from grouping.py, the torch-backed names load on first use (as in lstm_tui.models).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from lstm_tui.training.ensemble.grouping import group_key, unbatchable_reason

if TYPE_CHECKING:
    from lstm_tui.training.ensemble.engine import train_ensemble
    from lstm_tui.training.ensemble.sizing import member_bytes, workspace_budget

_LAZY = {"train_ensemble": "engine", "member_bytes": "sizing", "workspace_budget": "sizing"}

__all__ = ["group_key", "unbatchable_reason", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f"lstm_tui.training.ensemble.{_LAZY[name]}"), name)
        globals()[name] = value  # later look-ups skip this hook
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
