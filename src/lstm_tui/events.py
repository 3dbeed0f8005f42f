"""What the training engine reports, as frozen, picklable dataclasses.

The engine calls ``emit(event)`` with these and nothing else; the run store, the headless
progress display, the TUI and the sweep backends are all listeners of the same stream.
Only plain Python values travel here (no tensors), so events cross process boundaries
cheaply and a listener never needs torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SummaryRow:
    layer: str          # "lstm_1"
    kind: str           # "LSTM"
    output_shape: str   # "(None, 20, 32)"
    params: int


@dataclass(frozen=True)
class ModelSummary:
    """A Keras-style parameter table whose total equals the model's real parameter count."""
    rows: tuple[SummaryRow, ...]
    total: int
    trainable: int
    notes: tuple[str, ...] = ()

    @property
    def non_trainable(self) -> int:
        return self.total - self.trainable


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    config: dict               # the resolved config as plain tables (config_to_dict)
    summary: ModelSummary
    device: str
    total_steps: int
    steps_per_epoch: int
    dataset_size: int          # training examples (characters for char_lm)
    metric: str                # "accuracy" | "mad" | "perplexity"
    goal: str                  # "max" | "min"
    start_step: int = 0        # > 0 when resumed
    notes: tuple[str, ...] = ()  # caveats the run's record should keep (e.g. reproducibility)


@dataclass(frozen=True)
class StepMetrics:
    """Training metrics averaged over the last `log_every` steps."""
    step: int
    epoch: int
    loss: float
    metric: float
    lr: float
    grad_norm: float                        # global norm before clipping, at `step`
    grad_norms: dict[str, float]            # per parameter, at `step`
    grad_means: dict[str, float]            # mean |grad| per parameter, at `step`
    mean_abs_grad: float                    # mean |grad| over all parameters, at `step`
    steps_per_sec: float
    seconds: float                          # since the run (or resume) started
    examples_per_sec: float = 0.0


@dataclass(frozen=True)
class ValMetrics:
    step: int
    epoch: int
    loss: float
    metric: float
    best: float                             # best task metric so far (by the task's goal)
    is_best: bool                           # the monitored value improved: best.pt written
    extra: dict[str, float] = field(default_factory=dict)   # e.g. bpc for char_lm
    seconds: float = 0.0


@dataclass(frozen=True)
class TimestepGradients:
    """‖∂L_T/∂h_t‖ for every time step t of the top layer, averaged over a validation batch."""
    step: int
    norms: tuple[float, ...]


@dataclass(frozen=True)
class TextSample:
    step: int
    temperature: float
    text: str


@dataclass(frozen=True)
class CheckpointWritten:
    step: int
    tag: str                                # "best" | "last"
    path: str


@dataclass(frozen=True)
class Forecast:
    """At a validation: the model's one-step-ahead forecasts beside the truth over a
    stretch of validation windows (first target, original units; series tasks)."""
    step: int
    rows: tuple[int, ...]
    truth: tuple[float, ...]
    forecast: tuple[float, ...]
    target: str = ""


@dataclass(frozen=True)
class TaskReport:
    """Task figures merged into summary.json's top level: e.g. {"baselines": {...}} before
    training, {"test": {...}} at the end (measured with the best weights)."""
    figures: dict


@dataclass(frozen=True)
class DataProgress:
    """A task's data being fetched before training starts (text8 on first use): bytes done
    of `total` (0: unknown); done < 0 when the download ended.  Sent by the lab's training
    processes (lstm_tui.tasks.downloads), not by the engine."""
    what: str
    done: int
    total: int


@dataclass(frozen=True)
class Preparing:
    """A wait before the run's first step (compiling its step loop), said when it starts
    so that it is never silent: `what` is short ("compiling the slstm step loop"), `detail`
    how long it may take and how to skip it."""
    what: str
    detail: str = ""


@dataclass(frozen=True)
class Finished:
    status: str          # "completed" | "stopped_early" | "interrupted" | "diverged" | "pruned"
    step: int
    seconds: float
    best: float | None
    final: float | None
    message: str = ""    # why it stopped; advice when diverged


@dataclass(frozen=True)
class Failed:
    error: str           # one line
    step: int
    traceback: str = ""


@dataclass(frozen=True)
class ResourceSample:
    """The training process's CPU and memory (and the GPU's, through NVML) at one moment.

    Not emitted by the engine: lstm_tui.runs.resources samples in a thread and hands the
    newest sample to the listeners before the engine's next event."""
    step: int
    seconds: float                       # since the run (or resume) started
    cpu_percent: float                   # of one core (200 = two cores busy)
    rss_bytes: int
    gpu_util: float | None = None        # percent, None without NVML or on a CPU run
    gpu_mem_bytes: int | None = None     # used on the device
    gpu_mem_total: int | None = None


Event = (RunStarted | StepMetrics | ValMetrics | TimestepGradients | TextSample
         | CheckpointWritten | Forecast | TaskReport | Preparing | Finished | Failed
         | ResourceSample)

STATUSES = ("running", "completed", "stopped_early", "interrupted", "diverged", "failed",
            "pruned")   # pruned: a sweep scheduler stopped the point (never a failure)
