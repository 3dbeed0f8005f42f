"""A tracker as one more listener of a run's events, sending from a thread of its own.

What it sends: at RunStarted the flat config as params (and the run's tags); every
training record and validation as metrics with their step; at the end the summary's
numbers, the [expect] verdicts, the run's tags (``lstm-lab tag``), the status, and
config.toml, summary.json and best.pt as files.  The run writer hears every event first
(``experiment._fan_out``), so the end is read from the folder it has just completed.

Why a thread: a tracker is a network service, and the engine's thread only queues.  Why
stop at the first failure: a tracker that is down (a bad URI, a quota) would cost every
call its client's retries; it prints one warning line, is not called again in this
process, and the run goes on with its own folder complete.  At the end the run waits at
most END_WAIT seconds for a tracker to finish sending.
"""

from __future__ import annotations

import importlib
import json
import math
import queue
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

from lstm_tui import events as ev
from lstm_tui.errors import error_line
from lstm_tui.runs.listing import flatten
from lstm_tui.fsio import atomic_write_json, read_json_object
from lstm_tui.runs.layout import ANNOTATIONS, CONFIG, SUMMARY
from lstm_tui.runs.summary import read_summary
from lstm_tui.trackers import TRACKERS, check_names, install_hint

END_WAIT = 60.0            # seconds a run waits at its end for a tracker still sending
RECORD = "trackers.json"   # in the run folder: each tracker's run, continued on a resume
PARAM_SECTIONS = ("name", "task.", "model.", "train.")   # what of the config is a param
BOOKKEEPING = ("pid", "created", "updated", "seconds_before")   # summary numbers not sent

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Group:
    """The sweep a run is a point of: one MLflow parent run, one W&B group."""
    name: str          # the sweep folder's name (sweep-NAME-HASH: one per resolved preset)
    folder: Path       # where the parent run's id is kept (trackers.json)


@dataclass(frozen=True)
class Start:
    run_name: str
    run_dir: Path
    params: dict[str, Any]         # the flat config (task.*, model.*, train.*, name)
    tags: tuple[str, ...]          # the run's tags when it starts (a resumed run has some)
    description: str
    group: Group | None
    previous: dict                 # what this tracker recorded for the run before, if resumed


@dataclass(frozen=True)
class End:
    status: str                    # the run's status (completed, stopped_early, ...)
    step: int
    summary: dict                  # summary.json as written
    numbers: dict[str, float]      # its numbers, flat ("test.mae": 0.59)
    tags: tuple[str, ...]
    note: str
    files: tuple[Path, ...]        # config.toml, summary.json, best.pt (those there)


class Sink(Protocol):
    """One tracker's run (each module's ``open_sink(start)`` makes one)."""
    record: dict                   # kept in trackers.json, handed back on a resume

    def log(self, rows: list[tuple[int, dict[str, float]]]) -> None: ...

    def close(self, end: End) -> None: ...


_down: dict[tuple[str, str], str] = {}    # (tracker, destination) -> why, in this process
_record_lock = threading.Lock()


def warn_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def tracker_listeners(names: Iterable[str], run_dir: Path | str, *, sweep: bool = False,
                      warn: Warn = warn_stderr) -> list[TrackerListener]:
    """A listener per tracker in `names` (``train.log_to``) for the run in `run_dir`;
    `sweep`: the run is a point of the sweep whose folder holds `run_dir`."""
    names = check_names(names, "", "train.log_to")
    folder = Path(run_dir)
    group = Group(folder.parent.name, folder.parent) if sweep else None
    return [TrackerListener(name, folder, group, warn) for name in names]


def reset_failures() -> None:
    """Try trackers that failed in this process again (tests; a long-lived process)."""
    _down.clear()


class TrackerListener:
    """Hears a run's events in the engine's thread; a worker thread talks to the tracker."""

    def __init__(self, name: str, run_dir: Path, group: Group | None = None,
                 warn: Warn = warn_stderr, end_wait: float = END_WAIT):
        self.name, self.run_dir, self.group, self.warn = name, Path(run_dir), group, warn
        self.end_wait = end_wait
        self.module = importlib.import_module(TRACKERS[name].module)
        self.key = (name, self.module.destination())
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.metric = "metric"
        self.ended = False

    @property
    def down(self) -> bool:
        return self.key in _down

    def __call__(self, event: ev.Event) -> None:
        if self.ended or self.down:
            return
        if isinstance(event, ev.RunStarted):
            self.metric = event.metric
            start = self._start(event)
            self.thread = threading.Thread(target=self._work, args=(start,), daemon=True,
                                           name=f"lstm-lab-{self.name}")
            self.thread.start()
        elif self.thread is None:
            return
        elif isinstance(event, ev.StepMetrics):
            self.queue.put(("log", (event.step, train_metrics(event, self.metric))))
        elif isinstance(event, ev.ValMetrics):
            self.queue.put(("log", (event.step, val_metrics(event, self.metric))))
        elif isinstance(event, ev.Finished):
            self._finish(event.status, event.step)
        elif isinstance(event, ev.Failed):
            self._finish("failed", event.step)

    def close(self) -> None:
        """The run's events stopped without an end (a Ray task tried again): the tracker's
        run ends as interrupted, without files (its folder is about to go)."""
        if self.thread is not None and not self.ended:
            self._finish("interrupted", -1)

    # ------------------------------------------------------------ the engine's thread

    def _start(self, event: ev.RunStarted) -> Start:
        flat = flatten(event.config)
        params = {k: v for k, v in flat.items() if k.startswith(PARAM_SECTIONS)}
        previous = _read_record(self.run_dir).get(self.name, {}) if event.start_step else {}
        return Start(self.run_dir.name, self.run_dir, params, _annotations(self.run_dir)[0],
                     str(flat.get("description", "")), self.group,
                     previous if isinstance(previous, dict) else {})

    def _finish(self, status: str, step: int) -> None:
        self.ended = True
        self.queue.put(("end", (status, step)))
        assert self.thread is not None
        self.thread.join(self.end_wait)
        if self.thread.is_alive() and not self.down:
            self.warn(f"warning: {self.name}: still sending after {self.end_wait:.0f} s; the "
                      "run ends without waiting (its own folder is complete)")

    # ------------------------------------------------------------ the worker thread

    def _work(self, start: Start) -> None:
        try:
            sink = self.module.open_sink(start)
            _write_record(self.run_dir, self.name, sink.record)
            held = None
            while True:
                kind, item = held or self.queue.get()
                held = None
                if kind == "end":
                    sink.close(self._end(*item))
                    return
                rows = [item]
                while held is None:          # whatever queued meanwhile goes in one call
                    try:
                        more = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if more[0] == "log":
                        rows.append(more[1])
                    else:
                        held = more
                sink.log(rows)
        except ImportError as exc:
            self._fail(f"{error_line(exc)} ({install_hint(self.name)})")
        except Exception as exc:    # down, a bad URI, a quota, a refused value: never raised
            self._fail(error_line(exc, limit=300))

    def _fail(self, why: str) -> None:
        if self.down:
            return
        _down[self.key] = why
        self.warn(f"warning: {self.name}: {why}; not logging to {self.name} again in this "
                  "process (the run goes on, its own folder complete)")

    def _end(self, status: str, step: int) -> End:
        if step < 0:                         # close(): no final event, no files to send
            return End(status, 0, {}, {}, (), "", ())
        summary = read_summary(self.run_dir / SUMMARY)[0]
        tags, note = _annotations(self.run_dir)
        files = tuple(p for p in (self.run_dir / CONFIG, self.run_dir / SUMMARY,
                                  self.run_dir / "best.pt") if p.is_file())
        return End(status, step, summary, summary_numbers(summary), tags, note, files)


# ---------------------------------------------------------------- what is sent

def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def train_metrics(event: ev.StepMetrics, metric: str) -> dict[str, float]:
    values = {"train/loss": event.loss, f"train/{metric}": event.metric, "train/lr": event.lr,
              "train/grad_norm": event.grad_norm, "train/mean_abs_grad": event.mean_abs_grad,
              "train/steps_per_sec": event.steps_per_sec, "epoch": event.epoch}
    return {k: float(v) for k, v in values.items() if _number(v)}


def val_metrics(event: ev.ValMetrics, metric: str) -> dict[str, float]:
    values = {"val/loss": event.loss, f"val/{metric}": event.metric,
              f"val/best_{metric}": event.best,
              **{f"val/{k}": v for k, v in event.extra.items()}}
    return {k: float(v) for k, v in values.items() if _number(v)}


def summary_numbers(summary: dict) -> dict[str, float]:
    """summary.json's numbers, flat: best, final, steps, seconds, test.mae, baselines..."""
    return {k: float(v) for k, v in flatten(summary).items()
            if _number(v) and k not in BOOKKEEPING}


# ---------------------------------------------------------------- the run folder

def _annotations(run_dir: Path) -> tuple[tuple[str, ...], str]:
    data = read_json_object(run_dir / ANNOTATIONS) or {}
    tags = data.get("tags")
    note = data.get("note")
    return (tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
            note if isinstance(note, str) else "")


def _read_record(folder: Path) -> dict:
    return read_json_object(Path(folder) / RECORD) or {}


def _write_record(folder: Path, name: str, record: dict) -> None:
    """Note the tracker's run beside the run's files (a resume continues it)."""
    with _record_lock:
        data = _read_record(folder)
        data[name] = record
        try:
            atomic_write_json(Path(folder) / RECORD, json.loads(json.dumps(data, default=str)))
        except OSError:
            pass        # the run folder is the run writer's to report on
