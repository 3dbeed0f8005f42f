"""Training in a separate process per run, so a slow step, a crash or a CUDA error can
neither freeze nor kill the UI.

Child (started as lstm_tui.training.processes starts them: forked from a server that
imported torch once, where it can): ``start_run(cfg, root, [forwarder], should_stop)``; the
:class:`BatchingForwarder` buffers the engine's events and puts them on a queue in batches
from a timer (``FLUSH_HZ``), at once for the events that start or end a run; never one
message per step.

Parent: a plain thread per run (in its :class:`ChildProcess`) drains the queue into the
run's :class:`EventInbox` and posts a coalescing
:class:`~lstm_tui.tui.messages.TrainingEvents`; a child that dies without a last event is
reported with :class:`~lstm_tui.tui.messages.WorkerFailed`.
Stopping sets the event; a child that has not ended ``stop_grace`` seconds later is
terminated, and its run folder is marked ``interrupted``.

The machinery both sides share is public, for the Sweep screen's process
(:mod:`lstm_tui.tui.sweep.process`) to use too: :func:`child_session` sets a child up (its
log, signals, forwarder, ``should_stop``) and closes its queue; :class:`ChildProcess`
starts a child, drains its queue in a thread, stops it and, past the grace, terminates it.

The app only sees the :class:`Trainer` protocol, so tests hand it a fake one.  This
module imports neither Textual nor torch at import time (the child imports it).
"""

from __future__ import annotations

import faulthandler
import itertools
import os
import queue
import signal
import sys
import tempfile
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, RunConfig, config_to_dict, parse_config
from lstm_tui.errors import error_line
from lstm_tui.fsio import atomic_write_json
from lstm_tui.runs.layout import SUMMARY
from lstm_tui.runs.summary import read_summary
from lstm_tui.tasks import downloads
from lstm_tui.training import processes   # no torch: how children start, their lifeline
from lstm_tui.tui.inbox import EventInbox

FLUSH_HZ = 15            # batches per second from a child
STOP_GRACE = 5.0         # seconds a stopped child gets before it is terminated
POLL = 0.1               # seconds between the parent's checks of a quiet child

Post = Callable[[Any], object]   # App.post_message (thread-safe)


@dataclass(frozen=True)
class RunCreated:
    """The child made the run folder (before the engine's RunStarted)."""
    path: str


URGENT = (RunCreated, ev.RunStarted, ev.Finished, ev.Failed)
FINAL = (ev.Finished, ev.Failed)


class TrainingHandle(Protocol):
    """One run being trained; its events reach the app as TrainingEvents(key, inbox)."""
    key: str
    inbox: EventInbox

    def stop(self) -> None:
        """Ask the run to stop (returns at once; the run ends as `interrupted`)."""

    def wait(self, timeout: float) -> bool:
        """Block until the run has ended (True) or `timeout` passed (False)."""

    @property
    def alive(self) -> bool: ...


class Trainer(Protocol):
    def start(self, cfg: RunConfig, root: Path, post: Post) -> TrainingHandle:
        """Start training `cfg` into the run store `root`; messages go to `post`."""


def post_events(post: Post, key: str, inbox: EventInbox, events: list) -> None:
    """Hand a batch to the app: into the inbox, then one (coalescing) message."""
    from lstm_tui.tui.messages import TrainingEvents
    inbox.put(events)
    safe_post(post, TrainingEvents(key, inbox))


def safe_post(post: Post, message: Any) -> None:
    """Post from a worker thread; an app that has just closed its loop is no error."""
    try:
        post(message)
    except RuntimeError:     # "Event loop is closed": the app quit meanwhile
        pass


# ---------------------------------------------------------------- the child

class BatchingForwarder:
    """Engine listener in the child: batches events onto `q` at `hz`, urgent ones at once."""

    def __init__(self, q: Any, hz: float = FLUSH_HZ):
        self._q = q
        self._period = 1.0 / hz
        self._lock = threading.Lock()
        self._buffer: list = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lstm-lab-forwarder",
                                        daemon=True)

    def start(self) -> BatchingForwarder:
        self._thread.start()
        return self

    def __call__(self, event: object) -> None:
        with self._lock:
            self._buffer.append(event)
        if isinstance(event, URGENT):
            self.flush()

    def flush(self) -> None:
        with self._lock:     # held while putting, so batches keep their order
            if self._buffer:
                batch, self._buffer = self._buffer, []
                self._q.put(batch)

    def close(self) -> None:
        self._closed.set()
        if self._thread.is_alive():
            self._thread.join()
        self.flush()

    def _loop(self) -> None:
        while not self._closed.wait(self._period):
            self.flush()


@contextmanager
def child_session(q: Any, stop: Any, log_path: str, caller: Any,
                  hz: float = FLUSH_HZ) -> Iterator[tuple[BatchingForwarder, Callable[[], bool]]]:
    """A child's setup and teardown: yields ``(forward, should_stop)``.

    Its output goes to `log_path`, it takes the environment of its `caller`
    (lstm_tui.training.processes.Caller), Ctrl-C is left to the UI, and ``should_stop`` is
    true once `stop` is set or the caller is gone; on the way out the forwarder's last
    batch is put and the queue is flushed.
    """
    # The parent's terminal belongs to the UI: anything printed here would tear it.
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    processes.adopt(caller)
    faulthandler.enable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C belongs to the UI, which stops us
    forward = BatchingForwarder(q, hz).start()

    def should_stop() -> bool:      # asked to, or orphaned (the UI was killed)
        return stop.is_set() or processes.caller_gone()

    try:
        yield forward, should_stop
    finally:
        forward.close()
        q.close()
        q.join_thread()


def _child_main(cfg_data: dict, root: str, slot: int, q: Any, stop: Any,
                log_path: str, caller: Any) -> None:
    """Entry point of a training process; `slot` picks its GPU when there are several
    (lstm_tui.training.placement)."""
    with child_session(q, stop, log_path, caller) as (forward, should_stop):
        try:
            from lstm_tui.experiment import start_run
            from lstm_tui.training import placement
            placement.claim(slot)
            cfg = parse_config(cfg_data)
            # a first-use download (text8) reports as events: the Live pane shows it
            with downloads.reporting(lambda what, done, total:
                                     forward(ev.DataProgress(what, done, total))):
                start_run(cfg, Path(root), [forward], should_stop,
                          on_created=lambda path: forward(RunCreated(str(path))))
        except BaseException as exc:   # the engine reports its own failures; this is the rest
            forward(ev.Failed(error=error_line(exc, (ConfigError,)), step=0,
                              traceback=traceback.format_exc()))


# ---------------------------------------------------------------- the parent

class ProcessTrainer:
    """The real trainer: one process per run."""

    def __init__(self, stop_grace: float = STOP_GRACE):
        self.stop_grace = stop_grace
        self._ctx = processes.context()
        self._started = 0              # runs started: round robin over the GPUs

    def start(self, cfg: RunConfig, root: Path, post: Post) -> ChildProcess:
        run = _RunDelivery(post)
        slot, self._started = self._started, self._started + 1
        return ChildProcess(
            self._ctx, _child_main, (config_to_dict(cfg), str(root), slot), key=run.key,
            inbox=run.inbox, name=f"lstm-lab {cfg.name or cfg.task.kind}",
            what="training process", log_prefix="lstm-lab-worker-", daemon=True,
            stop_grace=self.stop_grace, deliver=run.deliver, died=run.died)


class ChildProcess:
    """A child process that puts batches of events on a queue, and the thread draining it.

    `ctx` is lstm_tui.training.processes.context().  The child runs
    ``target(*args, queue, stop_event, log_path, caller)`` (see
    :func:`child_session`).  Each batch goes to ``deliver(batch)``, which says whether it
    held the child's last event.  A child that ends without one is reported to
    ``died(terminated, message)``: ``terminated`` when it was stopped and had not ended
    `stop_grace` seconds later, the message saying so or how the child died.
    ``ended()`` is called last, once the process is gone.
    """

    def __init__(self, ctx: Any, target: Callable[..., None], args: tuple, *, key: str,
                 inbox: EventInbox, name: str, what: str, log_prefix: str, daemon: bool,
                 stop_grace: float, deliver: Callable[[list], bool],
                 died: Callable[[bool, str], None],
                 ended: Callable[[], None] | None = None) -> None:
        self.key = key
        self.inbox = inbox                # where `deliver` puts the events, for the app
        self.batches = 0                  # batches received from the child
        self._what = what                 # "training process": for the messages
        self._grace = stop_grace
        self._deliver = deliver
        self._died = died
        self._on_end = ended
        self._stop_asked: float | None = None
        self._ended = threading.Event()
        fd, self._log = tempfile.mkstemp(prefix=log_prefix, suffix=".log")
        os.close(fd)
        caller = processes.caller()
        # queues and processes may start a helper (and the forkserver): off the terminal
        with stdio_with_file_descriptors(), processes.quiet_server():
            self._queue = ctx.Queue()
            self._stop = ctx.Event()
            self._process = ctx.Process(target=target, name=name, daemon=daemon,
                                        args=(*args, self._queue, self._stop, self._log,
                                              caller))
            self._process.start()
        self._thread = threading.Thread(target=self._drain, name=f"drain {key}", daemon=True)
        self._thread.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return not self._ended.is_set()

    def stop(self) -> None:
        if self._stop_asked is None:
            self._stop_asked = time.monotonic()
            self._stop.set()

    def wait(self, timeout: float) -> bool:
        return self._ended.wait(timeout)

    # -- the drain thread
    def _drain(self) -> None:
        final, terminated = False, False
        try:
            while not final:
                try:
                    final = self._take(self._queue.get(timeout=POLL))
                except queue.Empty:
                    pass
                if final:
                    break
                if not self._process.is_alive():
                    final = self._deliver_rest()
                    break
                if (self._stop_asked is not None and not terminated
                        and time.monotonic() - self._stop_asked > self._grace):
                    self._process.terminate()
                    terminated = True
            self._process.join(self._grace)
            if self._process.is_alive():       # it said its last word but hangs on exit
                self._process.kill()
                self._process.join()
            final = final or self._deliver_rest()
            if not final:
                self._died(terminated, f"the {self._what} did not stop within "
                           f"{self._grace:g} s and was terminated" if terminated else
                           death_message(self._process.exitcode, self._log, self._what))
        finally:
            self._cleanup()
            self._ended.set()
            if self._on_end is not None:
                self._on_end()

    def _deliver_rest(self) -> bool:
        final = False
        while True:
            try:
                batch = self._queue.get(timeout=POLL)
            except (queue.Empty, EOFError, OSError):
                return final
            final = self._take(batch) or final

    def _take(self, batch: list) -> bool:
        self.batches += 1
        return self._deliver(batch)

    def _cleanup(self) -> None:
        try:
            os.unlink(self._log)
        except OSError:
            pass
        self._queue.close()
        self._queue.cancel_join_thread()


class _RunDelivery:
    """What the drain thread does with one run's batches, and with a death unreported."""
    _ids = itertools.count(1)

    def __init__(self, post: Post) -> None:
        self.key = f"run-{os.getpid()}-{next(self._ids)}"
        self.inbox = EventInbox()
        self.run_dir: Path | None = None
        self._post = post

    def deliver(self, batch: list) -> bool:
        for event in batch:
            if isinstance(event, RunCreated):
                self.run_dir = Path(event.path)
        post_events(self._post, self.key, self.inbox, batch)
        return any(isinstance(e, FINAL) for e in batch)

    def died(self, terminated: bool, message: str) -> None:
        from lstm_tui.tui.messages import WorkerFailed
        if terminated:
            self._mark_folder("interrupted", message)
            post_events(self._post, self.key, self.inbox,
                        [ev.Finished(status="interrupted", step=0, seconds=0.0, best=None,
                                     final=None, message=message)])
            return
        self._mark_folder("failed", message)
        safe_post(self._post, WorkerFailed(self.key, message))

    def _mark_folder(self, status: str, message: str) -> None:
        """The dead child left summary.json saying `running`: say what became of it."""
        if self.run_dir is None:
            return
        path = self.run_dir / SUMMARY
        summary = read_summary(path)[0]
        if summary.get("status") == "running":
            summary.update(status=status, message=message, updated=time.time())
            atomic_write_json(path, summary)


@contextmanager
def stdio_with_file_descriptors() -> Iterator[None]:
    """Real files as sys.stdout/stderr while a process starts.

    Textual captures them with objects whose fileno() is -1, which multiprocessing's
    resource tracker would hand to the new process ("bad value(s) in fds_to_keep").
    """
    saved = sys.stdout, sys.stderr
    with open(os.devnull, "w") as devnull:
        sys.stdout = sys.stderr = devnull
        try:
            yield
        finally:
            sys.stdout, sys.stderr = saved


def death_message(exitcode: int | None, log_path: str, what: str = "training process") -> str:
    """'the training process died (SIGSEGV): Fatal Python error: Segmentation fault'."""
    if exitcode is not None and exitcode < 0:
        try:
            how = signal.Signals(-exitcode).name
        except ValueError:
            how = f"signal {-exitcode}"
    else:
        how = f"exit code {exitcode}"
    try:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            lines = [line.strip() for line in fh.read()[-4000:].splitlines() if line.strip()]
    except OSError:
        lines = []
    said = next((line for line in lines if "Fatal Python error" in line), None)
    said = said or (lines[-1] if lines else "")
    return f"the {what} died ({how})" + (f": {said}" if said else "")
