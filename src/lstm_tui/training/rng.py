"""The random-number states a checkpoint keeps so a resumed run draws what the
uninterrupted run would have drawn: the CPU generator and, on CUDA, the run's GPU's.

``build()`` seeds every generator from ``train.seed``; without the CUDA state a resumed
dropout run on a GPU would replay its masks from step 0.  cuDNN's fused multi-layer
dropout keeps a state of its own that torch does not expose, so such runs cannot resume
exactly (see :data:`FUSED_DROPOUT_NOTE`).
"""

from __future__ import annotations

import torch

FUSED_DROPOUT_NOTE = ("cuDNN's fused multi-layer dropout keeps its own random state, which "
                      "checkpoints cannot save: a resumed run draws different dropout masks "
                      "than the uninterrupted run would (set model.activation = softsign or "
                      "model.dropout = 0 for exact resumption)")


def states(device: torch.device) -> dict:
    """The generator states to save with a checkpoint of a run on `device`."""
    out = {"rng": torch.get_rng_state()}
    if device.type == "cuda":
        out["cuda_rng"] = torch.cuda.get_rng_state(device)
    return out


def restore(payload: dict, device: torch.device) -> None:
    """Put back what :func:`states` saved (a checkpoint from a CPU run has no CUDA state:
    the CUDA generator then keeps its seeding from ``build()``)."""
    torch.set_rng_state(payload["rng"])
    cuda_state = payload.get("cuda_rng")
    if device.type == "cuda" and cuda_state is not None:
        torch.cuda.set_rng_state(cuda_state, device)


def notes(model, device: torch.device) -> tuple[str, ...]:
    """What a run on `device` should say about its reproducibility."""
    if (device.type == "cuda" and getattr(model, "fused", False)
            and getattr(model, "inter_dropout", 0.0) > 0):
        return (FUSED_DROPOUT_NOTE,)
    return ()
