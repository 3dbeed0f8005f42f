"""The sequence classification task's predict hook: a label and the class probabilities
for every sequence of a file (UCR layout with or without the label column, or .npz with
``X`` and optionally ``y``) or an array (N, T) / (N, T, F).

Sequences are normalised with the train part's statistics the checkpoint keeps,
right-aligned and masked as in training, and scored in the test block's batches, so the
run's own test file gives its summary's accuracy and confusion matrix.

A CSV/TSV row holds a label first when it is one value longer than the run's sequences;
as long, it holds none; shorter (a run trained on sequences of unequal length), it holds
one when every first value is one of the run's classes.
"""

from __future__ import annotations

import numpy as np
import torch

from lstm_tui.errors import ConfigError
from lstm_tui.runs.predict import PredictOptions, as_file, data_name, only_series
from lstm_tui.tasks.sequence_classification import Labelled, columns, read_sequences
from lstm_tui.tasks.sequence_classification_data import confusion, encode, logits, test_batch


def predict(run, data, options: PredictOptions) -> dict:
    only_series(options, run.kind)
    info = run.inference()
    classes, length, masked = list(info["classes"]), info["seq_len"], info["masked"]
    part = _read(data, options.key, length, classes, masked)
    shown = data_name(data)
    width = part.values.shape[2]
    if width != info["features"]:
        raise ConfigError("", options.key, f"{shown} has {width} feature(s) per step; the "
                          f"run was trained on {info['features']}")
    longest = int(part.lengths.max())
    if longest > length or (not masked and int(part.lengths.min()) != length):
        row = int(np.argmax(part.lengths > length)) if longest > length else \
            int(np.argmax(part.lengths != length))
        allowed = f"at most {length}" if masked else f"exactly {length}"
        raise ConfigError("", options.key, f"{shown}: row {row + 1} is a sequence of "
                          f"{int(part.lengths[row])} steps; the run takes {allowed} (its "
                          "training sequences)")
    index = _label_index(part, classes, shown, options.key)
    x = encode(part.values, part.lengths, length, masked, np.asarray(info["mean"]),
               np.asarray(info["std"]))
    out = logits(run.model, torch.from_numpy(x).to(run.device),
                 test_batch(run.config.train.batch_size), options.progress)
    probs = torch.softmax(out.float(), -1)
    pred = out.argmax(-1)
    predictions = []
    for i in range(len(pred)):
        entry = {"index": i, "label": classes[int(pred[i])],
                 "probs": {str(c): float(probs[i, k]) for k, c in enumerate(classes)}}
        if index is not None:
            entry["true"] = classes[int(index[i])]
        predictions.append(entry)
    doc = {"classes": classes, "predictions": predictions, "accuracy": None}
    if index is not None:
        doc["accuracy"] = float((pred == index).float().mean())
        doc["confusion"] = {"classes": classes,
                            "matrix": confusion(index, pred, len(classes))}
    return doc


def _read(data, key: str, length: int, classes: list, masked: bool) -> Labelled:
    """The sequences of a file or an array, with their labels when they have some."""
    path = as_file(data, key)
    if path is None:
        values = np.asarray(data, dtype=np.float64)
        if values.ndim == 2:
            values = values[:, :, None]
        if values.ndim != 3 or len(values) == 0:
            raise ConfigError("", key, f"the array must be (sequences, steps) or (sequences, "
                              f"steps, features), got shape {values.shape}")
        real = ~np.isnan(values).any(2)
        lengths = real.sum(1)
        trailing = real == (np.arange(values.shape[1])[None, :] < lengths[:, None])
        if not trailing.all() or (lengths == 0).any():
            row = int(np.argmin(trailing.all(1) & (lengths > 0)))
            raise ConfigError("", key, f"the array: sequence {row + 1} has a NaN inside "
                              "(only trailing padding may be NaN)")
        return Labelled("the array", values, None, lengths)
    width = columns(path, key)
    if width is None:                       # .npz: y when the file holds it
        return read_sequences(path, key, None)
    if width == length + 1:
        return read_sequences(path, key, True)
    if width > length + 1 or not masked:
        if width == length:
            return read_sequences(path, key, False)
        raise ConfigError("", key, f"{path} has {width} values per row; the run takes "
                          f"sequences of {length} steps ({length + 1} with the label "
                          "first)")
    labelled = None
    try:
        labelled = read_sequences(path, key, True)
    except ConfigError:
        pass
    known = set(classes)
    if labelled is not None and all(v in known for v in labelled.labels.tolist()):
        return labelled
    try:
        return read_sequences(path, key, False)
    except ConfigError:
        if labelled is not None:          # text in the first column: labels, unknown ones
            _label_index(labelled, classes, path, key)
        raise


def _label_index(part: Labelled, classes: list, shown: str, key: str):
    """(N,) class index of each row's label, or None without labels; an unknown label
    is bad input naming its row."""
    if part.labels is None:
        return None
    index = {c: k for k, c in enumerate(classes)}
    labels = part.labels.tolist()
    for row, label in enumerate(labels):
        if label not in index:
            raise ConfigError("", key, f"{shown}: row {row + 1} has label {label!r}, not a "
                              f"class of the run ({', '.join(map(str, classes))})")
    return torch.tensor([index[v] for v in labels], dtype=torch.long)
