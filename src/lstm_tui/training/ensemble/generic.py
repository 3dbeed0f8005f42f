"""The batched form of any cell: each member's own model, run for all members at once.

The members' parameters come in as (M, ...) stacks under the model's parameter names;
``torch.func.vmap`` runs the members' ``SequenceModel`` forward (``functional_call`` on a
template copy) over the member axis, so every op of the cell's step (or scan) is one
batched op, and autograd gives each member the gradient of its own loss.  Whatever the
model computes (layers, directions, the scan, the read-out) the ensemble computes, for a
plugin cell as for a shipped one; recurrence.py keeps hand-written kernels only for the
layouts of ``nn.LSTM``/``nn.GRU``/``nn.RNN``, where they are measurably faster
(benchmarks/RESULTS.md).
"""

from __future__ import annotations

import copy

from torch import Tensor, nn
from torch.func import functional_call, vmap


def template(model: nn.Module) -> nn.Module:
    """A copy of a member's model to run on the stacks: the step-wise or scan path (vmap
    batches neither a fused module nor the hand-written kernels), in training mode.
    Copied, so the member's own model (its validations) is left as it is, and no random
    number is drawn."""
    copied = copy.deepcopy(model)
    copied.fused = False
    copied.kernel = ""
    return copied.train()


def forward(model: nn.Module, params: dict[str, Tensor], x: Tensor) -> Tensor:
    """x (M, T, B, I) -> output (M, B, O), or (M, T, B, O) when every step is read."""
    def one(p: dict[str, Tensor], xs: Tensor) -> Tensor:
        return functional_call(model, p, (xs,))[0]
    out = vmap(one)(params, x.transpose(1, 2))      # each member's batch, batch-first
    return out.transpose(1, 2) if out.dim() == 4 else out


def constrain(model: nn.Module, params: dict[str, Tensor]) -> None:
    """The cell's bound on every member's weights (after each optimizer step); `params`
    are views of the stacks' data."""
    spec = model.spec
    if spec.constrain is None:
        return
    members = next(iter(params.values())).shape[0]
    for k in range(model.layers):
        for d in range(model.directions):
            names = model.layer_param_names(k, d)
            for row in range(members):
                spec.constrain({n: params[full][row] for n, full in names.items()}, model.cfg)
