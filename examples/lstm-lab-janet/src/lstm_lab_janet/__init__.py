"""JANET, "just another network" (van der Westhuizen & Lasenby 2018, "The unreasonable
effectiveness of the forget gate"): an LSTM with only a forget gate, whose input gate is
tied to it with a shift β = 1, and whose hidden state is its cell:

    s_t = W_f x_t + U_f h_{t-1} + b_f
    c̃_t = tanh(W_c x_t + U_c h_{t-1} + b_c)
    h_t = σ(s_t) ⊙ h_{t-1} + (1 − σ(s_t − β)) ⊙ c̃_t

``model.forget_bias`` starts b_f (the paper's chrono initialiser draws it instead).
No torch at import: the step uses tensor methods only.
"""

from lstm_tui.models.cells import CellSpec, Param

BETA = 1.0


def params(input_size, hidden, cfg):
    """Rows [f, c] of each matrix: 2·H·(I + H + 1) parameters per direction."""
    return (Param("weight_ih", (2 * hidden, input_size), "input"),
            Param("weight_hh", (2 * hidden, hidden), "recurrent"),
            Param("bias_ih", (2 * hidden,), "bias"))


def project(p, x, cfg):
    """What reads only the input, for all steps at once: W x_t + b."""
    return x @ p["weight_ih"].T + p["bias_ih"]


def step(p, xp, state, cfg):
    """One step: the new state (h,) and the gates by name."""
    h = state[0]
    s, pre = (xp + h @ p["weight_hh"].T).chunk(2, 1)
    forget, candidate = s.sigmoid(), pre.tanh()
    write = 1 - (s - BETA).sigmoid()
    h = forget * h + write * candidate
    return (h,), {"forget": forget, "input": write, "candidate": candidate, "hidden": h}


def init(p, cfg):
    hidden = p["weight_hh"].shape[1]
    p["bias_ih"][:hidden].fill_(cfg.forget_bias)


SPEC = CellSpec(
    name="janet", label="JANET", summary="forget-gate-only LSTM (input = 1 - shifted forget)",
    paper="van der Westhuizen & Lasenby 2018", params=params, project=project, step=step,
    gates=("forget", "input", "candidate", "hidden"), bounded=frozenset({"forget", "input"}),
    options=frozenset({"forget_bias"}), init=init)
