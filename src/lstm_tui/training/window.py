"""What the engine and the ensemble both keep between two log records, how a window
becomes each run's figures on the host, and when a validation figure counts as better:
said once, used by both."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Gradients:
    """The gradient figures of the last logging step (before clipping), still on the
    device, for M runs and K parameter tensors: the global norm (M,), the per-parameter
    norms and mean |g| (K, M), and the sum of |g| over all parameters (M,)."""
    norm: Tensor
    norms: Tensor
    means: Tensor
    abs_total: Tensor

    def keep(self, index: Tensor) -> Gradients:
        """The figures of the runs at `index` only (the ensemble drops finished members)."""
        return Gradients(*(v.index_select(v.dim() - 1, index)
                           for v in (self.norm, self.norms, self.means, self.abs_total)))


@dataclass(frozen=True)
class Logged:
    """One run's figures of a log window, on the host."""
    steps: int                 # steps in the window
    first_bad: int | None      # index in the window of the first non-finite loss
    loss: float                # mean over the window
    metric_total: float
    metric_count: int
    first_loss: float          # the window's first loss (the untrained loss, at the first log)
    grad_norm: float           # the gradient figures: zeros and [] before any logging step
    grad_norms: list[float]
    grad_means: list[float]
    abs_total: float
    seconds: float             # training time of the window, validations left out


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

    def figures(self, grads: Gradients | None) -> list[Logged]:
        """Each run's figures of this (non-empty) window with `grads`, in one host sync."""
        losses = torch.stack(self.losses)
        losses = losses.reshape(len(self.losses), -1)                     # (S, M)
        bad = ~torch.isfinite(losses)
        first_bad = torch.where(bad.any(0), bad.float().argmax(0), -1)
        rows = [losses.mean(0, keepdim=True), self.metric_total.float().reshape(1, -1),
                first_bad.float().unsqueeze(0)]
        if grads is not None:
            rows += [grads.norm.unsqueeze(0), grads.norms, grads.means,
                     grads.abs_total.unsqueeze(0)]
        rows.append(losses[0:1])                       # each run's first loss, last
        table = torch.cat(rows).t().tolist()                                  # per run
        seconds = time.perf_counter() - self.started - self.paused
        k = 0 if grads is None else grads.norms.shape[0]
        return [Logged(steps=self.count, first_bad=int(row[2]) if row[2] >= 0 else None,
                       loss=row[0], metric_total=row[1], metric_count=self.metric_count,
                       first_loss=row[-1], grad_norm=row[3] if grads is not None else 0.0,
                       grad_norms=row[4:4 + k], grad_means=row[4 + k:4 + 2 * k],
                       abs_total=row[4 + 2 * k] if grads is not None else 0.0,
                       seconds=seconds)
                for row in table]


def better(value: float, best: float | None, goal: str, min_delta: float) -> bool:
    """Whether `value` improves on `best` by more than `min_delta` toward `goal`."""
    if best is None:
        return True
    return value > best + min_delta if goal == "max" else value < best - min_delta
