"""Open a run for inspection and choose the sequence to look at.

Generic over tasks: the run is opened by runs.trained with its task built, a validation
sequence is row N of ``task.val_batches(1)`` (for char_lm, the N-th ``seq_len`` window
of the validation text, read from a zero state), and the input labels come from the
task's vocabulary, its one-hot codes or its values.  A task may define
``input_labels(x) -> list[str]`` to label its inputs itself.

Problems are RunError / ConfigError with one line naming the file or option.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from lstm_tui.config import ConfigError
from lstm_tui.inspection.record import predictions, run_sequence
from lstm_tui.inspection.schema import Record
from lstm_tui.runs.layout import RunError
from lstm_tui.runs.trained import TrainedRun, open_trained

MAX_TEXT = 2000          # characters of --text (the record is T x H per quantity)


@dataclass
class Sequence:
    """The input (1, T, I), its targets, labels, and how it was chosen."""
    x: Tensor
    y: Tensor | None
    tokens: list[str]
    text: str | None
    about: dict
    notes: list[str] = field(default_factory=list)


def open_run(run_dir: Path, checkpoint: str = "best") -> TrainedRun:
    """The run with its task built: the sequences to look at come from the task."""
    return open_trained(run_dir, checkpoint, with_task=True)


# ---------------------------------------------------------------- the sequence

def count_sequences(task) -> int:
    return sum(int(x.shape[0]) for x, _ in task.val_batches(1))


def validation_sequence(opened: TrainedRun, index: int, about: dict | None = None) -> Sequence:
    task = opened.task
    if index < 0:
        raise ConfigError("--index", "index", f"must be 0 or more, got {index}")
    n = 0
    for i, (x, y) in enumerate(task.val_batches(1)):
        n = i + 1
        if i == index:
            tokens = input_labels(task, x[0], opened.vocab)
            text = "".join(tokens) if _is_text(opened) else None
            return Sequence(x[:1].float(), y[0], tokens, text,
                            about or {"source": "index", "index": index})
    raise ConfigError("--index", "index", f"{index} is past the validation set "
                      f"({n} sequences: 0..{max(n - 1, 0)})")


def random_sequence(opened: TrainedRun, seed: int | None) -> Sequence:
    n = count_sequences(opened.task)
    if n == 0:
        raise RunError(f"{opened.run_dir}: the task has no validation sequences")
    rng = random.Random(seed)
    index = rng.randrange(n)
    return validation_sequence(opened, index, {"source": "random", "seed": seed,
                                               "index": index})


def text_sequence(opened: TrainedRun, text: str) -> Sequence:
    """Typed text, normalized like the training text; notes say what changed."""
    task = opened.task
    if not _is_text(opened):
        raise ConfigError("--text", "text", f"needs a char_lm run (a model of text); "
                          f"{opened.run_dir.name} is a {task.kind} run (use --index or "
                          "--random)")
    if not text:
        raise ConfigError("--text", "text", "is empty")
    if len(text) > MAX_TEXT:
        raise ConfigError("--text", "text", f"has {len(text):,} characters; at most "
                          f"{MAX_TEXT:,}")
    from lstm_tui.tasks.shapes import normalize_text
    normalize = getattr(opened.config.task, "normalize", "none")
    normalized = normalize_text(text, normalize)
    notes = []
    if normalized != text:
        notes.append(f"normalized like the training text ({normalize}): "
                     f"{_describe_change(text, normalized)}")
    known = set(opened.vocab or ())
    dropped = sorted({c for c in normalized if c not in known})
    kept = "".join(c for c in normalized if c in known)
    if dropped:
        shown = ", ".join(repr(c) for c in dropped[:8]) + (", ..." if len(dropped) > 8 else "")
        notes.append(f"dropped {sum(c not in known for c in normalized)} character(s) not in "
                     f"the vocabulary: {shown}")
    if not kept:
        raise ConfigError("--text", "text", "has no character of the run's vocabulary")
    codes = torch.tensor([opened.vocab.index(c) for c in kept])
    x = torch.nn.functional.one_hot(codes, len(opened.vocab)).float().unsqueeze(0)
    y = None
    if getattr(task, "readout", "last") == "all" and len(codes) > 1:
        y = torch.cat((codes[1:], codes.new_full((1,), -1)))   # the next character
    return Sequence(x, y, list(kept), kept, {"source": "text", "text": text}, notes)


def _is_text(opened: TrainedRun) -> bool:
    """A model of text: its inputs are one-hot characters of a vocabulary."""
    return bool(opened.vocab) and opened.task.input_size == len(opened.vocab)


def _describe_change(before: str, after: str) -> str:
    parts = []
    if before.lower() != before and after == after.lower():
        parts.append("lowercased")
    if len(after) != len(before) or any(a != b.lower() for a, b in zip(before, after)):
        parts.append("characters outside a-z became spaces")
    return ", ".join(parts) or "changed"


def input_labels(task, x: Tensor, vocab: list[str] | None = None) -> list[str]:
    """A short label per time step of x (T, I): the task's own, a symbol of a one-hot
    input, or the values."""
    own = getattr(task, "input_labels", None)
    if callable(own):
        return [str(s) for s in own(x)]
    onehot = bool(((x == 0) | (x == 1)).all()) and bool((x.sum(-1) == 1).all())
    if onehot and x.shape[-1] > 1:
        codes = x.argmax(-1).tolist()
        return [vocab[c] if vocab and c < len(vocab) else str(c) for c in codes]
    return ["|".join(_short(v) for v in row) for row in x.tolist()]


def _short(value: float) -> str:
    value = float(value)
    if value.is_integer():
        return f"{value:.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.3g}"


# ---------------------------------------------------------------- the record

def inspect_sequence(opened: TrainedRun, seq: Sequence) -> Record:
    model, task = opened.model, opened.task
    result = run_sequence(model, seq.x)
    classify = seq.y is not None and not torch.is_floating_point(seq.y)
    if seq.y is None:
        classify = task.output_size > 1 and getattr(task, "vocab", None) is not None
        targets: list = []
    elif seq.y.dim() >= 1 and len(result.readout_steps) > 1:
        targets = seq.y.tolist()
    else:
        targets = [seq.y.tolist()]
    preds = predictions(result.output, result.readout_steps, targets,
                        opened.vocab if opened.vocab and task.output_size == len(opened.vocab)
                        else None, classify,
                        float(getattr(task, "target_scale", 1.0)),
                        float(getattr(task, "target_offset", 0.0)))
    for p in preds:   # -1 marks "no next character" after typed text
        if p.get("target") == -1:
            p["target"] = p["target_label"] = None
    return Record(
        run=str(opened.run_dir), checkpoint=str(opened.checkpoint.name), step=opened.step,
        task=str(getattr(task, "kind", "")), cell=model.cell, activation=model.activation,
        layers=model.layers, directions=model.directions, hidden=model.hidden,
        tokens=seq.tokens, text=seq.text, traces=result.traces, saliency=result.saliency,
        predictions=preds, sequence=seq.about, notes=seq.notes,
        bounded=tuple(g for g in model.spec.gates if g in model.spec.bounded))
