"""Models: the recurrent sequence model, its parameter summary, text sampling, and the
model as other programs use it (``portable``: one tensor in, one out; its TorchScript).

Importing this package does not import torch: the summary is pure Python, and the
torch-backed names (``SequenceModel``, ``build_model``, ``detach_state``, ``generate``)
are loaded on first use, so front ends can show a model's table without paying for torch.
The summary is loaded on first use too: the cells (``lstm_tui.models.cells``, which the
config's checks ask) come without it and the events' dataclasses it returns.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lstm_tui.models.summary import format_summary, param_count, summarize
    from lstm_tui.models.network import SequenceModel, build_model, detach_state
    from lstm_tui.models.sampling import generate, generate_scored

_LAZY = {"summarize": "summary", "format_summary": "summary", "param_count": "summary",
         "SequenceModel": "network", "build_model": "network", "detach_state": "network",
         "generate": "sampling", "generate_scored": "sampling"}

__all__ = [*_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f"lstm_tui.models.{_LAZY[name]}"), name)
        globals()[name] = value  # later look-ups skip this hook
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
