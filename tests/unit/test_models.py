"""The model layer: fused vs hand-written equivalence, init, read-out, summary, sampling."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
import torch
from torch.nn import functional as F

from lstm_tui.config import ModelConfig
from lstm_tui.models import build_model, detach_state, format_summary, generate, summarize
from lstm_tui.models.summary import param_count

B, T, I, H, O = 3, 5, 4, 6, 3


def make(seed: int = 0, readout: str = "all", input_size: int = I, output_size: int = O,
         **kw):
    torch.manual_seed(seed)
    return build_model(ModelConfig(hidden=kw.pop("hidden", H), **kw), input_size,
                       output_size, readout)


def run_with_grads(model, x, state):
    out, st = model(x, state)
    states = st if isinstance(st, tuple) else (st,)
    loss = out.pow(2).sum() + sum(s.pow(3).sum() for s in states)
    model.zero_grad()
    loss.backward()
    return out, states, {n: p.grad.clone() for n, p in model.named_parameters()}


# ---------------------------------------------------------------- equivalence

@pytest.mark.parametrize("cell,layers,bi", list(itertools.product(
    ["lstm", "gru", "rnn"], [1, 2], [False, True])))
def test_stepwise_tanh_matches_fused(cell, layers, bi):
    model = make(cell=cell, layers=layers, bidirectional=bi, dropout=0.3)
    model.eval()  # inter-layer dropout would draw different masks
    dirs = 2 if bi else 1
    x = torch.randn(B, T, I)
    h0 = torch.randn(layers * dirs, B, H) * 0.5
    state = (h0, torch.randn_like(h0) * 0.5) if cell == "lstm" else h0
    assert model.fused
    fused = run_with_grads(model, x, state)
    model.fused = False
    manual = run_with_grads(model, x, state)
    torch.testing.assert_close(manual[0], fused[0], atol=1e-5, rtol=1e-5)
    for a, b in zip(manual[1], fused[1]):
        assert a.shape == (layers * dirs, B, H)
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    for name, g in fused[2].items():
        torch.testing.assert_close(manual[2][name], g, atol=1e-5, rtol=1e-5, msg=name)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_stepwise_without_initial_state_and_last_readout(cell):
    model = make(cell=cell, layers=2, bidirectional=True, readout="last")
    x = torch.randn(B, T, I)
    out_f, st_f = model(x)
    model.fused = False
    out_m, st_m = model(x)
    assert out_f.shape == out_m.shape == (B, O)
    torch.testing.assert_close(out_m, out_f, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(st_m, st_f, atol=1e-5, rtol=1e-5)


def test_softsign_differs_from_tanh_and_cannot_be_fused():
    x = torch.randn(B, T, I)
    for cell in ("lstm", "gru", "rnn"):
        tanh, soft = make(cell=cell), make(cell=cell, activation="softsign")
        assert not soft.fused
        assert not torch.allclose(tanh(x)[0], soft(x)[0], atol=1e-3)
        with pytest.raises(ValueError):
            soft.fused = True


def test_softsign_stack_trains_with_dropout_and_states():
    model = make(cell="lstm", layers=2, bidirectional=True, dropout=0.5,
                 activation="softsign", readout="last")
    model.train()
    x = torch.randn(B, T, I)
    a, (h, c) = model(x)
    b, _ = model(x)
    assert not torch.equal(a, b)  # dropout active in training mode
    assert h.shape == c.shape == (4, B, H)
    a.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    torch.testing.assert_close(model(x)[0], model(x)[0])


# ---------------------------------------------------------------- read-out and state

def test_bidirectional_last_readout_uses_both_ends():
    model = make(cell="gru", bidirectional=True, readout="last")
    model.eval()
    x = torch.randn(B, T, I)
    seq, _ = model.rnn(x)
    expected = model.head(torch.cat((seq[:, -1, :H], seq[:, 0, H:]), 1))
    torch.testing.assert_close(model(x)[0], expected)
    all_model = make(cell="gru", bidirectional=True, readout="all")
    assert all_model(x)[0].shape == (B, T, O)


def test_stateful_continuation_and_detach_state():
    model = make(cell="lstm", readout="all")
    x = torch.randn(B, 2 * T, I)
    whole, _ = model(x)
    first, state = model(x[:, :T])
    state = detach_state(state)
    assert all(not s.requires_grad for s in state)
    second, _ = model(x[:, T:], state)
    torch.testing.assert_close(torch.cat((first, second), 1), whole, atol=1e-6, rtol=1e-5)
    assert detach_state(None) is None
    assert not detach_state(torch.ones(1, requires_grad=True) * 2).requires_grad


# ---------------------------------------------------------------- init

def test_same_seed_same_model():
    for init in ("default", "xavier", "orthogonal"):
        a = make(seed=7, cell="lstm", layers=2, bidirectional=True, init=init)
        b = make(seed=7, cell="lstm", layers=2, bidirectional=True, init=init)
        for (n, p), q in zip(a.named_parameters(), b.parameters()):
            assert torch.equal(p, q), n


def test_init_schemes_and_forget_bias():
    h = 8
    model = make(cell="lstm", hidden=h, init="orthogonal", forget_bias=2.5, layers=2)
    w = model.rnn.weight_hh_l1
    for block in w.split(h):
        torch.testing.assert_close(block @ block.T, torch.eye(h), atol=1e-5, rtol=0)
    for name, p in model.rnn.named_parameters():
        if name.startswith("bias_ih"):
            assert torch.all(p[h:2 * h] == 2.5) and torch.all(p[:h] == 0), name
        elif name.startswith("bias_hh"):
            assert torch.all(p == 0), name
    assert torch.all(model.head.bias == 0)

    xav = make(cell="gru", hidden=h, init="xavier")
    bound = (6 / (h + I)) ** 0.5  # per gate block: fan_in I, fan_out H
    assert xav.rnn.weight_ih_l0.abs().max() <= bound
    assert all(torch.all(p == 0) for n, p in xav.named_parameters() if "bias" in n)

    default = make(cell="lstm", hidden=h, forget_bias=1.0)
    eff = default.rnn.bias_ih_l0[h:2 * h] + default.rnn.bias_hh_l0[h:2 * h]
    assert torch.all(eff == 1.0)
    assert not torch.all(default.rnn.bias_ih_l0[:h] == 0)  # PyTorch's own uniform elsewhere


# ---------------------------------------------------------------- vanishing-gradient probe

def test_timestep_grad_norms_decay_and_match_fused():
    model = make(cell="rnn", hidden=H, readout="last")
    with torch.no_grad():
        model.rnn.weight_hh_l0.mul_(0.1)  # contracting recurrence: gradients vanish
    model.train()
    x, y = torch.randn(B, 8, I), torch.randint(O, (B,))

    def loss_fn(out, target):
        return F.cross_entropy(out, target, reduction="sum")

    norms = model.timestep_grad_norms(x, y, loss_fn)
    assert len(norms) == 8
    assert norms[0] < norms[-1]
    assert model.training
    assert all(p.grad is None for p in model.parameters())

    seq, _ = model.rnn(x)
    loss = loss_fn(model.head(seq[:, -1]), y)
    (g,) = torch.autograd.grad(loss, seq)
    expected = g[:, -1].norm(dim=1).mean().item()
    assert norms[-1] == pytest.approx(expected, rel=1e-5)


def test_timestep_grad_norms_bidirectional():
    model = make(cell="lstm", layers=2, bidirectional=True, dropout=0.5, readout="last")
    model.eval()
    x, y = torch.randn(1, T, I), torch.randint(O, (1,))

    def loss_fn(out, target):
        return F.cross_entropy(out, target, reduction="sum")

    norms = model.timestep_grad_norms(x, y, loss_fn)
    assert len(norms) == T and all(n > 0 for n in norms)
    assert not model.training
    seq, _ = model.rnn(x)
    (g,) = torch.autograd.grad(loss_fn(model.head(model._select(seq)), y), seq)
    # The forward h at T-1 and the backward h at 0 end their passes, so their total
    # gradient is the direct one; each is one part of its step's joint norm.
    assert norms[-1] >= g[0, -1, :H].norm().item() * (1 - 1e-5)
    assert norms[0] >= g[0, 0, H:].norm().item() * (1 - 1e-5)
    assert g[0, 0, H:].norm() > 0


# ---------------------------------------------------------------- summary

@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_summary_total_equals_model_parameters(cell):
    for layers, bi, (i, o), readout in itertools.product(
            [1, 2, 3], [False, True], [(1, 1), (7, 3), (27, 27)], ["last", "all"]):
        cfg = ModelConfig(cell=cell, hidden=5, layers=layers, bidirectional=bi, dropout=0.1)
        model = build_model(cfg, i, o, readout)
        real = sum(p.numel() for p in model.parameters())
        s = summarize(cfg, i, o, 9, readout)
        assert s.total == s.trainable == real == param_count(cfg, i, o)
        assert s.non_trainable == 0


def test_summary_rows_and_text():
    cfg = ModelConfig(cell="lstm", hidden=32, layers=2, bidirectional=True, dropout=0.2)
    s = summarize(cfg, 10, 5, 20, "last")
    names = [(r.layer, r.kind, r.output_shape, r.params) for r in s.rows]
    assert names[0] == ("input", "Input", "(None, 20, 10)", 0)
    assert names[1] == ("lstm_1", "Bidirectional LSTM", "(None, 20, 64)",
                        2 * 4 * (32 * 10 + 32 * 32 + 64))
    assert names[2][:3] == ("lstm_2", "Bidirectional LSTM", "(None, 20, 64)")
    assert names[3] == ("last_step", "Select", "(None, 64)", 0)
    assert names[4] == ("dropout", "Dropout", "(None, 64)", 0)
    assert names[5] == ("dense", "Linear", "(None, 5)", 64 * 5 + 5)
    assert any("b_ih" in n and "b_hh" in n and "128" in n for n in s.notes)

    flat = summarize(ModelConfig(cell="gru", hidden=4), 3, 2, 7, "all")
    assert [r.layer for r in flat.rows] == ["input", "gru_1", "dense"]
    assert flat.rows[-1].output_shape == "(None, 7, 2)"
    assert any("reset_after=True" in n for n in flat.notes)
    rnn = summarize(ModelConfig(cell="rnn", hidden=4), 3, 2, 7, "all")
    assert any("SimpleRNN" in n for n in rnn.notes)

    text = format_summary(s)
    for piece in ("Layer (type)", "Output Shape", "Param #", "lstm_1 (Bidirectional LSTM)",
                  f"Total params: {s.total:,}", "Trainable params:",
                  "Non-trainable params: 0", "====", "____"):
        assert piece in text


def test_summary_does_not_import_torch():
    code = ("import sys, lstm_tui.models.summary, lstm_tui.models; "
            "from lstm_tui.models import summarize, format_summary; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# ---------------------------------------------------------------- sampling

VOCAB = list(" abcdefg")


def encode(text):
    return [VOCAB.index(ch) for ch in text]


def decode(codes):
    return "".join(VOCAB[i] for i in codes)


def char_model():
    return make(seed=3, cell="lstm", hidden=8, input_size=len(VOCAB),
                output_size=len(VOCAB), readout="all")


def sample(model, **kw):
    args = dict(prime="abc", length=20, temperature=1.0, seed=5, device="cpu") | kw
    return "".join(generate(model, encode, decode, len(VOCAB), **args))


def test_generate_is_seeded_streams_and_restores_mode():
    model = char_model()
    model.train()
    stream = generate(model, encode, decode, len(VOCAB), "ab", 5, 1.0, 1, "cpu")
    first = next(stream)
    assert len(first) == 1 and model.training and torch.is_grad_enabled()
    assert len(first + "".join(stream)) == 5
    a, b = sample(model), sample(model)
    assert a == b and len(a) == 20 and set(a) <= set(VOCAB)
    assert sample(model, seed=6) != a or sample(model, seed=7) != a
    assert sample(model, prime="") == sample(model, prime="")
    assert sample(model, length=0) == ""


def test_generate_near_zero_temperature_is_argmax():
    model = char_model()
    greedy = sample(model, temperature=1e-4, seed=1)
    assert greedy == sample(model, temperature=1e-5, seed=99)
    # The same greedy decoding by hand, one full forward pass per character.
    text = "abc"
    model.eval()
    with torch.no_grad():
        for _ in range(20):
            x = F.one_hot(torch.tensor(encode(text)), len(VOCAB)).float()[None]
            text += VOCAB[int(model(x)[0][0, -1].argmax())]
    assert greedy == text[3:]
    assert sample(model, temperature=0.0) == greedy


def test_generate_accepts_tensor_codes_and_unknown_prime():
    model = char_model()

    def encode_tensor(text):  # like the char LM task: a tensor, unknown characters dropped
        return torch.tensor([VOCAB.index(ch) for ch in text if ch in VOCAB], dtype=torch.long)

    def run(prime):
        return "".join(generate(model, encode_tensor, decode, len(VOCAB), prime, 10, 0.5, 3))

    assert run("abc") == sample(model, length=10, temperature=0.5, seed=3)
    assert run("xyz") == run("") == run(" ")  # nothing known: start from a space
