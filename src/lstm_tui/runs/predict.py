"""A trained run used on new data: what `lstm-lab predict`, the Runs screen's Predict and
the Python API's ``Run.predict`` all call.

The run is opened by :mod:`lstm_tui.runs.trained` (its model and what its training data
taught it); its task's spec's ``predict`` hook reads the data and computes the document:
the hook's keys (series: ``targets``, ``forecast``, ``rolling``; sequence_classification:
``predictions``, ``accuracy``; char_lm: ``next``) after ``run``, ``task``, ``checkpoint``
and ``step``.  Bad data is a ConfigError naming the file (or ``--input``), the key and
what the run allows; a kind without a hook is a one-line RunError.

Importing this module loads no torch (the hooks do, when called).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from lstm_tui.errors import ConfigError
from lstm_tui.runs.layout import RunError
from lstm_tui.runs.trained import TrainedRun

# Data a hook is given: a file (a Path), an array (numpy) or text (a str, char_lm).
Data = Any
Progress = Callable[[int, int], None]      # (done, total) windows or sequences


@dataclass(frozen=True)
class PredictOptions:
    """How to predict; the hooks read what concerns their task.

    rolling:  series: a forecast for every window of the data, with the truth beside it
    top:      char_lm: how many of the most likely next characters
    key:      how bad data names where it came from (``--input`` on the command line)
    progress: called with (done, total) as batches are computed
    """
    rolling: bool = False
    top: int = 10
    key: str = "--input"
    progress: Progress | None = None


def predict(run: TrainedRun, data: Data, options: PredictOptions = PredictOptions()) -> dict:
    """The document of `run` used on `data` (see the module's docstring)."""
    from lstm_tui.tasks.registry import get
    kind = run.kind
    spec = get(kind)
    if spec is None:
        raise RunError(f"{run.run_dir}: task kind {kind!r} is not installed here (a plugin "
                       "that is missing or failed to load)")
    hook = spec.predictor()
    if hook is None:
        raise RunError(f"{run.run_dir.name}: {kind} runs cannot predict: the task declares "
                       "no predict hook (series, sequence_classification and char_lm do)")
    if options.top < 1:
        raise ConfigError("--top", "", f"must be >= 1, got {options.top}")
    doc = hook(run, data, options)
    return {"run": run.run_dir.name, "task": kind, "checkpoint": run.checkpoint.stem,
            "step": run.step, **doc}


def only_series(options: PredictOptions, kind: str) -> None:
    """--rolling is a series option: bad input on any other kind."""
    if options.rolling:
        raise ConfigError("--rolling", "", f"is for series runs (this is a {kind} run)")


def data_name(data: Data) -> str:
    """How messages name the data: the file as given, or what was passed."""
    if isinstance(data, Path):
        return str(data)
    return "the text" if isinstance(data, str) else "the array"


def as_file(data: Data, key: str) -> str | None:
    """The file's path when `data` is a file (a Path), else None (an array or text)."""
    if isinstance(data, Path):
        return str(data)
    if data is None:
        raise ConfigError("", key, "is required: the data to predict from")
    return None
