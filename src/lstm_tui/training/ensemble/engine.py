"""The ensemble's training loop: M members of one group trained as one batched model.

Every member is built exactly as ``engine.build`` builds its run (members.py), and its
parameters are copied into one flat ``(M, P)`` tensor.  Each step draws the members'
batches (batches.py), runs the stacked model (recurrence.py), and one backward of the
sum of the members' mean losses gives every member the gradient of its own run; the
gradient figures, clipping, the optimizers (optim.py) and the learning-rate schedule are
applied per member on the flat stacks.

Each member reports through its own :class:`~lstm_tui.training.record.Record`, the
engine's: windowed train metrics, per-parameter gradient figures under the single
model's parameter names, validations, early stopping, divergence advice, checkpoints
that a normal ``SequenceModel`` and ``engine.train(resume=...)`` load, so a RunWriter per
member writes a normal run folder.  Losses equal the separate runs' to float rounding
(~1e-6 after 50 steps; chaotic settings such as RMSprop at a high lr amplify it).

A member that diverges, stops early or fails (e.g. its listener raises) is finished and
its rows are dropped from the stacks; the others go on.  Validation is rare, so it loads
the member's row into its own ``SequenceModel`` and its record validates that, as for an
engine run.  How a batch of members' outputs is scored is the task's own
``member_scores``.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import torch
from torch import Tensor
from torch.nn import functional as F

from lstm_tui.config import ConfigError, RunConfig
from lstm_tui.training import engine
from lstm_tui.training.ensemble import sizing
from lstm_tui.training.ensemble.batches import _batches
from lstm_tui.training.ensemble.grouping import group_key, unbatchable_reason
from lstm_tui.training.ensemble.members import Result, _Member, build_members
from lstm_tui.training.ensemble.optim import StackedOptimizer, column
from lstm_tui.training.ensemble import generic
from lstm_tui.training.ensemble.recurrence import forward, network
from lstm_tui.models.kernels.workspace import Workspace
from lstm_tui.training.optim import learning_rate
from lstm_tui.training.record import Emit, Record, SaveCheckpoint
from lstm_tui.training.threads import apply_threads, step_work
from lstm_tui.training.window import Gradients, Window


def train_ensemble(configs: Sequence[RunConfig], emits: Sequence[Emit],
                   should_stop: Callable[[], bool] = lambda: False,
                   save_checkpoints: Sequence[SaveCheckpoint | None] | None = None,
                   *, run_ids: Sequence[str] | None = None,
                   member_stops: Sequence[Callable[[], Any]] | None = None) -> list[Result]:
    """Train configs of one group together; member i reports through emits[i] exactly as
    ``engine.train(configs[i], emits[i], should_stop, save_checkpoint=...)`` would.

    Returns each member's last event (Finished or Failed), in order.  A group of one, or
    of configs that cannot be batched, is trained run after run by the engine.
    ``member_stops[i]()``, asked after each of member i's validations, returns
    (status, why) to end that member there (a sweep scheduler's verdict): it leaves the
    stacks and the others go on.
    """
    configs, emits = list(configs), list(emits)
    saves = list(save_checkpoints) if save_checkpoints is not None else [None] * len(configs)
    ids = list(run_ids) if run_ids is not None else [""] * len(configs)
    stops = list(member_stops) if member_stops is not None else [None] * len(configs)
    if not (len(configs) == len(emits) == len(saves) == len(ids) == len(stops)):
        raise ValueError("train_ensemble: configs, emits and save_checkpoints differ in length")
    if not configs:
        return []
    keys = {group_key(c) for c in configs}
    if len(keys) > 1:
        raise ValueError("train_ensemble: the configs are not one group (group_key differs)")
    if len(configs) == 1 or unbatchable_reason(configs[0]) is not None:
        return [engine.train(c, e, _either(m, should_stop), run_id=i, save_checkpoint=s)
                for c, e, s, i, m in zip(configs, emits, saves, ids, stops)]
    size = max(1, sizing.workspace_budget(engine.select_device(configs[0].train.device))
               // sizing.member_bytes(configs[0]))
    if len(configs) > size:   # too big for one batch of buffers: chunk after chunk
        return [r for k in range(0, len(configs), size)
                for r in train_ensemble(configs[k:k + size], emits[k:k + size], should_stop,
                                        saves[k:k + size], run_ids=ids[k:k + size],
                                        member_stops=stops[k:k + size])]
    return _Ensemble(configs, emits, saves, ids, stops).run(should_stop)


def _either(member_stop: Callable[[], Any] | None, should_stop: Callable[[], bool]):
    if member_stop is None:
        return should_stop
    return lambda: member_stop() or should_stop()


class _Ensemble:
    """The group's shared state: flat parameters, optimizer state, windows, members."""

    def __init__(self, configs: list[RunConfig], emits: list[Emit],
                 saves: list[SaveCheckpoint | None], run_ids: list[str],
                 stops: list[Callable[[], Any] | None] | None = None):
        self.configs, self.emits, self.saves, self.run_ids = configs, emits, saves, run_ids
        self.stops = stops or [None] * len(configs)
        self.members: list[_Member] = []     # in input order, never shrinks
        self.active: list[_Member] = []      # rows of the stacks, in order
        self.step = 0
        self.started = time.perf_counter()   # reset when training starts

    # ---- building

    def _setup(self) -> None:
        """The shared stacks, from the members' own models (built by engine.build)."""
        tc = self.configs[0].train
        first = self.active[0]
        task, model = first.exp.task, first.exp.model
        self.device = first.exp.device
        if any(mb.exp.device != self.device for mb in self.active):
            raise ValueError("train_ensemble: members resolved to different devices")
        self.names = [n for n, _ in model.named_parameters()]
        self.shapes = [tuple(p.shape) for p in model.parameters()]
        self.numels = [p.numel() for p in model.parameters()]
        self.n_params = sum(self.numels)
        # the group trains as one model of all its members: that is the work to thread
        apply_threads(tc.threads, step_work(self.n_params * len(self.active), tc.batch_size))
        self.net = network(model, task.readout)
        self.model = model          # what the cell's bound reads (its spec, layers, config)
        self.batch_size = tc.batch_size
        self.steps_per_epoch = task.steps_per_epoch(tc.batch_size)
        self.total_steps = tc.steps or tc.epochs * self.steps_per_epoch
        self.eval_every = tc.eval_every or self.steps_per_epoch
        self.log_every = tc.log_every
        # (P, K) 0/1 matrix: per-parameter sums of a flat (M, P) tensor in one matmul
        seg = torch.repeat_interleave(torch.arange(len(self.numels)), torch.tensor(self.numels))
        self.segments = F.one_hot(seg, len(self.numels)).float().to(self.device)
        self.theta = torch.stack([
            torch.cat([p.detach().reshape(-1) for p in mb.exp.model.parameters()])
            for mb in self.active]).requires_grad_()
        self.optim = StackedOptimizer(tc.optimizer, self.theta, self.numels, self.shapes)
        self.workspace = Workspace()
        self.data = _batches(self.active, self.batch_size, self.workspace)
        self._per_member_tensors()
        self.grads: Gradients | None = None   # of the last logging step, until its log

    def _per_member_tensors(self) -> None:
        """(M, 1) hyperparameters of the active members, in row order."""
        tcs = [mb.cfg.train for mb in self.active]
        self.optim.set_members(tcs, [mb.lr for mb in self.active])
        self.clip = column([t.grad_clip for t in tcs], self.theta)
        self.any_clip = any(t.grad_clip > 0 for t in tcs)
        self.target_scale = column(
            [float(getattr(mb.exp.task, "target_scale", 1.0)) for mb in self.active],
            self.theta).squeeze(1)

    def _keep_only(self, rows: list[int]) -> None:
        """Drop the finished members' rows from every stack."""
        kept = {id(self.active[r]) for r in rows}
        for mb in self.active:
            if id(mb) not in kept:
                mb.exp = None          # its model and data: nothing reads them once it ended
        if not rows:
            self.active = []
            return
        index = torch.tensor(rows, dtype=torch.long, device=self.device)
        self.theta = self.theta.detach().index_select(0, index).requires_grad_()
        self.optim.keep(index)
        if self.grads is not None:
            self.grads = self.grads.keep(index)
        self.active = [self.active[r] for r in rows]
        self.data.keep(rows)
        self._per_member_tensors()

    # ---- the model on the stacks

    def _params(self, flat: Tensor | None = None) -> dict[str, Tensor]:
        """The (M, ...) stacks of each parameter: views of `flat` (default: theta)."""
        flat = self.theta if flat is None else flat
        m = flat.shape[0]
        pieces = flat.split(self.numels, 1)
        return {n: p.view(m, *s) for n, p, s in zip(self.names, pieces, self.shapes)}

    def _score(self, out: Tensor, y: Tensor) -> tuple[Tensor, Tensor, int]:
        """Per-member (mean loss, metric sum) and the metric's count per member, as
        task.loss and task.metric_sum compute them (the order of the terms aside)."""
        return self.active[0].exp.task.member_scores(out, y, self.target_scale)

    # ---- the loop

    def run(self, should_stop: Callable[[], bool]) -> list[Result]:
        self.members = build_members(self.configs, self.emits, self.saves, self.run_ids,
                                     self.stops)
        self.active = [mb for mb in self.members if mb.result is None]
        if not self.active:
            return [mb.result for mb in self.members]
        try:
            self._setup()
            self._each(self._started)
            self._loop(should_stop)
        except ConfigError:
            raise
        except Exception as exc:  # a shared step that fails fails every member still going
            going = [mb for mb in self.active if mb.result is None]
            if not going:
                raise                 # nobody left to report it to: a bug, not a run's failure
            for mb in going:
                mb.fail(exc, self.step)
            self.active = []
        return [mb.result for mb in self.members]

    def _started(self, mb: _Member, row: int) -> None:
        mb.record = Record(mb.cfg, mb.exp.task, mb.exp.device, mb.emit, mb.save,
                           names=self.names, n_params=self.n_params,
                           steps_per_epoch=self.steps_per_epoch, clock=self._elapsed)
        mb.record.announce(mb.run_id, self.total_steps, 0, mb.exp.model)

    def _loop(self, should_stop: Callable[[], bool]) -> None:
        self.started = time.perf_counter()
        self.window = Window()
        while self.step < self.total_steps and self.active:
            self.data.new_epoch()
            while self.step < self.total_steps and self.active:
                batch = self.data.next()
                if batch is None:          # the epoch is over (equal for every member)
                    break
                if should_stop():
                    self._prepare_log()
                    self._each(self._interrupt)
                    return
                self._train_step(*batch)
        self._each(lambda mb, row: self._finish(mb, "completed", f"trained {self.step} steps"))

    def _train_step(self, x: Tensor, y: Tensor) -> None:
        """One optimizer step of every member, then its logs and validations."""
        lrs = [learning_rate(mb.cfg.train, self.step) for mb in self.active]
        if any(lr != mb.lr for lr, mb in zip(lrs, self.active)):
            for lr, mb in zip(lrs, self.active):
                mb.lr = lr
            self.optim.set_lr(lrs)
        self.step += 1
        step = self.step
        logging_step = step % self.log_every == 0 or step == self.total_steps
        self.theta.grad = None
        losses, metric, count = self._score(forward(self.net, self._params(), x,
                                                    self.workspace), y)
        losses.sum().backward()   # member i's gradient is that of its own mean loss
        with torch.no_grad():
            grad = self.theta.grad
            if logging_step or self.any_clip:
                sq_sums = (grad * grad) @ self.segments                    # (M, K)
                total = sq_sums.sum(1).sqrt()
            if logging_step:   # before clipping: the raw gradient is what the seed plots
                abs_sums = grad.abs() @ self.segments
                self.grads = Gradients(
                    norm=total, norms=sq_sums.sqrt().t(),
                    means=abs_sums.t() / grad.new_tensor(self.numels).unsqueeze(1),
                    abs_total=abs_sums.sum(1))
            if self.any_clip:
                coef = (self.clip / (total.unsqueeze(1) + 1e-6)).clamp(max=1.0)
                grad.mul_(torch.where(self.clip > 0, coef, torch.ones_like(coef)))
            self.optim.update(self.theta.data, grad, step)
            generic.constrain(self.model, self._params(self.theta.data))
        self.window.add(losses.detach(), metric, count)
        eval_step = step % self.eval_every == 0 or step == self.total_steps
        if logging_step or eval_step:
            self._prepare_log()
            self._each(self._log)
            self.window = Window()
        if eval_step:
            t0 = time.perf_counter()
            self._each(self._validate)
            self.window.paused += time.perf_counter() - t0

    # ---- per-member events

    def _guard(self, mb: _Member, fn: Callable, *args) -> None:
        """Run one member's part; an exception (e.g. in its listener) fails only it."""
        try:
            fn(*args)
        except ConfigError:
            raise
        except Exception as exc:
            if mb.result is None:
                mb.fail(exc, self.step)

    def _each(self, fn: Callable[[_Member, int], None]) -> None:
        """`fn(member, row)` for every active member, then drop the ones that finished."""
        for row, mb in enumerate(list(self.active)):
            if mb.result is None:
                self._guard(mb, fn, mb, row)
        rows = [r for r, mb in enumerate(self.active) if mb.result is None]
        if len(rows) < len(self.active):
            self._keep_only(rows)

    def _finish(self, mb: _Member, status: str, message: str = "") -> None:
        mb.result = mb.record.finish(status, message, self.step, mb.exp.model)

    def _elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _interrupt(self, mb: _Member, row: int) -> None:
        if self._log(mb, row):
            return
        self._checkpoint(mb, row, "last")
        self._finish(mb, "interrupted", f"stopped at step {self.step} by request")

    def _prepare_log(self) -> None:
        """The window's figures of every member, with one host sync for all of them."""
        self._figures = self.window.figures(self.grads) if self.window.count else []

    def _log(self, mb: _Member, row: int) -> bool:
        """Emit this member's window record; True when it diverged (and was finished)."""
        if not self._figures:
            return False
        stop = mb.record.log(self.step, self._figures[row], mb.lr)
        if stop:
            self._finish(mb, *stop)
        return stop is not None

    def _checkpoint(self, mb: _Member, row: int, tag: str) -> None:
        def states() -> tuple[dict, dict]:
            mb.load_row(self.theta[row], self.numels)
            return mb.model_state(), self.optim.state_dict_of(
                mb.exp.optimizer, list(mb.exp.model.parameters()), row, self.step, mb.lr)
        mb.record.checkpoint(tag, self.step, states, mb.generator)

    def _validate(self, mb: _Member, row: int) -> None:
        """The record's validation of one member, on its own SequenceModel; then its
        sweep scheduler's verdict."""
        mb.load_row(self.theta[row], self.numels)
        stop = mb.record.validate(self.step, mb.exp.model, mb.lr,
                                  lambda tag: self._checkpoint(mb, row, tag))
        if stop:
            self._finish(mb, *stop)
        elif mb.stop is not None and self.step < self.total_steps:
            verdict = mb.stop()
            if verdict:
                self._finish(mb, *verdict)
