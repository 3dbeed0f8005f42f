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
        self._offsets = torch.arange(cfg.window)
        self._ahead = torch.arange(cfg.window, cfg.window + cfg.horizon)

    # ---- batches
    def windows(self, starts: Tensor) -> Batch:
        """x (B, window, F) and y (B, H*K) of the windows starting at `starts`."""
        x = self.inputs[starts[:, None] + self._offsets]
        y = self.targets[starts[:, None] + self._ahead].reshape(len(starts), -1)
        return x, y

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

    @torch.no_grad()
    def forecast(self, model: torch.nn.Module, split: str, batch_size: int = 256):
        """(W, H, K) forecasts and truths of a split's windows, in original units."""
        preds, truths = [], []
        was_training = model.training
        model.eval()
        for x, y in self.split_batches(split, batch_size):
            out, _ = model(x, None)
            preds.append(out * self.scale + self.offset)
            truths.append(y * self.scale + self.offset)
        model.train(was_training)
        shape = (-1, self.horizon, self.n_targets)
        return torch.cat(preds).view(shape).cpu(), torch.cat(truths).view(shape).cpu()

    FORECAST_WINDOWS = 120

    def val_forecast(self, model) -> dict | None:
        """h = 1 forecasts of the first target over the first validation windows."""
        saved = self.starts["val"]
        self.starts["val"] = saved[:self.FORECAST_WINDOWS]
        try:
            pred, truth = self.forecast(model, "val")
        finally:
            self.starts["val"] = saved
        rows = (self.starts["val"][:len(pred)] + self.window).tolist()
        return {"rows": tuple(int(r) for r in rows), "truth": tuple(truth[:, 0, 0].tolist()),
                "forecast": tuple(pred[:, 0, 0].tolist()), "target": self.prep.target[0]}

    def final_report(self, model, batch_size: int) -> dict:
        if not len(self.starts["test"]) or self.cfg.test_fraction == 0:
            return {}
        pred, truth = self.forecast(model, "test", max(batch_size, 256))
        err = (pred - truth).double()
        mae, rmse = float(err.abs().mean()), float(err.square().mean().sqrt())
        persistence = baselines(self.prep, self.cfg)["persistence"]["test"]["mae"]
        return {"test": {"mae": mae, "rmse": rmse, "skill": skill(mae, persistence)}}
