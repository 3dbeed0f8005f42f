"""`lstm-lab verify`: run presets and judge each against its own ``[expect]``.

The full form trains each run preset as shipped.  ``--quick`` trains only the presets
that carry a ``[quick]`` table, with its overrides (a shortened budget) and its own bands::

    [quick]                         # what `lstm-lab verify --quick` runs instead
    set = ["train.epochs=3"]        # --set overrides
    [quick.expect]                  # bands for the shortened run (replace [expect])
    "val.accuracy" = { min = 0.9 }

Everything is loaded and checked before the first run trains, so a bad preset costs no
training time.  This module imports neither Textual nor rich.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from lstm_tui.config import ConfigError, RunConfig, apply_overrides, parse_config, read_toml


@dataclass
class Planned:
    name: str
    path: Path
    cfg: RunConfig
    sweep: Any = None              # a sweep preset: its SweepSpec
    expected: list = field(default_factory=list)   # ... and its checked [expect]


@dataclass
class Outcome:
    name: str
    status: str = ""
    seconds: float = 0.0
    verdicts: list[dict] = field(default_factory=list)
    error: str = ""
    run_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.error and self.status in ("completed", "stopped_early") and \
            all(v["met"] for v in self.verdicts)


def plan(paths: list[Path], quick: bool, named: bool) -> tuple[list[Planned], list[str]]:
    """The presets to run, checked, and the names skipped (with why): presets without
    [expect], and under --quick sweeps and those without [quick] unless named."""
    planned, skipped = [], []
    for path in paths:
        data = read_toml(path)
        source = str(path)
        if "sweep" in data:
            if quick:
                skipped.append(f"{path.stem} (a sweep: not in --quick)")
            elif not data.get("expect"):
                skipped.append(f"{path.stem} (no [expect])")
            else:
                planned.append(_sweep(path, data, source))
            continue
        if quick and "quick" in data:
            data = _quick(data, source)
        elif quick and not named:
            skipped.append(f"{path.stem} (no [quick])")
            continue
        data.pop("quick", None)
        if not data.get("expect"):
            if named:
                raise ConfigError(source, "expect", "the preset has no expectations to verify")
            skipped.append(f"{path.stem} (no [expect])")
            continue
        planned.append(Planned(path.stem, path, parse_config(data, source, expect_length=True)))
    return planned, skipped


def _sweep(path: Path, data: dict, source: str) -> Planned:
    from lstm_tui.expect import sweep as expect
    from lstm_tui.sweeps.runner import columns_for
    from lstm_tui.sweeps.spec import parse_sweep
    data.pop("quick", None)
    cfg = parse_config(data, source)
    spec = parse_sweep(cfg, source)
    found = expect.check(spec, columns_for(spec), cfg.expect, source)
    return Planned(path.stem, path, cfg, spec, found)


def _quick(data: dict, source: str) -> dict:
    table = data["quick"]
    if not isinstance(table, dict):
        raise ConfigError(source, "quick", "must be a table with set = [...] and [quick.expect]")
    for key in table:
        if key not in ("set", "expect"):
            raise ConfigError(source, f"quick.{key}", "unknown key (allowed: set, expect)")
    sets = table.get("set", [])
    if not isinstance(sets, list) or not all(isinstance(s, str) for s in sets):
        raise ConfigError(source, "quick.set", "must be a list of \"section.key=value\" strings")
    data = apply_overrides(data, sets, f"{source}: quick.set")
    if "expect" in table:
        data["expect"] = table["expect"]
    return data


def run(planned: list[Planned], root: Path | None = None, backend: str = "sequential",
        workers: int = 1,
        on_start: Callable[[Planned], None] = lambda p: None,
        on_done: Callable[[Outcome], None] = lambda o: None,
        should_stop: Callable[[], bool] = lambda: False) -> list[Outcome]:
    """Train each planned preset into `root` (a temporary folder, removed after, when
    None) and collect its verdicts from summary.json."""
    from lstm_tui import events as ev
    from lstm_tui.experiment import start_run
    from lstm_tui.runs.layout import SUMMARY
    from lstm_tui.runs.summary import read_summary
    from lstm_tui.expect.verdicts import read_verdicts
    temp = root is None
    root = Path(tempfile.mkdtemp(prefix="lstm-lab-verify-")) if temp else Path(root)
    outcomes = []
    try:
        for p in planned:
            if should_stop():
                break
            on_start(p)
            started = time.monotonic()
            out = Outcome(p.name)
            try:
                if p.sweep is not None:
                    _run_sweep(p, out, root, backend, workers, should_stop)
                    out.run_dir = None if temp else out.run_dir
                    out.seconds = time.monotonic() - started
                    outcomes.append(out)
                    on_done(out)
                    continue
                cfg = replace(p.cfg, name=p.cfg.name or p.name)
                run_dir, last = start_run(cfg, root, [], should_stop)
                out.run_dir = None if temp else run_dir
                summary = read_summary(Path(run_dir) / SUMMARY)[0]
                out.verdicts = read_verdicts(summary)
                if isinstance(last, ev.Failed):
                    out.status, out.error = "failed", last.error
                else:
                    out.status = last.status
            except ConfigError as exc:
                out.status, out.error = "bad input", str(exc)
            out.seconds = time.monotonic() - started
            outcomes.append(out)
            on_done(out)
    finally:
        if temp:
            shutil.rmtree(root, ignore_errors=True)
    return outcomes


def _run_sweep(p: Planned, out: Outcome, root: Path, backend: str, workers: int,
               should_stop: Callable[[], bool]) -> None:
    from lstm_tui.sweeps.drive import run_sweep
    result = run_sweep(p.path, p.cfg, p.sweep, root, backend=backend, workers=workers,
                       should_stop=should_stop)
    out.verdicts = result.verdicts          # judged against p.expected's [expect]
    out.run_dir = result.sweep_dir
    out.status = "completed" if result.complete else "interrupted"
    if result.failed:
        out.status = f"{len(result.failed)} point(s) failed"


def rows(outcomes: list[Outcome]) -> list[dict]:
    """One row per expectation (a run that failed: one row saying so); `folder` is the
    run's (or sweep's) folder when --runs-dir keeps it, else None."""
    from lstm_tui.expect.verdicts import band_text
    table = []
    for o in outcomes:
        folder = str(o.run_dir) if o.run_dir else None
        if o.error or not o.verdicts:
            table.append({"preset": o.name, "expectation": "-", "observed": None,
                          "band": "-", "verdict": o.status or "failed",
                          "seconds": o.seconds, "note": o.error, "folder": folder})
            continue
        for v in o.verdicts:
            table.append({"preset": o.name, "expectation": v["key"], "observed": v["observed"],
                          "band": band_text(v["min"], v["max"]),
                          "verdict": "met" if v["met"] else "missed", "seconds": o.seconds,
                          "note": "" if o.status in ("completed", "stopped_early")
                          else o.status, "folder": folder})
    return table
