"""The training engine: one run of one config, reported through events.

Nothing here knows who listens.  ``train`` takes an ``emit(event)`` callable, a
``should_stop()`` callable polled between steps and an optional
``save_checkpoint(tag, payload) -> path``; the run store, the headless display, the TUI
and the sweep backends are all just listeners.
"""

from __future__ import annotations

import copy
import math
import time
import traceback
from dataclasses import dataclass
from typing import Callable

import torch

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, RunConfig, config_to_dict
from lstm_tui.errors import error_line
from lstm_tui.models import summarize
from lstm_tui.models.network import build_model, detach_state
from lstm_tui.tasks import build_task, downloads
from lstm_tui.training import task_reports
from lstm_tui.training.threads import apply_threads, step_work
from lstm_tui.training.optim import build_optimizer, grad_norms_and_clip, learning_rate, set_lr
from lstm_tui.training import policy, rng
from lstm_tui.training.window import Window, better

Emit = Callable[[ev.Event], None]
SaveCheckpoint = Callable[[str, dict], str]

DIVERGED_ADVICE = ("loss became non-finite at step {step}: lower train.lr (now {lr:g}), "
                   "set train.grad_clip (e.g. 1.0) or standardize the inputs")
# A finite loss this many times its first logged value also counts as diverged (a loss
# at 1e13 is no result); far beyond the early swings of any task here.
GROWTH_LIMIT = 1000.0
GREW_ADVICE = ("train loss grew to {loss:.3g}, over {factor:g}x its start ({start:.3g}), by step "
               "{step}: lower train.lr (now {lr:g}), set train.grad_clip (e.g. 1.0) or "
               "standardize the inputs")
PROBE_BATCH = 256   # sequences used for the gradient-per-time-step view


def select_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; asking for a missing device is a ConfigError."""
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():   # the process's current GPU (see training.placement)
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("mps" if has_mps else "cpu")
    if name.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise ConfigError("", "train.device", f"{name} was asked for but torch sees no CUDA "
                              "device (allowed here: auto, cpu)")
        index = int(name.partition(":")[2] or torch.cuda.current_device())
        if index >= count:
            raise ConfigError("", "train.device", f"{name} was asked for but torch sees {count} "
                              f"CUDA device(s) (allowed here: auto, cpu, cuda, cuda:0.."
                              f"cuda:{count - 1})")
        return torch.device("cuda", index)
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
    """Task, model and optimizer of a config, seeded so the same config builds the same run.

    Sets the process's numeric policy (train.tf32, train.deterministic) first, so every
    path of the run (fused, step-wise, validation, sampling) computes under one policy.
    """
    policy.apply(policy.from_config(cfg.train))
    device = device or select_device(cfg.train.device)
    task = build_task(cfg.task, cfg.train.seed).to(device)
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg.model, task.input_size, task.output_size, task.readout).to(device)
    optimizer = build_optimizer(model.parameters(), cfg.train)
    return Experiment(task, model, optimizer, device)


def train(cfg: RunConfig, emit: Emit, should_stop: Callable[[], bool] = lambda: False, *,
          run_id: str = "", save_checkpoint: SaveCheckpoint | None = None,
          resume: dict | None = None) -> ev.Finished | ev.Failed:
    """Train one config to the end (or a stop), emitting events; returns the last event."""
    step = resume.get("step", 0) if resume else 0
    try:
        with downloads.stoppable(should_stop):    # a Ctrl-C ends a data download too
            return _train(cfg, emit, should_stop, run_id, save_checkpoint, resume)
    except ConfigError:
        raise
    except downloads.Stopped as exc:
        event = ev.Finished(status="interrupted", step=step, seconds=0.0, best=None,
                            final=None, message=str(exc))
        emit(event)
        return event
    except Exception as exc:  # a run that fails must be reported, not crash its listeners
        event = ev.Failed(error=error_line(exc), step=step,
                          traceback=traceback.format_exc())
        emit(event)
        return event


def _train(cfg: RunConfig, emit: Emit, should_stop: Callable[[], bool], run_id: str,
           save_checkpoint: SaveCheckpoint | None, resume: dict | None):
    return _Run(cfg, emit, save_checkpoint, resume).run(should_stop, run_id)


class _Run:
    """One run's live state; `run` reads top to bottom as the training loop.

    Every figure the loop keeps (best values, the log window, the last logged gradient
    figures) is an attribute, so the helpers below share it without closures.
    """

    def __init__(self, cfg: RunConfig, emit: Emit, save_checkpoint: SaveCheckpoint | None,
                 resume: dict | None):
        self.cfg, self.tc, self.emit, self.save = cfg, cfg.train, emit, save_checkpoint
        tc = self.tc
        self.exp = build(cfg)
        apply_threads(tc.threads, step_work(sum(p.numel() for p in self.exp.model.parameters()),
                                            tc.batch_size))
        self.task, self.model, self.optimizer = self.exp.task, self.exp.model, self.exp.optimizer
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.names = [n for n, p in self.model.named_parameters() if p.requires_grad]
        self.n_params = sum(p.numel() for p in self.params)
        self.steps_per_epoch = self.task.steps_per_epoch(tc.batch_size)
        self.total_steps = tc.steps or tc.epochs * self.steps_per_epoch
        self.eval_every = tc.eval_every or self.steps_per_epoch
        self.generator = torch.Generator().manual_seed(tc.seed)
        self.lbfgs = isinstance(self.optimizer, torch.optim.LBFGS)
        self.step, self.bad_evals = 0, 0
        self.best_metric = self.best_monitor = self.final_metric = None
        if resume:
            self._resume(resume)
        self.current_lr = learning_rate(tc, self.step)
        self.window = Window()
        self.start_loss: float | None = None   # the first logged loss, for GROWTH_LIMIT
        # the gradient figures of the last logging step, kept on the device until its log
        device = self.exp.device
        self.last_norm = torch.zeros((), device=device)
        self.last_norms: list[torch.Tensor] = []
        self.last_means: list[torch.Tensor] = []
        self.abs_total = torch.zeros((), device=device)
        self.started = time.perf_counter()
        self.best_weights = task_reports.BestWeights(self.task)

    def _resume(self, resume: dict) -> None:
        if resume.get("vocab") != self.task.vocab:
            raise ConfigError("", "task", "the checkpoint's vocabulary differs from the task's "
                              "(the text or normalize setting changed); cannot resume")
        self.model.load_state_dict(resume["model"])
        self.optimizer.load_state_dict(resume["optimizer"])
        self.step, self.bad_evals = resume["step"], resume.get("bad_evals", 0)
        self.best_metric, self.best_monitor = resume.get("best"), resume.get("best_monitor")
        self.final_metric = resume.get("final")
        self.generator.set_state(resume["generator"])
        rng.restore(resume, self.exp.device)

    # ---- the loop

    def run(self, should_stop: Callable[[], bool], run_id: str) -> ev.Finished:
        cfg, task, tc = self.cfg, self.task, self.tc
        summary = summarize(cfg.model, task.input_size, task.output_size, task.seq_len,
                            task.readout)
        self.emit(ev.RunStarted(run_id=run_id, config=config_to_dict(cfg), summary=summary,
                                device=str(self.exp.device), total_steps=self.total_steps,
                                steps_per_epoch=self.steps_per_epoch,
                                dataset_size=task.train_size, metric=task.metric,
                                goal=task.goal, start_step=self.step,
                                notes=rng.notes(self.model, self.exp.device)))
        task_reports.start(task, self.emit)
        self.started = time.perf_counter()
        self.window = Window()
        self.model.train()
        while self.step < self.total_steps:
            state = None
            for x, y in task.train_batches(tc.batch_size, self.generator):
                if self.step >= self.total_steps:
                    break
                asked = should_stop()
                if asked:
                    stop = self._log()
                    if stop:
                        return self._finish(*stop)
                    self._checkpoint("last")
                    if isinstance(asked, tuple):   # (status, why): a sweep scheduler's verdict
                        return self._finish(*asked)
                    return self._finish("interrupted", f"stopped at step {self.step} by request")
                state, stop = self._train_step(x, y, state)
                if stop:
                    return self._finish(*stop)
        return self._finish("completed", f"trained {self.step} steps")

    def _train_step(self, x, y, state):
        """One optimizer step, then its log and validation; returns the state carried to
        the next batch and (status, message) when training must end."""
        tc = self.tc
        lr = learning_rate(tc, self.step)
        if lr != self.current_lr:
            self.current_lr = lr
            set_lr(self.optimizer, lr)
        self.step += 1
        step = self.step
        logging_step = step % tc.log_every == 0 or step == self.total_steps
        if self.lbfgs:   # the closure runs several times: keep the first evaluation's figures
            evaluations = []

            def closure():
                evaluations.append(self._forward_backward(x, y, state, logging_step))
                return evaluations[-1][0]
            self.optimizer.step(closure)
            loss, output, new_state, norms, total_norm, means = evaluations[0]
        else:
            loss, output, new_state, norms, total_norm, means = self._forward_backward(
                x, y, state, logging_step)
            self.optimizer.step()
        self.model.constrain_()    # the cell's bound on its weights, if it has one
        if self.task.stateful:
            state = detach_state(new_state)
        self.window.add(loss, *self.task.metric_sum(output.detach(), y))
        if logging_step:
            self.last_norm, self.last_norms = total_norm, norms
            self.last_means = [m / p.numel() for m, p in zip(means, self.params)]
            self.abs_total = torch.stack(means).sum()
        eval_step = step % self.eval_every == 0 or step == self.total_steps
        if logging_step or eval_step:
            stop = self._log()
            if stop:
                return state, stop
        if eval_step:
            self.model.eval()
            stop = self._validate()
            self.model.train()
            if stop:
                return state, stop
            state = detach_state(state)
        return state, None

    def _forward_backward(self, x, y, state, logging_step: bool):
        """Loss and gradients of one batch, with the gradient figures a log needs."""
        self.optimizer.zero_grad(set_to_none=True)
        output, new_state = self.model(x, state)
        loss = self.task.loss(output, y)
        loss.backward()
        grads = [p.grad for p in self.params]
        norms, total_norm, means = [], None, []
        if logging_step:  # before clipping: the raw gradient is what the seed plots
            means = [g.abs().sum() for g in grads]
        if logging_step or self.tc.grad_clip > 0:  # norms are only needed for these
            norms, total_norm = grad_norms_and_clip(grads, self.tc.grad_clip)
        return loss, output, new_state, norms, total_norm, means

    # ---- records

    def _elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _finish(self, status: str, message: str = "") -> ev.Finished:
        self.best_weights.finish(self.model, self.tc.batch_size, status, self.emit)
        event = ev.Finished(status=status, step=self.step, seconds=self._elapsed(),
                            best=self.best_metric, final=self.final_metric, message=message)
        self.emit(event)
        return event

    def _log(self) -> tuple[str, str] | None:
        """Emit the window's train record; returns ("diverged", advice) on a non-finite loss
        or one past GROWTH_LIMIT times its start."""
        window, step = self.window, self.step
        bad = window.first_nonfinite()
        if bad is not None:
            first_bad = step - window.count + bad + 1
            return "diverged", DIVERGED_ADVICE.format(step=first_bad, lr=self.current_lr)
        count = window.count
        if count:
            # one host sync for the whole window and the per-parameter gradient figures
            losses = torch.stack(window.losses)
            figures = torch.stack([f.float() for f in (
                losses.mean(), window.metric_total, self.last_norm, *self.last_norms,
                *self.last_means, self.abs_total)]).tolist()
            loss, metric_total, gnorm = figures[0], figures[1], figures[2]
            k = len(self.last_norms)
            norms, means = figures[3:3 + k], figures[3 + k:3 + 2 * k]
            seconds = time.perf_counter() - window.started - window.paused
            rate = count / seconds if seconds > 0 else 0.0
            self.emit(ev.StepMetrics(
                step=step, epoch=step // self.steps_per_epoch, loss=loss,
                metric=self.task.reduce_metric(metric_total, window.metric_count),
                lr=self.current_lr, grad_norm=gnorm, grad_norms=dict(zip(self.names, norms)),
                grad_means=dict(zip(self.names, means)),
                mean_abs_grad=figures[-1] / max(1, self.n_params), steps_per_sec=rate,
                seconds=self._elapsed(), examples_per_sec=rate * self.tc.batch_size))
            if self.start_loss is None:
                self.start_loss = float(losses[0])   # the untrained model's loss (synced once)
            if self.start_loss > 0 and loss > GROWTH_LIMIT * self.start_loss:
                return "diverged", GREW_ADVICE.format(loss=loss, factor=GROWTH_LIMIT,
                                                      start=self.start_loss, step=step,
                                                      lr=self.current_lr)
        self.window = Window()
        return None

    def _validate(self) -> tuple[str, str] | None:
        """Evaluate, record, checkpoint; returns (status, message) when training must end."""
        cfg, tc, task, model, step = self.cfg, self.tc, self.task, self.model, self.step
        t0 = time.perf_counter()
        val_loss, val_metric = evaluate(model, task, tc.batch_size)
        self.final_metric = val_metric
        if not math.isfinite(val_loss):
            return "diverged", DIVERGED_ADVICE.format(step=step, lr=self.current_lr)
        if better(val_metric, self.best_metric, task.goal, tc.min_delta):
            self.best_metric = val_metric
        monitor_goal = task.goal if tc.monitor == "metric" else "min"
        monitored = val_metric if tc.monitor == "metric" else val_loss
        improved = better(monitored, self.best_monitor, monitor_goal, tc.min_delta)
        if improved:
            self.best_monitor, self.bad_evals = monitored, 0
        else:
            self.bad_evals += 1
        extra = task.val_extra(val_loss)
        self.emit(ev.ValMetrics(step=step, epoch=step // self.steps_per_epoch, loss=val_loss,
                                metric=val_metric, best=self.best_metric, is_best=improved,
                                extra=extra, seconds=self._elapsed()))
        self.emit(ev.TimestepGradients(step=step, norms=tuple(probe_timestep_grads(model, task))))
        task_reports.forecast(task, model, step, self.emit)
        if task.vocab is not None and getattr(cfg.task, "sample_length", 0):
            from lstm_tui.models.sampling import generate
            # one character at a time costs two host syncs each on a GPU: sample on the CPU
            text = "".join(generate(cpu_copy(model), task.encode, task.decode, len(task.vocab),
                                    prime="", length=cfg.task.sample_length,
                                    temperature=cfg.task.sample_temperature,
                                    seed=(tc.seed + step) % 2 ** 64, device=torch.device("cpu")))
            self.emit(ev.TextSample(step=step, temperature=cfg.task.sample_temperature,
                                    text=text))
        if improved:
            self.best_weights.improved(model)
            self._checkpoint("best")
        self._checkpoint("last")
        self.window.paused += time.perf_counter() - t0
        if tc.patience and self.bad_evals >= tc.patience:
            return "stopped_early", (f"no improvement of val {tc.monitor} in {self.bad_evals} "
                                     f"evaluations (patience {tc.patience})")
        return None

    def _checkpoint(self, tag: str) -> None:
        if self.save is None:
            return
        tc, step = self.tc, self.step
        payload = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                   "config": config_to_dict(self.cfg), "vocab": self.task.vocab, "step": step,
                   "epoch": step // self.steps_per_epoch, "seed": tc.seed,
                   "best": self.best_metric, "best_monitor": self.best_monitor,
                   "final": self.final_metric, "bad_evals": self.bad_evals,
                   "generator": self.generator.get_state(), **rng.states(self.exp.device),
                   **self.task.checkpoint_extra()}
        path = self.save(tag, payload)
        self.emit(ev.CheckpointWritten(step=step, tag=tag, path=path))


def cpu_copy(model: torch.nn.Module) -> torch.nn.Module:
    """The model itself when it is on the CPU, else a CPU copy of it (same weights and
    mode) for work that runs step by step, such as sampling text."""
    first = next(model.parameters(), None)
    if first is None or first.device.type == "cpu":
        return model
    return copy_to_cpu(model)


def copy_to_cpu(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of `model` whose tensors are copied straight to the CPU (no second copy on
    the device on the way)."""
    memo: dict[int, object] = {}
    for p in model.parameters():
        memo[id(p)] = torch.nn.Parameter(p.detach().to("cpu", copy=True),
                                         requires_grad=p.requires_grad)
    for b in model.buffers():
        memo[id(b)] = b.detach().to("cpu", copy=True)
    return copy.deepcopy(model, memo)


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
