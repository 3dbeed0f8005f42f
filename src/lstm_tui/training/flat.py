"""One optimizer update over all of a model's parameters at once (the engine, on the CPU).

torch.optim's update runs its formula once per parameter tensor (or once per op over
the list, `foreach`), a dozen small ops each; a small model's step spends more on that
than on the arithmetic.  Here the parameters are views of one flat buffer, the
gradients are gathered into another, and the same torch optimizer (same formula, same
defaults) updates the flat buffer: the same element-wise arithmetic, so the numbers are
bit for bit those of the per-tensor update (tests/unit/test_flat_optim.py), at ~90 µs
less per Adam step of a small model: 4-8% of a whole run of the small presets, where
checkpoints copy three buffers instead of a tensor per parameter (benchmarks/RESULTS.md,
"Whole runs", seventh pass).

A checkpoint keeps the optimizer's ordinary per-parameter state_dict (views of the
flat state, each step count its own tensor), so it resumes in a plain torch optimizer,
and a plain state_dict resumes here.  A step where some parameter has no gradient (torch
then leaves that parameter and its state alone) ends the flat updates for the rest of the
run: the per-parameter optimizer takes over the same state.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor

from lstm_tui.training.optim import torch_class
from lstm_tui.training.record import copied


def applies(optimizer: torch.optim.Optimizer, params: list[Tensor]) -> bool:
    """Whether `optimizer` over `params` is stepped flat: float32 CPU parameters, all of
    them trained, all in one group, with an element-wise update of several ops (plain SGD
    is one op per tensor already: gathering its gradients cost more than it saved)."""
    groups = optimizer.param_groups
    plain_sgd = isinstance(optimizer, torch.optim.SGD) and not groups[0].get("momentum")
    return (not isinstance(optimizer, torch.optim.LBFGS) and not plain_sgd
            and len(groups) == 1 and len(groups[0]["params"]) == len(params) > 0
            and all(a is b for a, b in zip(groups[0]["params"], params))
            and all(p.device.type == "cpu" and p.dtype == torch.float32 and p.requires_grad
                    and not p.is_sparse for p in params))


def separate(state: dict) -> dict:
    """`state` (a model's state_dict) with each tensor on a storage of its own: a
    checkpoint's weights then load and save one by one as before (safetensors refuses
    tensors that share memory), not as views of the flat buffer."""
    copied = copy.copy(state)          # its type and _metadata, as load_state_dict wants
    for key, value in copied.items():
        copied[key] = value.clone()
    return copied


class FlatOptimizer:
    """`optimizer` (built over `params`), stepped over a flat buffer that `params` become
    views of.  `step`, `param_groups`, `state_dict` and `load_state_dict` as the
    engine uses them."""

    def __init__(self, optimizer: torch.optim.Optimizer, params: list[Tensor]) -> None:
        self.per_tensor, self.params = optimizer, params
        self.sizes = [p.numel() for p in params]
        flat = torch.nn.Parameter(torch.cat([p.detach().reshape(-1) for p in params]))
        for p, view in zip(params, self._views(flat.data)):
            p.data = view                 # the model's parameters, now views of `flat`
        flat.grad = torch.zeros_like(flat)
        group = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
        group["foreach"] = False          # one tensor: the per-tensor path, without a list
        self.flat, self.inner = flat, torch_class(optimizer)([flat], **group)
        self._update = _bare(type(self.inner).step)
        self.flat_mode = True

    @property
    def param_groups(self) -> list[dict]:
        return (self.inner if self.flat_mode else self.per_tensor).param_groups

    def step(self) -> None:
        if self.flat_mode and any(p.grad is None for p in self.params):
            self._leave()
        if not self.flat_mode:
            self.per_tensor.step()
            return
        torch.cat([p.grad.reshape(-1) for p in self.params], out=self.flat.grad)
        with torch.no_grad():
            self._update(self.inner)

    def state_dict(self, private: bool = False) -> dict:
        """The per-parameter optimizer's state_dict, as torch.optim gives it; `private`:
        its tensors copies that later steps leave alone (a checkpoint's: one clone per
        flat buffer)."""
        if not self.flat_mode:
            state = self.per_tensor.state_dict()
            return copied(state) if private else state
        self._share(private)
        return self.per_tensor.state_dict()

    def load_state_dict(self, state: dict) -> None:
        """A per-parameter state_dict (a checkpoint's), into the flat state."""
        self.per_tensor.load_state_dict(state)
        if not self.flat_mode:
            return
        self.inner.param_groups[0].update(
            {k: v for k, v in self.per_tensor.param_groups[0].items() if k != "params"},
            foreach=False)
        per_param = [self.per_tensor.state.get(p, {}) for p in self.params]
        flat_state = {}
        for key in set().union(*per_param):
            values = [s.get(key) for s in per_param]
            if all(isinstance(v, Tensor) and v.shape == p.shape
                   for v, p in zip(values, self.params)):
                flat_state[key] = torch.cat([v.reshape(-1) for v in values])
            elif all(isinstance(v, Tensor) and v.dim() == 0 and torch.equal(v, values[0])
                     for v in values):
                flat_state[key] = values[0].clone()      # a step count, the same for all
            else:   # not the state of one update of every parameter: step per tensor
                self.flat_mode = False
                return
        self.inner.state[self.flat] = flat_state

    # ---- the per-parameter view of the state

    def _views(self, flat: Tensor) -> list[Tensor]:
        return [v.view_as(p) for v, p in zip(flat.split(self.sizes), self.params)]

    def _share(self, private: bool = False) -> None:
        """Make the per-parameter optimizer's state views of the flat state (`private`: of a
        copy of it; its step counts copies: separate tensors, as torch keeps them)."""
        self.per_tensor.param_groups[0].update(
            {k: v for k, v in self.inner.param_groups[0].items() if k not in ("params",
                                                                               "foreach")})
        # new dicts each time: a state_dict given before (a checkpoint's) keeps its own
        states: list[dict] = [{} for _ in self.params]
        for key, value in self.inner.state.get(self.flat, {}).items():
            if not isinstance(value, Tensor):
                views = [value] * len(self.params)
            elif value.dim():
                views = self._views(value.clone() if private else value)
            else:
                views = [value.clone() for _ in self.params]
            for state, view in zip(states, views):
                state[key] = view
        for p, state in zip(self.params, states):
            if state:                      # (torch keeps no entry for a stateless update)
                self.per_tensor.state[p] = state

    def _leave(self) -> None:
        """Step per tensor from now on, from the same state."""
        self._share()
        self.flat_mode = False


def _bare(step):
    """An optimizer's own `step`, without the wrappers torch.optim puts around it (the
    profiler's record and the step hooks, which the engine never registers; the grad
    mode, set by the caller): ~20 µs less per step, 2% of a small preset's whole run."""
    while hasattr(step, "__wrapped__"):
        step = step.__wrapped__
    return step
