"""Which GPU a process trains on, and how much of it it may use.

Every process that trains (a lab run, a `processes` or ensemble pool worker) claims a
slot; with several GPUs, slot k makes GPU k mod count the process's current device, so
``train.device = auto`` or ``cuda`` lands there (``cuda:N`` always means GPU N).  With
one GPU or none nothing changes.  Ray places its workers itself (CUDA_VISIBLE_DEVICES);
a fractional ``gpus`` there also caps the worker's share of the card's memory.
"""

from __future__ import annotations

import torch

_FRACTION: float | None = None

# Failures after which a process's CUDA context is unusable: every later kernel fails too.
CUDA_FATAL = ("CUDA error", "CUDNN_STATUS", "CUBLAS_STATUS", "cuDNN error",
              "device-side assert", "illegal memory access")


def gpu_count() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def claim(slot: int) -> int | None:
    """Make GPU `slot` mod count this process's current device when there are several;
    returns the GPU chosen (None with fewer than two)."""
    count = gpu_count()
    if count < 2:
        return None
    index = slot % count
    torch.cuda.set_device(index)
    return index


def cap_memory(fraction: float | None) -> float | None:
    """Limit this process to `fraction` of its GPU's memory (ray's fractional gpus);
    None or >= 1 leaves it alone.  Returns the fraction set."""
    global _FRACTION
    if fraction is None or not 0 < fraction < 1 or not gpu_count():
        return None
    torch.cuda.set_per_process_memory_fraction(fraction, torch.cuda.current_device())
    _FRACTION = fraction
    return fraction


def memory_fraction() -> float | None:
    """The fraction set by :func:`cap_memory` in this process (None when uncapped)."""
    return _FRACTION


def is_cuda_fatal(message: str) -> bool:
    """Whether an error message says the process's CUDA context is broken."""
    return any(marker in message for marker in CUDA_FATAL)
