"""The LSTM and the variants of Greff et al. 2015 ("LSTM: A Search Space Odyssey"), as
one step with switches: each variant's module names what it removes or adds.

The vanilla LSTM (V) of the paper, with peepholes (Gers & Schmidhuber 2000):

    i_t = σ(W_i x_t + R_i h_{t-1} + p_i ⊙ c_{t-1} + b_i)     input gate
    f_t = σ(W_f x_t + R_f h_{t-1} + p_f ⊙ c_{t-1} + b_f)     forget gate
    g_t = act(W_g x_t + R_g h_{t-1} + b_g)                   candidate (block input)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                          cell
    o_t = σ(W_o x_t + R_o h_{t-1} + p_o ⊙ c_t + b_o)         output gate
    h_t = o_t ⊙ act(c_t)                                     hidden

``model.peepholes = false`` drops the p terms (the paper's NP; PyTorch's ``nn.LSTM``).
Weights keep PyTorch's layout (rows i, f, g, o; b_ih and b_hh); a removed gate has no
rows and is reported by ``inspect`` as the constant it became, so variants stay
comparable side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

from lstm_tui.models.cells.base import (CellSpec, Param, activation, gate_params,
                                        project_with_biases)

GATES = ("input", "forget", "candidate", "output", "cell", "hidden")
BOUNDED = frozenset({"input", "forget", "output"})


@dataclass(frozen=True)
class Variant:
    """What a variant changes: the gate blocks it keeps (of "i", "f", "g", "o"), the
    activations it keeps, a coupled forget gate (f = 1 − i) and full gate recurrence."""
    blocks: tuple[str, ...] = ("i", "f", "g", "o")
    input_act: bool = True
    output_act: bool = True
    coupled: bool = False
    full_recurrence: bool = False

    @property
    def peeped(self) -> tuple[str, ...]:
        """The gates that get a peephole: the sigmoid gates it keeps."""
        return tuple(g for g in ("i", "f", "o") if g in self.blocks)


def family_spec(name: str, variant: Variant, summary: str, paper: str,
                **extra) -> CellSpec:
    """The spec of one member of the family."""
    options = {"activation", "peepholes"}
    if "f" in variant.blocks:
        options.add("forget_bias")

    def params(input_size: int, hidden: int, cfg) -> tuple[Param, ...]:
        found = gate_params(input_size, hidden, len(variant.blocks))
        if variant.full_recurrence:
            found += (Param("weight_gg", (3 * hidden, 3 * hidden), "recurrent"),)
        if cfg.peepholes:
            found += tuple(Param(f"peep_{g}", (hidden,)) for g in variant.peeped)
        return found

    def prepare(p: dict, cfg) -> dict:
        p = {**p, "weight_hh_t": p["weight_hh"].t()}
        if variant.full_recurrence:
            p["weight_gg_t"] = p["weight_gg"].t()
        return p

    def step(p: dict, xp, state: tuple, cfg) -> tuple:
        return _step(variant, p, xp, state, cfg)

    def init(p: dict, cfg) -> None:
        if "f" in variant.blocks:  # b_ih + b_hh is what the gate sees: all of it in b_ih
            h, k = p["weight_hh"].shape[1], variant.blocks.index("f")
            p["bias_ih"][k * h:(k + 1) * h].fill_(cfg.forget_bias)
            p["bias_hh"][k * h:(k + 1) * h].zero_()

    state = ("h", "c", "i", "f", "o") if variant.full_recurrence else ("h", "c")
    return CellSpec(name=name, label=extra.pop("label", name.upper()), summary=summary,
                    paper=paper, params=params, project=project_with_biases, step=step,
                    prepare=prepare, state=state, gates=GATES, bounded=BOUNDED,
                    options=frozenset(options), init=init, **extra)


def _step(v: Variant, p: dict, xp, state: tuple, cfg) -> tuple:
    act = activation(cfg)
    h, c = state[0], state[1]
    z = xp.addmm(h, p["weight_hh_t"])
    pre = dict(zip(v.blocks, z.chunk(len(v.blocks), 1)))
    if v.full_recurrence:   # every gate also sees the gates' previous activations
        import torch
        back = torch.cat(state[2:], 1).mm(p["weight_gg_t"]).chunk(3, 1)
        for g, extra in zip(("i", "f", "o"), back):
            pre[g] = pre[g] + extra
    peep = cfg.peepholes
    i = (pre["i"] + p["peep_i"] * c if peep else pre["i"]).sigmoid() if "i" in pre else 1.0
    if v.coupled:
        f = 1 - i
    elif "f" in pre:
        f = (pre["f"] + p["peep_f"] * c if peep else pre["f"]).sigmoid()
    else:
        f = 1.0
    g = act(pre["g"]) if v.input_act else pre["g"]
    c = f * c + i * g
    o = (pre["o"] + p["peep_o"] * c if peep else pre["o"]).sigmoid() if "o" in pre else 1.0
    h = o * act(c) if v.output_act else o * c
    new = (h, c, i, f, o) if v.full_recurrence else (h, c)
    return new, {"input": i, "forget": f, "candidate": g, "output": o, "cell": c, "hidden": h}
