"""The char_lm task's predict hook: the next-character distribution after a text.

The text (a UTF-8 file, or a str) is normalised as the training text was and read through
the model in chunks, the state carried from one to the next; the most likely next
characters come back with their probabilities.  ``lstm-lab sample`` stays the generator.
"""

from __future__ import annotations

import torch

from lstm_tui.errors import ConfigError, first_line
from lstm_tui.runs.predict import PredictOptions, as_file, only_series
from lstm_tui.tasks.base import one_hot
from lstm_tui.tasks.char_lm_data import encode

CHUNK = 4096          # characters per forward pass (the progress bar's step)


def predict(run, data, options: PredictOptions) -> dict:
    only_series(options, run.kind)
    vocab = run.vocab
    if not vocab:
        raise ConfigError("", options.key, f"{run.checkpoint}: the checkpoint has no "
                          "vocabulary")
    path = as_file(data, options.key)
    text = _read_text(path, options.key) if path is not None else data
    if not isinstance(text, str):
        raise ConfigError("", options.key, "a char_lm run reads text: a file or a str")
    codes = encode(text, run.config.task.normalize, vocab)
    if len(codes) == 0:
        raise ConfigError("", options.key, f"{path or 'the text'} holds no character of the "
                          f"run's vocabulary ({''.join(vocab)[:60]!r})")
    logits = _last_logits(run.model, codes.to(run.device), len(vocab), options.progress)
    probs = torch.softmax(logits.float(), -1)
    top = probs.topk(min(options.top, len(vocab)))
    return {"chars": len(codes),
            "next": [{"char": vocab[int(i)], "prob": float(p)}
                     for p, i in zip(top.values, top.indices)]}


def _read_text(path: str, key: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        raise ConfigError("", key, f"no such file {path!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("", key, f"cannot read {path!r} as UTF-8 text: "
                          f"{first_line(exc, 200)}") from None


@torch.no_grad()
def _last_logits(model, codes: torch.Tensor, size: int, progress) -> torch.Tensor:
    """The logits after the last character, the text read chunk by chunk."""
    was_training = model.training
    model.eval()
    state, out = None, None
    for k in range(0, len(codes), CHUNK):
        out, state = model(one_hot(codes[None, k:k + CHUNK], size), state)
        if progress is not None:
            progress(min(k + CHUNK, len(codes)), len(codes))
    model.train(was_training)
    return (out[0, -1] if out.dim() == 3 else out[0]).cpu()
