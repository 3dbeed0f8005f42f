"""Text generation from a trained char_lm run: its model and vocabulary opened by
runs.trained, prime text encoded as the training text was, characters streamed."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from lstm_tui.runs.layout import RunError
from lstm_tui.runs.reader import read_run_config
from lstm_tui.runs.trained import open_trained
from lstm_tui.tasks.registry import samples_text


class Sampler:
    """A char_lm model rebuilt from its run folder alone (config + checkpoint + vocabulary)."""

    def __init__(self, run_dir: Path, checkpoint: str = "best", device: str = "cpu"):
        kind = read_run_config(run_dir).task.kind     # refused before any weights load
        if not samples_text(kind):
            raise RunError(f"{run_dir}: task is {kind}; sampling needs a char_lm run")
        run = open_trained(run_dir, checkpoint, device=device)
        if not run.vocab:
            raise RunError(f"{run.checkpoint}: checkpoint has no vocabulary")
        self.vocab: list[str] = run.vocab
        self.normalize = run.config.task.normalize
        self.step = run.step
        self.checkpoint = run.checkpoint
        self.device = device
        self.model = run.model
        self._index = {ch: i for i, ch in enumerate(self.vocab)}

    def encode(self, text: str):
        """Codes of `text` normalized as the training text was; unknown characters dropped."""
        import torch

        from lstm_tui.tasks.shapes import normalize_text
        text = normalize_text(text, self.normalize)
        return torch.tensor([self._index[ch] for ch in text if ch in self._index],
                            dtype=torch.long)

    def decode(self, codes) -> str:
        return "".join(self.vocab[int(i)] for i in codes)

    def stream(self, prime: str = "", length: int = 200, temperature: float = 1.0,
               seed: int | None = None, top_k: int | None = None) -> Iterator[str]:
        """Characters one at a time; temperature near 0 is argmax."""
        for char, _ in self.scored(prime, length, temperature, seed, top_k):
            yield char

    def scored(self, prime: str = "", length: int = 200, temperature: float = 1.0,
               seed: int | None = None,
               top_k: int | None = None) -> Iterator[tuple[str, float]]:
        """(character, the probability the model gave it) one at a time."""
        from lstm_tui.models.sampling import generate_scored
        return generate_scored(self.model, self.encode, self.decode, len(self.vocab),
                               prime=prime, length=length, temperature=temperature,
                               seed=seed, device=self.device, top_k=top_k)
