"""sLSTM (Beck et al. 2024, "xLSTM: Extended Long Short-Term Memory"): an LSTM with an
exponential input gate, a normaliser state and a stabiliser state, and heads:

    ĩ, f̃, z̃, õ = W x_t + R h_{t-1} + b      R block-diagonal: one (H/heads)² block per
                                             head and gate (``model.heads``)
    m_t = max(log σ(f̃) + m_{t-1}, ĩ)         stabilizer (starts at −inf)
    i_t = exp(ĩ − m_t)                        input, stabilised (in (0, 1])
    f_t = exp(log σ(f̃) + m_{t-1} − m_t)       forget, stabilised (in (0, 1])
    z_t = tanh(z̃)                             candidate
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ z_t           cell
    n_t = f_t ⊙ n_{t-1} + i_t                 normalizer
    h_t = σ(õ) ⊙ c_t / n_t                    hidden

The stabiliser cancels in c/n: it only keeps exp from overflowing.  Starting it at −inf
makes the first step m_1 = ĩ_1 (the reference code's n = 0 case).  The forget gate is the
sigmoid of the paper's code; ``model.forget_bias`` starts its bias.
"""

from __future__ import annotations

from lstm_tui.errors import ConfigError
from lstm_tui.models.cells.base import CellSpec, Param, project_input


def params(input_size: int, hidden: int, cfg) -> tuple:
    size = hidden // cfg.heads if hidden % cfg.heads == 0 else hidden
    return (Param("weight_ih", (4 * hidden, input_size), "input"),
            Param("weight_hh", (4 * hidden, size), "recurrent", block=size),
            Param("bias_ih", (4 * hidden,), "bias"))


def prepare(p: dict, cfg) -> dict:
    """R as one (size, 4·size) matrix per head, for one bmm per step."""
    rows, size = p["weight_hh"].shape
    heads = rows // 4 // size
    r = p["weight_hh"].view(4, heads, size, size).permute(1, 3, 0, 2)
    return {**p, "recurrent": r.reshape(heads, size, 4 * size)}


def step(p: dict, xp, state: tuple, cfg) -> tuple:
    from torch.nn import functional as F
    h, c, n, m = state
    heads, size, _ = p["recurrent"].shape
    batch = h.shape[0]
    rec = h.view(batch, heads, size).transpose(0, 1).bmm(p["recurrent"])   # (heads, B, 4s)
    rec = rec.view(heads, batch, 4, size).permute(1, 2, 0, 3).reshape(batch, -1)
    ig, fg, zg, og = (xp + rec).chunk(4, 1)
    log_f = F.logsigmoid(fg)
    m_new = (log_f + m).maximum(ig)
    i, f, z = (ig - m_new).exp(), (log_f + m - m_new).exp(), zg.tanh()
    c = f * c + i * z
    n = f * n + i
    o = og.sigmoid()
    h = o * c / n
    return (h, c, n, m_new), {"input": i, "forget": f, "candidate": z, "output": o,
                              "cell": c, "normalizer": n, "stabilizer": m_new, "hidden": h}


def init(p: dict, cfg) -> None:
    hidden = p["weight_hh"].shape[0] // 4
    p["bias_ih"][hidden:2 * hidden].fill_(cfg.forget_bias)


def check(cfg, source: str) -> None:
    if cfg.hidden % cfg.heads:
        raise ConfigError(source, "model.heads", f"must divide model.hidden ({cfg.hidden}), "
                          f"got {cfg.heads}")


SPEC = CellSpec(
    name="slstm", label="sLSTM", summary="xLSTM's scalar LSTM: exponential input gate, "
    "normaliser and stabiliser, heads", paper="Beck et al. 2024", params=params,
    project=project_input, step=step, prepare=prepare, state=("h", "c", "n", "m"),
    start={"m": float("-inf")},
    gates=("input", "forget", "candidate", "output", "cell", "normalizer", "stabilizer",
           "hidden"),
    bounded=frozenset({"input", "forget", "output"}),
    options=frozenset({"heads", "forget_bias"}), init=init, check=check)
