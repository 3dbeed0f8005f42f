"""Text generation from a saved char_lm run: load a checkpoint, stream characters."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from lstm_tui.errors import first_line
from lstm_tui.runs.store import RunError, load_run

CHECKPOINTS = ("best", "last")


class Sampler:
    """A char_lm model rebuilt from its run folder alone (config + checkpoint + vocabulary)."""

    def __init__(self, run_dir: Path, checkpoint: str = "best", device: str = "cpu"):
        from lstm_tui.models.network import build_model
        from lstm_tui.runs.checkpoint import load_checkpoint

        run = load_run(Path(run_dir))
        cfg = run.run_config()
        from lstm_tui.tasks.registry import samples_text
        if not samples_text(cfg.task.kind):
            raise RunError(f"{run_dir}: task is {cfg.task.kind}; sampling needs a char_lm run")
        path = Path(run_dir) / f"{checkpoint}.pt"
        if checkpoint == "best" and not path.exists():
            path = Path(run_dir) / "last.pt"
        try:
            payload = load_checkpoint(path)
        except ValueError as exc:
            raise RunError(str(exc)) from None
        self.vocab: list[str] = list(payload.get("vocab") or [])
        if not self.vocab:
            raise RunError(f"{path}: checkpoint has no vocabulary")
        self.normalize = cfg.task.normalize
        self.step = int(payload.get("step", 0))
        self.checkpoint = path
        self.device = device
        self.model = build_model(cfg.model, len(self.vocab), len(self.vocab), "all")
        try:
            self.model.load_state_dict(payload["model"])
        except (RuntimeError, KeyError, TypeError) as exc:
            raise RunError(f"{path}: does not fit the model of {Path(run_dir) / 'config.toml'} "
                           f"({first_line(exc, 200)}); was the config edited?") from None
        self.model.to(device).eval()
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
