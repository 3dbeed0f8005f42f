"""What every task gives the engine: batches, a loss and a task metric.

A task is generated deterministically from its config and a seed, holds its data as
tensors (compact: integer codes, made one-hot per batch) and knows how to score the
model's output.  The engine and the models only see this interface.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Iterator, Literal

import torch
from torch import Tensor
from torch.nn import functional as F

Batch = tuple[Tensor, Tensor]


class Task(ABC):
    """Base of every task; subclasses fill the attributes and the batch methods."""

    kind: str = ""
    input_size: int = 0
    output_size: int = 0
    seq_len: int = 0
    # "last": one prediction per sequence, read at the final step (B, output_size);
    # "all": one prediction per time step (B, T, output_size).
    readout: Literal["last", "all"] = "last"
    # the primary metric and whether "max" or "min" is better: declared once, on the task's
    # TaskSpec, and set on the built task by TaskSpec.make
    metric: str = ""
    goal: Literal["max", "min", ""] = ""
    stateful: bool = False            # hidden state carried across batches (truncated BPTT)
    train_size: int = 0               # training examples (characters for char_lm)
    val_size: int = 0                 # validation examples (characters for char_lm)
    vocab: list[str] | None = None    # symbols, for tasks that sample text

    # ---- data
    def to(self, device: torch.device | str) -> "Task":
        """Move the stored data to `device` once, so batches are made there."""
        for name, value in list(vars(self).items()):
            if isinstance(value, Tensor):
                setattr(self, name, value.to(device))
        return self

    def steps_per_epoch(self, batch_size: int) -> int:
        return max(1, self.train_size // batch_size)

    @abstractmethod
    def train_batches(self, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        """One epoch of shuffled (x, y) batches; x is (B, T, input_size) float."""

    @abstractmethod
    def val_batches(self, batch_size: int) -> Iterator[Batch]:
        """The whole validation set, in order."""

    # ---- scoring
    def loss(self, output: Tensor, y: Tensor) -> Tensor:
        """Mean training loss of a batch."""
        return F.cross_entropy(self._flat(output), y.reshape(-1))

    def metric_sum(self, output: Tensor, y: Tensor) -> tuple[Tensor, int]:
        """(sum, count) of the task metric over a batch; `reduce_metric` turns sums into it."""
        output, y = self._flat(output), y.reshape(-1)
        return (output.argmax(-1) == y).sum(), y.numel()

    def train_metric_sum(self, output: Tensor, y: Tensor, loss: Tensor) -> tuple[Tensor, int]:
        """`metric_sum` of a training batch whose mean `loss` the engine has: a task whose
        metric is its loss (char_lm's cross entropy) takes it from there rather than
        computing it a second time each step."""
        return self.metric_sum(output.detach(), y)

    def reduce_metric(self, total: float, count: int) -> float:
        return total / max(count, 1)

    def val_extra(self, val_loss: float) -> dict[str, float]:
        """Further validation figures recorded beside loss and metric (the spec's metrics)."""
        return {}

    def member_scores(self, out: Tensor, y: Tensor, scale: Tensor) -> tuple[Tensor, Tensor, int]:
        """Ensemble scoring: outputs of M members stacked on dim 0 -> per-member mean loss
        (M,), metric sum (M,) and the metric's count per member, as `loss` and
        `metric_sum` compute them for each member's own run.  `scale` is the members'
        ``target_scale`` (M,)."""
        m = out.shape[0]
        logits = out.reshape(-1, out.shape[-1])
        loss = F.cross_entropy(logits, y.reshape(-1), reduction="none").view(m, -1).mean(1)
        with torch.no_grad():
            metric = (logits.argmax(-1) == y.reshape(-1)).view(m, -1).sum(1).float()
        return loss, metric, y[0].numel()

    def start_report(self) -> dict:
        """Figures for summary.json known before training (e.g. baselines)."""
        return {}

    def final_report(self, model, batch_size: int) -> dict:
        """Figures for summary.json measured at the end with the best weights (e.g. test)."""
        return {}

    def val_forecast(self, model, first_output: Tensor | None = None) -> dict | None:
        """Fields of an ``events.Forecast`` (minus step) to show at a validation, or None.
        `first_output`: the model's output on the validation's first batch
        (``val_batches`` of max(batch size, 256)), when the caller has it."""
        return None

    def inference(self) -> dict:
        """What using the model on new data needs besides the weights and the config, as
        the training data gave it: resolved columns, the train part's normalisation
        statistics, class labels (plain values; kept in checkpoints under "inference",
        read back by ``runs.trained.TrainedRun.inference``)."""
        return {}

    def checkpoint_extra(self) -> dict:
        """What a checkpoint must keep besides the weights to use the model: the model's
        sizes (so it opens without its data) and ``inference()`` (there even when empty:
        its absence marks an older checkpoint)."""
        return {"sizes": [self.input_size, self.output_size, self.readout],
                "inference": self.inference()}

    def final_step_loss(self, output: Tensor, y: Tensor) -> Tensor:
        """Loss of the last time step's prediction, summed over the batch.

        Its gradient with respect to each hidden state h_t is what the vanishing-gradient
        view shows: how much of the final prediction's error reaches step t.
        """
        if self.readout == "all":
            output, y = output[:, -1], y[:, -1]
        return F.cross_entropy(output, y.reshape(-1), reduction="sum")

    def _flat(self, output: Tensor) -> Tensor:
        return output.reshape(-1, output.shape[-1])


class ArrayTask(Task):
    """A task whose data are four tensors, ``x``/``y`` (train) and ``val_x``/``val_y``.

    With ``codes = True`` the inputs are stored as integer codes and made one-hot per batch.
    """

    codes: bool = False

    def keep(self, x: Tensor, y: Tensor, train_size: int) -> None:
        """Store one draw split in two: the first `train_size` rows train, the rest validate."""
        self.x, self.val_x = x[:train_size], x[train_size:]
        self.y, self.val_y = y[:train_size], y[train_size:]

    def train_batches(self, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        batches = shuffled_batches(self.x, self.y, batch_size, generator)
        return one_hot_batches(batches, self.input_size) if self.codes else batches

    def val_batches(self, batch_size: int) -> Iterator[Batch]:
        batches = ordered_batches(self.val_x, self.val_y, batch_size)
        return one_hot_batches(batches, self.input_size) if self.codes else batches


class RegressionTask(ArrayTask):
    """A task with one real-valued target per sequence, scored by MAD in original units."""

    readout = "last"
    output_size = 1
    target_scale: float = 1.0   # model units -> original units (for standardized targets)

    def loss(self, output: Tensor, y: Tensor) -> Tensor:
        return F.mse_loss(output.reshape(-1), y.reshape(-1))

    def metric_sum(self, output: Tensor, y: Tensor) -> tuple[Tensor, int]:
        err = (output.reshape(-1) - y.reshape(-1)).abs().sum() * self.target_scale
        return err, y.numel()

    def final_step_loss(self, output: Tensor, y: Tensor) -> Tensor:
        return F.mse_loss(output.reshape(-1), y.reshape(-1), reduction="sum")

    def member_scores(self, out: Tensor, y: Tensor, scale: Tensor) -> tuple[Tensor, Tensor, int]:
        m = out.shape[0]
        diff = out.reshape(m, -1) - y.reshape(m, -1)
        loss = diff.square().mean(1)
        with torch.no_grad():
            metric = diff.abs().sum(1) * scale
        return loss, metric, y[0].numel()


def shuffled_batches(x: Tensor, y: Tensor, batch_size: int,
                     generator: torch.Generator) -> Iterator[Batch]:
    """Full batches of a random permutation (the last partial batch is dropped, unless
    the data is smaller than one batch)."""
    n = x.shape[0]
    order = torch.randperm(n, generator=generator).to(x.device)
    size = min(batch_size, n)
    for start in range(0, n - size + 1, size):
        idx = order[start:start + size]
        yield x[idx], y[idx]


def ordered_batches(x: Tensor, y: Tensor, batch_size: int) -> Iterator[Batch]:
    for start in range(0, x.shape[0], batch_size):
        yield x[start:start + batch_size], y[start:start + batch_size]


def perplexity(mean_nats: float) -> float:
    return math.exp(min(mean_nats, 700.0))


def bpc(mean_nats: float) -> float:
    """Bits per character from a mean cross entropy in nats."""
    return mean_nats / math.log(2)


def compact_codes(codes: Tensor, n_symbols: int) -> Tensor:
    """Integer codes in the smallest dtype holding `n_symbols` values (stored data)."""
    if n_symbols <= 256:
        return codes.to(torch.uint8)
    return codes.to(torch.int16 if n_symbols <= 2 ** 15 else torch.int32)


def one_hot(codes: Tensor, size: int) -> Tensor:
    """(..., size) float32 one-hot of integer codes, made per batch.

    A scatter into zeros: one allocation, and no min/max check of the codes (which
    ``F.one_hot`` makes, a host sync on a GPU).
    """
    out = torch.zeros(*codes.shape, size, device=codes.device)
    return out.scatter_(-1, codes.long().unsqueeze(-1), 1.0)


def one_hot_batches(batches: Iterator[Batch], size: int) -> Iterator[Batch]:
    """Batches of stored codes as the engine wants them: x one-hot float, y int64."""
    for x, y in batches:
        yield one_hot(x, size), y.long()
