"""The run store: one folder per run, written as training goes and readable after a crash.

A run folder holds
  config.toml        the resolved config (usable again as a preset), written once, atomically
  summary.json       status, best/final metric, steps, seconds, params; replaced atomically
  metrics.jsonl      one JSON object a line (split = train | val), appended and flushed
  diagnostics.jsonl  gradient norm per time step, one line per validation
  samples.jsonl      text samples of char_lm runs
  best.pt, last.pt   checkpoints (see lstm_tui.runs.checkpoint)
  annotations.json   tags and a note added later (lstm_tui.runs.tags); never the above
  provenance.json    software, machine and peak memory (lstm_tui.runs.provenance)
  resources.jsonl    CPU/memory (and GPU) samples while training

Removed runs wait in <root>/.trash/ (lstm_tui.runs.trash); no listing looks there.

Readers skip a truncated last line and list a run whose writer died as `interrupted`.
This module imports neither torch nor Textual: the TUI lists runs without loading torch.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, RunConfig, parse_config, to_toml

ENV_VAR = "LSTM_LAB_RUNS"
CONFIG, SUMMARY, METRICS = "config.toml", "summary.json", "metrics.jsonl"
DIAGNOSTICS, SAMPLES = "diagnostics.jsonl", "samples.jsonl"
ANNOTATIONS, TRASH = "annotations.json", ".trash"
LATEST = re.compile(r"latest(?:~(\d+))?")
FINAL_STATUSES = ("completed", "stopped_early", "interrupted", "diverged", "failed")


class RunError(Exception):
    """A run folder that cannot be used: the message names the file and what is wrong."""


def runs_root(explicit: str | os.PathLike | None = None) -> Path:
    """--runs-dir, else $LSTM_LAB_RUNS, else ./runs."""
    return Path(explicit or os.environ.get(ENV_VAR) or "runs")


# ---------------------------------------------------------------- atomic files

def atomic_write_text(path: Path, text: str) -> None:
    """Replace `path` so that readers see the old or the new file, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, allow_nan=True) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    """Every complete JSON line of a file; a line cut short by a crash is skipped."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    records = []
    for line in raw.splitlines():
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(value, dict):
            records.append(value)
    return records


def _clean(value: float | None) -> float | None:
    """JSON has no NaN; a non-finite float is written as null."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return float(value)


# ---------------------------------------------------------------- writing a run

def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:40] or "run"


def new_run_dir(root: Path, cfg: RunConfig, prefix: str = "") -> Path:
    """A fresh, uniquely named folder: 20261123-161502-nth-lstm-lstm32."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    label = _slug(cfg.name or cfg.task.kind)
    base = f"{prefix}{stamp}-{label}-{cfg.model.cell}{cfg.model.hidden}"
    for n in range(1, 10_000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RunError(f"{root}: cannot create a new run folder named {base}")


class RunWriter:
    """A listener that records one run's events into its folder.

    Call it with every event; pass `save_checkpoint` to the engine.
    """

    def __init__(self, run_dir: Path, cfg: RunConfig, *, resume: bool = False):
        self.dir = Path(run_dir)
        self.started = time.time()
        self.summary: dict[str, Any] = {}
        if resume:
            self.summary = _read_json(self.dir / SUMMARY) or {}
        else:
            atomic_write_text(self.dir / CONFIG, to_toml(cfg))
        self.summary.update(status="running", pid=os.getpid(), host=socket.gethostname(),
                            updated=self.started)
        self.summary.setdefault("created", self.started)
        self.summary.setdefault("name", self.dir.name)
        self.summary.setdefault("seconds_before", 0.0)
        self._write_summary()
        self._metrics = open(self.dir / METRICS, "a", encoding="utf-8")
        self._metric_name = "metric"

    # -- the listener
    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self._metric_name = event.metric
            self.summary.update(params=event.summary.total, metric=event.metric, goal=event.goal,
                                device=event.device, total_steps=event.total_steps,
                                dataset_size=event.dataset_size)
            if event.start_step:
                self.summary["seconds_before"] = self.summary.get("seconds", 0.0)
            self._write_summary()
        elif isinstance(event, ev.StepMetrics):
            self._append(self._metrics, {
                "step": event.step, "epoch": event.epoch, "split": "train",
                "loss": _clean(event.loss), self._metric_name: _clean(event.metric),
                "lr": event.lr, "grad_norm": _clean(event.grad_norm),
                "mean_abs_grad": _clean(event.mean_abs_grad),
                "steps_per_sec": round(event.steps_per_sec, 3), "time": round(event.seconds, 3),
                "grad_norms": {k: _clean(v) for k, v in event.grad_norms.items()},
                "grad_means": {k: _clean(v) for k, v in event.grad_means.items()},
            })
        elif isinstance(event, ev.ValMetrics):
            record = {"step": event.step, "epoch": event.epoch, "split": "val",
                      "loss": _clean(event.loss), self._metric_name: _clean(event.metric),
                      "time": round(event.seconds, 3)}
            record.update({k: _clean(v) for k, v in event.extra.items()})
            self._append(self._metrics, record)
            # a heartbeat: readers of a live run see its progress in summary.json
            self.summary.update(steps=event.step, best=_clean(event.best),
                                final=_clean(event.metric),
                                seconds=self.summary["seconds_before"] + event.seconds)
            self._write_summary()
        elif isinstance(event, ev.TimestepGradients):
            with open(self.dir / DIAGNOSTICS, "a", encoding="utf-8") as fh:
                self._append(fh, {"step": event.step,
                                  "timestep_grad_norms": [_clean(v) for v in event.norms]})
        elif isinstance(event, ev.TextSample):
            with open(self.dir / SAMPLES, "a", encoding="utf-8") as fh:
                self._append(fh, {"step": event.step, "temperature": event.temperature,
                                  "text": event.text})
        elif isinstance(event, ev.CheckpointWritten):
            self.summary.setdefault("checkpoints", {})[event.tag] = Path(event.path).name
            self.summary["steps"] = event.step
            self._write_summary()
        elif isinstance(event, ev.Finished):
            self.summary.update(status=event.status, steps=event.step,
                                seconds=self.summary["seconds_before"] + event.seconds,
                                best=_clean(event.best), final=_clean(event.final),
                                message=event.message)
            self._write_summary()
            self.close()
        elif isinstance(event, ev.Failed):
            self.summary.update(status="failed", steps=event.step, message=event.error)
            self._write_summary()
            self.close()

    def save_checkpoint(self, tag: str, payload: dict) -> str:
        """Write best.pt / last.pt atomically (the engine calls this)."""
        from lstm_tui.runs.checkpoint import save_checkpoint
        return str(save_checkpoint(self.dir / f"{tag}.pt", payload))

    def close(self) -> None:
        if not self._metrics.closed:
            self._metrics.close()

    def _append(self, fh, record: dict) -> None:
        fh.write(json.dumps(record, allow_nan=False) + "\n")
        fh.flush()

    def _write_summary(self) -> None:
        self.summary["updated"] = time.time()
        atomic_write_json(self.dir / SUMMARY, self.summary)


# ---------------------------------------------------------------- reading runs

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
        return parse_config(self.config, str(self.info.path / CONFIG))


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def pid_alive(pid: int) -> bool:
    """Is there a process `pid` on this host?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _alive(summary: dict) -> bool:
    """Is the process that writes this run still there?  (Only knowable on its own host.)"""
    pid, host = summary.get("pid"), summary.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return host is not None and host != socket.gethostname()
    return pid_alive(pid)


def read_info(path: Path) -> RunInfo:
    """The listing of one run folder; never raises for a damaged folder."""
    path = Path(path)
    info = RunInfo(path=path, name=path.name)
    notes = _read_json(path / ANNOTATIONS) or {}
    tags = notes.get("tags")
    info.tags = tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else ()
    info.note = notes.get("note") if isinstance(notes.get("note"), str) else ""
    try:
        config = tomllib.loads((path / CONFIG).read_text(encoding="utf-8"))
        task = config.get("task", {})
        model = config.get("model", {})
        info.task = str(task.get("kind", "nth_element"))
        info.cell = str(model.get("cell", "lstm"))
        info.hidden = model.get("hidden", 32)
    except FileNotFoundError:
        info.error = f"{path / CONFIG}: missing"
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        info.error = f"{path / CONFIG}: unreadable ({exc})"
    summary = _read_json(path / SUMMARY)
    if summary is None:
        info.status = "interrupted"
        if (path / SUMMARY).exists():
            info.error = info.error or f"{path / SUMMARY}: unreadable"
        info.created = info.updated = path.stat().st_mtime
        return info
    status = summary.get("status", "interrupted")
    if status == "running" and not _alive(summary):
        status = "interrupted"
    info.status = status if status in ev.STATUSES else "interrupted"
    info.metric = str(summary.get("metric", ""))
    info.goal = str(summary.get("goal", ""))
    info.best, info.final = summary.get("best"), summary.get("final")
    info.steps = int(summary.get("steps") or 0)
    info.seconds = float(summary.get("seconds") or 0.0)
    info.params = summary.get("params")
    info.created = float(summary.get("created") or path.stat().st_mtime)
    info.updated = float(summary.get("updated") or info.created)
    info.sweep = str(summary.get("sweep", ""))
    return info


def list_runs(root: Path) -> list[RunInfo]:
    """Every run folder under `root` (sweep groups included), oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [read_info(p.parent) for p in root.glob("**/" + CONFIG)
             if TRASH not in p.relative_to(root).parts]
    found += [read_info(p.parent) for p in root.glob("**/" + SUMMARY)
              if not (p.parent / CONFIG).exists() and TRASH not in p.relative_to(root).parts]
    return sorted(found, key=lambda r: (r.created, r.name))


def resolve_run(root: Path, ref: str) -> Path:
    """A run folder from a path, a folder name under `root`, a unique name prefix, or
    `latest` / `latest~N` (the newest run, the one before it, ...)."""
    latest = LATEST.fullmatch(ref)
    if latest:
        runs = list_runs(root)
        back = int(latest.group(1) or 0)
        if back >= len(runs):
            raise RunError(f"{ref}: there are only {len(runs)} runs under {root}/")
        return runs[-1 - back].path
    for direct in (Path(ref), Path(root) / ref):    # a path, or one relative to the store
        if (direct / CONFIG).exists() or (direct / SUMMARY).exists():
            return direct
    candidates = [r.path for r in list_runs(root) if r.name == ref]
    if not candidates:
        candidates = [r.path for r in list_runs(root) if r.name.startswith(ref)]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise RunError(f"{ref}: no such run (a run folder, or a run name under {root}/; "
                       "`lstm-lab runs` lists them)")
    names = ", ".join(p.name for p in candidates[:5])
    raise RunError(f"{ref}: matches {len(candidates)} runs ({names}...); give more of the name")


def load_run(path: Path) -> Run:
    """A run folder read whole; RunError names the file when the config is unusable."""
    path = Path(path)
    info = read_info(path)
    config_path = path / CONFIG
    try:
        config = tomllib.loads(config_path.read_text(encoding="utf-8"))
        parse_config(config, str(config_path))
    except FileNotFoundError:
        raise RunError(f"{config_path}: missing; this folder is not a complete run") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RunError(f"{config_path}: corrupt ({str(exc).splitlines()[0]})") from None
    except ConfigError as exc:
        raise RunError(str(exc)) from None
    summary = _read_json(path / SUMMARY) or {}
    return Run(info=info, config=config, summary=summary, metrics=read_jsonl(path / METRICS))


def truncate_metrics(path: Path, after_step: int) -> None:
    """Drop records past a checkpoint before resuming from it (atomically)."""
    for name in (METRICS, DIAGNOSTICS, SAMPLES):
        records = [r for r in read_jsonl(path / name) if r.get("step", 0) <= after_step]
        if (path / name).exists():
            atomic_write_text(path / name, "".join(json.dumps(r) + "\n" for r in records))

