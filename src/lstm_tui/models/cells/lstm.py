"""Long short-term memory (Hochreiter & Schmidhuber 1997; the forget gate of Gers et al.
2000), PyTorch's ``nn.LSTM`` (gate rows i, f, g, o):

    i_t = σ(W_i x_t + R_i h_{t-1} [+ p_i ⊙ c_{t-1}] + b_i)
    f_t = σ(W_f x_t + R_f h_{t-1} [+ p_f ⊙ c_{t-1}] + b_f)
    g_t = act(W_g x_t + R_g h_{t-1} + b_g)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    o_t = σ(W_o x_t + R_o h_{t-1} [+ p_o ⊙ c_t] + b_o)
    h_t = o_t ⊙ act(c_t)

The bracketed peepholes come with ``model.peepholes = true``: that is Greff et al.'s
vanilla LSTM (V); without them (their NP) tanh runs on the fused ``nn.LSTM`` kernel.
``model.forget_bias`` starts b_f there (Keras's unit_forget_bias).  The shared step is
:mod:`lstm_tui.models.cells.lstm_family`.
"""

from __future__ import annotations

from lstm_tui.models.cells.lstm_family import Variant, family_spec


def notes(cfg) -> tuple[str, ...]:
    return (f"PyTorch keeps two bias vectors per gate (b_ih and b_hh), so each LSTM layer "
            f"here has 4·H = {4 * cfg.hidden:,} more parameters per direction than Keras's "
            f"LSTM, which keeps one.",)


SPEC = family_spec(
    "lstm", Variant(), "long short-term memory: input, forget and output gates",
    "Hochreiter & Schmidhuber 1997; Gers et al. 2000", notes=notes, fused="torch.nn:LSTM",
    fused_when=lambda cfg: cfg.activation == "tanh" and not cfg.peepholes)
