"""The Sweep screen's sweep, run in a process of its own.

Child: ``_sweep_child`` calls :func:`lstm_tui.sweeps.drive.run_sweep` with a
:class:`~lstm_tui.tui.worker.BatchingForwarder` as its listener, so the runner's events
reach the queue in batches (``FLUSH_HZ``); a sweep that ends without its
``SweepFinished`` (a bad definition, a lock held elsewhere) says so with
:class:`SweepCrashed`.  The child imports neither Textual nor the screen.

Parent: :func:`start_sweep` starts the child as a
:class:`~lstm_tui.tui.worker.ChildProcess`, whose thread drains the queue into an
:class:`~lstm_tui.tui.inbox.EventInbox`; one coalescing
:class:`~lstm_tui.tui.messages.SweepEvents` says there is more.  After ``SweepStarted`` it adds
:class:`ResultsRead`: what earlier invocations left in results.csv.  Stop sets an event
the child's ``should_stop`` reads; a child still there ``stop_grace`` seconds later is
terminated.  The sweep stays resumable, so launching the same definition again trains
only what is left.  Neither side imports torch at import time.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstm_tui.config import ConfigError, RunConfig, config_to_dict, parse_config
from lstm_tui.runs.layout import RESULTS_FILE, RunError
from lstm_tui.sweeps.drive import run_sweep
from lstm_tui.sweeps.runner import SweepFinished, SweepStarted, read_results
from lstm_tui.sweeps.spec import parse_sweep
from lstm_tui.training import processes
from lstm_tui.tui.inbox import EventInbox
from lstm_tui.tui.worker import (ChildProcess, Post, child_session, error_line,
                                 safe_post)

SOURCE = ""                  # config problems found here name no file ("sweep.grid...: ...")
ORIGIN = "lstm-lab's Sweep screen"  # where sweep.toml says the sweep came from
FLUSH_HZ = 12                # event batches per second from the sweep's process
STOP_GRACE = 20.0            # seconds a stopped sweep gets before its process is terminated


@dataclass(frozen=True)
class SweepCrashed:
    """The sweep ended without its SweepFinished: a bad definition, a lock, a dead process."""
    error: str


@dataclass(frozen=True)
class ResultsRead:
    """results.csv as it was when the sweep started (points done by earlier invocations)."""
    rows: list


FINAL = (SweepFinished, SweepCrashed)


# ---------------------------------------------------------------- the child

def _sweep_child(cfg_data: dict, root: str, backend: str, workers: int, q: Any, stop: Any,
                 log_path: str, caller: Any) -> None:
    """Entry point of the sweep's process: run_sweep with a batching listener."""
    with child_session(q, stop, log_path, caller, FLUSH_HZ) as (forward, should_stop):
        try:
            cfg = parse_config(cfg_data, SOURCE)
            spec = parse_sweep(cfg, SOURCE)
            run_sweep(ORIGIN, cfg, spec, Path(root), backend=backend, workers=workers,
                      listener=forward, should_stop=should_stop)
        except BaseException as exc:  # the runner records point failures; this is the rest
            known = (ConfigError, RunError)
            forward(SweepCrashed(error_line(exc, known)))
            if not isinstance(exc, known):
                traceback.print_exc()


# ---------------------------------------------------------------- the parent

def start_sweep(cfg: RunConfig, root: Path, backend: str, workers: int, post: Post,
                stop_grace: float = STOP_GRACE) -> ChildProcess:
    """Launch `cfg`'s sweep in a process of its own; its events reach `post` as SweepEvents."""
    sweep = _SweepDelivery(post)
    # not a daemon: the processes backend starts a pool of its own
    return ChildProcess(
        processes.context(), _sweep_child, (config_to_dict(cfg), str(root), backend, workers),
        key="sweep", inbox=sweep.inbox, name=f"lstm-lab sweep {cfg.name or cfg.task.kind}",
        what="sweep's process", log_prefix="lstm-lab-sweep-", daemon=False,
        stop_grace=stop_grace, deliver=sweep.deliver, died=sweep.died,
        ended=sweep.post)        # the process is gone: say so


class _SweepDelivery:
    """What the drain thread does with the sweep's batches, and with a death unreported."""

    def __init__(self, post: Post) -> None:
        self.inbox = EventInbox()
        self._post = post

    def deliver(self, batch: list) -> bool:
        events = []
        for event in batch:
            events.append(event)
            if isinstance(event, SweepStarted):   # what earlier invocations left
                events.append(ResultsRead(read_results(Path(event.sweep_dir) / RESULTS_FILE)))
        self._put(events)
        return any(isinstance(e, FINAL) for e in events)

    def died(self, terminated: bool, message: str) -> None:
        self._put([SweepCrashed(message + "; launching again resumes" if terminated
                                else message)])

    def _put(self, events: list) -> None:
        self.inbox.put(events)
        self.post()

    def post(self) -> None:
        from lstm_tui.tui.messages import SweepEvents
        safe_post(self._post, SweepEvents(self.inbox))
