"""One way to open a trained run: everything it learned, from its folder alone.

:func:`open_trained` reads the run's config, loads one checkpoint (``best`` falling back
to ``last``, or ``last``) with ``weights_only=True``, rebuilds the model the config
describes, loads the weights into it, moves it to the device and sets it to eval mode.
Sampling text, inspecting a cell and resuming a run start here (and so should
predicting, exporting a model and a Python API), so a run opens the same way and fails
with the same one-line RunError naming the file everywhere.

The model's sizes come from the built task when it is asked for (``with_task=True``:
inspection reads validation sequences from it, a resume checks that the data still gives
the checkpoint's vocabulary); otherwise from the checkpoint (which keeps them), or, for an
older one, its vocabulary (a text model reads and predicts one symbol a step) or the
task's shape; so a run opens without its data.

What the model needs besides its weights to be used on new data (resolved columns, the
train part's normalisation statistics, class labels; the task's ``inference()``) is kept in
the checkpoint; :meth:`TrainedRun.inference` reads it, and for a checkpoint saved before
it was kept, recomputes it from the run's data file (saying so in ``notes``).

Importing this module loads no torch: the TUI's screens name the checkpoints before
they open one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lstm_tui.config import ConfigError, RunConfig
from lstm_tui.errors import first_line
from lstm_tui.runs.layout import CONFIG, RunError
from lstm_tui.runs.reader import read_run_config

CHECKPOINTS = ("best", "last")


@dataclass
class TrainedRun:
    """A run as saved in one of its checkpoints."""
    run_dir: Path
    checkpoint: Path          # the file opened: best.pt, or last.pt
    config: RunConfig         # the resolved config the run was trained with
    payload: dict             # the checkpoint as saved: step, optimizer and RNG states, ...
    model: Any                # weights loaded, on `device`, in eval mode
    device: str
    task: Any = None          # the built task (with_task=True), else None
    vocab: list[str] | None = None    # a text model's symbols, in code order
    classes: list | None = None       # a classifier's label of each output
    sizes: tuple = ()                 # the model's (inputs, outputs, read-out "last"/"all")
    notes: list[str] = field(default_factory=list)   # lines a front end shows (stderr)

    @property
    def step(self) -> int:
        """The training step the checkpoint was saved at."""
        return int(self.payload.get("step", 0))

    @property
    def kind(self) -> str:
        return self.config.task.kind

    def inference(self) -> dict:
        """The task's ``inference()`` as the checkpoint keeps it; for an older checkpoint,
        recomputed from the run's data file (a note says so), else a one-line RunError."""
        saved = self.payload.get("inference")
        if isinstance(saved, dict):
            return saved
        task = self.task
        if task is None:
            try:
                read_run_config(self.run_dir)          # the data as the run trained on them
                task = _build_task(self.config, self.run_dir, "cpu")
            except (RunError, ConfigError) as exc:
                raise RunError(f"{self.checkpoint}: saved without the statistics of its "
                               f"training data (an older lstm-lab), and they cannot be "
                               f"recomputed: {exc}") from None
        self.payload["inference"] = info = task.inference()
        self.notes.append(f"{self.checkpoint.name} was saved without the statistics of its "
                          "training data (an older lstm-lab); recomputed them from the "
                          "run's data file")
        return info


def checkpoint_file(run_dir: Path, checkpoint: str = "best") -> Path:
    """best.pt (falling back to last.pt when no best was saved) or last.pt."""
    if checkpoint not in CHECKPOINTS:
        raise ConfigError("--checkpoint", "checkpoint",
                          f"must be one of best, last, got {checkpoint!r}")
    path = Path(run_dir) / f"{checkpoint}.pt"
    if checkpoint == "best" and not path.exists():
        path = Path(run_dir) / "last.pt"
    if not path.exists():
        which = "neither best.pt nor last.pt" if checkpoint == "best" else "no last.pt"
        raise RunError(f"{run_dir}: no checkpoint yet ({which}; a run saves one at each "
                       "validation)")
    return path


def open_trained(run_dir: Path, checkpoint: str = "best", *, device: str = "cpu",
                 with_task: bool = False) -> TrainedRun:
    """The run in `run_dir` as saved in its `checkpoint` (see the module's docstring)."""
    from lstm_tui.models.network import build_model
    from lstm_tui.runs.checkpoint import load_checkpoint

    run_dir = Path(run_dir)
    path = checkpoint_file(run_dir, checkpoint)
    cfg = read_run_config(run_dir, data=with_task)    # the checkpoint keeps the rest
    try:
        payload = load_checkpoint(path)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    vocab = _list_or_none(payload.get("vocab"))
    task = _build_task(cfg, run_dir, device) if with_task else None
    if task is not None and vocab != _list_or_none(task.vocab):
        raise RunError(f"{path}: the checkpoint's vocabulary differs from the task's (the "
                       "text or normalize setting changed)")
    sizes = _sizes(cfg, run_dir, payload, vocab, task)
    model = build_model(cfg.model, *sizes)
    try:
        model.load_state_dict(payload["model"])
    except (RuntimeError, KeyError, TypeError) as exc:
        raise RunError(f"{path}: does not fit the model of {run_dir / CONFIG} "
                       f"({first_line(exc, 200)}); was the config edited?") from None
    model.to(device).eval()
    classes = _list_or_none(payload.get("classes") or getattr(task, "classes", None))
    return TrainedRun(run_dir, path, cfg, payload, model, str(device), task, vocab, classes,
                      tuple(sizes))


def _build_task(cfg: RunConfig, run_dir: Path, device: str) -> Any:
    from lstm_tui.tasks import build_task
    try:
        return build_task(cfg.task, cfg.train.seed).to(device)
    except ConfigError as exc:   # its data moved or changed since the run
        raise RunError(f"{run_dir / CONFIG}: {exc}") from None


def _sizes(cfg: RunConfig, run_dir: Path, payload: dict, vocab: list[str] | None,
           task: Any) -> tuple[int, int, str]:
    """(inputs, outputs, read-out) of the model the checkpoint holds."""
    if task is not None:
        return task.input_size, task.output_size, task.readout
    sizes = payload.get("sizes")
    if isinstance(sizes, (list, tuple)) and len(sizes) == 3:
        return int(sizes[0]), int(sizes[1]), str(sizes[2])
    if vocab:
        return len(vocab), len(vocab), "all"
    from lstm_tui.tasks.registry import describe_task
    try:
        shape = describe_task(cfg.task)
    except ConfigError as exc:
        raise RunError(f"{run_dir / CONFIG}: {exc}") from None
    return shape.input_size, shape.output_size, shape.readout


def _list_or_none(value: Any) -> list | None:
    return list(value) if value is not None else None
