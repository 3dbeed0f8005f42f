"""Writing a run folder: a fresh folder, its writer lock, and the listener that records a
run's events into it (the files and their formats: runs.layout).

Every file is either replaced atomically (config.toml once, summary.json at every
validation and at the end; lstm_tui.fsio) or appended a line at a time and flushed
(metrics, diagnostics, samples), so a crash at any moment leaves a folder the readers
(runs.reader) list as `interrupted`, and a resume (experiment.resume_run) continues.
With `behind=True` (a training run's writer) the writes before and during the run,
replacements and lines alike, are done in order by a background thread (runs.behind), so
neither building the run nor the training loop waits for the disk.
No torch, no Textual.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from pathlib import Path
from typing import Any, Callable

from lstm_tui import events as ev
from lstm_tui.config import RunConfig, run_toml
from lstm_tui.expect.run import RunExpectations
from lstm_tui.fsio import (atomic_link, atomic_write_bytes, atomic_write_json, atomic_write_text,
                           finite)
from lstm_tui.runs import datarecord
from lstm_tui.runs.behind import WriteBehind
from lstm_tui.runs.index import note_change
from lstm_tui.runs.layout import (CONFIG, DIAGNOSTICS, METRICS, SAMPLES, SUMMARY,
                                  WRITER_LOCK, RunError, check_root, fs_error)
from lstm_tui.runs.liveness import clean_stale_tmp
from lstm_tui.runs.lock import FolderLock, LockHeld
from lstm_tui.runs.reader import read_jsonl
from lstm_tui.runs.summary import read_summary


# Writing behind, a tag's checkpoint reaches the disk at most this often (seconds): a run
# that validates every few steps (the sunspots preset: every 16 ms of training) would
# otherwise serialize and fsync a checkpoint per validation (benchmarks/RESULTS.md).
CHECKPOINT_EVERY = 1.0


def _clean(value: float | None) -> float | None:
    """JSON has no NaN; a non-finite float is written as null."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return float(value)


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
    `behind`: from a new run's config (a resumed run's first summary: on the spot) to the
    last summary (on the spot), the files are written behind the caller's back
    (runs.behind), in the order asked; a failed write is raised by the writer's next
    call.
    """

    def __init__(self, run_dir: Path, cfg: RunConfig, *, resume: bool = False,
                 lock: FolderLock | None = None, behind: bool = False):
        self.dir = Path(run_dir)
        self._behind = WriteBehind() if behind else None
        self._dirty = False     # behind: the summary has changes not yet queued
        self._news = False      # behind: ... among them the first steps or a new checkpoint
        self._stored: tuple | None = None   # behind: the last payload, its copy, its files
        self._checkpoint_queued: dict[str, float] = {}   # behind: tag -> when last queued
        self._held: dict[str, tuple[dict, list]] = {}     # behind: tag -> newest not queued
        self.lock = lock if lock is not None and lock.held else lock_run(self.dir)
        self.started = time.time()
        self.summary: dict[str, Any] = {}
        self.write_error = ""
        self._indexed_status = None     # the status the store's index last heard of
        try:
            clean_stale_tmp(self.dir)
            if resume:
                self.summary = read_summary(self.dir / SUMMARY)[0]
                self.summary.pop("empty", None)
            else:   # the data files by their resolved path, pinned by size and hash
                cfg, record = datarecord.pin(cfg)
                self._write(self.dir / CONFIG, atomic_write_text, run_toml(cfg))
                if record:
                    self._write(self.dir / datarecord.DATA, atomic_write_json, record)
            self.summary.update(status="running", pid=os.getpid(),
                                host=socket.gethostname(), updated=self.started)
            self.summary.setdefault("created", self.started)
            self.summary.setdefault("name", self.dir.name)
            self.summary.setdefault("seconds_before", 0.0)
            # a new run's: writing behind, first in the queue, they go to the disk while
            # the engine builds the task and the model (the writer lock's file was made:
            # the fresh folder takes files; one that fails fails the run at its first
            # event); a resumed run's, on the spot: a folder that refuses it is refused
            # now, untouched
            self._write_summary(now=resume)
            # the appended files kept open: metrics.jsonl, and writing behind (one run
            # in its process) diagnostics and samples from their first line (an open per
            # line cost 100 us); a sweep's ensemble has hundreds of writers: one file each
            self._lines = {METRICS: open(self.dir / METRICS, "a", encoding="utf-8")}
        except OSError as exc:
            self.lock.release()
            raise fs_error(self.dir, exc) from None
        self.cfg = cfg        # as written: a new run's data files by their resolved paths
        self._metric_name = "metric"
        self._expect = RunExpectations(cfg)
        if resume and self._expect.active:   # judged on the validations before it too
            for record in read_jsonl(self.dir / METRICS):
                if record.get("split") == "val":
                    self._expect.heard(record)

    # -- the listener
    def __call__(self, event: ev.Event) -> None:
        if self._behind is not None:   # a write behind failed: fail here, as it would have
            if isinstance(event, ev.Finished):   # the last summary replaces a waiting one
                self._behind.drop(self.dir / SUMMARY)
                self._release_held()
                self._behind.drain()
            elif not isinstance(event, ev.Failed):
                self._behind.check()
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
            if self._dirty:    # a validation's heartbeat (no checkpoints): without a wake
                self._write_summary(wake=False)
            self._append(METRICS, {
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
            self._append(METRICS, record)
            self._expect.heard(record)
            # a heartbeat: readers of a live run see its progress in summary.json; the
            # first one at once (a killed run without steps would list as empty)
            self._news = self._news or not self.summary.get("steps")
            self.summary.update(steps=event.step, best=_clean(event.best),
                                final=_clean(event.metric),
                                seconds=self.summary["seconds_before"] + event.seconds)
            self._write_summary(soon=True)
        elif isinstance(event, ev.TimestepGradients):
            self._append(DIAGNOSTICS, {"step": event.step,
                                       "timestep_grad_norms": [_clean(v) for v in event.norms]})
        elif isinstance(event, ev.TextSample):
            self._append(SAMPLES, {"step": event.step, "temperature": event.temperature,
                                   "text": event.text})
        elif isinstance(event, ev.TaskReport):
            self.summary.update(event.figures)
            self._write_summary()
        elif isinstance(event, ev.CheckpointWritten):
            named = self.summary.get("checkpoints", {})
            self._news = self._news or event.tag not in named
            # a new dict: a summary waiting to be written behind keeps the one it had
            self.summary["checkpoints"] = {**named, event.tag: Path(event.path).name}
            self.summary["steps"] = event.step
            # "last" ends a validation's checkpoints (training.record): one write for them
            # all, a heartbeat that wakes the writing thread only for a new checkpoint
            self._write_summary(soon=event.tag != "last", wake=False)
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
        """Write best.pt / last.pt atomically (the engine calls this).

        Writing behind, a tag's file is written at most every CHECKPOINT_EVERY seconds:
        a newer version held meanwhile replaces an older one, and the newest goes to the
        disk once the interval is over or the run ends (a run killed outright loses at
        most that much of its newest checkpoints, never the first one)."""
        from lstm_tui.runs.checkpoint import save_checkpoint
        path = self.dir / f"{tag}.pt"
        if self._behind is None:
            return str(save_checkpoint(path, payload))
        # the payload of the tag before (best, then last, at a validation that improved:
        # training.record) is serialized once and its file linked, if it was written
        if self._stored is not None and self._stored[0] is payload:
            _, kept, earlier = self._stored
        else:   # the run's own copy (training.record.Record.checkpoint): serialized behind
            kept, earlier = {"payload": payload}, []
        self._stored = (payload, kept, earlier)
        now = time.monotonic()
        queued = self._checkpoint_queued.get(tag)
        if queued is None and not path.exists():
            pass                   # the first version: a summary will name the file
        elif queued is not None and now - queued < CHECKPOINT_EVERY:
            self._held[tag] = (kept, [])      # held: no other version to link to then
            return str(path)
        self._held.pop(tag, None)
        self._queue_checkpoint(tag, kept, earlier, now)
        return str(path)

    def _queue_checkpoint(self, tag: str, kept: dict, earlier: list, now: float) -> None:
        from lstm_tui.runs.checkpoint import checkpoint_bytes
        path = self.dir / f"{tag}.pt"

        def write() -> None:
            if not (earlier and atomic_link(earlier[0], path)):
                if "bytes" not in kept:
                    kept["bytes"] = checkpoint_bytes(kept.pop("payload"), path)
                atomic_write_bytes(path, kept["bytes"])
            earlier.append(path)
        self._checkpoint_queued[tag] = now
        # a disk that falls behind skips a waiting version, never the first: a summary
        # naming the file finds one (an older one, as when a run dies before writing it)
        self._behind.put(path, write, supersede=path.exists(),
                         wake=False)   # with the summary that names it

    def _release_held(self) -> None:
        """Queue the checkpoints held back by CHECKPOINT_EVERY (the run ends)."""
        held, self._held = self._held, {}
        for tag, (kept, earlier) in held.items():
            self._queue_checkpoint(tag, kept, earlier, time.monotonic())

    def close(self) -> None:
        if self._behind is not None:
            self._release_held()
            self._behind.drain(quiet=True)
        for fh in self._lines.values():
            try:
                fh.close()
            except OSError:
                pass
        self.lock.release()

    def _end(self) -> None:
        """The last summary: never raises, so a full disk still ends the run cleanly."""
        if self._behind is not None:
            self._release_held()
            self._behind.drain(quiet=True)
            # a checkpoint whose write behind failed is not named
            self.summary["checkpoints"] = {
                tag: name for tag, name in self.summary.get("checkpoints", {}).items()
                if (self.dir / name).is_file()}
            if not self.summary["checkpoints"]:
                del self.summary["checkpoints"]
        if not self.summary.get("steps"):
            self.summary["empty"] = True   # stopped before its first step: `rm --empty`
        try:
            self._write_summary(now=True)
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
                    data = json.dumps(finite(summary), separators=(",", ":"),
                                      allow_nan=False).encode()
                    if len(data) + 1 <= room:
                        fh.write(data + b" " * (room - len(data) - 1) + b"\n")
                        return
        except OSError:
            pass

    def _append(self, name: str, record: dict) -> None:
        """`record` as a line appended to the file `name` and flushed; writing behind, in
        the queue with the replacements (appending from the training thread while the
        writing thread flushes to the disk measured slower: ext4's journal, likely)."""
        line = json.dumps(record, allow_nan=False) + "\n"
        if self._behind is None:
            self._write_line(name, line)
        else:
            self._behind.put(self.dir / name, lambda: self._write_line(name, line), wake=False)

    def _write_line(self, name: str, line: str) -> None:
        fh = self._lines.get(name)
        if fh is None:
            if self._behind is None:
                with open(self.dir / name, "a", encoding="utf-8") as fh:
                    fh.write(line)
                return
            fh = self._lines[name] = open(self.dir / name, "a", encoding="utf-8")
        fh.write(line)
        fh.flush()

    def _write(self, path: Path, write: Callable[[Path, Any], None], data: Any) -> None:
        """`write(path, data)`, behind the caller when writing behind."""
        if self._behind is None:
            write(path, data)
        else:
            self._behind.put(path, lambda: write(path, data))

    def _write_summary(self, now: bool = False, soon: bool = False, wake: bool = True) -> None:
        """Replace summary.json: on the spot when `now` (or without write behind), else
        behind the caller; `soon`: with the next train record or last checkpoint, so that
        a validation and its checkpoints take one write.  `wake=False`: a heartbeat, done
        within runs.behind.LATER seconds unless it is news: the first steps, or a
        checkpoint named for the first time (at once: a run killed early lists with its
        steps and its first checkpoint, never as empty)."""
        self.summary["updated"] = time.time()
        if now or self._behind is None:
            atomic_write_json(self.dir / SUMMARY, self.summary)
            self._dirty = False
            self._index(self.summary)
            return
        if soon:
            self._dirty = True
            return
        self._dirty = False
        wake, self._news = wake or self._news, False
        # a copy: the events that follow update the summary while this one waits
        summary, path = dict(self.summary), self.dir / SUMMARY
        self._behind.put(path, lambda: (atomic_write_json(path, summary), self._index(summary)),
                         supersede=True, wake=wake)

    def _index(self, written: dict) -> None:
        """Tell the store's index of a summary on disk whose status is news (started,
        ended), after its write."""
        if written.get("status") != self._indexed_status:
            self._indexed_status = written.get("status")
            note_change(self.dir)




def truncate_metrics(path: Path, after_step: int) -> None:
    """Drop records past a checkpoint before resuming from it (atomically)."""
    for name in (METRICS, DIAGNOSTICS, SAMPLES):
        if not (path / name).is_file():
            continue
        records = [r for r in read_jsonl(path / name) if r.get("step", 0) <= after_step]
        atomic_write_text(path / name, "".join(json.dumps(r) + "\n" for r in records))
