"""What a task config will build (sizes, read-out, metric), worked out without torch.

The front ends show parameter counts and dataset sizes while a config is being edited;
:func:`describe_task` gives them the same numbers the built task will have, at the cost
of reading the text for ``char_lm`` (cached) and nothing else.  The char_lm text
preparation lives here too, so the task and its description read the very same text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from lstm_tui.errors import ConfigError

TEXT8_VOCAB = (" ",) + tuple("abcdefghijklmnopqrstuvwxyz")
_NOT_TEXT8 = re.compile(r"[^a-z]+")


@dataclass(frozen=True)
class TaskShape:
    """The attributes of a built task that front ends need before building it."""
    input_size: int
    output_size: int
    seq_len: int
    readout: str           # "last" | "all"
    train_size: int        # sequences, or characters for char_lm
    val_size: int
    vocab_size: int | None = None
    # the task's spec declares these once; describe_task fills them in
    metric: str = ""       # the primary metric: "accuracy" | "mad" | "perplexity" | "mae" ...
    goal: str = ""         # "max" | "min"


def describe_task(cfg) -> TaskShape:
    """The shape of the task `cfg` builds (equal to the built task's attributes)."""
    from lstm_tui.tasks.registry import describe_task as describe
    return describe(cfg)


# ---------------------------------------------------------------- copy layout

def copy_width(symbols: int) -> int:
    """One-hot width of the copy task: the symbols, then blank, then the recall cue."""
    return symbols + 2


def copy_seq_len(length: int, delay: int) -> int:
    """`length` symbols, `delay` blanks, the cue, then `length` answer steps."""
    return 2 * length + delay + 1


# ---------------------------------------------------------------- char_lm text

@dataclass(frozen=True)
class Corpus:
    """A char_lm text after truncation and normalization, and its vocabulary (sorted)."""
    text: str
    vocab: tuple[str, ...]


def char_val_size(n_chars: int, val_fraction: float) -> int:
    """Characters held out for validation: the last `val_fraction` of the text."""
    return int(round(n_chars * val_fraction))


def normalize_text(text: str, normalize: str) -> str:
    """text8: lowercase, every run of non a-z characters becomes one space; none: as is."""
    if normalize == "text8":
        return _NOT_TEXT8.sub(" ", text.lower())
    return text


def load_corpus(path: str, normalize: str, max_chars: int) -> Corpus:
    """The text a char_lm config trains on; empty `path` = the built-in corpus.

    Cached by (path, mtime, size, normalize, max_chars), so an edited file is read again.
    """
    if not path:
        return _load_corpus("", 0, 0, normalize, max_chars)
    if path == "text8":              # the seeds' corpus: downloaded once, then cached
        from lstm_tui.tasks import text8
        path = str(text8.path())
    file = Path(path).expanduser()
    try:
        stat = file.stat()
    except OSError as exc:
        raise ConfigError("", "task.text", f"cannot read {path!r}: {exc.strerror}") from None
    return _load_corpus(str(file.resolve()), stat.st_mtime_ns, stat.st_size,
                        normalize, max_chars)


@functools.lru_cache(maxsize=4)
def _load_corpus(path: str, mtime_ns: int, size: int, normalize: str,
                 max_chars: int) -> Corpus:
    end = max_chars or None   # max_chars counts characters of the source, before normalizing
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read(max_chars or -1)   # a prefix only: big files stay cheap
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError("", "task.text", f"cannot read {path!r}: {exc}") from None
    else:
        text = builtin_text()[:end]
    # Lowercasing can (rarely) lengthen a string: cut again to keep "at most max_chars".
    text = normalize_text(text, normalize)[:end]
    vocab = TEXT8_VOCAB if normalize == "text8" else tuple(sorted(set(text)))
    return Corpus(text, vocab)


def builtin_text() -> str:
    """English prose shipped with Python: the pydoc topic help texts (~465k characters)."""
    try:
        from pydoc_data.topics import topics
    except ImportError:
        raise ConfigError("", "task.text", "the built-in corpus (pydoc_data) is missing from "
                          "this Python; set task.text to a UTF-8 file") from None
    return "".join(topics[key] for key in sorted(topics))
