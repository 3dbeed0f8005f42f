"""The device option every benchmark takes, and an honest clock for it.

A CUDA kernel returns before it has run: reading the clock without
``torch.cuda.synchronize()`` times the launches, not the work.  ``clock(device)``
synchronizes first; the header names the device that was really used (torch's, not the
option's "auto").
"""

from __future__ import annotations

import time


def add_device_option(parser, default: str = "cpu") -> None:
    parser.add_argument("--device", default=default,
                        help="auto | cpu | cuda | cuda:N (default %(default)s)")


def resolve(name: str) -> str:
    """The device `name` trains on, as the engine resolves it ("auto" -> cuda:0 or cpu)."""
    from lstm_tui.training.engine import select_device
    return str(select_device(name))


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch
        torch.cuda.synchronize(device)


def clock(device: str) -> float:
    """time.perf_counter() once the device has finished its queued work."""
    sync(device)
    return time.perf_counter()


def describe(device: str) -> str:
    """'cpu' or 'cuda:0 (NVIDIA H200)'."""
    if device.startswith("cuda"):
        import torch
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return device
