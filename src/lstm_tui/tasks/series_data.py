"""The series task's tensors: windows cut from the normalized series on the fly.

The series is stored once, (N, F) inputs and (N, K) targets; a batch of windows is one
gather of ``start + arange(window)`` rows (no (W, window, F) copy, so a long file costs
its own size).  The target of a window starting at s is the `horizon` rows after it,
flattened horizon-major to (H*K,).  Loss is MSE in normalized units; the metric is MAE in
the data's original units (each target column times its normalization scale).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from lstm_tui.tasks.base import Batch, Task
from lstm_tui.tasks.series import SeriesTask, baselines, prepare, skill


class Series(Task):
    kind = "series"
    readout = "last"

    def __init__(self, cfg: SeriesTask, seed: int):
        self.cfg = cfg
        self.prep = prep = prepare(cfg)
        self.window, self.horizon = cfg.window, cfg.horizon
        self.seq_len = cfg.window
        self.input_size = len(prep.features)
        self.n_targets = len(prep.target)
        self.output_size = cfg.horizon * self.n_targets
        self.inputs = torch.from_numpy(prep.inputs)
        self.targets = torch.from_numpy(prep.targets)
        # original units = normalized * scale + offset, per output (horizon-major)
        self.scale = torch.tensor(np.tile(prep.scale, cfg.horizon), dtype=torch.float32)
        self.offset = torch.tensor(np.tile(prep.offset, cfg.horizon), dtype=torch.float32)
        self.starts = {split: torch.arange(prep.span(split)[0],
                                           prep.span(split)[0] + prep.windows(split, cfg.window,
                                                                              cfg.horizon))
                       for split in ("train", "val", "test")}
        self.train_size = len(self.starts["train"])
        self.val_size = len(self.starts["val"])
        self._val_stretch: tuple | None = None   # val_forecast's rows and truths

    def inference(self) -> dict:
        """Columns and train statistics: model input = (value - feature_offset) /
        feature_scale; original = output * target_scale + target_offset (per target)."""
        prep = self.prep
        return {"features": list(prep.features), "target": list(prep.target),
                "time": self.cfg.time, "missing": self.cfg.missing,
                "feature_offset": prep.input_offset.tolist(),
                "feature_scale": prep.input_scale.tolist(),
                "target_offset": prep.offset.tolist(), "target_scale": prep.scale.tolist(),
                "target_train_mean": prep.raw_targets[:prep.bounds[1]].mean(0).tolist()}

    # ---- batches
    def windows(self, starts: Tensor) -> Batch:
        """x (B, window, F) and y (B, H*K) of the windows starting at `starts`."""
        return windows(self.inputs, self.targets, starts, self.window, self.horizon)

    def train_batches(self, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        starts = self.starts["train"]
        order = starts[torch.randperm(len(starts), generator=generator)].to(self.inputs.device)
        size = min(batch_size, len(order))
        for k in range(0, len(order) - size + 1, size):
            yield self.windows(order[k:k + size])

    def val_batches(self, batch_size: int) -> Iterator[Batch]:
        return self.split_batches("val", batch_size)

    def split_batches(self, split: str, batch_size: int) -> Iterator[Batch]:
        starts = self.starts[split].to(self.inputs.device)
        for k in range(0, len(starts), batch_size):
            yield self.windows(starts[k:k + batch_size])

    # ---- scoring
    def loss(self, output: Tensor, y: Tensor) -> Tensor:
        return F.mse_loss(output, y)

    def metric_sum(self, output: Tensor, y: Tensor) -> tuple[Tensor, int]:
        return ((output - y).abs() * self.scale).sum(), y.numel()

    def final_step_loss(self, output: Tensor, y: Tensor) -> Tensor:
        return F.mse_loss(output, y, reduction="sum")

    def member_scores(self, out: Tensor, y: Tensor, scale: Tensor) -> tuple[Tensor, Tensor, int]:
        m = out.shape[0]
        diff = out.reshape(m, -1, self.output_size) - y.reshape(m, -1, self.output_size)
        loss = diff.square().mean((1, 2))
        with torch.no_grad():
            metric = (diff.abs() * self.scale).sum((1, 2))
        return loss, metric, y[0].numel()

    # ---- figures beyond the validation metric
    def start_report(self) -> dict:
        return {"baselines": baselines(self.prep, self.cfg)}

    def forecast(self, model: torch.nn.Module, split: str, batch_size: int = 256):
        """(W, H, K) forecasts and truths of a split's windows, in original units."""
        return forecast(model, self.inputs, self.targets, self.starts[split].to(
            self.inputs.device), self.window, self.horizon, self.scale, self.offset,
            batch_size)

    FORECAST_WINDOWS = 120

    def val_forecast(self, model, first_output: Tensor | None = None) -> dict | None:
        """h = 1 forecasts of the first target over the first validation windows: read
        from `first_output` when it covers them (no forward of its own: a validation
        every few steps made it 3% of a short run), else computed."""
        starts = self.starts["val"][:self.FORECAST_WINDOWS]
        if self._val_stretch is None:     # the rows and their truths never change
            _, y = self.windows(starts.to(self.inputs.device))
            self._val_stretch = (tuple(int(r) for r in (starts + self.window).tolist()),
                                 tuple((y[:, 0] * self.scale[0] + self.offset[0]).tolist()))
        rows, truth = self._val_stretch
        if first_output is not None and len(first_output) >= len(starts):
            pred = first_output[:len(starts), 0] * self.scale[0] + self.offset[0]
        else:
            pred = forecast(model, self.inputs, None, starts.to(self.inputs.device),
                            self.window, self.horizon, self.scale, self.offset,
                            len(starts))[0][:, 0, 0]
        return {"rows": rows, "truth": truth, "forecast": tuple(pred.tolist()),
                "target": self.prep.target[0]}

    def final_report(self, model, batch_size: int) -> dict:
        if not len(self.starts["test"]) or self.cfg.test_fraction == 0:
            return {}
        pred, truth = self.forecast(model, "test", test_batch(batch_size))
        persistence = baselines(self.prep, self.cfg)["persistence"]["test"]["mae"]
        return {"test": scores(pred, truth, persistence)}


def test_batch(batch_size: int) -> int:
    """Windows per forward pass of the test block (and of predict --rolling, so both
    compute the very same numbers)."""
    return max(batch_size, 256)


def windows(inputs: Tensor, targets: Tensor | None, starts: Tensor, window: int,
            horizon: int) -> tuple[Tensor, Tensor | None]:
    """x (B, window, F) and y (B, H*K) (None without targets) of the windows starting
    at `starts`: the `window` rows from each start, and the `horizon` rows after them."""
    x = inputs[starts[:, None] + torch.arange(window, device=inputs.device)]
    if targets is None:
        return x, None
    ahead = torch.arange(window, window + horizon, device=inputs.device)
    return x, targets[starts[:, None] + ahead].reshape(len(starts), -1)


@torch.no_grad()
def forecast(model: torch.nn.Module, inputs: Tensor, targets: Tensor | None, starts: Tensor,
             window: int, horizon: int, scale: Tensor, offset: Tensor, batch_size: int,
             progress=None) -> tuple[Tensor, Tensor | None]:
    """(W, H, K) forecasts of the windows starting at `starts` and their truths (None
    without targets), in original units (``scale``/``offset`` per output, horizon-major);
    `progress(done, total)` after each batch."""
    preds, truths = [], []
    was_training = model.training
    model.eval()
    for k in range(0, len(starts), batch_size):
        x, y = windows(inputs, targets, starts[k:k + batch_size], window, horizon)
        out, _ = model(x, None)
        preds.append(out * scale + offset)
        if y is not None:
            truths.append(y * scale + offset)
        if progress is not None:
            progress(min(k + batch_size, len(starts)), len(starts))
    model.train(was_training)
    shape = (len(starts), horizon, -1)
    pred = torch.cat(preds).view(shape).cpu()
    return pred, torch.cat(truths).view(shape).cpu() if truths else None


def scores(pred: Tensor, truth: Tensor, persistence_mae: float | None) -> dict:
    """{"mae", "rmse", "skill"} of (W, H, K) forecasts against their truths."""
    err = (pred - truth).double()
    mae, rmse = float(err.abs().mean()), float(err.square().mean().sqrt())
    return {"mae": mae, "rmse": rmse, "skill": skill(mae, persistence_mae)}
