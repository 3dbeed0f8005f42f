"""The parity task's tensors (imported by lstm-lab on first build)."""

from __future__ import annotations

import torch

from lstm_tui.tasks.base import ArrayTask


class Parity(ArrayTask):
    kind = "parity"
    input_size, output_size = 1, 2
    readout = "last"

    def __init__(self, cfg, seed: int):
        self.seq_len = cfg.bits
        self.train_size, self.val_size = cfg.train_size, cfg.val_size
        g = torch.Generator().manual_seed(seed)
        bits = torch.randint(0, 2, (cfg.train_size + cfg.val_size, cfg.bits), generator=g)
        self.keep(bits.float().unsqueeze(-1), bits.sum(1) % 2, cfg.train_size)
