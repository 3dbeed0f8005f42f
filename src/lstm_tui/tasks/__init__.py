"""The tasks: synthetic sequence problems, a character language model, your own series
and labelled sequences, and plugins.

Each kind is a :class:`~lstm_tui.tasks.registry.TaskSpec` in its own module; the
registry finds it by kind.  :func:`build_task` makes the data (and imports torch);
:func:`describe_task` gives the same sizes from the config alone, for front ends that
must not wait for torch.
"""

from __future__ import annotations

from lstm_tui.tasks.registry import TaskSpec, build_task, describe_task, get, kinds, spec_of
from lstm_tui.tasks.shapes import TaskShape

__all__ = ["TaskShape", "TaskSpec", "build_task", "describe_task", "get", "kinds", "spec_of"]
