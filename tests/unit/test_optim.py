"""Optimizers, the step-decay schedule and clipping, as the engine uses them."""

from __future__ import annotations

import math

import pytest
import torch

from lstm_tui.config import TrainConfig
from lstm_tui.training.optim import (build_optimizer, grad_norms_and_clip, learning_rate,
                                     set_lr, torch_class)


def _params():
    return [torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))]


@pytest.mark.parametrize("name,kind,extra", [
    ("sgd", torch.optim.SGD, {"momentum": 0}), ("momentum", torch.optim.SGD, {"momentum": 0.7}),
    ("adam", torch.optim.Adam, {}), ("rmsprop", torch.optim.RMSprop, {}),
    ("adagrad", torch.optim.Adagrad, {}),
    ("lbfgs", torch.optim.LBFGS, {"max_iter": 4, "history_size": 10,
                                  "line_search_fn": "strong_wolfe"})])
def test_each_optimizer_gets_the_configured_hyperparameters(name, kind, extra):
    cfg = TrainConfig(optimizer=name, lr=0.03, momentum=0.7,
                      weight_decay=0.0 if name == "lbfgs" else 0.25)
    params = _params()
    opt = build_optimizer(iter(params), cfg)     # any iterable of parameters
    assert torch_class(opt) is kind
    group = opt.param_groups[0]
    assert group["lr"] == 0.03 and group["params"] == params
    if name != "lbfgs":
        assert group["weight_decay"] == 0.25
    for key, value in extra.items():
        assert group[key] == value, key


def _twins(seed: int, steps: int):
    """Two copies of the same parameters, and `steps` steps' gradients for them."""
    gen = torch.Generator().manual_seed(seed)
    start = [torch.randn(4, 3, generator=gen), torch.randn(3, generator=gen)]
    grads = [[torch.randn(p.shape, generator=gen) for p in start] for _ in range(steps)]
    return ([torch.nn.Parameter(p.clone()) for p in start],
            [torch.nn.Parameter(p.clone()) for p in start], grads)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "rmsprop", "adagrad"])
def test_the_one_call_update_equals_the_per_tensor_one_bit_for_bit(name):
    # build_optimizer asks for foreach=True (speed); torch's default on the CPU is the
    # per-tensor loop.  A run's numbers must not depend on which one ran.
    cfg = TrainConfig(optimizer=name, lr=0.03, momentum=0.7, weight_decay=0.01)
    ours, theirs, grads = _twins(seed=0, steps=5)
    opt = build_optimizer(ours, cfg)
    assert opt.param_groups[0]["foreach"] is True
    group = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    group["foreach"] = None
    reference = torch_class(opt)(theirs, **group)
    for step_grads in grads:
        for params, o in ((ours, opt), (theirs, reference)):
            for p, g in zip(params, step_grads):
                p.grad = g.clone()
            o.step()
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_plain_sgd_updates_without_torch_s_step_and_equals_it(monkeypatch, weight_decay):
    """The engine's plain SGD is torch's last call without the bookkeeping around it: the
    numbers of torch.optim.SGD (its default per-tensor path), torch's step and its
    profiler record not run; a closure, momentum or a step hook take torch's step."""
    cfg = TrainConfig(optimizer="sgd", lr=0.5, weight_decay=weight_decay)
    ours, theirs, grads = _twins(seed=1, steps=4)
    opt = build_optimizer(ours, cfg)
    reference = torch.optim.SGD(theirs, lr=0.5, weight_decay=weight_decay)
    torch_step = torch.optim.SGD.step
    for step_grads in grads:
        for p, q, g in zip(ours, theirs, step_grads):
            p.grad, q.grad = g.clone(), g.clone()
        reference.step()
        with monkeypatch.context() as patched:
            patched.setattr(torch.optim.SGD, "step", lambda *a, **k: pytest.fail("torch's step"))
            patched.setattr(torch.autograd.profiler, "record_function",
                            lambda *a, **k: pytest.fail("a profiler record"))
            opt.step()
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)
    hooked, heard = build_optimizer(ours, cfg), []
    hooked.register_step_post_hook(lambda *args: heard.append("hook"))
    hooked.step()
    # torch wraps its own class's step (hooks, profiler) only once one of its instances
    # is made: the hook runs once whether or not that happened in this process
    with monkeypatch.context() as bare:
        bare.setattr(torch.optim.SGD, "step", getattr(torch_step, "__wrapped__", torch_step))
        hooked.step()
    assert heard == ["hook", "hook"]
    ran = []
    from lstm_tui.training import optim

    def counted(step):
        return lambda self, closure=None: ran.append(closure) or step(self, closure)
    monkeypatch.setattr(torch.optim.SGD, "step", counted(torch_step))
    monkeypatch.setattr(optim, "_TORCH_STEP", counted(optim._TORCH_STEP))
    opt.step(lambda: torch.tensor(0.0))
    build_optimizer(ours, TrainConfig(optimizer="momentum", lr=0.5)).step()
    assert heard == ["hook", "hook"] and len(ran) == 2


def test_unknown_optimizer_is_an_error():
    cfg = TrainConfig()
    object.__setattr__(cfg, "optimizer", "adamw")
    with pytest.raises(ValueError, match="train.optimizer: unknown 'adamw'"):
        build_optimizer(_params(), cfg)


def test_learning_rate_staircase():
    cfg = TrainConfig(lr=2.0, lr_decay=0.5, lr_decay_every=3)
    assert [learning_rate(cfg, s) for s in range(7)] == [2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 0.5]
    assert learning_rate(TrainConfig(lr=2.0, lr_decay=0.5, lr_decay_every=0), 99) == 2.0
    assert learning_rate(TrainConfig(lr=2.0, lr_decay=1.0, lr_decay_every=1), 99) == 2.0


def test_set_lr_sets_every_group():
    a, b = _params()
    opt = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 5.0}], lr=1.0)
    set_lr(opt, 0.125)
    assert [g["lr"] for g in opt.param_groups] == [0.125, 0.125]


def test_norms_are_taken_before_clipping_and_clipping_reaches_max_norm():
    grads = [torch.full((3,), 4.0), torch.full((4,), 3.0)]
    norms, total = grad_norms_and_clip(grads, 2.0)
    assert math.isclose(float(total), math.sqrt(84), rel_tol=1e-6)
    assert [float(n) for n in norms] == pytest.approx([math.sqrt(48), 6.0])
    assert float(torch.linalg.vector_norm(torch.cat(grads))) == pytest.approx(2.0, rel=1e-5)
    # the direction is kept: every element scaled by the same factor
    assert float(grads[0][0] / grads[1][0]) == pytest.approx(4 / 3)


@pytest.mark.parametrize("max_norm", [0.0, 10.0])
def test_gradients_within_the_bound_or_unclipped_are_left_alone(max_norm):
    grads = [torch.tensor([0.3, -0.4]), torch.tensor([1.2])]
    before = [g.clone() for g in grads]
    norms, total = grad_norms_and_clip(grads, max_norm)
    assert float(total) == pytest.approx(1.3)
    for g, b in zip(grads, before):
        assert torch.equal(g, b)
