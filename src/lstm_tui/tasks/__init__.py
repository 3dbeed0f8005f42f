"""The tasks: synthetic sequence problems and a character language model.

:func:`build_task` makes the data (and imports torch); :func:`describe_task` gives the
same sizes from the config alone, for front ends that must not wait for torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from lstm_tui.tasks.shapes import TaskShape, describe_task

if TYPE_CHECKING:
    from lstm_tui.tasks.base import Task

__all__ = ["TaskShape", "build_task", "describe_task"]

# kind -> (module, class); modules are imported on first use because they import torch.
_TASKS = {
    "nth_element": ("nth_element", "NthElement"),
    "weighted_sum": ("weighted_sum", "WeightedSum"),
    "char_lm": ("char_lm", "CharLM"),
    "adding": ("memory", "Adding"),
    "copy": ("memory", "Copy"),
}


def build_task(cfg, seed: int) -> "Task":
    """The task `cfg` describes, its data generated deterministically from `seed`."""
    if cfg.kind not in _TASKS:
        raise ValueError(f"unknown task kind {cfg.kind!r} (known: {', '.join(_TASKS)})")
    module, name = _TASKS[cfg.kind]
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)(cfg, seed)
