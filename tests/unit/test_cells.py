"""Every shipped cell: its step equals an independent float64 reference written here from
the paper's equations; scans and fused kernels equal the steps; parameter counts by
formula; ``inspect``'s gates satisfy each cell's own recurrence."""

from __future__ import annotations

import re

import pytest
import torch
from torch.nn import functional as F

from lstm_tui.config import ModelConfig
from lstm_tui.inspection.record import trace_stack
from lstm_tui.models import build_model, summarize
from lstm_tui.models import layers as L
from lstm_tui.models.cells import names, spec_of
from tests.conftest import REPO

I, H, T, B = 3, 4, 7, 2
OPTIONS = {"slstm": {"heads": 2}, "indrnn": {"recurrent_max": 1.5}}


def model_of(cell: str, seed: int = 0, **kw):
    torch.manual_seed(seed)
    cfg = ModelConfig(cell=cell, hidden=kw.pop("hidden", H), **{**OPTIONS.get(cell, {}), **kw})
    return build_model(cfg, I, 2, "all").double().eval()


def steps_of(model, x):
    """The model's step path over x: h_t (B, T, H) and the final state."""
    hs, state = L.run(model.spec, model.layer_params(0, 0), x, None, model.cfg, parallel=False)
    return torch.stack(hs, 1), state


# ---------------------------------------------------------------- the references

def sig(z):
    return 1 / (1 + torch.exp(-z))


def rows(w, k, n):
    """The k-th of n equal row blocks."""
    size = w.shape[0] // n
    return w[k * size:(k + 1) * size]


def ref_rnn(p, x, cfg):
    h, out = torch.zeros(B, H, dtype=x.dtype), []
    for t in range(T):
        h = torch.tanh(x[:, t] @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T
                       + p["bias_hh"])
        out.append(h)
    return out


def ref_gru(p, x, cfg):
    (wr, wz, wn), (ur, uz, un) = ([rows(p[n], k, 3) for k in range(3)]
                                  for n in ("weight_ih", "weight_hh"))
    (br, bz, bn), (cr, cz, cn) = ([rows(p[n], k, 3) for k in range(3)]
                                  for n in ("bias_ih", "bias_hh"))
    h, out = torch.zeros(B, H, dtype=x.dtype), []
    for t in range(T):
        xt = x[:, t]
        r = sig(xt @ wr.T + br + h @ ur.T + cr)
        z = sig(xt @ wz.T + bz + h @ uz.T + cz)
        n = torch.tanh(xt @ wn.T + bn + r * (h @ un.T + cn))
        h = (1 - z) * n + z * h
        out.append(h)
    return out


def greff(blocks, *, input_act=True, output_act=True, coupled=False, fgr=False):
    """Greff et al. 2015's equations (section 2), written out per gate block."""
    def ref(p, x, cfg):
        n = len(blocks)
        w = {g: rows(p["weight_ih"], k, n) for k, g in enumerate(blocks)}
        r = {g: rows(p["weight_hh"], k, n) for k, g in enumerate(blocks)}
        b = {g: rows(p["bias_ih"] + p["bias_hh"], k, n) for k, g in enumerate(blocks)}
        peep = {g: p.get(f"peep_{g}") for g in "ifo"}
        zero = torch.zeros(B, H, dtype=x.dtype)
        h, c, prev, out = zero, zero, {g: zero for g in "ifo"}, []

        def pre(g, xt, hh, cc):
            v = xt @ w[g].T + hh @ r[g].T + b[g]
            if fgr and g in "ifo":
                j = "ifo".index(g)
                v = v + sum(prev[s] @ p["weight_gg"][j * H:(j + 1) * H, k * H:(k + 1) * H].T
                            for k, s in enumerate("ifo"))
            if cfg.peepholes and g in "ifo":
                v = v + peep[g] * cc
            return v

        for t in range(T):
            xt = x[:, t]
            i = sig(pre("i", xt, h, c)) if "i" in blocks else torch.ones_like(c)
            if coupled:
                f = 1 - i
            else:
                f = sig(pre("f", xt, h, c)) if "f" in blocks else torch.ones_like(c)
            a = pre("g", xt, h, c)
            g = torch.tanh(a) if input_act else a
            c = f * c + i * g
            o = sig(pre("o", xt, h, c)) if "o" in blocks else torch.ones_like(c)
            h = o * (torch.tanh(c) if output_act else c)
            prev = {"i": i, "f": f, "o": o}
            out.append(h)
        return out
    return ref


def g_of(v):
    return torch.where(v >= 0, v + 0.5, sig(v))


def ref_mingru(p, x, cfg):
    wz, wh = rows(p["weight_ih"], 0, 2), rows(p["weight_ih"], 1, 2)
    bz, bh = rows(p["bias_ih"], 0, 2), rows(p["bias_ih"], 1, 2)
    h, out = torch.zeros(B, H, dtype=x.dtype), []
    for t in range(T):
        z = sig(x[:, t] @ wz.T + bz)
        h = (1 - z) * h + z * g_of(x[:, t] @ wh.T + bh)
        out.append(h)
    return out


def ref_minlstm(p, x, cfg):
    wf, wi, wh = (rows(p["weight_ih"], k, 3) for k in range(3))
    bf, bi, bh = (rows(p["bias_ih"], k, 3) for k in range(3))
    h, out = torch.zeros(B, H, dtype=x.dtype), []
    for t in range(T):
        f, i = sig(x[:, t] @ wf.T + bf), sig(x[:, t] @ wi.T + bi)
        h = f / (f + i) * h + i / (f + i) * g_of(x[:, t] @ wh.T + bh)
        out.append(h)
    return out


def ref_indrnn(p, x, cfg):
    h, out = torch.zeros(B, H, dtype=x.dtype), []
    for t in range(T):
        h = torch.relu(x[:, t] @ p["weight_ih"].T + p["bias_ih"] + p["weight_hh"] * h)
        out.append(h)
    return out


def ref_slstm(p, x, cfg):
    """xLSTM's sLSTM as its reference code writes it: m_1 = ĩ_1 (n is 0), heads one by
    one with their own (H/heads)² matrix per gate."""
    heads, size = cfg.heads, H // cfg.heads
    w = [rows(p["weight_ih"], k, 4) for k in range(4)]
    b = [rows(p["bias_ih"], k, 4) for k in range(4)]
    r = [rows(p["weight_hh"], k, 4) for k in range(4)]        # (H, size) each
    zero = torch.zeros(B, H, dtype=x.dtype)
    h, c, n, m, out = zero, zero, zero, zero, []
    for t in range(T):
        rec = []
        for k in range(4):
            blocks = [h[:, j * size:(j + 1) * size] @ r[k][j * size:(j + 1) * size].T
                      for j in range(heads)]
            rec.append(torch.cat(blocks, 1))
        ig, fg, zg, og = (x[:, t] @ w[k].T + b[k] + rec[k] for k in range(4))
        log_f = F.logsigmoid(fg)
        m_new = ig if t == 0 else torch.maximum(log_f + m, ig)
        i, f = torch.exp(ig - m_new), torch.exp(log_f + m - m_new)
        c, n, m = f * c + i * torch.tanh(zg), f * n + i, m_new
        h = sig(og) * c / n
        out.append(h)
    return out


REFERENCES = {
    "rnn": ref_rnn, "gru": ref_gru, "lstm": greff("ifgo"),
    "lstm_nig": greff("fgo"), "lstm_nfg": greff("igo"), "lstm_nog": greff("ifg"),
    "lstm_niaf": greff("ifgo", input_act=False), "lstm_noaf": greff("ifgo", output_act=False),
    "lstm_cifg": greff("igo", coupled=True), "lstm_fgr": greff("ifgo", fgr=True),
    "mingru": ref_mingru, "minlstm": ref_minlstm, "indrnn": ref_indrnn, "slstm": ref_slstm,
}
CASES = [(cell, False) for cell in REFERENCES] + \
        [(cell, True) for cell in REFERENCES if "peepholes" in spec_of(cell).options]


def test_every_shipped_cell_has_a_reference():
    assert set(REFERENCES) == set(names())


@pytest.mark.parametrize("cell,peepholes", CASES)
def test_the_step_equals_the_papers_equations_in_float64(cell, peepholes):
    model = model_of(cell, peepholes=True) if peepholes else model_of(cell)
    x = torch.randn(B, T, I, dtype=torch.float64)
    with torch.no_grad():
        mine, _ = steps_of(model, x)
        ref = torch.stack(REFERENCES[cell](model.layer_params(0, 0), x, model.cfg), 1)
    torch.testing.assert_close(mine, ref, atol=1e-12, rtol=1e-10)
    assert ref.abs().max() > 1e-3          # the comparison compares something


# ---------------------------------------------------------------- other paths

@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_the_parallel_scan_equals_the_steps_over_512_steps(cell):
    torch.manual_seed(1)
    model = build_model(ModelConfig(cell=cell, hidden=16), I, 2, "all")
    x = torch.randn(3, 512, I) * 2
    p = model.layer_params(0, 0)
    stepped, (h_step,) = L.run(model.spec, p, x, None, model.cfg, parallel=False)
    scanned, (h_scan,) = L.run(model.spec, p, x, None, model.cfg, parallel=True)
    assert isinstance(scanned, torch.Tensor)
    torch.testing.assert_close(scanned, torch.stack(stepped, 1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(h_scan, h_step, atol=1e-5, rtol=1e-5)
    # the gradients agree too: training on the scan is training on the step
    g_scan = torch.autograd.grad(scanned.pow(2).mean(), list(p.values()))
    g_step = torch.autograd.grad(torch.stack(stepped, 1).pow(2).mean(), list(p.values()))
    for a, b in zip(g_scan, g_step):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_a_bidirectional_scanned_stack_equals_its_steps(cell):
    torch.manual_seed(2)
    model = build_model(ModelConfig(cell=cell, hidden=5, layers=2, bidirectional=True),
                        I, 2, "last")
    x = torch.randn(4, 9, I)
    out, state = model(x)
    top, state_steps = model._unroll(x, None, parallel=False)
    torch.testing.assert_close(out, model.head(model._select_steps(top)), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(state, state_steps, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cell", [c for c in names() if spec_of(c).fused])
def test_the_fused_module_equals_the_step(cell):
    model = model_of(cell).float()
    assert model.fused
    x = torch.randn(B, T, I)
    fused, _ = model(x)
    model.fused = False
    torch.testing.assert_close(model(x)[0], fused, atol=1e-5, rtol=1e-5)


def test_peepholes_leave_the_fused_kernel():
    model = model_of("lstm", peepholes=True)
    assert not model.fused and {"rnn.peep_i_l0", "rnn.peep_f_l0", "rnn.peep_o_l0"} <= \
        set(dict(model.named_parameters()))
    with pytest.raises(ValueError):
        model.fused = True


@pytest.mark.parametrize("cell", names())
def test_a_stack_runs_forward_backward_and_carries_its_state(cell):
    model = model_of(cell, layers=2, bidirectional=True).float().train()
    x = torch.randn(B, 2 * T, I)
    out, state = model(x)
    out.pow(2).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    parts = state if isinstance(state, tuple) else (state,)
    assert len(parts) == len(model.spec.state) and all(s.shape == (4, B, H) for s in parts)
    model.eval()
    with torch.no_grad():          # two halves with the state carried = the whole
        whole, _ = model(x)
        first, mid = model(x[:, :T])
        second, _ = model(x[:, T:], mid)
    if model.directions == 2:
        return
    torch.testing.assert_close(torch.cat((first, second), 1), whole)


@pytest.mark.parametrize("cell", names())
def test_a_one_direction_stack_continues_from_its_state(cell):
    model = model_of(cell, layers=2).float()
    x = torch.randn(B, 2 * T, I)
    with torch.no_grad():
        whole, _ = model(x)
        first, mid = model(x[:, :T])
        second, _ = model(x[:, T:], mid)
    torch.testing.assert_close(torch.cat((first, second), 1), whole, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- counts

def formula(cell: str, i: int, h: int, peepholes: bool = False, heads: int = 1) -> int:
    """Parameters of one direction of one layer, from each paper's equations."""
    gates = {"rnn": 1, "gru": 3, "lstm": 4, "lstm_nig": 3, "lstm_nfg": 3, "lstm_nog": 3,
             "lstm_niaf": 4, "lstm_noaf": 4, "lstm_cifg": 3, "lstm_fgr": 4}
    if cell in gates:
        n = gates[cell] * (h * i + h * h + 2 * h)
        n += 9 * h * h if cell == "lstm_fgr" else 0
        return n + (min(3, gates[cell] - 1) * h if peepholes else 0)
    return {"mingru": 2 * h * (i + 1), "minlstm": 3 * h * (i + 1), "indrnn": h * i + 2 * h,
            "slstm": 4 * h * i + 4 * h * (h // heads) + 4 * h}[cell]


@pytest.mark.parametrize("cell", names())
def test_parameter_counts_follow_the_formula(cell):
    for peep in ([False, True] if "peepholes" in spec_of(cell).options else [False]):
        extra = {"peepholes": peep} if peep else {}
        heads = OPTIONS.get(cell, {}).get("heads", 1)
        model = model_of(cell, hidden=6, layers=2, bidirectional=True, **extra)
        cfg = model.cfg
        per_layer = [2 * formula(cell, I, 6, peep, heads), 2 * formula(cell, 12, 6, peep, heads)]
        head = 12 * 2 + 2
        assert sum(p.numel() for p in model.parameters()) == sum(per_layer) + head
        table = summarize(cfg, I, 2, T, "all")
        assert table.total == sum(per_layer) + head
        assert [r.params for r in table.rows if r.layer.startswith(cell)] == per_layer


# ---------------------------------------------------------------- inspect

def quantities(cell: str, seed: int = 3, **kw):
    model = model_of(cell, seed=seed, **kw).float()
    x = torch.randn(1, 9, I)
    with torch.no_grad():
        traces, top = trace_stack(model, x)
        out, _ = model(x)
    torch.testing.assert_close(model.head(model._select_steps(top)), out, atol=1e-5, rtol=1e-5)
    q = {k: torch.cat(v) for k, v in traces[0][2].items()}
    assert list(q) == list(model.spec.gates)
    return q, torch.zeros(1, H)


def prev(seq, start):
    return torch.cat((start, seq[:-1]))


LSTM_FAMILY = [c for c in names() if c.startswith("lstm")]


@pytest.mark.parametrize("cell", LSTM_FAMILY)
@pytest.mark.parametrize("peepholes", [False, True])
def test_inspect_of_the_lstm_family_satisfies_the_cell_update(cell, peepholes):
    q, zero = quantities(cell, peepholes=peepholes)
    torch.testing.assert_close(q["cell"], q["forget"] * prev(q["cell"], zero)
                               + q["input"] * q["candidate"])
    read = q["cell"] if cell == "lstm_noaf" else torch.tanh(q["cell"])
    torch.testing.assert_close(q["hidden"], q["output"] * read)
    ones = torch.ones_like(q["cell"])
    removed = {"lstm_nig": "input", "lstm_nfg": "forget", "lstm_nog": "output"}
    if cell in removed:
        assert torch.equal(q[removed[cell]], ones)       # the constant it became
    if cell == "lstm_cifg":
        torch.testing.assert_close(q["forget"], 1 - q["input"])
    if cell == "lstm_niaf":
        assert q["candidate"].abs().max() > 1           # not squashed
    for name in ("input", "forget", "output"):
        assert 0 <= q[name].min() and q[name].max() <= 1


def test_inspect_of_mingru_and_minlstm_satisfies_their_recurrence():
    q, zero = quantities("mingru")
    torch.testing.assert_close(q["hidden"], (1 - q["update"]) * prev(q["hidden"], zero)
                               + q["update"] * q["candidate"])
    q, zero = quantities("minlstm")
    torch.testing.assert_close(q["forget"] + q["input"], torch.ones_like(q["input"]))
    torch.testing.assert_close(q["hidden"], q["forget"] * prev(q["hidden"], zero)
                               + q["input"] * q["candidate"])
    assert q["candidate"].min() > 0                      # g keeps the log-space scan defined


def test_inspect_of_indrnn_and_rnn_and_gru_satisfy_their_recurrence():
    model = model_of("indrnn").float()
    q, zero = quantities("indrnn")
    u = model.layer_params(0, 0)["weight_hh"].detach()
    assert u.abs().max() <= 1.5                          # the bound holds from the start
    assert (q["hidden"] >= 0).all() and set(q) == {"hidden"}
    q, zero = quantities("gru")
    assert set(q) == {"reset", "update", "candidate", "hidden"}
    torch.testing.assert_close(q["hidden"], (1 - q["update"]) * q["candidate"]
                               + q["update"] * prev(q["hidden"], zero))


def test_inspect_of_slstm_satisfies_its_recurrence():
    q, zero = quantities("slstm")
    torch.testing.assert_close(q["cell"], q["forget"] * prev(q["cell"], zero)
                               + q["input"] * q["candidate"])
    torch.testing.assert_close(q["normalizer"], q["forget"] * prev(q["normalizer"], zero)
                               + q["input"])
    torch.testing.assert_close(q["hidden"], q["output"] * q["cell"] / q["normalizer"])
    # the stabilizer is one of the two terms of its max: one stabilised gate is 1
    torch.testing.assert_close(torch.maximum(q["input"], q["forget"]),
                               torch.ones_like(q["input"]))


def test_indrnn_keeps_its_bound_through_training():
    from lstm_tui.config import parse_config
    from lstm_tui.training import engine
    data = {"task": {"kind": "adding", "seq_len": 6, "train_size": 64, "val_size": 16},
            "model": {"cell": "indrnn", "hidden": 4, "recurrent_max": 0.5},
            "train": {"lr": 0.5, "steps": 4, "batch_size": 16}}
    saved = {}

    def save(tag, payload):
        saved[tag] = payload["model"]
        return tag
    engine.train(parse_config(data), lambda e: None, save_checkpoint=save)
    u = saved["last"]["rnn.weight_hh_l0"]
    assert u.abs().max() == pytest.approx(0.5)        # pushed to the bound, not past it
    del data["model"]["recurrent_max"]
    engine.train(parse_config(data), lambda e: None, save_checkpoint=save)
    assert saved["last"]["rnn.weight_hh_l0"].abs().max() > 0.5       # unbounded: past it


# ---------------------------------------------------------------- the registry's reach

def test_no_module_outside_the_cells_compares_a_cell_name():
    """The grep of the issue: consumers ask the registry, they never test a cell."""
    src = REPO / "src" / "lstm_tui"
    pattern = re.compile(r'''(cell\w*\s*(==|!=|\bin\b)\s*[("'])|(["'](lstm|gru|rnn|mingru|minlstm|'''
                         r'''indrnn|slstm|lstm_(?:nig|nfg|nog|niaf|noaf|cifg|fgr))["']\s*(==|!=|:))''')
    found = [f"{path.relative_to(src)}:{n}: {line.strip()}" for path in src.rglob("*.py")
             if path.relative_to(src).parts[:2] != ("models", "cells")
             for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == []


def test_the_registry_reads_names_options_and_counts_without_torch():
    import subprocess
    import sys
    code = ("import sys\nfrom lstm_tui.models.cells import registry\n"
            "from lstm_tui.config import ModelConfig\n"
            "n = [registry.get(c).count(3, 4, ModelConfig(cell=c, heads=2)) "
            "for c in registry.names()]\n"
            "print('torch' in sys.modules, len(n), sorted(registry.taking('peepholes'))[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", str(len(names())), "lstm"]


def test_every_cell_module_gives_its_equations_and_its_paper():
    for cell in names():
        spec = spec_of(cell)
        module = __import__(f"lstm_tui.models.cells.{cell}", fromlist=["SPEC"])
        assert spec.paper and spec.summary and len(module.__doc__) > 150, cell
        assert "_t" in module.__doc__ and "=" in module.__doc__, cell     # an equation
