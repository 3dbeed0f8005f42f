"""The members' batches, stacked per step: x (M, T, B, I) and y, drawn in the order each
member's own ``task.train_batches`` would draw them.

The fast way (:class:`_StackedBatches`) is one gather per step from stacked copies of
the members' data; it is used only when it reproduces the task's own first batch
exactly (checked at start-up), else each task's own iterator is stacked per step
(:class:`_TaskBatches`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from lstm_tui.tasks import registry
from lstm_tui.models.kernels.workspace import Workspace

if TYPE_CHECKING:
    from lstm_tui.training.ensemble.members import _Member


def _batches(members: list[_Member], batch_size: int, workspace: Workspace):
    """The fast stacked batches when they reproduce task.train_batches exactly (checked
    on the first member's first batch), else each member's own task.train_batches."""
    try:
        fast = _StackedBatches(members, batch_size, workspace)
    except (AttributeError, ValueError, RuntimeError):
        return _TaskBatches(members, batch_size, workspace)
    task, gen = members[0].exp.task, members[0].generator
    probe = _StackedBatches(members[:1], batch_size, Workspace(),
                            [torch.Generator().set_state(gen.get_state())])
    probe.new_epoch()
    mine = probe.next()
    theirs = _TaskBatches.layout(
        [next(iter(task.train_batches(batch_size, torch.Generator().set_state(gen.get_state()))))],
        Workspace())
    if all(u.shape == v.shape and u.dtype == v.dtype and torch.equal(u, v)
           for u, v in zip(mine, theirs)):
        return fast
    return _TaskBatches(members, batch_size, workspace)


class _TaskBatches:
    """Each member's own `task.train_batches`, stacked per step (any task)."""

    def __init__(self, members: list[_Member], batch_size: int, workspace: Workspace):
        self.members, self.batch_size, self.workspace = list(members), batch_size, workspace
        self.iters: list = []

    def new_epoch(self) -> None:
        self.iters = [mb.exp.task.train_batches(self.batch_size, mb.generator)
                      for mb in self.members]

    def next(self) -> tuple[Tensor, Tensor] | None:
        try:
            return self.layout([next(it) for it in self.iters], self.workspace,
                               self.members[0].exp.task.readout == "all")
        except StopIteration:
            return None

    def keep(self, rows: list[int]) -> None:
        self.members = [self.members[r] for r in rows]
        self.iters = [self.iters[r] for r in rows]

    @staticmethod
    def layout(batches: list[tuple[Tensor, Tensor]], workspace: Workspace,
               per_step: bool = True):
        """Batches stacked time-major within each member: x (M, T, B, I) and y (M, B),
        or (M, T, B) when there is a target per step (`per_step`), or (M, B, O) when a
        single read-out has several targets."""
        xs = [bx.transpose(0, 1) for bx, _ in batches]
        x = workspace.get(("x",), (len(xs), *xs[0].shape), xs[0])
        torch.stack(xs, out=x)
        y = torch.stack([by.transpose(0, 1) if by.dim() > 1 and per_step else by
                         for _, by in batches])
        return x, y


class _StackedBatches:
    """All members' batches at once from stacked copies of their data.

    Reproduces what the tasks' train_batches do (shuffled_batches: one randperm per
    epoch from the member's generator, full batches in that order; integer codes made
    one-hot) with one gather per step instead of a few small ops per member.
    """

    MAX_BYTES = 512 * 2 ** 20

    def __init__(self, members: list[_Member], batch_size: int, workspace: Workspace,
                 generators: list[torch.Generator] | None = None):
        tasks = [mb.exp.task for mb in members]
        if any(not registry.spec_of(t.kind).batchable or not hasattr(t, "x") for t in tasks):
            raise ValueError("not a stackable task")
        self.x = torch.stack([t.x for t in tasks])
        self.y = torch.stack([t.y for t in tasks])
        if self.x.numel() * self.x.element_size() > self.MAX_BYTES:
            raise ValueError("too big to stack")
        self.width = 0 if self.x.is_floating_point() else tasks[0].input_size
        self.classify = not self.y.is_floating_point()
        self.generators = generators or [mb.generator for mb in members]
        self.workspace = workspace
        n = self.x.shape[1]
        self.size = min(batch_size, n)
        self.starts = list(range(0, n - self.size + 1, self.size))
        self.perms: Tensor | None = None
        self.position = 0

    def new_epoch(self) -> None:
        n = self.x.shape[1]
        self.perms = torch.stack([torch.randperm(n, generator=g)
                                  for g in self.generators]).to(self.x.device)
        self.position = 0

    def next(self) -> tuple[Tensor, Tensor] | None:
        if self.position >= len(self.starts):
            return None
        start = self.starts[self.position]
        self.position += 1
        idx = self.perms[:, start:start + self.size]                       # (M, B)
        rows = torch.arange(idx.shape[0], device=idx.device).unsqueeze(1)
        xb, yb = self.x[rows, idx].transpose(1, 2), self.y[rows, idx]    # (M, T, B, ...)
        if self.width:
            x = self.workspace.get(("x",), (*xb.shape, self.width),
                                   torch.empty(0, device=xb.device))
            x.zero_().scatter_(-1, xb.long().unsqueeze(-1), 1.0)
        else:
            x = self.workspace.get(("x",), tuple(xb.shape), xb)
            x.copy_(xb)
        if yb.dim() > 2:
            yb = yb.transpose(1, 2)
        return x, (yb.long() if self.classify else yb)

    def keep(self, rows: list[int]) -> None:
        index = torch.tensor(rows, dtype=torch.long, device=self.x.device)
        self.x, self.y = self.x.index_select(0, index), self.y.index_select(0, index)
        self.generators = [self.generators[r] for r in rows]
        if self.perms is not None:
            self.perms = self.perms.index_select(0, index)

