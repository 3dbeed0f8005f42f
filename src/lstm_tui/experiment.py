"""One experiment end to end: a run folder, the engine, and whoever else listens.

Headless runs, the TUI's worker processes and the sweep backends all start runs
through here, so every run lands in the store the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from lstm_tui import events as ev
from lstm_tui.config import RunConfig
from lstm_tui.runs.resources import instrument
from lstm_tui.runs.store import (CONFIG, RunError, RunWriter, load_run, new_run_dir,
                                 truncate_metrics)

Listener = Callable[[ev.Event], None]


def start_run(cfg: RunConfig, root: Path, listeners: Iterable[Listener] = (),
              should_stop: Callable[[], bool] = lambda: False, *, run_dir: Path | None = None,
              on_created: Callable[[Path], None] | None = None) -> tuple[Path, ev.Event]:
    """Train `cfg` into a new folder under `root` (or `run_dir`); returns (folder, last event)."""
    from lstm_tui.training.engine import select_device, train
    select_device(cfg.train.device)  # a missing device is bad input: no folder for it
    if run_dir is None:
        run_dir = new_run_dir(Path(root), cfg)
    else:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
    if on_created:
        on_created(run_dir)
    writer = RunWriter(run_dir, cfg)
    return run_dir, train(cfg, instrument(run_dir, _fan_out(writer, listeners)), should_stop,
                          run_id=run_dir.name, save_checkpoint=writer.save_checkpoint)


def resume_run(run_dir: Path, listeners: Iterable[Listener] = (),
               should_stop: Callable[[], bool] = lambda: False,
               device: str | None = None) -> tuple[Path, ev.Event]:
    """Continue a run from its last checkpoint, in its own folder."""
    from lstm_tui.runs.checkpoint import load_checkpoint
    from lstm_tui.training.engine import select_device, train
    run = load_run(run_dir)
    cfg = run.run_config()
    if device:
        cfg.train.device = device
    try:
        payload = load_checkpoint(Path(run_dir) / "last.pt")
    except ValueError as exc:
        raise RunError(f"{exc}; nothing to resume from") from None
    if run.info.status in ("completed", "stopped_early") and payload["step"] >= run.info.steps:
        raise RunError(f"{run_dir}: already {run.info.status} at step {run.info.steps}; "
                       "nothing to resume (start a new run with more train.steps)")
    select_device(cfg.train.device)
    truncate_metrics(Path(run_dir), payload["step"])
    writer = RunWriter(Path(run_dir), cfg, resume=True)
    return Path(run_dir), train(cfg, instrument(Path(run_dir), _fan_out(writer, listeners)),
                                should_stop,
                                run_id=Path(run_dir).name, save_checkpoint=writer.save_checkpoint,
                                resume=payload)


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
