"""Character language model with truncated backpropagation through time (perplexity).

The text (a UTF-8 file or the built-in corpus, see :mod:`lstm_tui.tasks.shapes`) is
split: the last `val_fraction` validates, the rest trains.  As in the Udacity deep
learning assignment 6, a split is cut into B contiguous streams, one per batch row;
batch k reads characters ``k*T .. (k+1)*T`` of every stream and predicts the next
character at each step, so consecutive batches continue the same streams and the engine
carries the hidden state from one to the next (``stateful``).  An epoch is one pass, in
order; the seed plays no part (the text is the data).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from lstm_tui.errors import ConfigError
from lstm_tui.tasks.char_lm import CharLMTask
from lstm_tui.tasks.base import Batch, Task, bpc, compact_codes, one_hot, perplexity
from lstm_tui.tasks.shapes import char_val_size, load_corpus, normalize_text


class CharLM(Task):
    kind = "char_lm"
    readout = "all"
    stateful = True

    def __init__(self, cfg: CharLMTask, seed: int):
        corpus = load_corpus(cfg.text, cfg.normalize, cfg.max_chars)
        self.normalize = cfg.normalize
        self.vocab = list(corpus.vocab)
        self.input_size = self.output_size = len(self.vocab)
        self.seq_len = cfg.seq_len
        codes = self.encode(corpus.text)
        self.val_size = char_val_size(len(codes), cfg.val_fraction)
        self.train_size = len(codes) - self.val_size
        for part, size in (("training", self.train_size), ("validation", self.val_size)):
            if size < cfg.seq_len + 1:
                raise ConfigError("", "task.seq_len", f"the {part} text has {size} characters,"
                                  f" fewer than seq_len + 1 = {cfg.seq_len + 1}; use a longer "
                                  "text, a larger max_chars or val_fraction, or a shorter seq_len")
        codes = compact_codes(codes, len(self.vocab))
        self.train_codes, self.val_codes = codes[:self.train_size], codes[self.train_size:]

    # ---- text <-> codes
    def encode(self, text: str) -> Tensor:
        """Int64 codes of `text`, normalized like the corpus; characters outside the
        vocabulary are dropped."""
        return encode(text, self.normalize, self.vocab)

    def decode(self, codes) -> str:
        codes = codes.tolist() if isinstance(codes, Tensor) else codes
        return "".join(self.vocab[int(c)] for c in codes)

    # ---- batches
    def steps_per_epoch(self, batch_size: int) -> int:
        return self._streams(self.train_codes, batch_size)[1]

    def train_batches(self, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        return self._segments(self.train_codes, batch_size)

    def val_batches(self, batch_size: int) -> Iterator[Batch]:
        return self._segments(self.val_codes, batch_size)

    def _streams(self, codes: Tensor, batch_size: int) -> tuple[Tensor, int]:
        """(B, S) contiguous streams and the number of T-step segments in each.

        B is capped so every stream holds at least one segment plus its next character.
        """
        rows = max(1, min(batch_size, len(codes) // (self.seq_len + 1)))
        length = len(codes) // rows
        return codes[:rows * length].view(rows, length), (length - 1) // self.seq_len

    def _segments(self, codes: Tensor, batch_size: int) -> Iterator[Batch]:
        streams, steps = self._streams(codes, batch_size)
        t = self.seq_len
        for k in range(steps):
            window = streams[:, k * t:(k + 1) * t + 1]
            yield one_hot(window[:, :-1], self.input_size), window[:, 1:].long()

    # ---- scoring
    def metric_sum(self, output: Tensor, y: Tensor) -> tuple[Tensor, int]:
        """(summed cross entropy in nats, characters predicted)."""
        return F.cross_entropy(self._flat(output), y.reshape(-1), reduction="sum"), y.numel()

    def train_metric_sum(self, output: Tensor, y: Tensor, loss: Tensor) -> tuple[Tensor, int]:
        """The loss is the mean cross entropy: its sum is the loss times the count (1.5%
        of a Udacity-sized step, benchmarks/RESULTS.md)."""
        return loss.detach() * y.numel(), y.numel()

    def reduce_metric(self, total: float, count: int) -> float:
        return perplexity(total / max(count, 1))

    def val_extra(self, val_loss: float) -> dict[str, float]:
        return {"bpc": bpc(val_loss)}


def encode(text: str, normalize: str, vocab: list[str]) -> Tensor:
    """Int64 codes of `text` normalized as the corpus was; characters outside the (sorted)
    vocabulary are dropped.  One searchsorted over the vocabulary's code points."""
    points = np.array([ord(c) for c in vocab], dtype=np.uint32)
    text_points = np.frombuffer(normalize_text(text, normalize).encode("utf-32-le"),
                                dtype=np.uint32)
    index = np.minimum(np.searchsorted(points, text_points), len(points) - 1)
    known = points[index] == text_points
    return torch.from_numpy(index[known].astype(np.int64))
