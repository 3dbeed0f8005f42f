"""One run's training record, kept the same way by both engines.

The single-run engine (training/engine.py) and the batched ensemble
(training/ensemble/) differ only in how a step is computed.  What they report about a
run is made here, once: its start, its windowed train figures and the divergence rules
(a non-finite loss, a loss grown past GROWTH_LIMIT times its start, a non-finite
validation loss), each validation with its best value and early stopping, what a
checkpoint holds (and how a resume reads it back), and its end.  A change to any of
these is made in this module and holds for both engines.
"""

from __future__ import annotations

import math
import traceback
from copy import copy as shallow_copy
from typing import Callable

import torch

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, RunConfig, config_to_dict
from lstm_tui.errors import error_line
from lstm_tui.models import summarize
from lstm_tui.training import rng, task_reports, validation
from lstm_tui.training.window import Logged, better

Emit = Callable[[ev.Event], None]
SaveCheckpoint = Callable[[str, dict], str]
Verdict = tuple[str, str]      # (status, message) that ends a run

DIVERGED_ADVICE = ("loss became non-finite at step {step}: lower train.lr (now {lr:g}), "
                   "set train.grad_clip (e.g. 1.0) or standardize the inputs")
# A finite loss this many times its first logged value also counts as diverged (a loss
# at 1e13 is no result); far beyond the early swings of any task here.
GROWTH_LIMIT = 1000.0
GREW_ADVICE = ("train loss grew to {loss:.3g}, over {factor:g}x its start ({start:.3g}), by step "
               "{step}: lower train.lr (now {lr:g}), set train.grad_clip (e.g. 1.0) or "
               "standardize the inputs")


def copied(states):
    """A copy of `states` (state dicts) that training can go on changing under:
    containers copied, each tensor onto a copy of its storage, storages shared as the
    originals share theirs (torch.save writes the very same bytes); other values as
    they are."""
    storages: dict = {}

    def copy(value):
        if isinstance(value, torch.Tensor):
            storage = value.untyped_storage()
            nbytes = storage.nbytes()
            key = (storage.data_ptr(), nbytes) if nbytes else id(value)
            if key not in storages:
                if (value.storage_offset() == 0 and value.is_contiguous()
                        and value.numel() * value.element_size() == nbytes):
                    # the whole storage: a plain clone, a third of a storage's clone
                    # and set_ (a checkpoint has dozens of small tensors)
                    clone = value.detach().clone()
                    storages[key] = clone.untyped_storage()
                    return clone
                storages[key] = storage.clone()
            return value.new_empty(0).set_(storages[key], value.storage_offset(),
                                           value.size(), value.stride())
        if isinstance(value, dict):   # its own type and attributes (a state dict's
            clone = shallow_copy(value)   # _metadata), its values copied in place
            for k, v in clone.items():
                clone[k] = copy(v)
            return clone
        if isinstance(value, (list, tuple)):
            return type(value)(copy(v) for v in value)
        return value
    return copy(states)


def failed(exc: BaseException, step: int) -> ev.Failed:
    """The event of a run that failed with `exc` (call it inside the `except` block)."""
    return ev.Failed(error=error_line(exc), step=step, traceback=traceback.format_exc())


class Record:
    """What one run has reported and the figures its stopping rules keep.

    `emit` and `save` are the run's listener and checkpoint writer; `clock()` gives the
    seconds since training started; `names` and `n_params` are the model's trainable
    parameters, in the order of the gradient figures.
    """

    def __init__(self, cfg: RunConfig, task, device: torch.device, emit: Emit,
                 save: SaveCheckpoint | None, *, names: list[str], n_params: int,
                 steps_per_epoch: int, clock: Callable[[], float]) -> None:
        self.cfg, self.tc, self.task, self.device = cfg, cfg.train, task, device
        self.emit, self.save, self.clock = emit, save, clock
        self.names, self.n_params, self.steps_per_epoch = names, n_params, steps_per_epoch
        self.best: float | None = None          # best val metric, by the task's goal
        self.best_monitor: float | None = None  # best monitored figure (metric or loss)
        self.final: float | None = None         # the last val metric
        self.bad_evals = 0                      # validations since the monitor improved
        self.start_loss: float | None = None    # the first logged loss, for GROWTH_LIMIT
        self.best_weights = task_reports.BestWeights(task)
        self.config = config_to_dict(cfg)       # once: every checkpoint holds it
        self.extra = task.checkpoint_extra()    # so do these (fixed once the task is built)

    # ---- start and end

    def announce(self, run_id: str, total_steps: int, start_step: int,
                 model: torch.nn.Module, notes: tuple[str, ...] = ()) -> None:
        """The run's start event (with the engine's `notes`), then the task's figures
        known before training."""
        task = self.task
        summary = summarize(self.cfg.model, task.input_size, task.output_size, task.seq_len,
                            task.readout)
        self.emit(ev.RunStarted(run_id=run_id, config=config_to_dict(self.cfg), summary=summary,
                                device=str(self.device), total_steps=total_steps,
                                steps_per_epoch=self.steps_per_epoch,
                                dataset_size=task.train_size, metric=task.metric,
                                goal=task.goal, start_step=start_step,
                                notes=rng.notes(model, self.device) + tuple(notes)))
        task_reports.start(task, self.emit)

    def finish(self, status: str, message: str, step: int,
               model: torch.nn.Module) -> ev.Finished:
        """The task's final figures (with the best weights) and the run's last event."""
        self.best_weights.finish(model, self.tc.batch_size, status, self.emit)
        event = ev.Finished(status=status, step=step, seconds=self.clock(), best=self.best,
                            final=self.final, message=message)
        self.emit(event)
        return event

    # ---- train records

    def log(self, step: int, figures: Logged, lr: float) -> Verdict | None:
        """Emit the window's train record; a verdict when the run diverged."""
        if figures.first_bad is not None:
            first_bad = step - figures.steps + figures.first_bad + 1
            return "diverged", DIVERGED_ADVICE.format(step=first_bad, lr=lr)
        seconds = figures.seconds
        rate = figures.steps / seconds if seconds > 0 else 0.0
        loss = figures.loss
        self.emit(ev.StepMetrics(
            step=step, epoch=step // self.steps_per_epoch, loss=loss,
            metric=self.task.reduce_metric(figures.metric_total, figures.metric_count),
            lr=lr, grad_norm=figures.grad_norm,
            grad_norms=dict(zip(self.names, figures.grad_norms)),
            grad_means=dict(zip(self.names, figures.grad_means)),
            mean_abs_grad=figures.abs_total / max(1, self.n_params), steps_per_sec=rate,
            seconds=self.clock(), examples_per_sec=rate * self.tc.batch_size))
        if self.start_loss is None:
            self.start_loss = figures.first_loss   # the untrained model's loss
        if self.start_loss > 0 and loss > GROWTH_LIMIT * self.start_loss:
            return "diverged", GREW_ADVICE.format(loss=loss, factor=GROWTH_LIMIT,
                                                  start=self.start_loss, step=step, lr=lr)
        return None

    def validate(self, step: int, model: torch.nn.Module, lr: float,
                 checkpoint: Callable[[str | tuple[str, ...]], None]) -> Verdict | None:
        """Evaluate `model`, record and report it, write the checkpoints through
        `checkpoint(tags)` (see :meth:`checkpoint`); a verdict when the run must end
        (diverged, stopped early)."""
        cfg, tc, task = self.cfg, self.tc, self.task
        first: list[torch.Tensor] = []     # the first batch's output, for the forecast
        val_loss, val_metric, norms = validation.measure(model, task, tc.batch_size,
                                                         first.append)
        self.final = val_metric
        if not math.isfinite(val_loss):
            return "diverged", DIVERGED_ADVICE.format(step=step, lr=lr)
        if better(val_metric, self.best, task.goal, tc.min_delta):
            self.best = val_metric
        monitor_goal = task.goal if tc.monitor == "metric" else "min"
        monitored = val_metric if tc.monitor == "metric" else val_loss
        improved = better(monitored, self.best_monitor, monitor_goal, tc.min_delta)
        if improved:
            self.best_monitor, self.bad_evals = monitored, 0
        else:
            self.bad_evals += 1
        self.emit(ev.ValMetrics(step=step, epoch=step // self.steps_per_epoch, loss=val_loss,
                                metric=val_metric, best=self.best, is_best=improved,
                                extra=task.val_extra(val_loss), seconds=self.clock()))
        self.emit(ev.TimestepGradients(step=step, norms=tuple(norms)))
        task_reports.forecast(task, model, step, self.emit, first[0] if first else None)
        if task.vocab is not None and getattr(cfg.task, "sample_length", 0):
            self.emit(ev.TextSample(step=step, temperature=cfg.task.sample_temperature,
                                    text=validation.sample_text(model, task, cfg.task,
                                                                (tc.seed + step) % 2 ** 64)))
        if improved:
            self.best_weights.improved(model)
        checkpoint(("best", "last") if improved else "last")
        if tc.patience and self.bad_evals >= tc.patience:
            return "stopped_early", (f"no improvement of val {tc.monitor} in {self.bad_evals} "
                                     f"evaluations (patience {tc.patience})")
        return None

    # ---- checkpoints

    def checkpoint(self, tags: str | tuple[str, ...], step: int,
                   states: Callable[[], tuple[dict, dict]], generator: torch.Generator) -> None:
        """Save the run at `step` under each of `tags` (a tag or a tuple: "best" and
        "last" of a validation that improved): `states()` gives the (model, optimizer)
        state dicts as copies that training leaves alone (see :func:`copied`), asked for
        only when there is somewhere to save them.  The payload is the writer's to keep:
        nothing in it changes after the call, so it may be serialized later, behind the
        training (runs.writer.RunWriter.save_checkpoint).  The tags get the very same
        object, so a writer may store it once."""
        if self.save is None:
            return
        model_state, optimizer_state = states()
        payload = {"model": model_state, "optimizer": optimizer_state,
                   "config": self.config, "vocab": self.task.vocab, "step": step,
                   "epoch": step // self.steps_per_epoch, "seed": self.tc.seed,
                   "best": self.best, "best_monitor": self.best_monitor,
                   "final": self.final, "bad_evals": self.bad_evals,
                   "generator": generator.get_state(), **rng.states(self.device),
                   **self.extra}
        for tag in (tags,) if isinstance(tags, str) else tags:
            path = self.save(tag, payload)
            self.emit(ev.CheckpointWritten(step=step, tag=tag, path=path))

    def resume(self, payload: dict, model: torch.nn.Module,
               optimizer: torch.optim.Optimizer, generator: torch.Generator) -> int:
        """Put back what :meth:`checkpoint` saved; returns the step to go on from."""
        if payload.get("vocab") != self.task.vocab:
            raise ConfigError("", "task", "the checkpoint's vocabulary differs from the task's "
                              "(the text or normalize setting changed); cannot resume")
        model.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        self.bad_evals = payload.get("bad_evals", 0)
        self.best, self.best_monitor = payload.get("best"), payload.get("best_monitor")
        self.final = payload.get("final")
        generator.set_state(payload["generator"])
        rng.restore(payload, self.device)
        return payload["step"]
