"""Long-memory benchmarks, the adding problem and the copy task: configs and specs.

Adding: each step carries a value uniform in [0, 1) and a marker; exactly two steps are
marked, one in each half of the sequence, and the target is the sum of their values
(regression, MAD).  Copy: remember `length` symbols across `delay` blanks, then write
them back after a recall cue (accuracy over the answer steps only).  The data is built by
:mod:`lstm_tui.tasks.memory_data` (torch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lstm_tui.config import opt
from lstm_tui.tasks.registry import TaskSpec
from lstm_tui.tasks.shapes import TaskShape, copy_seq_len, copy_width


@dataclass
class AddingTask:
    """Adding problem: sum the two marked values of a random sequence (regression, MAD)."""
    kind: Literal["adding"] = opt("adding", "task kind (docs/tasks.md)")
    seq_len: int = opt(50, "sequence length", min=2, max=100_000)
    train_size: int = opt(10000, "training sequences", min=1, max=10_000_000)
    val_size: int = opt(1000, "validation sequences", min=1, max=10_000_000)


@dataclass
class CopyTask:
    """Copy task: remember `length` symbols across `delay` blanks, then write them back."""
    kind: Literal["copy"] = opt("copy", "task kind (docs/tasks.md)")
    length: int = opt(10, "symbols to remember", min=1, max=10_000)
    delay: int = opt(20, "blank steps between the symbols and the recall cue", min=0, max=100_000)
    symbols: int = opt(8, "alphabet size", min=2, max=1000)
    train_size: int = opt(10000, "training sequences", min=1, max=10_000_000)
    val_size: int = opt(1000, "validation sequences", min=1, max=10_000_000)


def adding_shape(cfg: AddingTask) -> TaskShape:
    return TaskShape(2, 1, cfg.seq_len, "last", cfg.train_size, cfg.val_size)


def copy_shape(cfg: CopyTask) -> TaskShape:
    width = copy_width(cfg.symbols)
    return TaskShape(width, width, copy_seq_len(cfg.length, cfg.delay), "all",
                     cfg.train_size, cfg.val_size)


SPECS = [
    TaskSpec("adding", AddingTask, "lstm_tui.tasks.memory_data:Adding", adding_shape,
             "mad", "min", member_fields=frozenset({"val_size"}),
             summary="sum the two marked values of a long sequence"),
    TaskSpec("copy", CopyTask, "lstm_tui.tasks.memory_data:Copy", copy_shape,
             "accuracy", "max", member_fields=frozenset({"val_size"}),
             summary="remember symbols across a delay and write them back"),
]
