"""The training engine: one run of one config, reported through events.

Nothing here knows who listens.  ``train`` takes an ``emit(event)`` callable, a
``should_stop()`` callable polled between steps and an optional
``save_checkpoint(tag, payload) -> path``; the run store, the headless display, the TUI
and the sweep backends are all just listeners.  What the run reports (validations,
early stopping, divergence, checkpoints) is its :class:`~lstm_tui.training.record.Record`,
shared with the ensemble; this module computes the steps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, RunConfig
from lstm_tui.models import compiled
from lstm_tui.models.network import build_model, detach_state
from lstm_tui.tasks import build_task, downloads
from lstm_tui.training.threads import apply_threads, step_work
from lstm_tui.training.optim import build_optimizer, grad_norms_and_clip, learning_rate, set_lr
from lstm_tui.training import flat, policy
from lstm_tui.training.record import Emit, Record, SaveCheckpoint, Verdict, copied, failed
from lstm_tui.training.window import Gradients, Window


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
    reached = [resume.get("step", 0) if resume else 0]

    def heard(event: ev.Event) -> None:
        # the last step an event told: a full disk at step 50 fails a run of 50 steps, not 0
        step = getattr(event, "step", None)
        if isinstance(step, int) and step > reached[0]:
            reached[0] = step
        emit(event)
    try:
        with downloads.stoppable(should_stop):    # a Ctrl-C ends a data download too
            return _train(cfg, heard, should_stop, run_id, save_checkpoint, resume)
    except ConfigError:
        raise
    except downloads.Stopped as exc:
        event = ev.Finished(status="interrupted", step=reached[0], seconds=0.0, best=None,
                            final=None, message=str(exc))
        emit(event)
        return event
    except Exception as exc:  # a run that fails must be reported, not crash its listeners
        event = failed(exc, reached[0])
        emit(event)
        return event


def _train(cfg: RunConfig, emit: Emit, should_stop: Callable[[], bool], run_id: str,
           save_checkpoint: SaveCheckpoint | None, resume: dict | None):
    return _Run(cfg, emit, save_checkpoint, resume).run(should_stop, run_id)


class _Run:
    """One run's live state; `run` reads top to bottom as the training loop.

    The figures the loop keeps between steps (the log window, the last logged gradient
    figures) are attributes, so the helpers below share them without closures; what is
    reported lives in `self.record`.
    """

    def __init__(self, cfg: RunConfig, emit: Emit, save_checkpoint: SaveCheckpoint | None,
                 resume: dict | None):
        self.tc = tc = cfg.train
        self.exp = build(cfg)
        apply_threads(tc.threads, step_work(sum(p.numel() for p in self.exp.model.parameters()),
                                            tc.batch_size))
        self.task, self.model, self.optimizer = self.exp.task, self.exp.model, self.exp.optimizer
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        names = [n for n, p in self.model.named_parameters() if p.requires_grad]
        self.numels = torch.tensor([float(p.numel()) for p in self.params],
                                   device=self.exp.device)
        self.steps_per_epoch = self.task.steps_per_epoch(tc.batch_size)
        self.total_steps = tc.steps or tc.epochs * self.steps_per_epoch
        self.compile_note = compiled.enable(  # model.compile: None, or what was done
            self.model, cfg.model.compile, self.exp.device, self.total_steps, tc.batch_size,
            self.task.input_size, getattr(self.task, "seq_len", None),
            say=lambda what, detail: emit(ev.Preparing(what, detail)))
        if self.compile_note is None and flat.applies(self.optimizer, self.params):
            self.optimizer = flat.FlatOptimizer(self.optimizer, self.params)
        self.eval_every = tc.eval_every or self.steps_per_epoch
        self.generator = torch.Generator().manual_seed(tc.seed)
        self.lbfgs = isinstance(self.optimizer, torch.optim.LBFGS)
        self.started = time.perf_counter()
        self.record = Record(cfg, self.task, self.exp.device, emit, save_checkpoint,
                             names=names, n_params=sum(p.numel() for p in self.params),
                             steps_per_epoch=self.steps_per_epoch, clock=self._elapsed)
        self.step = 0
        if resume:
            self.step = self.record.resume(resume, self.model, self.optimizer, self.generator)
        self.current_lr = learning_rate(tc, self.step)
        self.window = Window()
        self.grads: Gradients | None = None   # of the last logging step, until its log

    # ---- the loop

    def run(self, should_stop: Callable[[], bool], run_id: str) -> ev.Finished:
        task, tc = self.task, self.tc
        self.record.announce(run_id, self.total_steps, self.step, self.model,
                             notes=(self.compile_note,) if self.compile_note else ())
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
        self.window.add(loss, *self.task.train_metric_sum(output, y, loss))
        if logging_step:
            sums = torch.stack(means)                    # sum of |g| per parameter
            self.grads = Gradients(norm=total_norm.reshape(1),
                                   norms=torch.stack(norms).unsqueeze(1),
                                   means=(sums / self.numels).unsqueeze(1),
                                   abs_total=sums.sum().reshape(1))
        eval_step = step % self.eval_every == 0 or step == self.total_steps
        if logging_step or eval_step:
            stop = self._log()
            if stop:
                return state, stop
        if eval_step:
            t0 = time.perf_counter()
            self.model.eval()
            stop = self.record.validate(step, self.model, self.current_lr, self._checkpoint)
            self.model.train()
            if stop:
                return state, stop
            self.window.paused += time.perf_counter() - t0
            state = detach_state(state)
        return state, None

    def _forward_backward(self, x, y, state, logging_step: bool):
        """Loss and gradients of one batch, with the gradient figures a log needs."""
        for p in self.params:   # zero_grad(set_to_none=True), without its profiler scope
            p.grad = None
        output, new_state = self.model(x, state)
        loss = self.task.loss(output, y)
        loss.backward()
        norms, total_norm, means = [], None, []
        if logging_step or self.tc.grad_clip > 0:  # gradient figures only for these
            grads = [p.grad for p in self.params]
            if logging_step:  # before clipping: the raw gradient is what the seed plots
                means = [g.abs().sum() for g in grads]
            norms, total_norm = grad_norms_and_clip(grads, self.tc.grad_clip)
        return loss, output, new_state, norms, total_norm, means

    # ---- records

    def _elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _finish(self, status: str, message: str = "") -> ev.Finished:
        return self.record.finish(status, message, self.step, self.model)

    def _log(self) -> Verdict | None:
        """Emit the window's train record and start a new window; a verdict when the run
        diverged."""
        if self.window.count:
            [figures] = self.window.figures(self.grads)
            stop = self.record.log(self.step, figures, self.current_lr)
            if stop:
                return stop
        self.window = Window()
        return None

    def _checkpoint(self, tags: str | tuple[str, ...]) -> None:
        def states():   # copies (Record.checkpoint); of the flat buffers, one clone each
            if isinstance(self.optimizer, flat.FlatOptimizer):
                return (flat.separate(self.model.state_dict()),
                        self.optimizer.state_dict(private=True))
            return copied((self.model.state_dict(), self.optimizer.state_dict()))
        self.record.checkpoint(tags, self.step, states, self.generator)
