"""Independently recurrent neural network, IndRNN (Li et al. 2018): each unit sees only
its own previous value, through one recurrent weight u_j instead of a row of W_hh,

    h_t = relu(W x_t + b + u ⊙ h_{t-1})

so a unit's gradient over T steps is a product of T scalars u_j relu′, which the
paper keeps in check by bounding |u_j|: ``model.recurrent_max`` clips u to [−max, max]
after every optimizer step (the paper's γ^(1/T) for a gradient that may grow γ-fold
over T steps; 0 = no bound).  u starts uniform in [0, 1] (in [0, max] when bounded),
as in the paper's code.  H·I + 2·H parameters per direction.
"""

from __future__ import annotations

from lstm_tui.models.cells.base import CellSpec, Param, project_input


def params(input_size: int, hidden: int, cfg) -> tuple:
    return (Param("weight_ih", (hidden, input_size), "input"),
            Param("weight_hh", (hidden,)),
            Param("bias_ih", (hidden,), "bias"))


def step(p: dict, xp, state: tuple, cfg) -> tuple:
    h = (xp + p["weight_hh"] * state[0]).relu()
    return (h,), {"hidden": h}


def init(p: dict, cfg) -> None:
    p["weight_hh"].uniform_(0.0, cfg.recurrent_max or 1.0)


def constrain(p: dict, cfg) -> None:
    if cfg.recurrent_max > 0:
        p["weight_hh"].clamp_(-cfg.recurrent_max, cfg.recurrent_max)


SPEC = CellSpec(
    name="indrnn", label="IndRNN", summary="independently recurrent: one recurrent weight "
    "per unit, relu", paper="Li et al. 2018", params=params, project=project_input,
    step=step, options=frozenset({"recurrent_max"}), init=init, constrain=constrain)
