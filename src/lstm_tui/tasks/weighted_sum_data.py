"""Predict a weighted sum of chosen positions of an integer sequence (regression, MAD).

Values are integers from the open interval (low, high).  In "simple" mode every window is
drawn independently.  In "realistic" mode there is one autoregressive series: each target
(plus noise) is appended to the series and becomes the last input of the next window, and
the windows slide by one step; the first ``train_size`` windows train, the next
``val_size`` validate (a chronological split).  With ``standardize`` the inputs and the
targets are scaled by the training set's mean and std; ``target_scale`` brings the MAD
back to the original units.
"""

from __future__ import annotations

import numpy as np
import torch

from lstm_tui.tasks.base import RegressionTask
from lstm_tui.tasks.weighted_sum import (WeightedSumTask, realistic_series,
                                         weighted_sum_target)


class WeightedSum(RegressionTask):
    kind = "weighted_sum"
    input_size = 1

    def __init__(self, cfg: WeightedSumTask, seed: int):
        self.seq_len = cfg.seq_len
        self.train_size, self.val_size = cfg.train_size, cfg.val_size
        rng = np.random.default_rng(seed)
        n = cfg.train_size + cfg.val_size
        if cfg.mode == "simple":
            x = rng.integers(cfg.low + 1, cfg.high, size=(n, cfg.seq_len)).astype(np.float64)
            y = weighted_sum_target(x, cfg.weights, cfg.positions)
            if cfg.noise_std > 0:
                y = y + rng.normal(0.0, cfg.noise_std, n)
        else:
            initial = rng.integers(cfg.low + 1, cfg.high, size=cfg.seq_len)
            series = realistic_series(initial, n, cfg.weights, cfg.positions,
                                      cfg.noise_std, rng)
            x = np.lib.stride_tricks.sliding_window_view(series, cfg.seq_len)[:n]
            y = series[cfg.seq_len:]
        self.target_scale, self.target_offset = 1.0, 0.0   # model units -> original units
        self.input_offset, self.input_scale = 0.0, 1.0
        if cfg.standardize:
            train_x, train_y = x[:cfg.train_size], y[:cfg.train_size]
            x_mean, x_std = float(train_x.mean()), _nonzero(train_x.std())
            self.input_offset, self.input_scale = x_mean, x_std
            self.target_offset, self.target_scale = float(train_y.mean()), _nonzero(train_y.std())
            x = (x - x_mean) / x_std
            y = (y - self.target_offset) / self.target_scale
        x = torch.tensor(x, dtype=torch.float32).unsqueeze(-1)   # (N, T, 1)
        y = torch.tensor(y, dtype=torch.float32)                  # (N,)
        self.keep(x, y, cfg.train_size)

    def inference(self) -> dict:
        """model input = (value - input_offset) / input_scale; original = output *
        target_scale + target_offset."""
        return {"input_offset": self.input_offset, "input_scale": self.input_scale,
                "target_offset": self.target_offset, "target_scale": self.target_scale}


def _nonzero(std: float) -> float:
    """A std safe to divide by (a constant set, e.g. a decayed series, has std 0)."""
    return float(std) if std > 1e-12 else 1.0
