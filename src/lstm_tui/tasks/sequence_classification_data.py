"""The sequence classification task's tensors: padded, masked, normalized sequences.

Each sequence is right-aligned in a (T, F) block of zeros; with unequal lengths a last
input channel is 1 on real steps and 0 on padding.  Standardization uses the training
rows' real steps only.  Targets are class indices into the sorted class list.
"""

from __future__ import annotations

import numpy as np
import torch

from lstm_tui.tasks.base import ArrayTask
from lstm_tui.tasks.sequence_classification import (Labelled, SequenceClassificationTask,
                                                    load, stratified)


class SequenceClassification(ArrayTask):
    kind = "sequence_classification"
    readout = "last"

    def __init__(self, cfg: SequenceClassificationTask, seed: int):
        data = load(cfg)
        self.classes = data.classes
        self.masked = data.masked
        self.seq_len = data.seq_len
        self.input_size = data.features + data.masked
        self.output_size = len(data.classes)
        split = stratified(data.train.labels, cfg.val_fraction, 0)
        self._norm = (data.mean, data.std)
        x, y = self.tensors(data.train)
        self.x, self.y = x[split.train], y[split.train]
        self.val_x, self.val_y = x[split.val], y[split.val]
        self.train_size, self.val_size = len(self.y), len(self.val_y)
        self.test_x = self.test_y = None
        if data.test is not None:
            self.test_x, self.test_y = self.tensors(data.test)

    def tensors(self, part: Labelled) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, T, input_size) float32 right-aligned and masked, and (N,) class indices."""
        x = encode(part.values, part.lengths, self.seq_len, self.masked, *self._norm)
        index = {c: k for k, c in enumerate(self.classes)}
        y = torch.tensor([index[v] for v in part.labels.tolist()], dtype=torch.long)
        return torch.from_numpy(x), y

    def inference(self) -> dict:
        """Labels and train statistics: model input = (value - mean) / std per feature,
        right-aligned in `seq_len` steps, plus a 0/1 mask channel when `masked`."""
        mean, std = self._norm
        return {"classes": list(self.classes), "features": int(len(mean)),
                "seq_len": int(self.seq_len), "masked": bool(self.masked),
                "mean": [float(v) for v in mean], "std": [float(v) for v in std]}

    # ---- figures beyond the validation metric
    def start_report(self) -> dict:
        counts = torch.bincount(self.y, minlength=self.output_size)
        majority = int(counts.argmax())
        figures = {"accuracy": float((self.val_y == majority).float().mean())}
        if self.test_y is not None:
            figures["test"] = {"accuracy": float((self.test_y == majority).float().mean())}
        return {"classes": self.classes, "class_counts": counts.tolist(),
                "baselines": {"majority": figures}}

    def final_report(self, model, batch_size: int) -> dict:
        on_test = self.test_y is not None
        x, y = (self.test_x, self.test_y) if on_test else (self.val_x, self.val_y)
        pred = logits(model, x.to(self.x.device), test_batch(batch_size)).argmax(-1)
        figures = {"confusion": {"split": "test" if on_test else "val", "classes": self.classes,
                                 "matrix": confusion(y.cpu(), pred, self.output_size)}}
        if on_test:
            figures["test"] = {"accuracy": float((pred == y.cpu()).float().mean())}
        return figures

    def checkpoint_extra(self) -> dict:
        return {**super().checkpoint_extra(), "classes": self.classes}


def encode(values, lengths, seq_len: int, masked: bool, mean, std):
    """(N, seq_len, F + masked) float32: each sequence's real steps normalized and
    right-aligned, the rest zeros; with `masked` a last channel, 1 on real steps."""
    n, f = len(values), values.shape[2]
    x = np.zeros((n, seq_len, f + masked), dtype=np.float32)
    for i, length in enumerate(lengths):
        x[i, seq_len - length:, :f] = (values[i, :length] - mean) / std
        if masked:
            x[i, seq_len - length:, f] = 1.0
    return x


def test_batch(batch_size: int) -> int:
    """Sequences per forward pass of the test block (and of predict, alike)."""
    return max(batch_size, 256)


@torch.no_grad()
def logits(model: torch.nn.Module, x: torch.Tensor, batch_size: int,
           progress=None) -> torch.Tensor:
    """(N, classes) outputs of the model over `x` in batches, on the CPU;
    `progress(done, total)` after each batch."""
    was_training = model.training
    model.eval()
    out = []
    for k in range(0, len(x), batch_size):
        out.append(model(x[k:k + batch_size], None)[0].cpu())
        if progress is not None:
            progress(min(k + batch_size, len(x)), len(x))
    model.train(was_training)
    return torch.cat(out)


def confusion(y: torch.Tensor, pred: torch.Tensor, classes: int) -> list[list[int]]:
    """rows: true class, columns: predicted class."""
    matrix = torch.zeros(classes, classes, dtype=torch.long)
    matrix.index_put_((y, pred), torch.ones(len(y), dtype=torch.long), accumulate=True)
    return matrix.tolist()
