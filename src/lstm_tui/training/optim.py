"""Optimizers, the step-decay schedule and gradient bookkeeping for the engine."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor
from torch.optim import optimizer as _torch_optimizer

from lstm_tui.config import TrainConfig


def build_optimizer(params: Iterable[Tensor], cfg: TrainConfig) -> torch.optim.Optimizer:
    """torch.optim's optimizer of the config, with torch's defaults.

    `foreach=True`: one call per step for all the parameters instead of a Python loop
    over them (torch picks it by itself only on CUDA); on the CPU it runs the same
    per-tensor kernels, so the numbers are bit for bit those of the default path
    (tests/unit/test_optim.py), at about 100 us less per Adam step of a small model.
    """
    params = list(params)
    wd = cfg.weight_decay
    if cfg.optimizer == "sgd":
        return SGD(params, lr=cfg.lr, weight_decay=wd, foreach=True)
    if cfg.optimizer == "momentum":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=wd,
                               foreach=True)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=wd, foreach=True)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, weight_decay=wd, foreach=True)
    if cfg.optimizer == "adagrad":
        return torch.optim.Adagrad(params, lr=cfg.lr, weight_decay=wd, foreach=True)
    if cfg.optimizer == "lbfgs":
        # A few curvature-informed iterations per batch, with a line search so that a
        # too-large lr cannot blow up the step.
        return torch.optim.LBFGS(params, lr=cfg.lr, max_iter=4, history_size=10,
                                 line_search_fn="strong_wolfe")
    raise ValueError(f"train.optimizer: unknown {cfg.optimizer!r}")


class SGD(torch.optim.SGD):
    """torch.optim.SGD, whose plain update (no momentum) skips the bookkeeping around
    the one call it comes down to.

    torch's step opens a profiler record, runs the step hooks and groups the tensors by
    device and dtype before `_foreach_add_(params, grads, alpha=-lr)`.  Right after a
    backward that cost 100-300 us per step here, this one 25-60 us more than the bare
    call: 3-4% of the Udacity character model's run (benchmarks/RESULTS.md).  The call
    runs on the same tensors (weight decay first, as torch adds it), so the numbers are
    bit for bit torch's (tests/unit/test_optim.py); momentum, a closure, hooks, sparse
    or mixed-device gradients take torch's own step (with its hooks: _TORCH_STEP).
    """

    def step(self, closure=None):
        groups = self.param_groups
        group = groups[0]
        if (closure is not None or len(groups) != 1 or group["momentum"]
                or group["maximize"] or group.get("differentiable") or group.get("fused")
                or isinstance(group["lr"], Tensor) or self._optimizer_step_pre_hooks
                or self._optimizer_step_post_hooks or _global_hooks()):
            return _TORCH_STEP(self, closure)
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            return None
        grads = [p.grad for p in params]
        first = params[0]
        if any(g.is_sparse or p.device != first.device or p.dtype != first.dtype
               for p, g in zip(params, grads)):
            return _TORCH_STEP(self, closure)
        with torch.no_grad():
            if group["weight_decay"]:
                grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
            torch._foreach_add_(params, grads, alpha=-group["lr"])
        return None

    # torch.optim wraps a step not marked so in a profiler record and the hooks' calls
    # (Optimizer._patch_step_function): most of the cost above.  (The flat update skips
    # the same wrappers by unwrapping the step it calls: training.flat._bare.)
    step.hooked = True


def _torch_sgd_step():
    """torch.optim.SGD's step with its profiler record and hook calls, wrapped here: torch
    wraps its own class only when one of its instances is made, which a run of the
    SGD above never does (its hooks would then not run)."""
    step = torch.optim.SGD.step
    if getattr(step, "hooked", False):         # wrapped already: the function beneath
        step = step.__wrapped__
    return torch.optim.Optimizer.profile_hook_step(step)


_TORCH_STEP = _torch_sgd_step()


def _global_hooks() -> bool:
    """Whether step hooks were registered for every optimizer (torch.optim's own API)."""
    return bool(getattr(_torch_optimizer, "_global_optimizer_pre_hooks", None)
                or getattr(_torch_optimizer, "_global_optimizer_post_hooks", None))


def torch_class(optimizer: torch.optim.Optimizer) -> type:
    """The torch.optim class of an optimizer build_optimizer made (SGD above refines it)."""
    return next(c for c in type(optimizer).__mro__ if c.__module__.startswith("torch.optim"))


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """Staircase decay, as in the Udacity assignment (lr 10 -> 1 at step 5000)."""
    if cfg.lr_decay_every <= 0 or cfg.lr_decay == 1.0:
        return cfg.lr
    return cfg.lr * cfg.lr_decay ** (step // cfg.lr_decay_every)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def grad_norms_and_clip(grads: list[Tensor], max_norm: float) -> tuple[list[Tensor], Tensor]:
    """Per-parameter norms and the global norm (before clipping); clip in place if asked.

    One fused `_foreach_norm` call: about 1% of a small model's step.
    """
    norms = torch._foreach_norm(grads)
    total = torch.linalg.vector_norm(torch.stack(norms))
    if max_norm > 0:
        coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        torch._foreach_mul_(grads, coef)
    return norms, total
