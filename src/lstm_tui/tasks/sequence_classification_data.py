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
        n, t, f = len(part.labels), self.seq_len, part.values.shape[2]
        mean, std = self._norm
        x = np.zeros((n, t, self.input_size), dtype=np.float32)
        for i, length in enumerate(part.lengths):
            x[i, t - length:, :f] = (part.values[i, :length] - mean) / std
            if self.masked:
                x[i, t - length:, f] = 1.0
        index = {c: k for k, c in enumerate(self.classes)}
        y = torch.tensor([index[v] for v in part.labels.tolist()], dtype=torch.long)
        return torch.from_numpy(x), y

    # ---- figures beyond the validation metric
    def start_report(self) -> dict:
        counts = torch.bincount(self.y, minlength=self.output_size)
        majority = int(counts.argmax())
        figures = {"accuracy": float((self.val_y == majority).float().mean())}
        if self.test_y is not None:
            figures["test"] = {"accuracy": float((self.test_y == majority).float().mean())}
        return {"classes": self.classes, "class_counts": counts.tolist(),
                "baselines": {"majority": figures}}

    @torch.no_grad()
    def predict(self, model: torch.nn.Module, x: torch.Tensor, batch_size: int = 256):
        was_training = model.training
        model.eval()
        out = torch.cat([model(x[k:k + batch_size], None)[0].argmax(-1)
                         for k in range(0, len(x), batch_size)])
        model.train(was_training)
        return out

    def final_report(self, model, batch_size: int) -> dict:
        on_test = self.test_y is not None
        x, y = (self.test_x, self.test_y) if on_test else (self.val_x, self.val_y)
        pred = self.predict(model, x.to(self.x.device), max(batch_size, 256)).cpu()
        matrix = torch.zeros(self.output_size, self.output_size, dtype=torch.long)
        matrix.index_put_((y.cpu(), pred), torch.ones(len(y), dtype=torch.long), accumulate=True)
        figures = {"confusion": {"split": "test" if on_test else "val", "classes": self.classes,
                                 "matrix": matrix.tolist()}}
        if on_test:
            figures["test"] = {"accuracy": float((pred == y.cpu()).float().mean())}
        return figures

    def checkpoint_extra(self) -> dict:
        return {"classes": self.classes}
