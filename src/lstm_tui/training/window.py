"""What the engine and the ensemble both keep between two log records, and when a
validation figure counts as better: said once, used by both."""

from __future__ import annotations

import time

import torch
from torch import Tensor


class Window:
    """Train metrics accumulated on the device between two log records (one host sync
    per log).  A loss is a scalar (the engine) or one value per member (the ensemble)."""

    def __init__(self) -> None:
        self.losses: list[Tensor] = []
        self.metric_total: Tensor | float = 0.0
        self.metric_count = 0               # per run (equal for every member)
        self.started = time.perf_counter()
        self.paused = 0.0                   # seconds spent validating, left out of the rate

    @property
    def count(self) -> int:
        """Steps in the window."""
        return len(self.losses)

    def add(self, loss: Tensor, metric_total: Tensor, metric_count: int) -> None:
        self.losses.append(loss.detach())
        self.metric_total = self.metric_total + metric_total.detach()
        self.metric_count += metric_count

    def first_nonfinite(self) -> int | None:
        """Index, within the window, of the first step whose loss was NaN or infinite
        (a scalar loss per step; the ensemble finds it per member on its own)."""
        if not self.losses:
            return None
        bad = ~torch.isfinite(torch.stack(self.losses))
        return int(bad.nonzero()[0, 0]) if bool(bad.any()) else None


def better(value: float, best: float | None, goal: str, min_delta: float) -> bool:
    """Whether `value` improves on `best` by more than `min_delta` toward `goal`."""
    if best is None:
        return True
    return value > best + min_delta if goal == "max" else value < best - min_delta
