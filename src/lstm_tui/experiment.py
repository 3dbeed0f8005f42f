"""One experiment end to end: a run folder, the engine, and whoever else listens.

Headless runs, the TUI's worker processes and the sweep backends all start runs
through here, so every run lands in the store the same way.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Iterable

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, RunConfig
from lstm_tui.errors import first_line
from lstm_tui.runs.resources import instrument
from lstm_tui.runs.store import (CONFIG, RunError, RunWriter, fs_error, load_run, lock_run,
                                 new_run_dir, truncate_metrics)

Listener = Callable[[ev.Event], None]


def start_run(cfg: RunConfig, root: Path, listeners: Iterable[Listener] = (),
              should_stop: Callable[[], bool] = lambda: False, *, run_dir: Path | None = None,
              on_created: Callable[[Path], None] | None = None) -> tuple[Path, ev.Event]:
    """Train `cfg` into a new folder under `root` (or `run_dir`); returns (folder, last event)."""
    from lstm_tui.training.engine import select_device, train
    select_device(cfg.train.device)  # a missing device is bad input: no folder for it
    created = run_dir is None
    if run_dir is None:
        run_dir = new_run_dir(Path(root), cfg)
    else:
        try:
            Path(run_dir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise fs_error(Path(run_dir), exc) from None
    if on_created:
        on_created(run_dir)
    writer = RunWriter(run_dir, cfg)
    cfg = writer.cfg                       # its data files by their resolved paths
    try:
        return run_dir, train(cfg, instrument(run_dir, _fan_out(writer, listeners)), should_stop,
                              run_id=run_dir.name, save_checkpoint=writer.save_checkpoint)
    except ConfigError as exc:
        # the task could not be built (a text too short, ...): bad input, not a run
        if created:
            writer.close()
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            writer(ev.Failed(error=str(exc), step=0))
        raise


def resume_run(run_dir: Path, listeners: Iterable[Listener] = (),
               should_stop: Callable[[], bool] = lambda: False,
               device: str | None = None) -> tuple[Path, ev.Event]:
    """Continue a run from its last checkpoint, in its own folder.

    Everything is checked before anything is written: the folder's writer lock (a live
    writer refuses the resume), the config, the checkpoint, and that the checkpoint fits
    the model and task the config builds.  A refused resume leaves the folder as it was.
    """
    from lstm_tui.runs.checkpoint import load_checkpoint
    from lstm_tui.training.engine import select_device, train
    run_dir = Path(run_dir)
    lock = lock_run(run_dir)
    try:
        run = load_run(run_dir)
        cfg = run.run_config()
        if device:
            cfg.train.device = device
        try:
            payload = load_checkpoint(run_dir / "last.pt")
        except ValueError as exc:
            raise RunError(f"{exc}; nothing to resume from") from None
        if run.info.status in ("completed", "stopped_early") and payload["step"] >= run.info.steps:
            raise RunError(f"{run_dir}: already {run.info.status} at step {run.info.steps}; "
                           "nothing to resume (start a new run with more train.steps)")
        select_device(cfg.train.device)
        check_resumable(cfg, payload, run_dir / "last.pt")
        truncate_metrics(run_dir, payload["step"])
        writer = RunWriter(run_dir, cfg, resume=True, lock=lock)
    except BaseException:
        lock.release()
        raise
    return run_dir, train(cfg, instrument(run_dir, _fan_out(writer, listeners)), should_stop,
                          run_id=run_dir.name, save_checkpoint=writer.save_checkpoint,
                          resume=payload)


def check_resumable(cfg: RunConfig, payload: dict, source: Path) -> None:
    """RunError unless `payload` loads into the model, optimizer and task `cfg` builds."""
    import torch

    from lstm_tui.training.engine import build
    try:
        exp = build(cfg, torch.device("cpu"))
    except ConfigError as exc:
        raise RunError(f"{source.parent / CONFIG}: {exc}") from None
    if payload.get("vocab") != exp.task.vocab:
        raise RunError(f"{source}: the checkpoint's vocabulary differs from the task's (the "
                       "text or normalize setting changed); cannot resume")
    for key in ("step", "model", "optimizer", "generator", "rng"):
        if key not in payload:
            raise RunError(f"{source}: not a resumable checkpoint (no {key})")
    if not isinstance(payload["step"], int) or payload["step"] < 0:
        raise RunError(f"{source}: step must be a whole number >= 0")
    try:
        exp.model.load_state_dict(payload["model"])
        exp.optimizer.load_state_dict(payload["optimizer"])
        torch.Generator().set_state(payload["generator"])
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise RunError(f"{source}: does not fit the model of {source.parent / CONFIG} "
                       f"({first_line(exc, 200)}); was the config edited?") from None


def is_run_dir(path: Path) -> bool:
    return (Path(path) / CONFIG).is_file()


def _fan_out(writer: RunWriter, listeners: Iterable[Listener]) -> Listener:
    """The writer hears every event first, so a listener that fails cannot lose data."""
    listeners = list(listeners)

    def emit(event: ev.Event) -> None:
        writer(event)
        for listen in listeners:
            listen(event)
    return emit
