"""The members' optimizers, applied at once on the flat (M, P) parameter stack.

SGD, momentum, Adam, RMSprop and Adagrad with ``torch.optim``'s formulas and defaults
(those ``training.optim.build_optimizer`` keeps), each member with its own learning
rate, weight decay and momentum; and each member's state written back as its own torch
optimizer's ``state_dict``, so a checkpoint resumes in ``engine.train``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from lstm_tui.config import TrainConfig
from lstm_tui.training.optim import set_lr

# torch.optim's defaults, which optim.build_optimizer keeps
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8
RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-8
ADAGRAD_EPS = 1e-10
# the per-parameter state of each optimizer, under torch.optim's names
STATE_NAMES = {"sgd": (), "momentum": ("momentum_buffer",), "adam": ("exp_avg", "exp_avg_sq"),
               "rmsprop": ("square_avg",), "adagrad": ("sum",)}


def column(values: list[float], like: Tensor) -> Tensor:
    """One value per member as an (M, 1) tensor of `like`'s dtype and device."""
    return torch.tensor(values, dtype=like.dtype, device=like.device).unsqueeze(1)


class StackedOptimizer:
    """One optimizer kind for M members whose parameters are the rows of one stack."""

    def __init__(self, kind: str, theta: Tensor, numels: list[int],
                 shapes: list[tuple[int, ...]]) -> None:
        self.kind, self.numels, self.shapes = kind, numels, shapes
        self.state = {name: torch.zeros_like(theta) for name in STATE_NAMES[kind]}
        self.like = theta.new_empty(0)     # the dtype and device of the hyperparameter columns

    def set_members(self, trains: list[TrainConfig], lrs: list[float]) -> None:
        """The (M, 1) hyperparameters of the members, in row order."""
        self.set_lr(lrs)
        self.weight_decay = column([t.weight_decay for t in trains], self.like)
        self.any_decay = any(t.weight_decay > 0 for t in trains)
        self.momentum = column([t.momentum for t in trains], self.like)

    def set_lr(self, lrs: list[float]) -> None:
        self.lr = column(lrs, self.like)

    def keep(self, index: Tensor) -> None:
        """Keep the state rows at `index` (the members still training)."""
        self.state = {k: v.index_select(0, index) for k, v in self.state.items()}

    def update(self, p: Tensor, grad: Tensor, step: int) -> None:
        """One optimizer step per member on the flat stacks (torch.optim's formulas)."""
        s, lr = self.state, self.lr
        if self.any_decay:
            grad = grad.add(p * self.weight_decay)
        if self.kind == "sgd":
            p.sub_(lr * grad)
        elif self.kind == "momentum":
            buf = s["momentum_buffer"].mul_(self.momentum).add_(grad)
            p.sub_(lr * buf)
        elif self.kind == "adam":
            (beta1, beta2) = ADAM_BETAS
            s["exp_avg"].lerp_(grad, 1 - beta1)
            s["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = (s["exp_avg_sq"].sqrt() / math.sqrt(1 - beta2 ** step)).add_(ADAM_EPS)
            p.sub_(s["exp_avg"] / denom * (lr / (1 - beta1 ** step)))
        elif self.kind == "rmsprop":
            s["square_avg"].mul_(RMSPROP_ALPHA).addcmul_(grad, grad, value=1 - RMSPROP_ALPHA)
            p.sub_(grad / s["square_avg"].sqrt().add_(RMSPROP_EPS) * lr)
        elif self.kind == "adagrad":
            s["sum"].addcmul_(grad, grad)
            p.sub_(grad / s["sum"].sqrt().add_(ADAGRAD_EPS) * lr)

    def state_dict_of(self, optimizer: torch.optim.Optimizer, params: list[Tensor], row: int,
                      step: int, lr: float) -> dict:
        """Row `row`'s state as the state_dict of `optimizer` (the member's own, over its
        model's `params`), so that ``engine.train(resume=...)`` continues from it.  The
        optimizer built for the member by ``engine.build`` is never stepped: at step 0
        its state is the engine's."""
        set_lr(optimizer, lr)
        if step and self.state:
            slices = {k: v[row].detach().split(self.numels) for k, v in self.state.items()}
            for j, param in enumerate(params):
                state = {k: slices[k][j].view(self.shapes[j]).to("cpu", copy=True)
                         for k in slices}
                if self.kind != "momentum":
                    state["step"] = torch.tensor(float(step), dtype=torch.float32)
                optimizer.state[param] = state
        saved = optimizer.state_dict()
        optimizer.state.clear()   # the payload holds the only reference until it is written
        return saved
