"""Recall the n-th element of a random sequence (classification).

Each sequence is `seq_len` integers drawn uniformly from [0, features), fed one-hot;
the target is the integer at index `n`.  The read-out is taken at the last step, so the
network must carry that element across the remaining ``seq_len - 1 - n`` steps.
"""

from __future__ import annotations

import torch

from lstm_tui.tasks.nth_element import NthElementTask
from lstm_tui.tasks.base import ArrayTask, compact_codes


class NthElement(ArrayTask):
    kind = "nth_element"
    codes = True
    readout = "last"

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
        self.keep(codes, targets, cfg.train_size)

