"""One experiment end to end: a run folder, the engine, and whoever else listens.

Headless runs, the TUI's worker processes and the sweep backends all start runs
through here, so every run lands in the store the same way.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Iterable, Sequence

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, RunConfig
from lstm_tui.errors import first_line
from lstm_tui.runs.layout import CONFIG, RunError, fs_error
from lstm_tui.runs.reader import read_info
from lstm_tui.runs.resources import instrument
from lstm_tui.runs.trained import TrainedRun, open_trained
from lstm_tui.runs.writer import RunWriter, lock_run, new_run_dir, truncate_metrics
from lstm_tui.trackers import merged, require
from lstm_tui.trackers.listen import tracker_listeners

Listener = Callable[[ev.Event], None]


def start_run(cfg: RunConfig, root: Path, listeners: Iterable[Listener] = (),
              should_stop: Callable[[], bool] = lambda: False, *, run_dir: Path | None = None,
              on_created: Callable[[Path], None] | None = None) -> tuple[Path, ev.Event]:
    """Train `cfg` into a new folder under `root` (or `run_dir`); returns (folder, last event)."""
    from lstm_tui.training.engine import select_device, train
    select_device(cfg.train.device)  # a missing device is bad input: no folder for it
    require(cfg.train.log_to)        # so is a tracker whose extra is not installed
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
    writer = RunWriter(run_dir, cfg, behind=True)
    cfg = writer.cfg                       # its data files by their resolved paths
    listeners = [*listeners, *tracker_listeners(cfg.train.log_to, run_dir)]
    try:
        return run_dir, train(cfg, instrument(run_dir, _fan_out(writer, listeners),
                                              behind=True), should_stop,
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
               device: str | None = None,
               log_to: Sequence[str] = ()) -> tuple[Path, ev.Event]:
    """Continue a run from its last checkpoint, in its own folder; `log_to`: trackers to
    log to besides its config's ``train.log_to`` (a tracker's run it had is continued).

    Everything is checked before anything is written: the folder's writer lock (a live
    writer refuses the resume), the config, the checkpoint, and that the checkpoint fits
    the model and task the config builds.  A refused resume leaves the folder as it was.
    """
    from lstm_tui.training.engine import select_device, train
    run_dir = Path(run_dir)
    lock = lock_run(run_dir)
    try:
        trained = open_trained(run_dir, "last", with_task=True)
        cfg, payload = trained.config, trained.payload
        if device:
            cfg.train.device = device
        cfg.train.log_to = merged(cfg.train.log_to, log_to)
        require(cfg.train.log_to)
        info = read_info(run_dir)
        if info.status in ("completed", "stopped_early") and trained.step >= info.steps:
            raise RunError(f"{run_dir}: already {info.status} at step {info.steps}; "
                           "nothing to resume (start a new run with more train.steps)")
        select_device(cfg.train.device)
        check_resumable(trained)
        truncate_metrics(run_dir, payload["step"])
        writer = RunWriter(run_dir, cfg, resume=True, lock=lock, behind=True)
    except BaseException:
        lock.release()
        raise
    listeners = [*listeners, *tracker_listeners(cfg.train.log_to, run_dir)]
    return run_dir, train(cfg, instrument(run_dir, _fan_out(writer, listeners),
                                          behind=True), should_stop,
                          run_id=run_dir.name, save_checkpoint=writer.save_checkpoint,
                          resume=payload)


def check_resumable(trained: TrainedRun) -> None:
    """RunError unless the checkpoint holds a training state the run can go on from: its
    step, and optimizer and random states that fit what the config builds (the weights
    and the vocabulary were checked when it was opened)."""
    import torch

    from lstm_tui.training.optim import build_optimizer
    payload, source = trained.payload, trained.checkpoint
    for key in ("step", "optimizer", "generator", "rng"):
        if key not in payload:
            raise RunError(f"{source}: not a resumable checkpoint (no {key})")
    if not isinstance(payload["step"], int) or payload["step"] < 0:
        raise RunError(f"{source}: step must be a whole number >= 0")
    try:
        optimizer = build_optimizer(trained.model.parameters(), trained.config.train)
        optimizer.load_state_dict(payload["optimizer"])
        torch.Generator().set_state(payload["generator"])
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise RunError(f"{source}: does not fit the model of {trained.run_dir / CONFIG} "
                       f"({first_line(exc, 200)}); was the config edited?") from None


def _fan_out(writer: RunWriter, listeners: Iterable[Listener]) -> Listener:
    """The writer hears every event first, so a listener that fails cannot lose data."""
    listeners = list(listeners)

    def emit(event: ev.Event) -> None:
        writer(event)
        for listen in listeners:
            listen(event)
    return emit
