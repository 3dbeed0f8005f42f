"""Long-memory benchmarks: the adding problem and the copy task.

Adding: each step carries a value uniform in [0, 1) and a marker; exactly two steps are
marked, one in each half of the sequence, and the target is the sum of their values
(regression, MAD).

Copy: with `symbols` symbols (codes 0..symbols-1), blank = ``symbols`` and the recall
cue = ``symbols + 1``, an input sequence reads::

    s_1 .. s_L | blank x delay | cue | blank x L          (seq_len = 2L + delay + 1)

and the target is blank everywhere except the last L steps, which hold s_1 .. s_L.
Only those L steps are scored, so always answering "blank" earns nothing.
"""

from __future__ import annotations


import torch
from torch import Tensor

from lstm_tui.tasks.memory import AddingTask, CopyTask
from lstm_tui.tasks.base import ArrayTask, RegressionTask, compact_codes
from lstm_tui.tasks.shapes import copy_seq_len, copy_width


class Adding(RegressionTask):
    kind = "adding"
    input_size = 2

    def __init__(self, cfg: AddingTask, seed: int):
        self.seq_len = t = cfg.seq_len
        self.train_size, self.val_size = cfg.train_size, cfg.val_size
        n = cfg.train_size + cfg.val_size
        g = torch.Generator().manual_seed(seed)
        values = torch.rand(n, t, generator=g)
        first = torch.randint(0, t // 2, (n,), generator=g)          # [0, T/2)
        second = torch.randint(t // 2, t, (n,), generator=g)         # [T/2, T)
        marks = torch.zeros(n, t)
        marks.scatter_(1, torch.stack((first, second), 1), 1.0)
        x = torch.stack((values, marks), -1)                          # (N, T, 2)
        y = (values * marks).sum(1)
        self.keep(x, y, cfg.train_size)



class Copy(ArrayTask):
    kind = "copy"
    codes = True
    readout = "all"

    def __init__(self, cfg: CopyTask, seed: int):
        self.length = cfg.length
        self.input_size = self.output_size = copy_width(cfg.symbols)
        self.seq_len = copy_seq_len(cfg.length, cfg.delay)
        self.train_size, self.val_size = cfg.train_size, cfg.val_size
        n = cfg.train_size + cfg.val_size
        blank, cue = cfg.symbols, cfg.symbols + 1
        g = torch.Generator().manual_seed(seed)
        symbols = torch.randint(0, cfg.symbols, (n, cfg.length), generator=g)
        x = torch.full((n, self.seq_len), blank)
        x[:, :cfg.length] = symbols
        x[:, cfg.length + cfg.delay] = cue
        y = torch.full((n, self.seq_len), blank)
        y[:, -cfg.length:] = symbols
        x, y = compact_codes(x, self.input_size), compact_codes(y, self.input_size)
        self.keep(x, y, cfg.train_size)


    # Scoring sees only the answer steps.  final_step_loss is the base class's: the last
    # step is always an answer step, so it is already consistent with this.
    def loss(self, output: Tensor, y: Tensor) -> Tensor:
        return super().loss(*self._answers(output, y))

    def metric_sum(self, output: Tensor, y: Tensor) -> tuple[Tensor, int]:
        return super().metric_sum(*self._answers(output, y))

    def member_scores(self, out: Tensor, y: Tensor, scale: Tensor) -> tuple[Tensor, Tensor, int]:
        return super().member_scores(*self._answers(out, y), scale)

    def _answers(self, output: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return output[:, -self.length:], y[:, -self.length:]
