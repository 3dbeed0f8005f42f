"""Reading run folders: the listing of one (:func:`read_info`), of a store
(:func:`list_runs`), and a folder read whole (:func:`load_run`).

Readers skip a truncated last line and list a run whose writer died as `interrupted`
(runs.liveness); every field they read is checked (:func:`read_jsonl`,
:func:`check_run_config`, runs.summary), so one damaged folder is listed with a note
and never hides the others.  No torch, no Textual: the TUI lists runs without loading
torch.  The weights of a run are opened by runs.trained.
"""

from __future__ import annotations

import json
import math
import os
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lstm_tui.config import ConfigError, RunConfig, parse_config
from lstm_tui.errors import first_line
from lstm_tui.fsio import NotRegularFile, open_regular, read_json_object, special_kind
from lstm_tui.runs.layout import (ANNOTATIONS, CONFIG, METRICS, SUMMARY, TRASH,
                                  RunError, check_root, fs_error)
from lstm_tui.runs import datarecord
from lstm_tui.runs.liveness import run_writer_alive
from lstm_tui.runs.summary import FINAL_STATUSES, read_summary
from lstm_tui.tasks.registry import DEFAULT_KIND
from lstm_tui.tomlfile import loads_toml, run_config_problem

MAX_CONFIG_BYTES = 1 << 20


@dataclass
class RunInfo:
    """One run as listed by `lstm-lab runs` and the TUI's Runs screen."""
    path: Path
    name: str
    task: str = "?"
    cell: str = "?"
    hidden: int | None = None
    status: str = "interrupted"
    metric: str = ""
    goal: str = ""
    best: float | None = None
    final: float | None = None
    steps: int = 0
    seconds: float = 0.0
    params: int | None = None
    created: float = 0.0
    updated: float = 0.0
    sweep: str = ""
    error: str = ""          # why the folder could not be read fully
    empty: bool = False      # ended before its first step (nothing to look at)
    tags: tuple[str, ...] = ()
    note: str = ""

    @property
    def age(self) -> float:
        return max(0.0, time.time() - (self.created or self.updated))


@dataclass
class Run:
    """Everything in a run folder, read tolerantly."""
    info: RunInfo
    config: dict
    summary: dict
    metrics: list[dict] = field(default_factory=list)

    def series(self, split: str, key: str) -> tuple[list[float], list[float]]:
        """(steps, values) of one metric, skipping records that lack it."""
        steps, values = [], []
        for rec in self.metrics:
            if rec.get("split") == split and rec.get(key) is not None:
                steps.append(rec["step"])
                values.append(rec[key])
        return steps, values

    def run_config(self) -> RunConfig:
        """The config, checked whole for work that reads the data again (see
        read_run_config)."""
        _check_data_files(self.info.path)
        return parse_config(self.config, str(self.info.path / CONFIG))


# ---------------------------------------------------------------- the files of a run

def read_jsonl(path: Path) -> list[dict]:
    """Every complete, well-typed JSON record of a file (metrics, diagnostics, samples).

    A line cut short by a crash, a line that is not an object, and a record whose `step`
    is not a whole number >= 0 are skipped; a field holding something other than a
    number where numbers are expected is dropped from its record.  Missing or unreadable
    (a folder in its place): no records.
    """
    try:
        fh = open_regular(path)
    except OSError:
        return []
    records = []
    with fh:
        try:
            for line in fh:
                try:
                    value = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
                    continue
                record = _clean_record(value)
                if record is not None:
                    records.append(record)
        except OSError:
            pass
    return records


_TEXT_FIELDS = ("split", "text")
_NESTED_FIELDS = ("grad_norms", "grad_means", "timestep_grad_norms")


def _clean_record(value: Any) -> dict | None:
    if not isinstance(value, dict):
        return None
    step = value.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        return None
    out = {}
    for key, item in value.items():
        if key in _TEXT_FIELDS:
            if isinstance(item, str):
                out[key] = item
        elif isinstance(item, bool):
            continue
        elif isinstance(item, (int, float)) or item is None:
            out[key] = item if item is None or math.isfinite(item) else None
        elif isinstance(item, (dict, list)):
            if key in _NESTED_FIELDS:   # grad_norms, timestep_grad_norms: checked where drawn
                out[key] = item
            else:
                out[key] = None
        else:
            out[key] = None   # a string where a number belongs
    if "split" in value and out.get("split") not in ("train", "val"):
        return None
    return out


def check_run_config(path: Path) -> dict:
    """A run's config.toml, read and checked whole: RunError names the file and the fault.

    Besides the config's own rules, it must be complete: the writer ends it with a line
    counting its keys (config.run_toml), so a file cut short, emptied or missing keys is
    not taken for the defaults.  The task's data files are not read (see read_run_config).
    """
    config, error = _load_config(Path(path))
    if error:
        raise RunError(error)
    return config


def _load_config(path: Path) -> tuple[dict | None, str]:
    """(the TOML as parsed, or None when it cannot be parsed; the fault, or "")."""
    try:
        with open_regular(path) as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        return None, f"{path}: missing; this folder is not a complete run"
    except IsADirectoryError:
        return None, f"{path}: is a folder, not a file"
    except NotRegularFile as exc:
        return None, f"{path}: corrupt ({exc.strerror})"
    except OSError as exc:
        return None, str(fs_error(path, exc))
    if len(raw) > MAX_CONFIG_BYTES:
        return None, f"{path}: corrupt (larger than {MAX_CONFIG_BYTES // 1024} KiB)"
    try:
        text = raw.decode("utf-8")
        config = loads_toml(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return None, f"{path}: corrupt ({first_line(exc)})"
    problem = run_config_problem(text, config)
    if problem:
        return config, f"{path}: {problem}; this folder cannot be used"
    try:
        parse_config(config, str(path), files=False)
    except ConfigError as exc:
        return config, str(exc)
    return config, ""


def read_run_config(run_dir: Path, *, data: bool = True) -> RunConfig:
    """A run's config.toml as the typed config it was trained with, checked whole for work
    that reads the data again: RunError names the file when it is unusable, and a data file
    moved or changed since the run trained is said as such.  `data` False: for work that
    does not read the data again (a model opened from its checkpoint, which keeps what
    it needs of them): the data files are neither checked nor read."""
    path = Path(run_dir) / CONFIG
    config = check_run_config(path)
    if not data:
        return parse_config(config, str(path), files=False)
    _check_data_files(Path(run_dir))
    return parse_config(config, str(path))


def _check_data_files(run_dir: Path) -> None:
    moved = datarecord.problem(read_json_object(run_dir / datarecord.DATA))
    if moved:
        raise RunError(f"{run_dir}: {moved}")


def flatten(config: dict, prefix: str = "") -> dict[str, Any]:
    """{"model": {"hidden": 32}} -> {"model.hidden": 32}"""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# ---------------------------------------------------------------- listing runs
#
# A listing is assembled from three parts, each read from one file, so that the index
# (runs.index) can keep each part and reread only the file that changed.  Each part is
# a plain JSON-able dict.

# what the listing takes from summary.json (the rest: baselines, expectations... is not
# listed)
SUMMARY_LISTED = ("status", "metric", "goal", "best", "final", "steps", "seconds", "params",
                  "created", "updated", "sweep", "empty", "pid", "host")


def read_config_part(folder: Path) -> dict:
    """config.toml for the listing: task, cell, hidden, the fault if any, and the config
    flattened to dotted keys ({} when it cannot be parsed)."""
    config, error = _load_config(Path(folder) / CONFIG)
    shown = config if config is not None and all(
        isinstance(config.get(k, {}), dict) for k in ("task", "model")) else {}
    part = {"task": "?", "cell": "?", "hidden": None, "error": error,
            "flat": flatten(config) if config is not None else {}}
    if shown:     # still show what can be read of a config with a fault
        part["task"] = str(shown.get("task", {}).get("kind", DEFAULT_KIND))
        part["cell"] = str(shown.get("model", {}).get("cell", "lstm"))
        part["hidden"] = shown.get("model", {}).get("hidden", 32)
    return part


def read_summary_part(folder: Path) -> dict:
    """summary.json for the listing: its checked fields that are listed, and its note (and
    a named pipe, device or socket in the folder: the run is listed corrupt)."""
    summary, note = read_summary(Path(folder) / SUMMARY)
    odd = [f"{Path(folder) / name}: corrupt ({kind}, not a regular file)"
           for name, kind in special_files(Path(folder)) if str(Path(folder) / name) not in note]
    note = "; ".join(n for n in (note, *odd[:1]) if n)
    return {"summary": {k: summary[k] for k in SUMMARY_LISTED if k in summary}
            if summary else {}, "note": note}


def read_notes_part(folder: Path) -> dict:
    """annotations.json: the tags and the note added to the run later (runs.tags)."""
    notes = read_json_object(Path(folder) / ANNOTATIONS) or {}
    tags = notes.get("tags")
    return {"tags": [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
            "note": notes.get("note") if isinstance(notes.get("note"), str) else ""}


def folder_mtime(folder: Path) -> float:
    """The folder's mtime: the run's time when its summary has none."""
    try:
        return Path(folder).stat().st_mtime
    except OSError:
        return 0.0


def assemble(path: Path, config: dict, summary_part: dict, notes: dict,
             stamp: float) -> RunInfo:
    """One run's listing from its parts; a `running` run whose writer is gone is listed
    as `interrupted` (asked now, never kept)."""
    info = RunInfo(path=path, name=path.name, tags=tuple(notes["tags"]), note=notes["note"],
                   created=stamp, updated=stamp, task=config["task"], cell=config["cell"],
                   hidden=config["hidden"], error=config["error"])
    summary, note = summary_part["summary"], summary_part["note"]
    if note:
        info.error = "; ".join(e for e in (info.error, note) if e)
    if not summary:
        return info
    status = summary.get("status", "interrupted")
    if status == "running" and not run_writer_alive(path, summary):
        status = "interrupted"
    info.status = status
    info.metric = summary.get("metric", "")
    info.goal = summary.get("goal", "")
    info.best, info.final = summary.get("best"), summary.get("final")
    info.steps = summary.get("steps") or 0
    info.seconds = float(summary.get("seconds") or 0.0)
    info.params = summary.get("params")
    info.created = float(summary.get("created") or stamp)
    info.updated = float(summary.get("updated") or info.created)
    info.sweep = summary.get("sweep", "")
    # a writer killed at start-up never wrote `empty`: no steps recorded says the same
    info.empty = bool(summary.get("empty")) or (
        status in FINAL_STATUSES and summary.get("steps", 0) == 0 and "steps must" not in note)
    return info


def special_files(path: Path) -> list[tuple[str, str]]:
    """(name, 'a named pipe') of each named pipe, device or socket in a run folder:
    readers skip such a file (fsio.open_regular), and the listing marks the run corrupt
    rather than read it as if the file were merely missing."""
    found = []
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if not entry.is_file() and not entry.is_dir():
                    try:
                        found.append((entry.name, special_kind(entry.stat().st_mode)))
                    except OSError:        # a link to nothing: as good as missing
                        pass
    except OSError:
        pass
    return found


def read_info(path: Path) -> RunInfo:
    """The listing of one run folder, read now; never raises for a damaged folder."""
    path = Path(path)
    return assemble(path, read_config_part(path), read_summary_part(path),
                    read_notes_part(path), folder_mtime(path))


def list_runs(root: Path) -> list[RunInfo]:
    """Every run folder under `root` (sweep groups included), oldest first."""
    root = check_root(Path(root))
    if not root.is_dir():
        return []
    found = [read_info(p.parent) for p in root.glob("**/" + CONFIG)
             if TRASH not in p.relative_to(root).parts]
    found += [read_info(p.parent) for p in root.glob("**/" + SUMMARY)
              if not (p.parent / CONFIG).exists() and TRASH not in p.relative_to(root).parts]
    return sorted(found, key=lambda r: (r.created, r.name, str(r.path)))


def load_run(path: Path) -> Run:
    """A run folder read whole; RunError names the file when the config is unusable."""
    path = Path(path)
    info = read_info(path)
    config = check_run_config(path / CONFIG)
    summary = read_summary(path / SUMMARY)[0]
    return Run(info=info, config=config, summary=summary, metrics=read_jsonl(path / METRICS))
