"""Labelled sequences: classify each whole sequence (accuracy).

Files in the UCR archive layout (no header; each row a label, then the values of one
sequence; CSV or TSV), or a .npz with ``X`` (N, T) or (N, T, F) and ``y`` (N,).  Labels
may be ints or strings; the sorted class list is kept in summary.json and the checkpoint.
The validation rows are a stratified sample of the training file (one fixed draw); an optional
`test_path` (UCR ships TRAIN and TEST) gives the test block at the end.

Sequences of unequal length (UCR pads the short ones with trailing NaN) are right-aligned
and padded with zeros, and a 0/1 mask channel is added to the input, so the network is
told which steps are padding and the read-out step is always a real value; equal-length
sets get no mask channel.  A NaN inside a sequence is an error, not silently a number.
This module imports neither torch nor (until a file is read) pandas; the tensors are
built by :mod:`lstm_tui.tasks.sequence_classification_data`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lstm_tui.config import opt
from lstm_tui.errors import ConfigError
from lstm_tui.tasks.datafiles import MAX_VALUE, bad_values, checked_file, value_rule
from lstm_tui.tasks.registry import Preview, TaskSpec
from lstm_tui.tasks.shapes import TaskShape

MIN_SEQUENCES = 10      # fewer sequences than this in a split measure nothing
SUFFIXES = {".csv": ",", ".tsv": "\t", ".npz": None}


@dataclass
class SequenceClassificationTask:
    """Classify labelled sequences from a UCR-layout CSV/TSV or an .npz file (accuracy)."""
    kind: Literal["sequence_classification"] = opt("sequence_classification",
                                                   "task kind (docs/tasks.md)")
    path: str = opt("", "UCR layout (label, then the values of one sequence per row; CSV "
                    "or TSV), or .npz with X (N, T) or (N, T, F) and y (N,)")
    test_path: str = opt("", "optional separate test file, same layout (UCR ships TRAIN "
                         "and TEST)")
    val_fraction: float = opt(0.2, "validation share of the training file, stratified by "
                              "class", min=0.0, max=1.0, exclusive_min=True, exclusive_max=True)
    normalize: Literal["standard", "none"] = opt(
        "standard", "none | standard (per feature, train statistics)")


@dataclass(frozen=True, eq=False)      # hashed by identity: cached, never copied
class Labelled:
    """One file: values (N, T, F) float64 with NaN after each sequence's end, labels."""
    path: str
    values: Any
    labels: Any            # (N,) as read: ints or strings; None for a file without them
    lengths: Any           # (N,) real steps of each sequence


def read_labelled(path: str, key: str) -> Labelled:
    """A labelled-sequence file (cached by path, mtime and size); ConfigError naming `key`."""
    return read_sequences(path, key, True)


def read_sequences(path: str, key: str, labels: bool | None) -> Labelled:
    """A sequence file whose rows start with a label (`labels` True), do not (False), or,
    for an .npz, hold ``y`` or not (None: as the file says)."""
    file, size = _checked(path, key)
    return _read(str(file.resolve()), file.stat().st_mtime_ns, size, path, key, labels)


def columns(path: str, key: str) -> int | None:
    """Values per row of a CSV/TSV file (the label column included); None for an .npz."""
    file, size = _checked(path, key)
    if file.suffix.lower() == ".npz":
        return None
    return _frame(str(file.resolve()), file.stat().st_mtime_ns, size, path, key).shape[1]


def _checked(path: str, key: str):
    if not path:
        raise ConfigError("", key, "is required: a UCR-layout CSV/TSV file, or .npz")
    return checked_file(path, key, SUFFIXES, "CSV/TSV/NPZ")


@functools.lru_cache(maxsize=4)
def _frame(resolved: str, mtime_ns: int, size: int, shown: str, key: str):
    """A CSV/TSV file as pandas reads it, without a header."""
    import pandas as pd
    try:
        return pd.read_csv(resolved, sep=SUFFIXES[Path(resolved).suffix.lower()],
                           header=None, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise ConfigError("", key, f"{shown!r} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise ConfigError("", key, f"cannot read {shown!r} as CSV/TSV: {_first(exc)}") \
            from None


@functools.lru_cache(maxsize=4)
def _read(resolved: str, mtime_ns: int, size: int, shown: str, key: str,
          with_labels: bool | None = True) -> Labelled:
    import numpy as np
    labels = None
    if resolved.lower().endswith(".npz"):
        try:
            with np.load(resolved, allow_pickle=False) as data:
                needed = ("X", "y") if with_labels else ("X",)
                if any(name not in data for name in needed):
                    raise ConfigError("", key, f"{shown!r} must hold arrays "
                                      f"{' and '.join(needed)}, has "
                                      f"{', '.join(data.files) or 'none'}")
                values = data["X"]
                if with_labels is not False and "y" in data:
                    labels = data["y"]
                if values.dtype.kind not in "iuf":     # complex would lose its imaginary part
                    raise ConfigError("", key, f"{shown!r}: X must hold real numbers, got "
                                      f"{values.dtype}")
                values = np.asarray(values, dtype=np.float64)
        except ConfigError:
            raise
        except (OSError, ValueError) as exc:
            raise ConfigError("", key, f"cannot read {shown!r} as .npz: {_first(exc)}") from None
        if values.ndim == 2:
            values = values[:, :, None]
        if values.ndim != 3 or (labels is not None and (labels.ndim != 1
                                                        or len(labels) != len(values))):
            raise ConfigError("", key, f"{shown!r}: X must be (N, T) or (N, T, F) and y (N,), "
                              f"got X {values.shape}"
                              + (f" and y {labels.shape}" if labels is not None else ""))
    else:
        import pandas as pd
        frame = _frame(resolved, mtime_ns, size, shown, key)
        if with_labels and frame.shape[1] < 2:
            raise ConfigError("", key, f"{shown!r} needs a label and at least one value per "
                              "row (UCR layout)")
        if with_labels:
            labels = frame.iloc[:, 0].to_numpy()
        body = frame.iloc[:, 1:] if with_labels else frame
        numbers = body.apply(pd.to_numeric, errors="coerce")
        bad = numbers.isna() & body.notna()
        if bool(bad.to_numpy().any()):
            row, col = (int(i) for i in np.argwhere(bad.to_numpy())[0])
            raise ConfigError("", key, f"{shown!r}: row {row + 1}, value {col + 1} is not a "
                              f"number ({body.iat[row, col]!r})")
        values = numbers.to_numpy(dtype=np.float64)[:, :, None]
    if len(values) == 0:
        raise ConfigError("", key, f"{shown!r} has no rows")
    if labels is not None and any(isinstance(v, float) and v != v for v in labels.tolist()):
        row = next(i for i, v in enumerate(labels.tolist()) if isinstance(v, float) and v != v)
        raise ConfigError("", key, f"{shown!r}: row {row + 1} has no label")
    present = ~np.isnan(values).any(2)                       # (N, T)
    lengths = present.sum(1)
    # NaN only as trailing padding: every row is a run of values, then NaN
    ok = present[np.arange(len(values))[:, None], np.arange(values.shape[1])[None, :]] == \
        (np.arange(values.shape[1])[None, :] < lengths[:, None])
    if not ok.all() or (lengths == 0).any():
        row = int(np.argmin(ok.all(1) & (lengths > 0)))
        raise ConfigError("", key, f"{shown!r}: row {row + 1} has an empty or NaN value inside "
                          "the sequence (only trailing padding may be empty)")
    bad = bad_values(values)
    if bad.any():
        row, col, feature = (int(i) for i in np.argwhere(bad)[0])
        raise ConfigError("", key, f"{shown!r}: row {row + 1}, value {col + 1} is "
                          f"{values[row, col, feature]:g}; {value_rule()}")
    return Labelled(shown, values, labels, lengths)


def _first(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


@dataclass(frozen=True)
class Split:
    """Row indices of the training file: train and (stratified) validation."""
    train: Any
    val: Any


def stratified(labels, val_fraction: float, seed: int) -> Split:
    """Per class, round(n_c * val_fraction) rows (at least one when the class has two or
    more) go to validation, drawn with `seed`; the counts do not depend on the seed."""
    import numpy as np
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in sorted(set(labels.tolist()), key=_order):
        rows = np.flatnonzero(labels == c)
        k = int(round(len(rows) * val_fraction))
        k = min(max(k, 1 if len(rows) > 1 else 0), len(rows) - 1)
        rows = rng.permutation(rows)
        val.extend(rows[:k])
        train.extend(rows[k:])
    return Split(np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(val, dtype=np.int64)))


def _order(label: Any) -> tuple:
    return (0, label, "") if isinstance(label, (int, float)) else (1, 0, str(label))


def classes_of(labels) -> list:
    """Sorted class list as plain Python values (ints stay ints)."""
    return [v.item() if hasattr(v, "item") else v for v in sorted(set(labels.tolist()),
                                                                     key=_order)]


@dataclass(frozen=True)
class Dataset:
    train: Labelled
    test: Labelled | None
    classes: list
    seq_len: int
    features: int
    masked: bool
    mean: Any = None       # (F,) normalization: input = (value - mean) / std
    std: Any = None


def load(cfg: SequenceClassificationTask, source: str = "") -> Dataset:
    """Both files read and checked together; ConfigError naming the file and the key."""
    import numpy as np
    try:
        train = read_labelled(cfg.path, "task.path")
        test = read_labelled(cfg.test_path, "task.test_path") if cfg.test_path else None
        classes = classes_of(train.labels)
        if len(classes) < 2:
            raise ConfigError("", "task.path", f"{cfg.path!r} has a single class "
                              f"({classes[0]!r}); classification needs two or more")
        if test is not None:
            if test.values.shape[2] != train.values.shape[2]:
                raise ConfigError("", "task.test_path", f"{cfg.test_path!r} has "
                                  f"{test.values.shape[2]} features per step, the training "
                                  f"file {train.values.shape[2]}")
            known = set(train.labels.tolist())
            unknown = [i for i, v in enumerate(test.labels.tolist()) if v not in known]
            if unknown:
                raise ConfigError("", "task.test_path", f"{cfg.test_path!r}: row "
                                  f"{unknown[0] + 1} has label {test.labels[unknown[0]]!r}, "
                                  f"not a class of the training file ({classes})")
        split = stratified(train.labels, cfg.val_fraction, 0)
        for name, rows, key in (("training", len(split.train), "task.val_fraction"),
                                ("validation", len(split.val), "task.val_fraction"),
                                ("test", len(test.labels) if test else MIN_SEQUENCES,
                                 "task.test_path")):
            if rows < MIN_SEQUENCES:
                raise ConfigError("", key, f"the {name} split has {rows} sequences (needs "
                                  f">= {MIN_SEQUENCES}); use a bigger file or change "
                                  "task.val_fraction")
    except ConfigError as exc:
        raise ConfigError(source, exc.key, exc.message) from None
    lengths = [train.lengths] + ([test.lengths] if test else [])
    all_lengths = np.concatenate(lengths)
    seq_len = int(all_lengths.max())
    mean, std = _normalization(cfg, train, split)
    for part, key in ((train, "task.path"), (test, "task.test_path")):
        if part is None:
            continue
        with np.errstate(invalid="ignore"):
            reach = np.nanmax(np.abs((part.values - mean) / std))
        if reach > MAX_VALUE:
            raise ConfigError(source, "task.normalize", f"values of {part.path!r} reach "
                              f"{reach:g} after {cfg.normalize} normalization (train "
                              f"statistics); {value_rule()}: rescale the data or choose "
                              "another normalize")
    return Dataset(train, test, classes, seq_len, train.values.shape[2],
                   bool((all_lengths != seq_len).any()), mean, std)


def _normalization(cfg: SequenceClassificationTask, train: Labelled, split: Split):
    """(mean, std) per feature over the real steps of the training rows (standard), or
    (0, 1)."""
    import numpy as np
    features = train.values.shape[2]
    if cfg.normalize != "standard":
        return np.zeros(features), np.ones(features)
    real = train.values[split.train].reshape(-1, features)
    real = real[~np.isnan(real).any(1)]
    mean, std = real.mean(0), real.std(0)
    return mean, np.where(std > 1e-12, std, 1.0)


def preview(cfg: SequenceClassificationTask, per_class: int = 2) -> Preview:
    """A few example sequences of each class (first feature), and the class counts."""
    import numpy as np
    data = load(cfg)
    split = stratified(data.train.labels, cfg.val_fraction, 0)
    curves, counts = [], []
    labels = data.train.labels
    for c in data.classes:
        rows = np.flatnonzero(labels == c)
        counts.append(f"{c}: {len(rows)}")
        for i in rows[:per_class]:
            length = int(data.train.lengths[i])
            curves.append((f"class {c}", list(range(length)),
                           data.train.values[i, :length, 0].tolist()))
    notes = (f"classes (training file): {', '.join(counts)}",
             f"train {len(split.train)} · val {len(split.val)} (stratified)"
             + (f" · test {len(data.test.labels)}" if data.test is not None else ""),
             f"length {data.seq_len}" + (" (unequal: padded + mask channel)" if data.masked
                                         else "") + f" · {data.features} feature(s) per step")
    return Preview(f"{per_class} example sequences per class", tuple(curves), (), notes)


def shape(cfg: SequenceClassificationTask) -> TaskShape:
    data = load(cfg)
    split = stratified(data.train.labels, cfg.val_fraction, 0)
    return TaskShape(data.features + data.masked, len(data.classes), data.seq_len, "last",
                     len(split.train), len(split.val))


def check(cfg, source: str) -> None:
    load(cfg.task, source)


def figures(cfg: SequenceClassificationTask) -> tuple[str, ...]:
    """The summary.json figures a run records (what `[expect]` may name)."""
    paths = ["baselines.majority.accuracy"]
    if cfg.test_path:
        paths += ["baselines.majority.test.accuracy", "test.accuracy"]
    return tuple(paths)


SPECS = [TaskSpec("sequence_classification", SequenceClassificationTask,
                  "lstm_tui.tasks.sequence_classification_data:SequenceClassification",
                  shape, "accuracy", "max", member_fields=frozenset(), check=check,
                  preview=preview, figures=figures,
                  predict="lstm_tui.tasks.sequence_classification_predict:predict",
                  output_meaning="logits over `labels` (softmax gives the probabilities)",
                  data_files=lambda cfg: {"path": cfg.path, "test_path": cfg.test_path},
                  data_path="path", summary="classify your own labelled sequences (UCR, .npz)")]
