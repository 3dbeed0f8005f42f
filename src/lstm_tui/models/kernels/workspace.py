"""Big buffers a recurrent kernel keeps from one call to the next (states and gates; the
ensemble's stacked batches too)."""

from __future__ import annotations

import torch
from torch import Tensor


class Workspace:
    """Big buffers kept from one step to the next.

    A fresh tensor of megabytes costs more in page faults than the arithmetic done in it
    (measured 12× on a 10 MB multiply), so the kernels write into these with `out=`.
    Buffers start as zeros (or `fill`); the kernels rely on that for their
    h_{-1} = c_{-1} = 0 slots.
    """

    def __init__(self) -> None:
        self.buffers: dict[tuple, Tensor] = {}
        self.pending: set[tuple] = set()   # keys whose buffers a graph still needs
        self.inference: Workspace | None = None   # inference mode's own (see lend)

    def __deepcopy__(self, memo: dict) -> Workspace:
        return Workspace()     # a copied model shares no graph with this one: no buffers

    def get(self, key: tuple, shape: tuple[int, ...], like: Tensor, fill: float = 0.0) -> Tensor:
        buf = self.buffers.get(key)
        if buf is None or buf.shape != shape or buf.device != like.device:
            buf = self.buffers[key] = like.new_full(shape, fill)
        return buf

    def lend(self, key: tuple, keeps: bool) -> Workspace:
        """The workspace for one kernel call under `key`: this one; in inference mode one
        of its own (tensors made there are inference tensors, which no later backward may
        save; nothing is saved in inference mode, so it is always free); or a new one
        when a graph still needs this one's buffers for `key` (a second forward before the
        first's backward).  `keeps`: the call's graph will need them until its backward,
        which releases them (a graph dropped without a backward leaves `key` pending:
        later calls then get new buffers, correct but slower)."""
        if torch.is_inference_mode_enabled():
            if self.inference is None:
                self.inference = Workspace()
            return self.inference
        if key in self.pending:
            return Workspace()
        if keeps:
            self.pending.add(key)
        return self

    def release(self, key: tuple) -> None:
        """A backward is done with `key`'s buffers."""
        self.pending.discard(key)
