"""Recall the n-th element of a random sequence (classification): config and spec.

Each sequence is `seq_len` integers drawn uniformly from [0, features), fed one-hot;
the target is the integer at index `n`.  The read-out is taken at the last step, so the
network must carry that element across the remaining ``seq_len - 1 - n`` steps.
The data is built by :mod:`lstm_tui.tasks.nth_element_data` (torch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lstm_tui.config import opt
from lstm_tui.errors import ConfigError
from lstm_tui.tasks.registry import TaskSpec
from lstm_tui.tasks.shapes import TaskShape


@dataclass
class NthElementTask:
    """Random ints in [0, features), one-hot; predict the element at index n (classification)."""
    kind: Literal["nth_element"] = opt("nth_element", "task kind (docs/tasks.md)")
    seq_len: int = opt(5, "sequence length", min=1, max=100_000)
    features: int = opt(10, "number of distinct values (one-hot width)", min=2, max=100_000)
    n: int = opt(2, "index of the element to recall (0-based, < seq_len)", min=0)
    train_size: int = opt(5000, "training sequences", min=1, max=10_000_000)
    val_size: int = opt(1000, "validation sequences", min=1, max=10_000_000)


def shape(cfg: NthElementTask) -> TaskShape:
    return TaskShape(cfg.features, cfg.features, cfg.seq_len, "last",
                     cfg.train_size, cfg.val_size)


def check(cfg, source: str) -> None:
    t = cfg.task
    if t.n >= t.seq_len:
        raise ConfigError(source, "task.n", f"must be < task.seq_len ({t.seq_len}), got {t.n}")


SPECS = [TaskSpec("nth_element", NthElementTask, "lstm_tui.tasks.nth_element_data:NthElement",
                  shape, "accuracy", "max", member_fields=frozenset({"n", "val_size"}),
                  check=check, summary="recall the n-th element of a random sequence")]
