"""Character language model (perplexity): config and spec.

The text preparation lives in :mod:`lstm_tui.tasks.shapes` (so the task and its
description read the very same text); the torch side, truncated backpropagation through
time over contiguous streams, is :mod:`lstm_tui.tasks.char_lm_data`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lstm_tui.config import MAX_TEXT, opt
from lstm_tui.errors import ConfigError
from lstm_tui.tasks.registry import TaskSpec
from lstm_tui.tasks.shapes import TaskShape, char_val_size, load_corpus


@dataclass
class CharLMTask:
    """Character language model over a text file or the built-in corpus (perplexity)."""
    kind: Literal["char_lm"] = opt("char_lm", "task kind (docs/tasks.md)")
    text: str = opt("", "path of a UTF-8 text file; empty = built-in corpus (Python docs); "
                    "\"text8\" = the text8 corpus (downloaded once, cached)")
    normalize: Literal["text8", "none"] = opt(
        "text8", "text8: lowercase a-z and space (27 symbols); none: every character")
    seq_len: int = opt(10, "unrollings (characters per truncated-BPTT segment)", min=1, max=100_000)
    val_fraction: float = opt(0.1, "fraction of the text held out for validation",
                              min=0.0, max=0.5, exclusive_min=True)
    max_chars: int = opt(0, "use at most this many characters (0 = all)", min=0)
    sample_length: int = opt(200, "characters sampled at each validation (0 = none)", min=0)
    sample_temperature: float = opt(0.8, "softmax temperature of those samples",
                                    min=0.0, exclusive_min=True, max=100.0)


def shape(cfg: CharLMTask) -> TaskShape:
    corpus = load_corpus(cfg.text, cfg.normalize, cfg.max_chars)
    n_val = char_val_size(len(corpus.text), cfg.val_fraction)
    size = len(corpus.vocab)
    return TaskShape(size, size, cfg.seq_len, "all", len(corpus.text) - n_val, n_val, size)


def check(cfg, source: str) -> None:
    t = cfg.task
    if cfg.model.bidirectional:
        raise ConfigError(source, "model.bidirectional",
                          "must be false for char_lm (a backward pass sees the characters "
                          "it is asked to predict)")
    if t.text == "text8":       # downloaded on first use (lstm_tui.tasks.text8)
        pass
    elif t.text and not Path(t.text).expanduser().is_file():
        raise ConfigError(source, "task.text", f"no such file {t.text!r} (a UTF-8 text file,"
                          " or empty for the built-in corpus)")
    elif t.text and not t.max_chars and Path(t.text).expanduser().stat().st_size > MAX_TEXT:
        size = Path(t.text).expanduser().stat().st_size
        raise ConfigError(source, "task.text", f"{t.text!r} is {size:,} bytes; at most "
                          f"{MAX_TEXT:,} are used whole (set task.max_chars to train on "
                          "its first part)")
    if t.max_chars > MAX_TEXT:
        raise ConfigError(source, "task.max_chars", f"must be <= {MAX_TEXT:,} (the most "
                          f"text a run holds in memory), got {t.max_chars:,}")


SPECS = [TaskSpec("char_lm", CharLMTask, "lstm_tui.tasks.char_lm_data:CharLM", shape,
                  "perplexity", "min", metrics={"bpc": "min"}, check=check,
                  samples_text=True, data_path="text",
                  data_files=lambda cfg: {} if cfg.text in ("", "text8") else {"text": cfg.text},
                  predict="lstm_tui.tasks.char_lm_predict:predict",
                  output_meaning="logits over `vocab` at every step (softmax after the last "
                  "step: the next character)",
                  summary="character language model over a text file")]
