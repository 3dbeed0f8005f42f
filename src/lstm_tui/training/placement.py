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


def claim(slot: int, devices: list[int] | None = None) -> int | None:
    """Make GPU `slot` mod count this process's current device when there are several
    (with `devices`, the listed GPUs in turn); returns the GPU chosen (None with fewer
    than two and no list)."""
    count = gpu_count()
    if devices:
        index = devices[slot % len(devices)]
        if count:
            torch.cuda.set_device(index)
        return index
    if count < 2:
        return None
    index = slot % count
    torch.cuda.set_device(index)
    return index


def parse_devices(text: str) -> list[int]:
    """`--devices 0,1`: GPU indices this machine has, each once; else a ConfigError."""
    from lstm_tui.config import ConfigError
    parts = [p.strip() for p in str(text).split(",")]
    if not parts or any(not p.isdigit() for p in parts):
        raise ConfigError("--devices", "devices", f"must be GPU indices separated by commas "
                          f"(e.g. 0,1), got {text!r}")
    devices = [int(p) for p in parts]
    if len(set(devices)) < len(devices):
        raise ConfigError("--devices", "devices", f"lists a GPU twice: {text!r}")
    count = gpu_count()
    bad = [d for d in devices if d >= count]
    if bad:
        have = f"cuda:0..cuda:{count - 1}" if count else "none"
        raise ConfigError("--devices", "devices", f"GPU {bad[0]} was asked for but torch sees "
                          f"{count} CUDA device(s) (allowed here: {have})")
    return devices


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
