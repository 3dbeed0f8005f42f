"""Recall the n-th element of a random sequence (classification).

Each sequence is `seq_len` integers drawn uniformly from [0, features), fed one-hot;
the target is the integer at index `n`.  The read-out is taken at the last step, so the
network must carry that element across the remaining ``seq_len - 1 - n`` steps.
"""

from __future__ import annotations

from typing import Iterator

import torch

from lstm_tui.config import NthElementTask
from lstm_tui.tasks.base import Batch, Task, compact_codes, one_hot_batches, ordered_batches, \
    shuffled_batches


class NthElement(Task):
    kind = "nth_element"
    readout = "last"
    metric = "accuracy"
    goal = "max"

    def __init__(self, cfg: NthElementTask, seed: int):
        self.input_size = self.output_size = cfg.features
        self.seq_len = cfg.seq_len
        self.train_size, self.val_size = cfg.train_size, cfg.val_size
        g = torch.Generator().manual_seed(seed)
        # One draw split in two: validation rows are fresh draws after the training rows.
        codes = torch.randint(0, cfg.features, (cfg.train_size + cfg.val_size, cfg.seq_len),
                              generator=g)
        targets = codes[:, cfg.n].clone()
        codes = compact_codes(codes, cfg.features)
        self.x, self.val_x = codes[:cfg.train_size], codes[cfg.train_size:]
        self.y, self.val_y = targets[:cfg.train_size], targets[cfg.train_size:]

    def train_batches(self, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        return one_hot_batches(shuffled_batches(self.x, self.y, batch_size, generator),
                               self.input_size)

    def val_batches(self, batch_size: int) -> Iterator[Batch]:
        return one_hot_batches(ordered_batches(self.val_x, self.val_y, batch_size),
                               self.input_size)
