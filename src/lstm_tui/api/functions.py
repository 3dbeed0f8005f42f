"""The API's functions: list the run store, open a run, train a preset, run a sweep.

They call what the commands call (runs.listing, runs.resolve, experiment.start_run,
sweeps.drive.run_sweep) and raise the same one-line errors (``ConfigError``,
``RunError``: both ``ValueError``).  Overrides are keyword arguments named like
``--set`` keys: ``**{"train.epochs": 2}`` or ``train__epochs=2``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from lstm_tui.api.run import Run

if TYPE_CHECKING:
    import pandas

    from lstm_tui.config import RunConfig


def runs(where: str | Iterable[str] | None = None, tag: str | Iterable[str] | None = None,
         *, status: str | Iterable[str] | None = None, sweep: str | None = None,
         runs_dir: str | Path | None = None) -> pandas.DataFrame:
    """The run store as a DataFrame, a row per run (oldest first), the fields of
    ``lstm-lab runs --json`` and a column per config key ("model.hidden", ...).
    `where`: "KEY OP VALUE" conditions as ``runs --where`` takes them (all must hold);
    `tag`: tags all of which a run has; `status`: any of these; `sweep`: its points."""
    import pandas as pd

    from lstm_tui.runs import listing
    from lstm_tui.runs.layout import runs_root
    from lstm_tui.runs.reader import list_runs
    root = runs_root(Path(runs_dir) if runs_dir is not None else None)
    rows = listing.rows_of(list_runs(root), root)
    query = listing.Query(where=_many(where), status=_many(status), tags=_many(tag),
                          sweep=sweep)
    records = listing.document(listing.select(rows, query), root)["runs"]
    flat = [{**{k: v for k, v in r.items() if k != "config"}, **r.get("config", {})}
            for r in records]
    return pd.DataFrame(flat, columns=list(flat[0]) if flat else ["name"])


def open_run(ref: str | Path = "latest", runs_dir: str | Path | None = None,
             checkpoint: str = "best") -> Run:
    """A run by anything RUN takes on the command line: a folder, a name or its prefix,
    latest, latest~N."""
    from lstm_tui.runs.layout import runs_root
    from lstm_tui.runs.resolve import resolve_run
    root = runs_root(Path(runs_dir) if runs_dir is not None else None)
    return Run(resolve_run(root, str(ref)), checkpoint)


def train(preset_or_config: str | Path | dict | RunConfig, *,
          runs_dir: str | Path | None = None, on_event: Callable[[Any], None] | None = None,
          **overrides: Any) -> Run:
    """Train a preset (a file or a shipped name), a dict of preset tables or a RunConfig,
    headless in this process, into the run store; returns the Run (a failed run too: its
    ``status`` says so, with a warning).  `on_event` hears every engine event."""
    from lstm_tui import events as ev
    from lstm_tui.experiment import start_run
    from lstm_tui.runs.layout import runs_root
    cfg = _config(preset_or_config, overrides)
    root = runs_root(Path(runs_dir) if runs_dir is not None else None)
    run_dir, last = start_run(cfg, root, [on_event] if on_event else [])
    if isinstance(last, ev.Failed):
        warnings.warn(f"run failed: {last.error}", RuntimeWarning, stacklevel=2)
    return Run(run_dir)


def sweep(preset: str | Path, *, runs_dir: str | Path | None = None,
          backend: str = "sequential", workers: int = 1,
          **overrides: Any) -> pandas.DataFrame:
    """Train the points of a preset's [sweep] (resuming a sweep begun before); returns
    its results.csv rows as a DataFrame, with ``attrs`` sweep_dir, metric, goal and
    complete.  `lab.runs(sweep=...)` lists its runs."""
    import pandas as pd

    from lstm_tui.config import ConfigError, load_preset
    from lstm_tui.presets import resolve_preset
    from lstm_tui.runs.layout import runs_root
    from lstm_tui.sweeps.backends import backend_options
    from lstm_tui.sweeps.drive import run_sweep
    from lstm_tui.sweeps.spec import parse_sweep
    path = resolve_preset(str(preset))
    cfg = load_preset(path, _sets(overrides))
    if cfg.sweep is None:
        raise ConfigError(str(path), "sweep", "missing: this preset has no sweep table "
                          "(train it with lab.train)")
    spec = parse_sweep(cfg, str(path))
    result = run_sweep(path, cfg, spec, runs_root(Path(runs_dir) if runs_dir else None),
                       backend=backend, workers=workers,
                       options=backend_options(backend, spec))
    frame = pd.DataFrame(result.rows, columns=result.columns)
    frame.attrs.update(sweep_dir=str(result.sweep_dir), metric=result.metric,
                       goal=result.goal, complete=result.complete)
    return frame


def _config(given: Any, overrides: dict) -> RunConfig:
    from lstm_tui.config import (RunConfig, apply_overrides, config_to_dict, load_preset,
                                 parse_config)
    from lstm_tui.presets import resolve_preset
    sets = _sets(overrides)
    if isinstance(given, (str, Path)):
        return load_preset(resolve_preset(str(given)), sets)
    if isinstance(given, RunConfig):
        given = config_to_dict(given)
    if not isinstance(given, dict):
        raise TypeError(f"train() takes a preset name or path, a dict or a RunConfig, "
                        f"got {type(given).__name__}")
    return parse_config(apply_overrides(given, sets))


def _sets(overrides: dict) -> list[str]:
    """Keyword overrides as --set items: train__epochs=2 -> "train.epochs=2"."""
    return [f"{key.replace('__', '.')}={json.dumps(value)}" for key, value in overrides.items()]


def _many(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
