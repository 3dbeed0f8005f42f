"""The run store: one folder per run, written as training goes and readable after a crash.

Over 600 lines because the one writer and the validating readers of the same files live
together on purpose: a field's format and its check are read side by side.

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

  .writer.lock       held (flock) by the one process writing the folder; see runs.lock

Readers skip a truncated last line and list a run whose writer died as `interrupted`;
every field they read is checked (:func:`read_summary`, :func:`read_jsonl`,
:func:`check_run_config`), so one damaged folder is listed with a note and never hides
the others.  This module imports neither torch nor Textual: the TUI lists runs without
loading torch.
"""

from __future__ import annotations

import errno
import json
import math
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
from lstm_tui.errors import first_line
from lstm_tui.runs.lock import FolderLock, LockHeld, is_held
from lstm_tui.tasks.registry import DEFAULT_KIND

ENV_VAR = "LSTM_LAB_RUNS"
CONFIG, SUMMARY, METRICS = "config.toml", "summary.json", "metrics.jsonl"
DIAGNOSTICS, SAMPLES = "diagnostics.jsonl", "samples.jsonl"
WRITER_LOCK = ".writer.lock"
# the last line of every config.toml the writer makes: a file without it (and without the
# [train] table's last key, for runs of older versions) was cut short or emptied
CONFIG_END = "# end of the resolved config\n"
ANNOTATIONS, TRASH = "annotations.json", ".trash"
LATEST = re.compile(r"latest(?:~(\d+))?")
FINAL_STATUSES = ("completed", "stopped_early", "interrupted", "diverged", "failed",
                  "pruned")


class RunError(Exception):
    """A run folder that cannot be used: the message names the file and what is wrong."""


def runs_root(explicit: str | os.PathLike | None = None) -> Path:
    """--runs-dir, else $LSTM_LAB_RUNS, else ./runs."""
    return Path(explicit or os.environ.get(ENV_VAR) or "runs")


def check_root(root: Path) -> Path:
    """The run store as a folder, or a RunError saying why it cannot be one."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise RunError(f"{root}: is a file, not a folder of runs (give --runs-dir a folder)")
    return root


def fs_error(path: Path, exc: OSError) -> RunError:
    """An OSError as one line naming the path: 'runs/x: permission denied'."""
    reason = (exc.strerror or first_line(exc)).lower() if isinstance(exc, OSError) else exc
    if getattr(exc, "errno", None) == errno.ENOSPC:
        reason = "no space left on the device"
    return RunError(f"{path}: {reason}")


# ---------------------------------------------------------------- atomic files

def atomic_write_text(path: Path, text: str) -> None:
    """Replace `path` so that readers see the old or the new file, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:   # a full disk: leave no half-written temporary behind
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


_TMP = re.compile(r"^\..+\.(\d+)\.tmp$")


def clean_stale_tmp(folder: Path) -> list[Path]:
    """Remove `.NAME.PID.tmp` files left by writers that died mid-write; returns them."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for path in entries:
        match = _TMP.match(path.name)
        if match and int(match.group(1)) != os.getpid() and not pid_alive(int(match.group(1))):
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                pass
    return removed


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, allow_nan=True) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    """Every complete, well-typed JSON record of a file (metrics, diagnostics, samples).

    A line cut short by a crash, a line that is not an object, and a record whose `step`
    is not a whole number >= 0 are skipped; a field holding something other than a
    number where numbers are expected is dropped from its record.  Missing or unreadable
    (a folder in its place): no records.
    """
    try:
        fh = open(path, "rb")
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
    check_root(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fs_error(root, exc) from None
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
        except OSError as exc:
            raise fs_error(root, exc) from None
    raise RunError(f"{root}: cannot create a new run folder named {base}")


def lock_run(run_dir: Path) -> FolderLock:
    """The folder's writer lock, taken: RunError when a live process already writes it."""
    lock = FolderLock(Path(run_dir) / WRITER_LOCK)
    try:
        return lock.acquire()
    except LockHeld as exc:
        raise RunError(f"{run_dir}: this run is still being written by pid {exc.pid or '?'} "
                       "(its writer is alive); wait for it or stop it first") from None
    except OSError as exc:
        raise fs_error(Path(run_dir), exc) from None


class RunWriter:
    """A listener that records one run's events into its folder.

    Call it with every event; pass `save_checkpoint` to the engine.  It holds the
    folder's writer lock from start to end (`lock`: one already taken, e.g. by a resume
    that checked the folder first); RunError when another live process holds it.
    """

    def __init__(self, run_dir: Path, cfg: RunConfig, *, resume: bool = False,
                 lock: FolderLock | None = None):
        self.dir = Path(run_dir)
        self.lock = lock if lock is not None and lock.held else lock_run(self.dir)
        self.started = time.time()
        self.summary: dict[str, Any] = {}
        self.write_error = ""
        try:
            clean_stale_tmp(self.dir)
            if resume:
                self.summary = read_summary(self.dir / SUMMARY)[0]
                self.summary.pop("empty", None)
            else:
                atomic_write_text(self.dir / CONFIG, to_toml(cfg) + CONFIG_END)
            self.summary.update(status="running", pid=os.getpid(),
                                host=socket.gethostname(), updated=self.started)
            self.summary.setdefault("created", self.started)
            self.summary.setdefault("name", self.dir.name)
            self.summary.setdefault("seconds_before", 0.0)
            self._write_summary()
            self._metrics = open(self.dir / METRICS, "a", encoding="utf-8")
        except OSError as exc:
            self.lock.release()
            raise fs_error(self.dir, exc) from None
        self._metric_name = "metric"
        self._expect = _Expectations(cfg, self.dir if resume else None)

    # -- the listener
    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self._metric_name = event.metric
            self.summary.update(params=event.summary.total, metric=event.metric, goal=event.goal,
                                device=event.device, total_steps=event.total_steps,
                                dataset_size=event.dataset_size)
            if event.start_step:
                self.summary["seconds_before"] = self.summary.get("seconds", 0.0)
            if event.notes:
                self.summary["notes"] = list(event.notes)
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
            self._expect.heard(record)
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
        elif isinstance(event, ev.TaskReport):
            self.summary.update(event.figures)
            self._write_summary()
        elif isinstance(event, ev.CheckpointWritten):
            self.summary.setdefault("checkpoints", {})[event.tag] = Path(event.path).name
            self.summary["steps"] = event.step
            self._write_summary()
        elif isinstance(event, ev.Finished):
            self.summary.update(status=event.status, steps=event.step,
                                seconds=self.summary["seconds_before"] + event.seconds,
                                best=_clean(event.best), final=_clean(event.final),
                                message=event.message)
            self._expect.judge(self.summary)
            self._end()
        elif isinstance(event, ev.Failed):
            self.summary.update(status="failed", steps=event.step, message=event.error)
            self._end()

    def save_checkpoint(self, tag: str, payload: dict) -> str:
        """Write best.pt / last.pt atomically (the engine calls this)."""
        from lstm_tui.runs.checkpoint import save_checkpoint
        return str(save_checkpoint(self.dir / f"{tag}.pt", payload))

    def close(self) -> None:
        try:
            if not self._metrics.closed:
                self._metrics.close()
        except OSError:
            pass
        self.lock.release()

    def _end(self) -> None:
        """The last summary: never raises, so a full disk still ends the run cleanly."""
        if not self.summary.get("steps"):
            self.summary["empty"] = True   # stopped before its first step: `rm --empty`
        try:
            self._write_summary()
        except OSError as exc:
            self.write_error = str(fs_error(self.dir / SUMMARY, exc))
            self._write_summary_in_place()
        self.close()

    def _write_summary_in_place(self) -> None:
        """No room for a new file: overwrite the old summary's own blocks instead, and only
        when the new one fits in them (padded with spaces, which JSON allows), so the write
        needs no new block and cannot stop half-way; else the old summary stays whole."""
        # the whole summary if it fits, else what a reader needs most (the status, the
        # reason, the step, the results and the checkpoints), else that without the reason
        core = {k: self.summary[k] for k in ("status", "steps", "metric", "goal", "best",
                                             "final", "seconds", "checkpoints", "message")
                if k in self.summary}
        core["message"] = str(core.get("message", ""))[:300]
        bare = {k: v for k, v in core.items() if k != "message"}
        try:
            with open(self.dir / SUMMARY, "r+b") as fh:
                room = os.fstat(fh.fileno()).st_size
                for summary in (self.summary, core, bare):
                    data = json.dumps(summary, separators=(",", ":")).encode()
                    if len(data) + 1 <= room:
                        fh.write(data + b" " * (room - len(data) - 1) + b"\n")
                        return
        except OSError:
            pass

    def _append(self, fh, record: dict) -> None:
        fh.write(json.dumps(record, allow_nan=False) + "\n")
        fh.flush()

    def _write_summary(self) -> None:
        self.summary["updated"] = time.time()
        atomic_write_json(self.dir / SUMMARY, self.summary)


class _Expectations:
    """The preset's [expect] judged when the run ends (lstm_tui.expect.run): it keeps the
    validation records (a few per epoch) and writes each verdict into the summary."""

    def __init__(self, cfg: RunConfig, resumed: Path | None) -> None:
        self.table = cfg.expect if cfg.sweep is None else None
        self.kind, self.train = cfg.task.kind, cfg.train
        self.val: list[dict] = []
        if self.table and resumed is not None:
            self.val = [r for r in read_jsonl(resumed / METRICS) if r.get("split") == "val"]

    def heard(self, record: dict) -> None:
        if self.table:
            self.val.append(record)

    def judge(self, summary: dict) -> None:
        if not self.table:
            return
        from lstm_tui.expect.run import parse, verdicts
        try:
            found = parse(self.table)
        except ValueError as exc:    # checked before training; a hand-edited resume
            summary["message"] = f"[expect] not judged: {exc}"
            return
        summary["expectations"] = verdicts(found, self.val, summary, self.kind, self.train)


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
        return parse_config(self.config, str(self.info.path / CONFIG))


# ---------------------------------------------------------------- summary.json, checked

def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2 ** 53


def _number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and abs(v) < 1e300)


def _seconds(v: Any) -> bool:
    return _number(v) and v >= 0


# what each field of summary.json must hold, and how to say it
SUMMARY_FIELDS: dict[str, tuple[Any, str]] = {
    "status": (lambda v: v in ev.STATUSES, f"one of {', '.join(ev.STATUSES)}"),
    "steps": (_count, "a whole number >= 0"),
    "total_steps": (_count, "a whole number >= 0"),
    "params": (_count, "a whole number >= 0"),
    "dataset_size": (_count, "a whole number >= 0"),
    "pid": (lambda v: _count(v) and 0 < v < 2 ** 31, "a process id"),
    "seconds": (_seconds, "a number of seconds >= 0"),
    "seconds_before": (_seconds, "a number of seconds >= 0"),
    "created": (_seconds, "a time stamp"),
    "updated": (_seconds, "a time stamp"),
    "best": (lambda v: v is None or _number(v), "a finite number or null"),
    "final": (lambda v: v is None or _number(v), "a finite number or null"),
    "metric": (lambda v: isinstance(v, str), "a string"),
    "goal": (lambda v: v in ("min", "max"), "min or max"),
    "name": (lambda v: isinstance(v, str), "a string"),
    "host": (lambda v: isinstance(v, str), "a string"),
    "sweep": (lambda v: isinstance(v, str), "a string"),
    "sweep_point": (lambda v: isinstance(v, str), "a string"),
    "message": (lambda v: isinstance(v, str), "a string"),
    "device": (lambda v: isinstance(v, str), "a string"),
    "empty": (lambda v: isinstance(v, bool), "true or false"),
    "checkpoints": (lambda v: isinstance(v, dict) and all(
        isinstance(k, str) and isinstance(x, str) for k, x in v.items()),
        "a table of file names"),
}


def read_json_object(path: Path, limit: int = 1 << 20) -> dict | None:
    """A small JSON object file (annotations, provenance): None when missing, larger than
    `limit`, unreadable or not an object, so one bad file never breaks a listing."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limit + 1)
        value = json.loads(raw.decode("utf-8")) if len(raw) <= limit else None
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def read_summary(path: Path) -> tuple[dict, str]:
    """summary.json checked field by field: (the fields that are right, a note or "").

    The one reader of summary.json.  A missing file is ({}, ""); an unreadable one is
    ({}, why); a field of the wrong type (``"steps": "abc"``, ``1e400``, a pid past any
    real one) is left out and named in the note, so callers can use what remains as is.
    Fields it does not know are passed through untouched.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SUMMARY_BYTES + 1)
    except FileNotFoundError:
        return {}, ""
    except OSError as exc:
        return {}, str(fs_error(path, exc))
    if len(raw) > MAX_SUMMARY_BYTES:
        return {}, f"{path}: unreadable (larger than {MAX_SUMMARY_BYTES // 1024} KiB)"
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return {}, f"{path}: unreadable ({first_line(exc, 120)})"
    if not isinstance(value, dict):
        return {}, f"{path}: unreadable (not a JSON object)"
    clean, bad = {}, []
    for key, item in value.items():
        check = SUMMARY_FIELDS.get(key)
        if check is None or check[0](item):
            clean[key] = item
        else:
            bad.append(f"{key} must be {check[1]}, got {json.dumps(item)[:40]}")
    note = f"{path}: {bad[0]}" + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "") \
        if bad else ""
    return clean, note


MAX_SUMMARY_BYTES = 1 << 20


def check_run_config(path: Path) -> dict:
    """A run's config.toml, read and checked whole: RunError names the file and the fault.

    Besides the config's own rules, it must be complete: the writer ends it with
    CONFIG_END, so a file cut short (or emptied) is not taken for the defaults.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise RunError(f"{path}: missing; this folder is not a complete run") from None
    except IsADirectoryError:
        raise RunError(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise fs_error(path, exc) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise RunError(f"{path}: corrupt (larger than {MAX_CONFIG_BYTES // 1024} KiB)")
    try:
        text = raw.decode("utf-8")
        config = tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RunError(f"{path}: corrupt ({first_line(exc)})") from None
    train = config.get("train")
    complete = text.endswith(CONFIG_END) or (
        all(isinstance(config.get(t), dict) and config.get(t) for t in ("task", "model"))
        and isinstance(train, dict) and "threads" in train)
    if not complete:
        raise RunError(f"{path}: cut short or emptied (a run's config ends with the line "
                       f"{CONFIG_END.strip()!r}); this folder cannot be used")
    try:
        parse_config(config, str(path))
    except ConfigError as exc:
        raise RunError(str(exc)) from None
    return config


MAX_CONFIG_BYTES = 1 << 20


def pid_alive(pid: int) -> bool:
    """Is there a process `pid` on this host?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _alive(path: Path, summary: dict) -> bool:
    """Is the process that writes this run still there?

    Its writer lock says so on any host that shares the folder's locks; a folder from a
    version without the lock falls back to the pid (only knowable on its own host)."""
    if (path / WRITER_LOCK).exists():
        return is_held(path / WRITER_LOCK)
    pid, host = summary.get("pid"), summary.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return host is not None and host != socket.gethostname()
    return pid_alive(pid)


def read_info(path: Path) -> RunInfo:
    """The listing of one run folder; never raises for a damaged folder."""
    path = Path(path)
    info = RunInfo(path=path, name=path.name)
    notes = read_json_object(path / ANNOTATIONS) or {}
    tags = notes.get("tags")
    info.tags = tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else ()
    info.note = notes.get("note") if isinstance(notes.get("note"), str) else ""
    try:
        stamp = path.stat().st_mtime
    except OSError:
        stamp = 0.0
    info.created = info.updated = stamp
    try:
        config = check_run_config(path / CONFIG)
    except RunError as exc:
        info.error = str(exc)
        config = _lenient_toml(path / CONFIG)   # still show what can be read
    task, model = config.get("task", {}), config.get("model", {})
    if config:
        info.task = str(task.get("kind", DEFAULT_KIND))
        info.cell = str(model.get("cell", "lstm"))
        info.hidden = model.get("hidden", 32)
    summary, note = read_summary(path / SUMMARY)
    if note:
        info.error = "; ".join(e for e in (info.error, note) if e)
    if not summary:
        return info
    status = summary.get("status", "interrupted")
    if status == "running" and not _alive(path, summary):
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


def _lenient_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            data = tomllib.loads(fh.read(MAX_CONFIG_BYTES).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    if not all(isinstance(data.get(k, {}), dict) for k in ("task", "model")):
        return {}
    return data


def list_runs(root: Path) -> list[RunInfo]:
    """Every run folder under `root` (sweep groups included), oldest first."""
    root = check_root(Path(root))
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
    config = check_run_config(path / CONFIG)
    summary = read_summary(path / SUMMARY)[0]
    return Run(info=info, config=config, summary=summary, metrics=read_jsonl(path / METRICS))


def truncate_metrics(path: Path, after_step: int) -> None:
    """Drop records past a checkpoint before resuming from it (atomically)."""
    for name in (METRICS, DIAGNOSTICS, SAMPLES):
        if not (path / name).is_file():
            continue
        records = [r for r in read_jsonl(path / name) if r.get("step", 0) <= after_step]
        atomic_write_text(path / name, "".join(json.dumps(r) + "\n" for r in records))
