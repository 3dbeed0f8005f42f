"""Big buffers an ensemble keeps from one step to the next (the recurrence's states and
gates, the members' stacked batches)."""

from __future__ import annotations

from torch import Tensor


class _Workspace:
    """Big buffers kept from one step to the next.

    A fresh tensor of megabytes costs more in page faults than the arithmetic done in it
    (measured 12× on a 10 MB multiply), so the recurrence writes into these with `out=`.
    Buffers start as zeros (or `fill`); the recurrence relies on that for its
    h_{-1} = c_{-1} = 0 slots.
    """

    def __init__(self) -> None:
        self.buffers: dict[tuple, Tensor] = {}

    def get(self, key: tuple, shape: tuple[int, ...], like: Tensor, fill: float = 0.0) -> Tensor:
        buf = self.buffers.get(key)
        if buf is None or buf.shape != shape or buf.device != like.device:
            buf = self.buffers[key] = like.new_full(shape, fill)
        return buf

