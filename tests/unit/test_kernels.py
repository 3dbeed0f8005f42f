"""A single model on the hand-written kernels (lstm_tui.models.kernels): equal to its own
step loop forward and backward (C loops and torch loops), used only where it computes
the model, and right when two forwards come before their backwards."""

from __future__ import annotations

import copy

import pytest
import torch

from lstm_tui.config import ModelConfig
from lstm_tui.models import build_model
from lstm_tui.models.kernels import native, recurrent

I, B, T = 3, 4, 7


def model_of(cell: str, activation: str = "tanh", readout: str = "last", **options):
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell=cell, hidden=5, activation=activation, **options),
                        I, 2, readout)
    model.fused = False
    return model


def outputs_and_grads(model, x: torch.Tensor, kernel: str) -> tuple:
    model.kernel = kernel
    out, state = model(x)
    states = state if isinstance(state, tuple) else (state,)
    weights = torch.linspace(-1, 1, out.numel()).view_as(out)     # every output counts
    grads = torch.autograd.grad((out * weights).sum(), list(model.parameters()))
    return out.detach(), [s.detach() for s in states], grads


@pytest.mark.parametrize("in_c", [True, False], ids=["c-loops", "torch-loops"])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("activation", ["tanh", "softsign"])
@pytest.mark.parametrize("shape", [dict(readout="last"),
                                   dict(readout="all", layers=2, bidirectional=True),
                                   dict(readout="last", layers=2, bidirectional=True)])
def test_the_kernel_equals_the_step_loop(in_c, cell, activation, shape, monkeypatch,
                                         one_thread):
    if in_c and native.library() is None:
        pytest.skip("no C compiler here")
    monkeypatch.setattr(native, "usable", lambda x: in_c)
    model = model_of(cell, activation, **shape).eval()      # no dropout masks to draw
    assert model.kernel == cell.upper()
    x = torch.randn(B, T, I)
    out_k, states_k, grads_k = outputs_and_grads(model, x, cell.upper())
    out_s, states_s, grads_s = outputs_and_grads(model, x, "")
    torch.testing.assert_close(out_k, out_s, atol=1e-5, rtol=1e-5)
    for a, b in zip(states_k, states_s):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    for (name, _), a, b in zip(model.named_parameters(), grads_k, grads_s):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5, msg=name)


def test_which_models_run_a_kernel():
    assert build_model(ModelConfig(cell="lstm", hidden=4), I, 2, "last").fused   # nn.LSTM
    assert model_of("lstm", "softsign").kernel == "LSTM"
    assert model_of("gru").kernel == "GRU"                  # fused turned off
    assert model_of("lstm", peepholes=True).kernel == ""    # parameters beyond PyTorch's
    for cell in ("slstm", "indrnn", "lstm_cifg", "mingru"):
        assert model_of(cell).kernel == "", cell


def test_the_kernel_runs_from_a_zero_state_only(monkeypatch):
    model = model_of("lstm", "softsign")
    x = torch.randn(B, T, I)
    calls = []
    monkeypatch.setattr(recurrent, "run_model_layer",
                        lambda *a, real=recurrent.run_model_layer: calls.append(1) or real(*a))
    _, state = model(x)
    assert calls
    calls.clear()
    out_k, state_k = model(x, state)                        # a carried state: the step loop
    assert not calls
    model.kernel = ""
    out_s, state_s = model(x, state)
    torch.testing.assert_close(out_k, out_s)


def test_two_forwards_before_their_backwards_keep_their_own_buffers():
    model = model_of("gru", "softsign", readout="all", layers=2)
    x1, x2 = torch.randn(B, T, I), torch.randn(B, T, I)
    for kernel in ("GRU", ""):
        model.kernel = kernel
        model.zero_grad()
        first, _ = model(x1)
        second, _ = model(x2)                     # before the first's backward
        (first.sum() + 2 * second.pow(2).sum()).backward()
        found = {n: p.grad.clone() for n, p in model.named_parameters()}
        if kernel:
            with_kernel = found
    for name, g in found.items():
        torch.testing.assert_close(with_kernel[name], g, atol=1e-5, rtol=1e-5, msg=name)
    assert not model._workspace.pending                     # every backward gave them back


def test_inference_mode_then_training(one_thread):
    model = model_of("lstm", "softsign")
    x = torch.randn(B, T, I)
    with torch.inference_mode():
        first, _ = model(x)
        buffers = dict(model._workspace.inference.buffers)
        second, _ = model(x)          # the inference buffers again, the same numbers
    assert buffers and all(model._workspace.inference.buffers[k] is v
                           for k, v in buffers.items())
    torch.testing.assert_close(first, second)
    out, _ = model(x)                 # no inference tensor may be saved for this backward
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    torch.testing.assert_close(out.detach(), first)


class Output(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)[0]


def test_a_traced_or_copied_model_runs_the_step_loop(monkeypatch):
    model = model_of("lstm", "softsign").eval()
    x = torch.randn(B, T, I)
    def outside_traces(*args, real=recurrent.run_model_layer):
        assert not torch.jit.is_tracing(), "the kernel ran inside a trace"
        return real(*args)
    monkeypatch.setattr(recurrent, "run_model_layer", outside_traces)
    traced = torch.jit.trace(Output(model), x)
    monkeypatch.undo()
    torch.testing.assert_close(traced(x), model(x)[0], atol=1e-5, rtol=1e-5)
    model(x)[0].sum().backward()
    copied = copy.deepcopy(model)
    assert copied._workspace is not model._workspace and not copied._workspace.buffers


def c_calls(monkeypatch) -> list:
    calls: list = []
    monkeypatch.setattr(native, "forward",
                        lambda *a, real=native.forward: calls.append(a[0]) or real(*a))
    return calls


@pytest.mark.skipif(native.library() is None, reason="no C compiler here")
@pytest.mark.parametrize("cell", ["gru", "rnn", "lstm"])
def test_the_c_loops_replace_small_fused_modules_in_training_on_one_thread(cell, monkeypatch,
                                                                          one_thread):
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell=cell, hidden=5, layers=2, bidirectional=True),
                        I, 2, "all").eval()
    assert model.fused
    x = torch.randn(B, T, I)
    calls = c_calls(monkeypatch)
    out_c, states_c, grads_c = outputs_and_grads(model, x, cell.upper())
    assert calls == [cell.upper()] * 4                     # two layers, two directions
    calls.clear()
    out_f, states_f, grads_f = outputs_and_grads(model, x, "")       # the fused module
    assert not calls
    torch.testing.assert_close(out_c, out_f, atol=1e-5, rtol=1e-5)
    for a, b in zip(states_c + list(grads_c), states_f + list(grads_f)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.skipif(native.library() is None, reason="no C compiler here")
def test_the_fused_module_stays_where_it_is_faster(monkeypatch, one_thread):
    calls = c_calls(monkeypatch)
    x = torch.randn(B, T, I)
    big_lstm = build_model(ModelConfig(cell="lstm", hidden=49), I, 2, "last")
    big_gru = build_model(ModelConfig(cell="gru", hidden=129), I, 2, "last")
    gru = build_model(ModelConfig(cell="gru", hidden=5), I, 2, "last")
    big_lstm(x), big_gru(x)                                # oneDNN's LSTM; a large GRU
    gru(x, torch.zeros(1, B, 5))                           # a carried state
    with torch.inference_mode():                 # validation: the fused LSTM, RNN, GRU > 64
        for cell, hidden in (("lstm", 5), ("rnn", 5), ("gru", 65)):
            build_model(ModelConfig(cell=cell, hidden=hidden), I, 2, "last")(x)
    assert not calls
    torch.set_num_threads(2)                               # the C loops are one thread
    gru(x)
    assert not calls
    torch.set_num_threads(1)
    gru(x)
    assert calls == ["GRU"]


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_clipping_in_place_scales_each_gradient_once(cell):
    model = model_of(cell, "softsign")
    x = torch.randn(B, T, I)
    clipped = []
    for kernel in (cell.upper(), ""):
        model.kernel = kernel
        model.zero_grad(set_to_none=True)
        model(x)[0].pow(2).sum().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1e-3)     # scales .grad in place
        clipped.append({n: p.grad.clone() for n, p in model.named_parameters()})
    for name, g in clipped[1].items():
        torch.testing.assert_close(clipped[0][name], g, atol=1e-7, rtol=1e-4, msg=name)


@pytest.mark.skipif(native.library() is None, reason="no C compiler here")
def test_the_c_loops_flush_subnormals_only_inside(one_thread):
    model = model_of("rnn", "softsign")
    model(torch.randn(B, T, I))[0].sum().backward()          # the C loops ran
    assert (torch.tensor([1e-38]) / 100).item() != 0.0       # the caller's mode is back


@pytest.mark.parametrize("in_c", [True, False], ids=["c-loops", "torch-loops"])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("shape", [dict(), dict(layers=2, bidirectional=True, dropout=0.3)])
def test_the_gradient_probe_from_the_kernel_equals_the_step_loops(in_c, cell, shape,
                                                                  monkeypatch, one_thread):
    if in_c and native.library() is None:
        pytest.skip("no C compiler here")
    monkeypatch.setattr(native, "usable", lambda x: in_c)
    model = model_of(cell, "softsign", **shape).train()
    x, y = torch.randn(B, T, I), torch.randint(0, 2, (B,))

    def loss(out, target):
        return torch.nn.functional.cross_entropy(out, target, reduction="sum")
    calls = []
    monkeypatch.setattr(model, "_kernel_probe",
                        lambda *a, real=model._kernel_probe: calls.append(1) or real(*a))
    found = model.timestep_grad_norms(x, y, loss)
    assert calls and model.training                      # the kernel's; the mode restored
    model.kernel = ""
    expected = model.timestep_grad_norms(x, y, loss)
    assert len(found) == T
    torch.testing.assert_close(torch.tensor(found), torch.tensor(expected), atol=1e-6,
                               rtol=1e-4)
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("in_c", [True, False], ids=["c-loops", "torch-loops"])
def test_the_probe_runs_only_the_top_layer_s_time_loop(in_c, monkeypatch, one_thread):
    """The probe wants ∂L/∂h_t of the top layer: its backward computes no weight or input
    gradient, so no layer below runs either (a third of the probe's time)."""
    if in_c and native.library() is None:
        pytest.skip("no C compiler here")
    monkeypatch.setattr(native, "usable", lambda x: in_c)
    model = model_of("lstm", "softsign", layers=2)
    loops = []
    monkeypatch.setattr(recurrent, "_input_grads",
                        lambda *a: pytest.fail("the probe computed the layer's gradients"))
    real = native.backward
    monkeypatch.setattr(native, "backward", lambda *a, **k: loops.append(1) or real(*a, **k))
    norms = model.timestep_grad_norms(torch.randn(B, T, I), torch.randint(0, 2, (B,)),
                                      lambda out, y: torch.nn.functional.cross_entropy(
                                          out, y, reduction="sum"))
    assert len(norms) == T and all(n > 0 for n in norms)
    assert loops == ([1] if in_c else [])                   # the top layer's loop only
