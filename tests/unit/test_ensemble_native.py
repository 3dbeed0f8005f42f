"""The LSTM, GRU and RNN time loops in C (models/kernels/native.py): equal to the
torch loops of models/kernels/recurrent.py, a NaN stays a NaN, and without a compiler the torch loops
run."""

from __future__ import annotations

import math

import pytest
import torch

from lstm_tui.training import engine
from lstm_tui.models.kernels import native
from lstm_tui.training.ensemble.recurrence import forward, network
from lstm_tui.models.kernels.workspace import Workspace
from tests.unit.test_ensemble import config

needs_c = pytest.mark.skipif(native.library() is None, reason="no C compiler here")


def stacks_of(members: int, cell: str = "lstm", **model) -> tuple:
    models = []
    for seed in range(members):
        torch.manual_seed(seed)
        models.append(engine.build(config(model={"cell": cell, **model})).model)
    stacks = {n: torch.stack([dict(m.named_parameters())[n].detach() for m in models])
              for n, _ in models[0].named_parameters()}
    return models[0], stacks


def outputs_and_grads(net, stacks, x, in_c: bool, monkeypatch) -> tuple:
    monkeypatch.setattr(native, "usable", lambda x: in_c)
    params = {n: p.clone().requires_grad_() for n, p in stacks.items()}
    out = forward(net, params, x, Workspace())
    weights = torch.linspace(-1, 1, out.numel()).view_as(out)   # every output counts
    grads = torch.autograd.grad((out * weights).sum(), list(params.values()))
    return out.detach(), grads


@needs_c
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("readout", ["last", "all"])
@pytest.mark.parametrize("activation", ["tanh", "softsign"])
def test_the_c_loops_equal_the_torch_loops_forward_and_backward(cell, readout, activation,
                                                                monkeypatch, one_thread):
    # hidden 21: every path of the C matmul (blocks of 64 and 16 columns, the terms split
    # four ways, and the leftovers of each)
    model, stacks = stacks_of(3, cell, hidden=21, layers=2, bidirectional=True,
                              activation=activation)
    net = network(model, readout)
    assert net.layout == cell.upper()
    x = torch.randn(3, 6, 4, 5)
    out_c, grads_c = outputs_and_grads(net, stacks, x, True, monkeypatch)
    out_t, grads_t = outputs_and_grads(net, stacks, x, False, monkeypatch)
    torch.testing.assert_close(out_c, out_t, atol=1e-6, rtol=1e-5)
    for g_c, g_t in zip(grads_c, grads_t):
        torch.testing.assert_close(g_c, g_t, atol=2e-6, rtol=1e-5)


@needs_c
def test_the_ensemble_runs_its_loops_in_c_on_one_cpu_thread(monkeypatch, one_thread):
    calls = []
    monkeypatch.setattr(native, "forward",
                        lambda *a, real=native.forward: calls.append(1) or real(*a))
    model, stacks = stacks_of(2)
    forward(network(model, "last"), stacks, torch.randn(2, 6, 4, 5), Workspace())
    assert calls
    calls.clear()
    torch.set_num_threads(2)           # the C loops are single-threaded: torch's run
    forward(network(model, "last"), stacks, torch.randn(2, 6, 4, 5), Workspace())
    assert not calls


@needs_c
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_a_nan_weight_gives_a_nan_output_in_c(cell, monkeypatch, one_thread):
    model, stacks = stacks_of(2, cell)
    stacks["rnn.weight_hh_l0"][1, 0, 0] = math.nan     # member 1 diverged
    out, _ = outputs_and_grads(network(model, "last"), stacks, torch.randn(2, 6, 4, 5), True,
                               monkeypatch)
    assert torch.isfinite(out[0]).all() and torch.isnan(out[1]).any()


def test_without_a_compiler_the_torch_loops_run(monkeypatch, tmp_path, one_thread):
    monkeypatch.setenv("LSTM_LAB_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    native.library.cache_clear()
    try:
        assert native.library() is None
        assert not native.usable(torch.zeros(1))
        model, stacks = stacks_of(2)
        out = forward(network(model, "last"), stacks, torch.randn(2, 6, 4, 5), Workspace())
        assert torch.isfinite(out).all()
        monkeypatch.setenv("LSTM_LAB_NATIVE", "0")      # switched off by hand
        monkeypatch.delenv("CC")
        native.library.cache_clear()
        assert native.library() is None
    finally:
        monkeypatch.undo()
        native.library.cache_clear()
