"""What runs inside a Ray task of the ray backend (.ray is the driver's side).

`job_stream` trains a job's configs in a thread and yields their events in batches; it is
a plain generator, tested without Ray.  Checkpoints travel as bytes (CheckpointBytes),
never as files: the driver is the only writer of the run store.  With a scheduler, each
validation goes up the stream as a PointEval and the training waits for the verdict the
driver posts to the VerdictBoard actor (read through BoardReader).
"""

from __future__ import annotations

import io
import queue as queue_mod
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, RunConfig
from lstm_tui.errors import error_line
from lstm_tui.sweeps.backends.point import fan_out
from lstm_tui.sweeps.scheduler import PointEval, PruneAgent, QueueLink

FLUSH_EVERY = 0.25       # seconds between two batches of one task's events
VERDICT_POLL = 0.05      # seconds between a waiting task's looks at the VerdictBoard
FLUSH_NOW = (ev.RunStarted, ev.Finished, ev.Failed, PointEval)   # an evaluation waits on it


@dataclass(frozen=True)
class CheckpointBytes:
    """A checkpoint made on a worker, on its way to the driver (``tag``.pt)."""
    tag: str
    data: bytes


def job_stream(configs: Sequence[RunConfig], run_ids: Sequence[str], ensemble: bool = False,
               threads: int = 1, flush_every: float = FLUSH_EVERY, *,
               keys: Sequence[str] | None = None, verdicts=None, metric: str = "",
               poll: float = VERDICT_POLL) -> Iterator[list[tuple[int | None, Any]]]:
    """Train a job's configs, yielding their events in batches of ``(member, item)``.

    The body of the Ray task, a plain generator (so it is tested without Ray).  It writes
    no file: checkpoints travel as :class:`CheckpointBytes`, and the CheckpointWritten
    that follows names only the file (``best.pt``).  A job that breaks as a whole sends
    ``(None, Failed)``.  Closing the generator (a cancelled task) stops the training.
    With `verdicts` (``.get((key, n))``: the verdict or None while undecided), member i
    is the sweep point ``keys[i]``: each validation is sent as a PointEval and its
    training waits for the verdict on the sweep's `metric`.
    """
    import torch

    from lstm_tui.training.threads import set_cpu_budget
    set_cpu_budget(threads)   # the CPUs Ray gave the task; the engine applies the rule
    items: queue_mod.Queue = queue_mod.Queue()
    stop = threading.Event()
    end = object()

    def emit_for(i: int) -> Callable[[ev.Event], None]:
        return lambda event: items.put((i, event))

    def save_for(i: int) -> Callable[[str, dict], str]:
        def save(tag: str, payload: dict) -> str:
            buffer = io.BytesIO()
            torch.save(payload, buffer)
            items.put((i, CheckpointBytes(tag, buffer.getvalue())))
            return f"{tag}.pt"          # the driver puts it in the run folder
        return save

    def agent_for(i: int) -> PruneAgent | None:
        if verdicts is None:
            return None
        link = QueueLink(lambda msg: items.put((i, msg)), verdicts, stop.is_set, metric, poll)
        return PruneAgent(keys[i], metric, link)

    def work() -> None:
        try:
            agents = [agent_for(i) for i in range(len(configs))]
            # the event goes up before its agent asks for a verdict on it
            emits = [fan_out(emit_for(i), *([a] if a else [])) for i, a in enumerate(agents)]
            saves = [save_for(i) for i in range(len(configs))]
            stops = [a.stop if a else None for a in agents]
            if ensemble:
                from lstm_tui.training.ensemble import train_ensemble
                train_ensemble(list(configs), emits, stop.is_set, saves, run_ids=list(run_ids),
                               **({"member_stops": stops} if verdicts is not None else {}))
            else:
                for cfg, emit, save, run_id, agent in zip(configs, emits, saves, run_ids,
                                                          agents):
                    if stop.is_set():
                        break
                    _train_one(cfg, emit, _either(agent, stop.is_set), run_id, save)
        except BaseException as exc:   # reported, never raised: the driver records it
            import traceback
            items.put((None, ev.Failed(error=error_line(exc), step=0,
                                       traceback=traceback.format_exc())))
        finally:
            items.put(end)

    thread = threading.Thread(target=work, name="lstm-lab-train", daemon=True)
    thread.start()
    batch: list = []
    last = time.monotonic()
    try:
        while True:
            try:
                wait = max(0.0, last + flush_every - time.monotonic()) if batch else None
                item = items.get(timeout=wait)
            except queue_mod.Empty:
                item = None
            if item is end:
                break
            if item is not None:
                batch.append(item)
            now = time.monotonic()
            urgent = item is not None and isinstance(item[1], FLUSH_NOW)
            if batch and (urgent or now - last >= flush_every):
                yield batch
                batch, last = [], now
        if batch:
            yield batch
    finally:
        stop.set()          # a cancelled task: the training thread stops at its next step
    thread.join()


def _either(agent: PruneAgent | None, should_stop: Callable[[], bool]):
    return (lambda: agent.stop() or should_stop()) if agent else should_stop


def _train_one(cfg: RunConfig, emit, should_stop, run_id: str, save) -> None:
    from lstm_tui.training.engine import train
    try:
        train(cfg, emit, should_stop, run_id=run_id, save_checkpoint=save)
    except ConfigError as exc:       # e.g. a device this worker lacks
        emit(ev.Failed(error=f"ConfigError: {exc}"[:500], step=0, traceback=""))


def _ray_job(configs, run_ids, ensemble, threads, flush_every, gpu_share=None, prune=None):
    """The Ray task (wrapped by ray.remote in :func:`_remote_job`).  Ray gives a task with
    a fractional `gpus` a share of a card but does not limit its memory: `gpu_share`
    caps it, so tasks sharing a GPU cannot starve each other.  `prune`: (point keys,
    the VerdictBoard's handle, the sweep's metric) when the sweep has a scheduler."""
    if gpu_share:
        from lstm_tui.training import placement
        placement.cap_memory(gpu_share)
    extra = {}
    if prune is not None:
        keys, board, metric = prune
        extra = {"keys": keys, "verdicts": BoardReader(board), "metric": metric}
    yield from job_stream(configs, run_ids, ensemble, threads, flush_every, **extra)


class VerdictBoard:
    """The driver's verdicts where the tasks can read them (a Ray actor with no CPU of
    its own: the driver posts what its Pruner decides, a waiting task looks)."""

    def __init__(self):
        self.verdicts: dict[tuple[str, int], str] = {}

    def post(self, made: list[tuple[str, int, str]]) -> None:
        for key, n, why in made:
            self.verdicts[(key, n)] = why

    def get(self, key: str, n: int) -> str | None:
        return self.verdicts.get((key, n))


class BoardReader:
    """The board as QueueLink reads verdicts (``.get((key, n))``), inside a Ray task."""

    def __init__(self, board):
        self.board = board

    def get(self, key_n: tuple[str, int]) -> str | None:
        import ray
        return ray.get(self.board.get.remote(*key_n))
