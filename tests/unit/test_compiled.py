"""model.compile: the compiled step loop equals the plain one, a failing or missing
compiler leaves the plain loop with one line saying so, and `auto` compiles only long CPU
runs of a step-loop cell.  One test compiles for real (a tiny cell, chunks of 2 steps)."""

from __future__ import annotations

import copy

import pytest
import torch

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, ModelConfig, apply_overrides, parse_config
from lstm_tui.models import build_model, compiled
from tests.engine_runs import of, run

CPU = torch.device("cpu")


def grads(model, x):
    out, state = model(x)
    loss = out.pow(2).sum() + sum(s.pow(2).sum() for s in (state if isinstance(state, tuple)
                                                          else (state,)))
    return out, torch.autograd.grad(loss, list(model.parameters()))


@pytest.mark.slow             # compiles for real: ~15 s on 2 busy cores, the cache warm
def test_the_compiled_loop_equals_the_plain_loop():
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell="indrnn", hidden=4, bidirectional=True), 3, 2, "all")
    loop = compiled.CompiledLoop(model.spec, model.cfg, batch=3, chunk=2)
    loop.warm_up(model.layer_params(0, 0), 3)
    x = torch.randn(3, 5, 3)             # two chunks and one plain step, both directions
    plain_out, plain = grads(model, x)
    model.compiled = loop
    assert loop.applies(x) and not loop.applies(x[:2])     # another batch size: plain
    out, found = grads(model, x)
    assert loop.problem is None
    torch.testing.assert_close(out, plain_out, atol=1e-5, rtol=1e-5)
    for a, b in zip(found, plain):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert copy.deepcopy(model).compiled is None           # copies run the plain loop


def failing_compile(fn, **kwargs):
    def run(*args):
        raise RuntimeError("boom\nsecond line")
    return run


def test_a_compile_that_raises_leaves_the_plain_loop_with_one_line(monkeypatch):
    monkeypatch.setattr(torch, "compile", failing_compile)
    monkeypatch.setattr(compiled, "CHUNK", 2)
    monkeypatch.setattr(compiled, "unavailable", lambda device: None)
    events, last = run({"task": {"kind": "nth_element", "seq_len": 4, "features": 4, "n": 1,
                                 "train_size": 64, "val_size": 32},
                        "model": {"cell": "indrnn", "hidden": 8, "compile": "on"},
                        "train": {"batch_size": 16, "steps": 4, "log_every": 2}})
    assert last.status == "completed"
    [start] = of(events, ev.RunStarted)
    assert start.notes == ("model.compile: torch.compile failed (RuntimeError: boom); the "
                           "step loop runs uncompiled",)


def test_no_compiler_is_said_before_anything_compiles(monkeypatch):
    monkeypatch.setattr(compiled, "CHUNK", 2)
    monkeypatch.setattr(compiled.shutil, "which", lambda name: None)
    monkeypatch.setattr(torch, "compile", lambda *a, **k: pytest.fail("compiled anyway"))
    model = build_model(ModelConfig(cell="indrnn", hidden=4), 3, 2, "last")
    note = compiled.enable(model, "on", CPU, 10, 4, 3, seq_len=8)
    assert note == ("model.compile: no C++ compiler found (torch.compile needs one on the "
                    "CPU); the step loop runs uncompiled")
    assert model.compiled is None


@pytest.mark.parametrize("setting, cell, steps, seq_len, why", [
    ("off", "indrnn", 10 ** 6, 100, "off"),
    ("auto", "lstm", 10 ** 6, 100, "the lstm runs on its fused kernel"),
    ("auto", "mingru", 10 ** 6, 100, "the mingru runs its parallel scan"),
    ("on", "gru:softsign", 10 ** 6, 100, "the gru runs on the hand-written GRU kernel"),
    ("auto", "slstm", 10 ** 6, 10, "sequences of 10 steps are shorter than a compiled chunk (25)"),
    ("auto", "slstm", compiled.AUTO_MIN_STEPS - 1, 100, "auto compiles runs of 20,000+ steps"),
    ("auto", "slstm", compiled.AUTO_MIN_STEPS, 100, None),
    ("on", "slstm", 1, 100, None),
])
def test_what_auto_and_on_compile(setting, cell, steps, seq_len, why):
    cell, _, activation = cell.partition(":")
    model = build_model(ModelConfig(cell=cell, hidden=4, activation=activation or "tanh"),
                        3, 2, "last")
    assert compiled.decide(setting, model, CPU, steps, seq_len) == why


def test_auto_leaves_gpu_runs_alone():
    model = build_model(ModelConfig(cell="slstm", hidden=4), 3, 2, "last")
    assert compiled.decide("auto", model, torch.device("cuda"), 10 ** 6, 100) == \
        "auto compiles on the CPU only"
    note = compiled.enable(model, "on", CPU, 10, 4, 3, seq_len=8)
    assert note == ("model.compile = on: not compiled (sequences of 8 steps are shorter than "
                    "a compiled chunk (25))")


def test_a_bad_compile_value_names_the_key():
    with pytest.raises(ConfigError) as info:
        parse_config(apply_overrides({}, ["model.compile=fast"]))
    assert "model.compile" in str(info.value) and "auto, on, off" in str(info.value)


@pytest.mark.parametrize("setting, kept", [("auto", False), ("on", True)])
def test_auto_keeps_the_graph_only_where_it_measured_faster(monkeypatch, setting, kept):
    monkeypatch.setattr(compiled.CompiledLoop, "warm_up", lambda self, p, size: 12.3)
    monkeypatch.setattr(compiled.CompiledLoop, "speedup", lambda self, p, size, length: 1.05)
    model = build_model(ModelConfig(cell="slstm", hidden=4), 3, 2, "last")
    note = compiled.enable(model, setting, CPU, compiled.AUTO_MIN_STEPS, 4, 3, seq_len=30)
    done = "compiled in 12 s (chunks of 25 steps, batch 4), 1.05x the plain loop's speed here"
    if kept:
        assert note == f"model.compile: step loop {done}" and model.compiled is not None
    else:
        assert note == f"model.compile = auto: {done}; the step loop runs uncompiled"
        assert model.compiled is None


def test_a_graph_that_fails_mid_run_falls_back_to_the_plain_loop():
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell="indrnn", hidden=4), 3, 2, "all")
    x = torch.randn(3, 5, 3)
    plain_out, plain = grads(model, x)
    loop = compiled.CompiledLoop(model.spec, model.cfg, batch=3, chunk=2)

    def recompile(*args):
        raise RuntimeError("Dynamo recompile limit exceeded\ndetails")
    loop._graph = recompile
    model.compiled = loop
    out, found = grads(model, x)
    assert loop.problem == "RuntimeError: Dynamo recompile limit exceeded"
    assert not loop.applies(x)                      # and the plain loop from then on
    torch.testing.assert_close(out, plain_out)
    for a, b in zip(found, plain):
        torch.testing.assert_close(a, b)


def test_a_compile_is_said_before_it_starts(monkeypatch):
    heard = []
    monkeypatch.setattr(compiled, "unavailable", lambda device: None)
    monkeypatch.setattr(compiled.CompiledLoop, "warm_up",
                        lambda self, p, size: heard.append("compiled") or 12.3)
    monkeypatch.setattr(compiled.CompiledLoop, "speedup", lambda self, p, size, length: 1.5)
    model = build_model(ModelConfig(cell="slstm", hidden=4), 3, 2, "last")
    note = compiled.enable(model, "on", CPU, 10, 4, 3, seq_len=30,
                           say=lambda what, detail: heard.append((what, detail)))
    assert heard[0] == ("compiling the slstm step loop (torch.compile)",
                        "model.compile = on: chunks of 25 steps at batch 4; minutes the first "
                        "time on a CPU, seconds from inductor's cache; model.compile = off "
                        "skips it")
    assert heard[1:] == ["compiled"] and note.startswith("model.compile: step loop compiled")


def test_the_engine_says_it_compiles_before_its_first_event(monkeypatch):
    # auto, and a graph that measured slower: the stubs compile nothing and nothing is kept
    monkeypatch.setattr(compiled, "CHUNK", 2)
    monkeypatch.setattr(compiled, "AUTO_MIN_STEPS", 1)
    monkeypatch.setattr(compiled, "unavailable", lambda device: None)
    monkeypatch.setattr(compiled.CompiledLoop, "warm_up", lambda self, p, size: 1.0)
    monkeypatch.setattr(compiled.CompiledLoop, "speedup", lambda self, p, size, length: 0.5)
    events, last = run({"task": {"kind": "nth_element", "seq_len": 4, "features": 4, "n": 1,
                                 "train_size": 64, "val_size": 32},
                        "model": {"cell": "indrnn", "hidden": 8, "compile": "auto"},
                        "train": {"batch_size": 16, "steps": 4, "log_every": 2}})
    assert last.status == "completed"
    assert isinstance(events[0], ev.Preparing) and isinstance(events[1], ev.RunStarted)
    assert events[0].what == "compiling the indrnn step loop (torch.compile)"
    assert not any(isinstance(e, ev.Preparing) for e in events[1:])
