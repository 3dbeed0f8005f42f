"""The series task's predict hook: forecasts from a table with the run's columns.

The table is read like the training file (CSV/TSV with a header, or .npy; an array's
columns are the run's features, then any target that is not one), sorted by the time
column when it has one, cleaned by the run's ``missing`` policy and normalised with the
train part's statistics the checkpoint keeps.  The forecast covers the `horizon` steps
after the last row, labelled with the next time values when the time column is regular;
``history`` holds the targets of the window it was made from (when the table has them).
``rolling`` forecasts every window of the table instead, with the truth beside it, the
run's baselines on the same windows and MAE/RMSE/skill; the windows are computed exactly
as the test block of summary.json is (:func:`series_data.forecast`), so the run's own
test rows give its very figures.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from lstm_tui.errors import ConfigError, suggest
from lstm_tui.runs.predict import PredictOptions, as_file, data_name
from lstm_tui.tasks.series import Table, clean, column_problem, errors, in_time_order, \
    naive_forecasts, read_table
from lstm_tui.tasks.series_data import forecast, scores, test_batch

MISSING_HINT = "the run's task.missing is \"error\": fill the cell or remove the row"


def predict(run, data, options: PredictOptions) -> dict:
    cfg, info = run.config.task, run.inference()
    features, target, time = list(info["features"]), list(info["target"]), info["time"]
    used = list(dict.fromkeys([*features, *target]))
    need = used if options.rolling else features
    shown = data_name(data)
    table = _table(data, used, features, options.key)
    absent = [n for n in need if n not in table.columns]
    if absent:
        hint = suggest(absent[0], table.names) if len(absent) == 1 else None
        raise ConfigError("", options.key, f"{shown} has no column"
                          f"{'s' * (len(absent) > 1)} {', '.join(map(repr, absent))}"
                          + (f" (did you mean {hint!r}?)" if hint else "")
                          + f"; the run reads {', '.join(need)} (columns of {shown}: "
                          f"{', '.join(table.names)})")
    for name in need:
        problem = column_problem(table, name, options.key)
        if problem:
            raise problem
    timed = bool(time) and time in table.columns
    order = replace(cfg, time=time if timed else "", missing=info["missing"])
    try:
        values, labels, untimed = in_time_order(table, need, order)
        values, labels, dropped = clean(values, labels, need, info["missing"], order.time,
                                        shown, MISSING_HINT)
    except ConfigError as exc:
        raise ConfigError("", options.key, exc.message) from None
    dropped += untimed
    n, window, horizon = len(values), cfg.window, cfg.horizon
    span = window + horizon if options.rolling else window
    if n < span:
        why = "one window and its horizon need window + horizon" if options.rolling \
            else "a forecast needs window"
        gone = f" ({dropped} dropped for missing values)" if dropped else ""
        raise ConfigError("", options.key, f"{shown} has {n} rows{gone}; {why} = {span} rows")

    fi = [need.index(c) for c in features]
    inputs = torch.from_numpy(_normalised(values[:, fi], info["feature_offset"],
                                          info["feature_scale"]))
    scale = torch.tensor(np.tile(info["target_scale"], horizon), dtype=torch.float32)
    offset = torch.tensor(np.tile(info["target_offset"], horizon), dtype=torch.float32)
    device = run.device
    inputs, scale, offset = inputs.to(device), scale.to(device), offset.to(device)
    last = torch.tensor([n - window], device=device)
    pred, _ = forecast(run.model, inputs, None, last, window, horizon, scale, offset, 1)
    times = next_times(labels, horizon) if timed else None
    doc = {"targets": target, "window": window, "horizon": horizon,
           "last_time": _plain(labels[-1]) if timed else None,
           "forecast": [{"step": h + 1, "time": times[h] if times else None,
                         "values": {t: float(pred[0, h, k]) for k, t in enumerate(target)}}
                        for h in range(horizon)]}
    if all(t in need for t in target):      # the window's targets, for charts
        rows = slice(n - window, n)
        doc["history"] = {"time": [_plain(v) for v in labels[rows]] if timed else None,
                          "values": {t: values[rows, need.index(t)].tolist() for t in target}}
    if options.rolling:
        ti = [need.index(c) for c in target]
        doc["rolling"] = _rolling(run, inputs, values[:, ti], labels if timed else None,
                                  info, scale, offset, options)
    return doc


def _table(data, used: list[str], features: list[str], key: str) -> Table:
    """The data as a Table: a file read like the training file, or an array whose
    columns are `used` (or just the features)."""
    path = as_file(data, key)
    if path is not None:
        return read_table(path, key)
    array = np.asarray(data, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    names = used if array.ndim == 2 and array.shape[1] == len(used) else features
    if array.ndim != 2 or array.shape[1] != len(names):
        raise ConfigError("", key, f"the array must be (rows, {len(used)}): the columns "
                          f"{', '.join(used)}" + (f" (or {len(features)}: "
                                                   f"{', '.join(features)})"
                                                   if len(features) != len(used) else "")
                          + f"; got shape {array.shape}")
    cols = {n: np.ascontiguousarray(array[:, i]) for i, n in enumerate(names)}
    return Table("the array", tuple(names), cols, cols, array.shape[0])


def _normalised(values, offset, scale):
    """float32 (value - offset) / scale, computed in float64 as the training data is."""
    out = values - np.asarray(offset, dtype=np.float64)
    out /= np.asarray(scale, dtype=np.float64)
    return out.astype(np.float32)


def _rolling(run, inputs, raw, labels, info: dict, scale, offset,
             options: PredictOptions) -> dict:
    """Every window of the data: forecasts, truths, the baselines and the scores."""
    cfg = run.config.task
    window, horizon = cfg.window, cfg.horizon
    count = len(raw) - window - horizon + 1
    targets = torch.from_numpy(_normalised(raw, info["target_offset"],
                                           info["target_scale"])).to(inputs.device)
    starts = torch.arange(count, device=inputs.device)
    pred, truth = forecast(run.model, inputs, targets, starts, window, horizon, scale,
                           offset, test_batch(run.config.train.batch_size), options.progress)
    ends = np.arange(count) + window - 1
    truth_raw = raw[ends[:, None] + np.arange(1, horizon + 1)[None, :]]
    guesses = naive_forecasts(raw, ends, horizon, cfg.season,
                              np.asarray(info["target_train_mean"]))
    base = {name: errors(guess, truth_raw) for name, guess in guesses.items()}
    names = info["target"]
    rows = [{"window": int(w), "end": _plain(labels[e]) if labels is not None else int(e),
             "forecast": {t: pred[w, :, k].tolist() for k, t in enumerate(names)},
             "truth": {t: truth_raw[w, :, k].tolist() for k, t in enumerate(names)}}
            for w, e in enumerate(ends)]
    return {"windows": count, **scores(pred, truth, base["persistence"]["mae"]),
            "baselines": base, "rows": rows}


def next_times(labels, horizon: int) -> list | None:
    """The `horizon` time labels after the last row when the rows are evenly spaced (a
    constant numeric step, or dates of a fixed frequency), else None."""
    labels = np.asarray(labels)
    if len(labels) < 3:
        return None
    if labels.dtype.kind in "iuf":
        steps = np.diff(labels.astype(np.float64))
        if steps[0] <= 0 or not np.allclose(steps, steps[0]):
            return None
        ahead = labels[-1] + steps[0] * np.arange(1, horizon + 1)
        whole = labels.dtype.kind in "iu" and float(steps[0]).is_integer()
        return [int(v) if whole else float(v) for v in ahead]
    return _next_dates(labels, horizon)


DATE_FORMATS = ("%Y-%m-%d", "%Y-%m", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y")


def _next_dates(labels, horizon: int) -> list | None:
    import warnings

    import pandas as pd
    text = [str(v) for v in labels]
    for fmt in DATE_FORMATS:
        try:
            dates = pd.DatetimeIndex(pd.to_datetime(text, format=fmt))
        except (ValueError, TypeError):
            continue
        if [d.strftime(fmt) for d in dates] != text:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            freq = pd.infer_freq(dates)
        if freq is None:
            return None
        return [d.strftime(fmt) for d in pd.date_range(dates[-1], periods=horizon + 1,
                                                         freq=freq)[1:]]
    return None


def _plain(value):
    """A numpy scalar as the Python value JSON writes."""
    return value.item() if hasattr(value, "item") else value
