"""The training engine: one run of one config, reported through events.

Nothing here knows who listens.  ``train`` takes an ``emit(event)`` callable, a
``should_stop()`` callable polled between steps and an optional
``save_checkpoint(tag, payload) -> path``; the run store, the headless display, the TUI
and the sweep backends are all just listeners.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass
from typing import Callable

import torch

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, RunConfig, config_to_dict
from lstm_tui.models import summarize
from lstm_tui.models.network import build_model, detach_state
from lstm_tui.tasks import build_task
from lstm_tui.training import task_reports
from lstm_tui.training.optim import build_optimizer, grad_norms_and_clip, learning_rate, set_lr

Emit = Callable[[ev.Event], None]
SaveCheckpoint = Callable[[str, dict], str]

DIVERGED_ADVICE = ("loss became non-finite at step {step}: lower train.lr (now {lr:g}), "
                   "set train.grad_clip (e.g. 1.0) or standardize the inputs")
PROBE_BATCH = 256   # sequences used for the gradient-per-time-step view


def select_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; asking for a missing device is a ConfigError."""
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("", "train.device", "cuda was asked for but torch sees no CUDA device "
                          "(allowed here: auto, cpu)")
    if name == "mps" and not has_mps:
        raise ConfigError("", "train.device", "mps was asked for but is not available "
                          "(allowed here: auto, cpu)")
    return torch.device(name)


@dataclass
class Experiment:
    """The live objects of a run, built from its config (also used by sampling and sweeps)."""
    task: object
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    device: torch.device


def build(cfg: RunConfig, device: torch.device | None = None) -> Experiment:
    """Task, model and optimizer of a config, seeded so the same config builds the same run."""
    device = device or select_device(cfg.train.device)
    task = build_task(cfg.task, cfg.train.seed).to(device)
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg.model, task.input_size, task.output_size, task.readout).to(device)
    optimizer = build_optimizer(model.parameters(), cfg.train)
    return Experiment(task, model, optimizer, device)


class _Window:
    """Train metrics accumulated on the device between two log records (one sync per log)."""

    def __init__(self) -> None:
        self.losses: list[torch.Tensor] = []
        self.metric_total: torch.Tensor | float = 0.0
        self.metric_count = 0
        self.started = time.perf_counter()
        self.paused = 0.0

    def add(self, loss: torch.Tensor, metric: tuple[torch.Tensor, int]) -> None:
        self.losses.append(loss.detach())
        self.metric_total = self.metric_total + metric[0].detach()
        self.metric_count += metric[1]

    def first_nonfinite(self) -> int | None:
        """Index, within the window, of the first step whose loss was NaN or infinite."""
        if not self.losses:
            return None
        bad = ~torch.isfinite(torch.stack(self.losses))
        return int(bad.nonzero()[0, 0]) if bool(bad.any()) else None


def train(cfg: RunConfig, emit: Emit, should_stop: Callable[[], bool] = lambda: False, *,
          run_id: str = "", save_checkpoint: SaveCheckpoint | None = None,
          resume: dict | None = None) -> ev.Finished | ev.Failed:
    """Train one config to the end (or a stop), emitting events; returns the last event."""
    step = resume.get("step", 0) if resume else 0
    try:
        return _train(cfg, emit, should_stop, run_id, save_checkpoint, resume)
    except ConfigError:
        raise
    except Exception as exc:  # a run that fails must be reported, not crash its listeners
        first = (str(exc).strip().splitlines() or [""])[0]
        event = ev.Failed(error=f"{type(exc).__name__}: {first}"[:500], step=step,
                          traceback=traceback.format_exc())
        emit(event)
        return event


def _train(cfg: RunConfig, emit: Emit, should_stop: Callable[[], bool], run_id: str,
           save_checkpoint: SaveCheckpoint | None, resume: dict | None):
    tc = cfg.train
    if tc.threads:
        torch.set_num_threads(tc.threads)
    exp = build(cfg)
    task, model, optimizer = exp.task, exp.model, exp.optimizer
    params = [p for p in model.parameters() if p.requires_grad]
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    steps_per_epoch = task.steps_per_epoch(tc.batch_size)
    total_steps = tc.steps or tc.epochs * steps_per_epoch
    eval_every = tc.eval_every or steps_per_epoch
    generator = torch.Generator().manual_seed(tc.seed)

    step, best_metric, best_monitor, bad_evals, final_metric = 0, None, None, 0, None
    if resume:
        if resume.get("vocab") != task.vocab:
            raise ConfigError("", "task", "the checkpoint's vocabulary differs from the task's "
                              "(the text or normalize setting changed); cannot resume")
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        step, bad_evals = resume["step"], resume.get("bad_evals", 0)
        best_metric, best_monitor = resume.get("best"), resume.get("best_monitor")
        final_metric = resume.get("final")
        generator.set_state(resume["generator"])
        torch.set_rng_state(resume["rng"])

    summary = summarize(cfg.model, task.input_size, task.output_size, task.seq_len, task.readout)
    emit(ev.RunStarted(run_id=run_id, config=config_to_dict(cfg), summary=summary,
                       device=str(exp.device), total_steps=total_steps,
                       steps_per_epoch=steps_per_epoch, dataset_size=task.train_size,
                       metric=task.metric, goal=task.goal, start_step=step))
    task_reports.start(task, emit)
    best_weights = task_reports.BestWeights(task)

    started = time.perf_counter()
    lbfgs = isinstance(optimizer, torch.optim.LBFGS)

    def elapsed() -> float:
        return time.perf_counter() - started

    def checkpoint(tag: str) -> None:
        if save_checkpoint is None:
            return
        payload = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                   "config": config_to_dict(cfg), "vocab": task.vocab, "step": step,
                   "epoch": step // steps_per_epoch, "seed": tc.seed, "best": best_metric,
                   "best_monitor": best_monitor, "final": final_metric, "bad_evals": bad_evals,
                   "generator": generator.get_state(), "rng": torch.get_rng_state(),
                   **task.checkpoint_extra()}
        path = save_checkpoint(tag, payload)
        emit(ev.CheckpointWritten(step=step, tag=tag, path=path))

    def finish(status: str, message: str = "") -> ev.Finished:
        best_weights.finish(model, tc.batch_size, status, emit)
        event = ev.Finished(status=status, step=step, seconds=elapsed(), best=best_metric,
                            final=final_metric, message=message)
        emit(event)
        return event

    def better(value: float, best: float | None, goal: str) -> bool:
        if best is None:
            return True
        return value > best + tc.min_delta if goal == "max" else value < best - tc.min_delta

    def validate() -> tuple[str, str] | None:
        """Evaluate, record, checkpoint; returns (status, message) when training must end."""
        nonlocal best_metric, best_monitor, bad_evals, final_metric
        t0 = time.perf_counter()
        val_loss, val_metric = evaluate(model, task, tc.batch_size)
        final_metric = val_metric
        if not math.isfinite(val_loss):
            return "diverged", DIVERGED_ADVICE.format(step=step, lr=current_lr)
        if better(val_metric, best_metric, task.goal):
            best_metric = val_metric
        monitor_goal = task.goal if tc.monitor == "metric" else "min"
        monitored = val_metric if tc.monitor == "metric" else val_loss
        improved = better(monitored, best_monitor, monitor_goal)
        if improved:
            best_monitor, bad_evals = monitored, 0
        else:
            bad_evals += 1
        extra = task.val_extra(val_loss)
        emit(ev.ValMetrics(step=step, epoch=step // steps_per_epoch, loss=val_loss,
                           metric=val_metric, best=best_metric, is_best=improved, extra=extra,
                           seconds=elapsed()))
        emit(ev.TimestepGradients(step=step, norms=tuple(probe_timestep_grads(model, task))))
        task_reports.forecast(task, model, step, emit)
        if task.vocab is not None and getattr(cfg.task, "sample_length", 0):
            from lstm_tui.models.sampling import generate
            text = "".join(generate(model, task.encode, task.decode, len(task.vocab), prime="",
                                    length=cfg.task.sample_length,
                                    temperature=cfg.task.sample_temperature,
                                    seed=tc.seed + step, device=exp.device))
            emit(ev.TextSample(step=step, temperature=cfg.task.sample_temperature, text=text))
        if improved:
            best_weights.improved(model)
            checkpoint("best")
        checkpoint("last")
        window.paused += time.perf_counter() - t0
        if tc.patience and bad_evals >= tc.patience:
            return "stopped_early", (f"no improvement of val {tc.monitor} in {bad_evals} "
                                     f"evaluations (patience {tc.patience})")
        return None

    def log() -> tuple[str, str] | None:
        """Emit the window's train record; returns ('diverged', advice) on a non-finite loss."""
        nonlocal window
        bad = window.first_nonfinite()
        if bad is not None:
            first_bad = step - len(window.losses) + bad + 1
            return "diverged", DIVERGED_ADVICE.format(step=first_bad, lr=current_lr)
        count = len(window.losses)
        if count:
            # one host sync for the whole window and the per-parameter gradient figures
            losses = torch.stack(window.losses)
            figures = torch.stack([f.float() for f in (
                losses.mean(), window.metric_total, last_norm, *last_norms, *last_means,
                abs_total)]).tolist()
            loss, metric_total, gnorm = figures[0], figures[1], figures[2]
            k = len(last_norms)
            norms, means = figures[3:3 + k], figures[3 + k:3 + 2 * k]
            seconds = time.perf_counter() - window.started - window.paused
            rate = count / seconds if seconds > 0 else 0.0
            emit(ev.StepMetrics(
                step=step, epoch=step // steps_per_epoch, loss=loss,
                metric=task.reduce_metric(metric_total, window.metric_count), lr=current_lr,
                grad_norm=gnorm, grad_norms=dict(zip(names, norms)),
                grad_means=dict(zip(names, means)),
                mean_abs_grad=figures[-1] / max(1, n_params), steps_per_sec=rate,
                seconds=elapsed(), examples_per_sec=rate * tc.batch_size))
        window = _Window()
        return None

    n_params = sum(p.numel() for p in params)
    window = _Window()
    current_lr = learning_rate(tc, step)
    last_norm = torch.zeros((), device=exp.device)
    last_norms: list[torch.Tensor] = []
    last_means: list[torch.Tensor] = []
    abs_total = torch.zeros((), device=exp.device)
    model.train()

    while step < total_steps:
        state = None
        for x, y in task.train_batches(tc.batch_size, generator):
            if step >= total_steps:
                break
            if should_stop():
                stop = log()
                if stop:
                    return finish(*stop)
                checkpoint("last")
                return finish("interrupted", f"stopped at step {step} by request")
            lr = learning_rate(tc, step)
            if lr != current_lr:
                current_lr = lr
                set_lr(optimizer, lr)
            step += 1
            logging_step = step % tc.log_every == 0 or step == total_steps

            def closure():
                nonlocal output, new_state, loss, norms, total_norm, means
                optimizer.zero_grad(set_to_none=True)
                output, new_state = model(x, state)
                loss = task.loss(output, y)
                loss.backward()
                grads = [p.grad for p in params]
                if logging_step:  # before clipping: the raw gradient is what the seed plots
                    means = [g.abs().sum() for g in grads]
                if logging_step or tc.grad_clip > 0:  # norms are only needed for these
                    norms, total_norm = grad_norms_and_clip(grads, tc.grad_clip)
                return loss

            output = new_state = loss = total_norm = None
            norms, means = [], []
            if lbfgs:
                first = {}

                def lbfgs_closure():
                    value = closure()
                    first.setdefault("out", (output, new_state, loss, norms, total_norm, means))
                    return value
                optimizer.step(lbfgs_closure)
                output, new_state, loss, norms, total_norm, means = first["out"]
            else:
                closure()
                optimizer.step()
            if task.stateful:
                state = detach_state(new_state)
            window.add(loss, task.metric_sum(output.detach(), y))
            if logging_step:
                last_norm, last_norms = total_norm, norms
                last_means = [m / p.numel() for m, p in zip(means, params)]
                abs_total = torch.stack(means).sum()
            eval_step = step % eval_every == 0 or step == total_steps
            if logging_step or eval_step:
                stop = log()
                if stop:
                    return finish(*stop)
            if eval_step:
                model.eval()
                stop = validate()
                model.train()
                if stop:
                    return finish(*stop)
                state = detach_state(state)

    return finish("completed", f"trained {step} steps")


@torch.no_grad()
def evaluate(model: torch.nn.Module, task, batch_size: int) -> tuple[float, float]:
    """(mean loss, task metric) over the whole validation set."""
    was_training = model.training
    model.eval()
    loss_total, n, metric_total, metric_count, state = 0.0, 0, 0.0, 0, None
    for x, y in task.val_batches(max(batch_size, 256) if not task.stateful else batch_size):
        output, state = model(x, state if task.stateful else None)
        rows = x.shape[0]
        loss_total = loss_total + task.loss(output, y) * rows
        n += rows
        total, count = task.metric_sum(output, y)
        metric_total = metric_total + total
        metric_count += count
    model.train(was_training)
    loss = float(loss_total) / max(n, 1)
    return loss, task.reduce_metric(float(metric_total), metric_count)


def probe_timestep_grads(model: torch.nn.Module, task) -> list[float]:
    """‖∂L_T/∂h_t‖ per time step on the first validation batch (the vanishing-gradient view)."""
    x, y = next(iter(task.val_batches(PROBE_BATCH)))
    return model.timestep_grad_norms(x[:PROBE_BATCH], y[:PROBE_BATCH], task.final_step_loss)
