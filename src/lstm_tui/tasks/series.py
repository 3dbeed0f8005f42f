"""Forecasting from your own table: a CSV/TSV with a header row, or a 2-D .npy file.

The rows are one multivariate series in time order (sorted by `time` when given).  It is
split chronologically, train | val | test, never shuffled across the borders; every
window (its `window` inputs and its `horizon` targets) lies inside one split, and the
normalization statistics come from the train rows only.  The model sees `window` rows of
the `features` columns and predicts the `target` columns at steps 1..horizon after them.
MAE (primary, lower is better) and RMSE are reported in the data's original units, next
to honest baselines computed on the very same windows: persistence (the last observed
value), seasonal persistence (with `season`) and the train mean.

Reading uses pandas' C parser (numpy for .npy) and is cached by (file, mtime, size,
config), so ``check``, the Dataset pane and the build read a file once.  This module
imports neither torch nor (until a file is read) pandas; the tensors are built by
:mod:`lstm_tui.tasks.series_data`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lstm_tui.config import opt
from lstm_tui.errors import ConfigError, suggest
from lstm_tui.tasks.datafiles import MAX_VALUE, bad_values, checked_file, value_rule
from lstm_tui.tasks.registry import Preview, TaskSpec
from lstm_tui.tasks.shapes import TaskShape

MIN_WINDOWS = 10        # fewer windows than this in a split cannot measure anything
SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": None, ".npy": None}


@dataclass
class SeriesTask:
    """Forecast columns of your own CSV/TSV/NPY table from their past (MAE, original units)."""
    kind: Literal["series"] = opt("series", "task kind (docs/tasks.md)")
    path: str = opt("", "CSV/TSV with a header row, or .npy (2-D: rows x columns)")
    target: list[str] = opt(None, "columns to forecast (one or more)", factory=list)
    features: list[str] = opt(None, "input columns; empty = every numeric column (targets "
                              "included)", factory=list)
    time: str = opt("", "optional column to sort by and to label plots with")
    window: int = opt(48, "past steps the model sees", min=1, max=100_000)
    horizon: int = opt(1, "steps ahead to predict (predicts all of 1..horizon)", min=1,
                       max=10_000)
    val_fraction: float = opt(0.15, "chronological split: train | val | test, never shuffled "
                              "across", min=0.0, max=1.0, exclusive_min=True,
                              exclusive_max=True)
    test_fraction: float = opt(0.15, "the last rows, kept for the test block (0 = none)",
                               min=0.0, max=1.0, exclusive_max=True)
    normalize: Literal["standard", "none", "minmax"] = opt(
        "standard", "none | standard | minmax, statistics from the train part only")
    missing: Literal["error", "drop", "ffill"] = opt(
        "error", "empty/NaN cells: error | drop the row | ffill (carry the last value)")
    season: int = opt(0, "season length in rows for the seasonal persistence baseline "
                      "(0 = none)", min=0)


# ---------------------------------------------------------------- reading

@dataclass(frozen=True, eq=False)     # hashed by identity: cached, never copied
class Table:
    """A file's columns: name -> float64 array (None for a non-numeric column)."""
    path: str
    names: tuple[str, ...]
    columns: dict
    raw: dict             # name -> the column as read (for non-numeric messages and time)
    rows: int


def read_table(path: str, key: str = "task.path") -> Table:
    """The table at `path` (cached by path, mtime and size); ConfigError naming `key`."""
    if not path:
        raise ConfigError("", key, "is required: a CSV/TSV file with a header row, or .npy")
    file, size = checked_file(path, key, SUFFIXES, "CSV/TSV/NPY")
    return _read_table(str(file.resolve()), file.stat().st_mtime_ns, size, path, key)


@functools.lru_cache(maxsize=4)
def _read_table(resolved: str, mtime_ns: int, size: int, shown: str, key: str) -> Table:
    import numpy as np
    if resolved.lower().endswith(".npy"):
        try:
            array = np.load(resolved, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ConfigError("", key, f"cannot read {shown!r} as .npy: {_first(exc)}") from None
        if array.ndim == 1:
            array = array[:, None]
        # real numbers only: a cast would drop a complex array's imaginary part unseen
        if array.ndim != 2 or array.dtype.kind not in "iuf":
            raise ConfigError("", key, f"{shown!r} must hold a 2-D array of real numbers (rows "
                              f"x columns), got shape {array.shape} of {array.dtype}")
        if array.shape[0] == 0:
            raise ConfigError("", key, f"{shown!r} is empty")
        names = tuple(str(i) for i in range(array.shape[1]))
        cols = {n: np.ascontiguousarray(array[:, i], dtype=np.float64)
                for i, n in enumerate(names)}
        return Table(shown, names, cols, cols, array.shape[0])
    import pandas as pd
    sep = SUFFIXES[Path(resolved).suffix.lower()]
    try:
        frame = pd.read_csv(resolved, sep=sep, engine="c" if sep else "python",
                            skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise ConfigError("", key, f"{shown!r} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise ConfigError("", key, f"cannot read {shown!r} as CSV/TSV: {_first(exc)}") from None
    if frame.shape[0] == 0:
        raise ConfigError("", key, f"{shown!r} has a header but no rows")
    names = tuple(str(c).strip() for c in frame.columns)
    cols, raw = {}, {}
    for name, column in zip(names, frame.columns):
        series = frame[column]
        raw[name] = series.to_numpy()
        if series.dtype.kind in "fiub":
            cols[name] = series.to_numpy(dtype=np.float64)
        else:
            numbers = pd.to_numeric(series, errors="coerce")
            # a text column whose cells are all numbers or empty is numeric
            bad = numbers.isna() & series.notna() & (series.astype(str).str.strip() != "")
            cols[name] = None if bool(bad.any()) else numbers.to_numpy(dtype=np.float64)
    return Table(shown, names, cols, raw, frame.shape[0])


def _first(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def column_problem(table: Table, name: str, key: str) -> ConfigError | None:
    """Why `name` cannot be used as a numeric column of `table` (None if it can)."""
    if name not in table.columns:
        hint = suggest(name, table.names)
        extra = f"did you mean {hint!r}? " if hint else ""
        return ConfigError("", key, f"no column {name!r} in {table.path} ({extra}columns: "
                           f"{', '.join(table.names)})")
    if table.columns[name] is None:
        import pandas as pd
        values = table.raw[name]
        coerced = pd.to_numeric(pd.Series(values), errors="coerce").isna().to_numpy()
        row = next(i for i, (c, v) in enumerate(zip(coerced, values))
                   if c and not (v is None or (isinstance(v, float) and math.isnan(v))
                                 or str(v).strip() == ""))
        return ConfigError("", key, f"column {name!r} of {table.path} is not numeric (row "
                           f"{row + 1} holds {values[row]!r})")
    return None


# ---------------------------------------------------------------- preparing

@dataclass(frozen=True)
class Prepared:
    """The series ready for windows: normalized float32 data and what undoes it."""
    inputs: Any            # (N, F) float32, normalized
    targets: Any           # (N, K) float32, normalized
    raw_targets: Any       # (N, K) float64, original units
    offset: Any            # (K,) target normalization: original = norm * scale + offset
    scale: Any             # (K,)
    input_offset: Any      # (F,) input normalization: norm = (original - offset) / scale
    input_scale: Any       # (F,)
    features: tuple[str, ...]
    target: tuple[str, ...]
    bounds: tuple[int, int, int, int]    # row index: 0, train end, val end, test end
    time: Any              # (N,) labels of the rows (the time column, or row numbers)
    dropped: int           # rows dropped for missing values

    def windows(self, split: str, window: int, horizon: int) -> int:
        start, end = self.span(split)
        return max(0, end - start - window - horizon + 1)

    def span(self, split: str) -> tuple[int, int]:
        i = ("train", "val", "test").index(split)
        return self.bounds[i], self.bounds[i + 1]


def prepare(cfg: SeriesTask, source: str = "") -> Prepared:
    """Read, check, clean, split and normalize; every problem is a ConfigError naming
    the file, the key and what is allowed (cached by file and config)."""
    try:
        table = read_table(cfg.path)
        key = json.dumps(dataclasses.asdict(cfg), sort_keys=True)
        return _prepare(table, key)
    except ConfigError as exc:
        raise ConfigError(source, exc.key, exc.message) from None


@functools.lru_cache(maxsize=4)
def _prepare(table: Table, key: str) -> Prepared:
    import numpy as np
    cfg = SeriesTask(**json.loads(key))
    if cfg.val_fraction + cfg.test_fraction >= 1:
        raise ConfigError("", "task.val_fraction", f"val_fraction + test_fraction = "
                          f"{cfg.val_fraction + cfg.test_fraction:g} leaves nothing to train "
                          "on (their sum must be < 1)")
    if not cfg.target:
        raise ConfigError("", "task.target", f"is required: one or more columns of "
                          f"{table.path} to forecast (columns: {', '.join(table.names)})")
    for name in cfg.target:
        problem = column_problem(table, name, "task.target")
        if problem:
            raise problem
    if cfg.time and cfg.time not in table.columns:
        raise column_problem(table, cfg.time, "task.time")
    features = list(cfg.features) or [n for n in table.names
                                       if n != cfg.time and table.columns[n] is not None]
    for name in cfg.features:
        problem = column_problem(table, name, "task.features")
        if problem:
            raise problem
    used = list(dict.fromkeys([*features, *cfg.target]))
    data, labels, untimed = in_time_order(table, used, cfg)
    data, labels, dropped = clean(data, labels, used, cfg.missing, cfg.time, table.path,
                                  'set task.missing = "drop" or "ffill"')
    dropped += untimed
    n = data.shape[0]
    n_test = int(round(n * cfg.test_fraction))
    n_val = int(round(n * cfg.val_fraction))
    bounds = (0, n - n_val - n_test, n - n_test, n)
    _check_splits(cfg, bounds)
    train = data[:bounds[1]]
    if cfg.normalize == "standard":
        offset, scale = train.mean(0), train.std(0)
    elif cfg.normalize == "minmax":
        offset, scale = train.min(0), train.max(0) - train.min(0)
    else:
        offset, scale = np.zeros(data.shape[1]), np.ones(data.shape[1])
    scale = np.where(scale > 1e-12, scale, 1.0)      # a constant column stays as is
    fi = [used.index(n) for n in features]
    ti = [used.index(n) for n in cfg.target]
    raw_targets = data[:, ti]                        # a copy, in original units
    data -= offset                                   # in place: no second full-size copy
    data /= scale
    big = np.abs(data).max(0) > MAX_VALUE            # a tiny train spread, a far value
    if big.any():
        col = int(np.argmax(big))
        raise ConfigError("", "task.normalize", f"column {used[col]!r} of {table.path} "
                          f"reaches {np.abs(data[:, col]).max():g} after {cfg.normalize} "
                          f"normalization (train statistics); {value_rule()}: rescale the "
                          "column or choose another normalize")
    return Prepared(data[:, fi].astype(np.float32), data[:, ti].astype(np.float32),
                    raw_targets, offset[ti], scale[ti], offset[fi], scale[fi],
                    tuple(features), tuple(cfg.target), bounds, labels, dropped)


def in_time_order(table: Table, used: list[str], cfg: SeriesTask):
    """(N, C) float64 of the `used` columns, each row's label (the `time` column, or row
    numbers) and how many rows were dropped for an empty time: sorted by `cfg.time` when
    it is given and the file is not (equal times keep the file's order)."""
    import numpy as np
    data = np.stack([table.columns[n] for n in used], 1)
    bad = bad_values(data)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise ConfigError("", "task.path", f"column {used[col]!r} of {table.path} holds "
                          f"{data[row, col]:g} at row {row + 1}; {value_rule()}")
    labels, untimed = np.arange(table.rows), 0
    if cfg.time:
        keys, keep = time_keys(table, cfg)
        labels = table.raw[cfg.time]
        if not keep.all():
            data, keys, labels = data[keep], keys[keep], labels[keep]
            untimed = int((~keep).sum())
        if np.any(keys[1:] < keys[:-1]):
            order = np.argsort(keys, kind="stable")
            data, labels = data[order], labels[order]
    return data, labels, untimed


def time_keys(table: Table, cfg: SeriesTask):
    """The `time` column as sort keys (float64: numbers, or times in nanoseconds) and the
    rows to keep.  Every cell is a number, or every cell a time (ISO 8601 or one inferred
    format); a cell of the other kind or neither is refused naming its row.  An empty
    cell follows `missing`: refused, its row dropped, or the time before it carried."""
    import numpy as np
    import pandas as pd
    name, path = cfg.time, table.path
    cells = pd.Series(table.raw[name], dtype=object)
    blank = (cells.isna() | (cells.astype(str).str.strip() == "")).to_numpy()
    if blank.all():
        raise ConfigError("", "task.time", f"column {name!r} of {path} is empty")
    numbers = table.columns[name]
    if numbers is not None:
        keys = numbers.copy()
    else:
        text = cells.astype(str).str.strip()
        as_number = pd.to_numeric(text, errors="coerce").notna().to_numpy() & ~blank
        as_time = _times(text)
        first = int(np.argmax(~blank))
        kind, fits = ("a number", as_number) if as_number[first] else \
            ("a time", ~np.isnan(as_time) & ~as_number)
        wrong = ~blank & ~fits
        if wrong.any():
            row = int(np.argmax(wrong))
            raise ConfigError("", "task.time", f"column {name!r} of {path}: row {row + 1} "
                              f"holds {cells[row]!r}, not {kind} like row {first + 1} "
                              f"({cells[first]!r}); a time column holds times or numbers, "
                              "each row one")
        keys = np.where(as_number, pd.to_numeric(text, errors="coerce"), as_time)
    keys = np.where(blank, np.nan, keys).astype(np.float64)
    keep = ~blank
    if blank.any():
        row = int(np.argmax(blank))
        if cfg.missing == "error":
            raise ConfigError("", "task.time", f"column {name!r} of {path} has an empty "
                              f"time at row {row + 1}; fill it in, or set task.missing = "
                              "\"drop\" or \"ffill\"")
        if cfg.missing == "ffill":
            keys = pd.Series(keys).ffill().to_numpy()
            keep = ~np.isnan(keys)         # leading gaps have nothing to carry: dropped
    return keys, keep


def _times(text):
    """Each cell as nanoseconds since 1970 (UTC), NaN where it is not a time."""
    import warnings

    import numpy as np
    import pandas as pd
    best = None
    for fmt in ("ISO8601", None):          # ISO 8601 in any precision, else one format
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
        except (ValueError, TypeError, OverflowError):
            continue
        stamps = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        nanos = np.where(parsed.isna().to_numpy(), np.nan, stamps.astype(np.int64))
        if best is None or np.isnan(nanos).sum() < np.isnan(best).sum():
            best = nanos
    return best if best is not None else np.full(len(text), np.nan)


def clean(data, labels, used: list[str], missing: str, time: str, path: str, hint: str):
    """Rows with an empty or NaN cell by the `missing` policy: (data, labels, dropped);
    "error" is a ConfigError naming the cell, ending with `hint`."""
    import numpy as np
    bad = ~np.isfinite(data)
    if not bad.any():
        return data, labels, 0
    if missing == "error":
        rows, cols = np.nonzero(bad)
        first = int(np.argmin(rows))
        row, col = int(rows[first]), used[int(cols[first])]
        where = f"row {row + 1}" + (f" (by {time})" if time else "")
        raise ConfigError("", "task.missing", f"column {col!r} of {path} has an empty or NaN "
                          f"cell at {where}; {hint}")
    if missing == "ffill":
        import pandas as pd
        data = pd.DataFrame(data).ffill().to_numpy()
        bad = ~np.isfinite(data)       # leading gaps have nothing to carry: dropped
    keep = ~bad.any(1)
    return data[keep], labels[keep], int((~keep).sum())


def _check_splits(cfg: SeriesTask, bounds: tuple[int, int, int, int]) -> None:
    span = cfg.window + cfg.horizon
    for i, split in enumerate(("train", "val", "test")):
        rows = bounds[i + 1] - bounds[i]
        if split == "test" and cfg.test_fraction == 0:
            continue
        if rows < span:
            raise ConfigError("", "task.window", f"window + horizon = {span} is longer than "
                              f"the {split} split ({rows} rows); lower task.window or "
                              f"task.horizon, or give the {split} split more rows")
        windows = rows - span + 1
        if windows < MIN_WINDOWS:
            raise ConfigError("", "task.window", f"the {split} split has only {windows} "
                              f"windows of window + horizon = {span} rows (needs >= "
                              f"{MIN_WINDOWS}); lower task.window or task.horizon, or give "
                              f"the {split} split more rows")


# ---------------------------------------------------------------- baselines

def baselines(prep: Prepared, cfg: SeriesTask) -> dict:
    """MAE/RMSE (original units) of the naive forecasts on the val and test windows:
    {"persistence": {"mae", "rmse", "test": {...}}, "seasonal": ..., "mean": ...}."""
    out: dict[str, dict] = {}
    train_mean = prep.raw_targets[:prep.bounds[1]].mean(0)
    splits = ["val"] + (["test"] if cfg.test_fraction > 0 else [])
    for split in splits:
        truth, ends = _truth(prep, cfg, split)       # (W, H, K), end index of each window
        guesses = naive_forecasts(prep.raw_targets, ends, cfg.horizon, cfg.season,
                                  train_mean)
        for name, guess in guesses.items():
            figures = errors(guess, truth)
            entry = out.setdefault(name, {})
            if split == "val":
                entry.update(figures)
            else:
                entry["test"] = figures
    return out


def naive_forecasts(raw_targets, ends, horizon: int, season: int, train_mean) -> dict:
    """name -> (W, H, K) forecasts of the windows ending at rows `ends` (original units):
    persistence (the last value), mean (the train mean), seasonal (with `season`)."""
    import numpy as np
    shape = (len(ends), horizon, raw_targets.shape[1])
    guesses = {"persistence": np.broadcast_to(raw_targets[ends][:, None, :], shape),
               "mean": np.broadcast_to(train_mean, shape)}
    if season:
        h = np.arange(1, horizon + 1)
        back = season * np.ceil(h / season).astype(int)     # same phase, in the past
        idx = ends[:, None] + h[None, :] - back[None, :]
        guesses["seasonal"] = raw_targets[np.maximum(idx, 0)]
    return guesses


def errors(guess, truth) -> dict:
    """{"mae", "rmse"} of forecasts against the truth (same shape, original units)."""
    import numpy as np
    err = np.asarray(guess, dtype=np.float64) - truth
    return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt(np.square(err).mean()))}


def _truth(prep: Prepared, cfg: SeriesTask, split: str):
    """(W, H, K) targets of every window of a split, and each window's last input row."""
    import numpy as np
    start, _ = prep.span(split)
    count = prep.windows(split, cfg.window, cfg.horizon)
    ends = start + np.arange(count) + cfg.window - 1
    idx = ends[:, None] + np.arange(1, cfg.horizon + 1)[None, :]
    return prep.raw_targets[idx], ends


def skill(model_mae: float | None, persistence_mae: float | None) -> float | None:
    """1 - MAE_model / MAE_persistence: > 0 beats persistence, <= 0 does not."""
    if model_mae is None or not persistence_mae:
        return None
    return 1.0 - model_mae / persistence_mae


# ---------------------------------------------------------------- preview

PREVIEW_POINTS = 2000


def preview(cfg: SeriesTask) -> Preview:
    """The target columns over the whole file with the split borders, and the counts."""
    import numpy as np
    table = read_table(cfg.path)
    prep = prepare(cfg)
    n = prep.raw_targets.shape[0]
    step = max(1, n // PREVIEW_POINTS)
    rows = np.arange(0, n, step)
    at = time_axis(prep.time) if cfg.time else None     # the time column as numbers
    xs = [float(at[r]) if at is not None else float(r) for r in rows]
    curves = tuple((name, xs, prep.raw_targets[rows, k].tolist())
                   for k, name in enumerate(prep.target))
    borders = tuple((label, float(at[min(b, n - 1)]) if at is not None else float(b))
                    for label, b in (("val", prep.bounds[1]), ("test", prep.bounds[2])))
    # times that are not numbers (dates): rows across, a few of the times as tick labels
    ticks = () if not cfg.time or at is not None else tuple(
        (float(r), str(prep.time[r])) for r in np.linspace(0, n - 1, min(n, 5)).astype(int))
    counts = []
    for split in ("train", "val", "test"):
        start, end = prep.span(split)
        counts.append(f"{split} {end - start:,} rows "
                      f"({prep.windows(split, cfg.window, cfg.horizon):,} windows)")
    kinds = [f"{n}{'' if table.columns[n] is not None else ' (text)'}" for n in table.names]
    notes = ("  ".join(counts),
             f"columns of {Path(cfg.path).name}: {', '.join(kinds)}",
             f"inputs: {', '.join(prep.features)} · targets: {', '.join(prep.target)}"
             + (f" · {prep.dropped} rows dropped (missing)" if prep.dropped else ""))
    first, last = prep.time[0], prep.time[-1]
    title = f"{', '.join(prep.target)} by {cfg.time or 'row'}" + (
        f" ({first} … {last})" if cfg.time else "")
    return Preview(title, curves, borders, notes, ticks)


def time_axis(labels):
    """The time column as finite numbers for an x axis, or None (dates, text)."""
    import numpy as np
    try:
        values = np.asarray(labels, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return values if values.size and bool(np.all(np.isfinite(values))) else None


# ---------------------------------------------------------------- spec

def shape(cfg: SeriesTask) -> TaskShape:
    prep = prepare(cfg)
    return TaskShape(len(prep.features), cfg.horizon * len(prep.target), cfg.window, "last",
                     prep.windows("train", cfg.window, cfg.horizon),
                     prep.windows("val", cfg.window, cfg.horizon))


def check(cfg, source: str) -> None:
    prep = prepare(cfg.task, source)
    if cfg.task.season and cfg.task.season > prep.bounds[1]:
        raise ConfigError(source, "task.season", f"must be at most the train split's "
                          f"{prep.bounds[1]} rows, got {cfg.task.season}")


def figures(cfg: SeriesTask) -> tuple[str, ...]:
    """The summary.json figures a series run records (what `[expect]` may name)."""
    names = ["persistence", "mean"] + (["seasonal"] if cfg.season else [])
    paths = [f"baselines.{b}.{m}" for b in names for m in ("mae", "rmse")]
    if cfg.test_fraction > 0:
        paths += [f"baselines.{b}.test.{m}" for b in names for m in ("mae", "rmse")]
        paths += ["test.mae", "test.rmse", "test.skill"]
    return tuple(paths)


SPECS = [TaskSpec("series", SeriesTask, "lstm_tui.tasks.series_data:Series", shape,
                  "mae", "min", member_fields=frozenset(), check=check, data_path="path",
                  data_files=lambda cfg: {"path": cfg.path},
                  preview=preview, figures=figures,
                  predict="lstm_tui.tasks.series_predict:predict", rolling=True,
                  output_meaning="normalised forecasts, horizon-major (step 1's targets, then "
                  "step 2's, ...): value = output * target_scale + target_offset, per target",
                  summary="forecast columns of your own CSV/TSV/NPY table")]
