"""The LSTM, GRU and RNN time loops in C (time_loops.c), built on first use.

At the ensemble's sizes (hidden 16, a few dozen members) and a single model's (hidden 64,
batch 64) a time step's arithmetic is small, and each torch op of recurrent.py's loops
makes a pass over buffers of megabytes; the C loops do a step's matmul and gates per
batch row while it is in cache (measured in benchmarks/RESULTS.md, "The ensemble,
faster" and "Hand-written cells near the fused speed").

The kernel is plain C: it is compiled once per source and machine with the system's C
compiler (``$CC``, else ``cc``) into the lab's cache folder (``native/`` in
``tasks.text8.cache_dir()``: ~/.cache/lstm-lab by default), in about a second, and
loaded with ctypes.  Where there is no compiler, or the build fails, or
``LSTM_LAB_NATIVE=0`` is set, :func:`library` is None and recurrent.py runs its torch
loops, which compute the same to float rounding.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor

SOURCE = Path(__file__).with_name("time_loops.c")
# -fno-trapping-math lets gcc vectorize the exp's floor and clamps (it drops only the
# floating-point exception flags, never a value); 512-bit vectors, where the CPU has
# them, made the backward ~20% faster.
FLAGS = ("-O3", "-march=native", "-mprefer-vector-width=512", "-fno-trapping-math", "-fPIC",
         "-shared", "-std=gnu11")
BUILD_TIMEOUT = 120.0     # seconds: a busy machine compiles slowly
# The buffers each loop takes after its sizes (time_loops.c), by layout.
FORWARD_ARGS = {"LSTM": 6, "GRU": 6, "RNN": 3}       # xp, W_hh^T, then the layout's own
BACKWARD_ARGS = {"LSTM": 9, "GRU": 9, "RNN": 6}      # grad, W_hh, saved, outputs, scratch,
                                                     # and the probe's dh_out (or NULL)


def usable(x: Tensor) -> bool:
    """Whether the C loops can run on `x` (float32 on the CPU, one torch thread: the C
    loops are single-threaded, so a run given more threads keeps torch's)."""
    return (x.device.type == "cpu" and x.dtype == torch.float32
            and torch.get_num_threads() == 1 and library() is not None)


@lru_cache(maxsize=1)
def library() -> ctypes.CDLL | None:
    """The compiled kernel, built on first use; None where it cannot be."""
    if os.environ.get("LSTM_LAB_NATIVE", "1") == "0":
        return None
    try:
        lib = ctypes.CDLL(str(_built()))
    except (OSError, subprocess.SubprocessError):
        return None
    sizes, flag, ptr = [ctypes.c_int64] * 4, ctypes.c_int, ctypes.c_void_p
    for layout in FORWARD_ARGS:
        run_forward = getattr(lib, f"{layout.lower()}_forward")
        run_backward = getattr(lib, f"{layout.lower()}_backward")
        run_forward.argtypes = sizes + [flag, flag] + [ptr] * FORWARD_ARGS[layout]
        run_backward.argtypes = sizes + [flag, flag, flag] + [ptr] * BACKWARD_ARGS[layout]
        run_forward.restype = run_backward.restype = None
    return lib


def _built() -> Path:
    """The shared library for this source, compiler flags and CPU, compiled if absent
    (into a temporary name, then renamed: processes may build it at once)."""
    source = SOURCE.read_bytes()
    key = hashlib.sha256(source + " ".join(FLAGS).encode() + _cpu().encode()).hexdigest()[:16]
    from lstm_tui.tasks.text8 import cache_dir     # the lab's one cache folder
    folder = cache_dir() / "native"
    target = folder / f"time_loops-{key}.so"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        built = Path(tmp) / target.name
        subprocess.run([os.environ.get("CC", "cc"), *FLAGS, str(SOURCE), "-o", str(built)],
                       check=True, capture_output=True, timeout=BUILD_TIMEOUT)
        os.replace(built, target)
    return target


def _cpu() -> str:
    """What -march=native compiles for: the machine and its CPU's feature flags."""
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next((line for line in fh if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = ""
    return f"{platform.machine()} {flags}"


def forward(layout: str, xp: Tensor, w_hh: Tensor, buffers: tuple[Tensor, ...],
            reverse: bool, softsign: bool = False) -> None:
    """Run `layout`'s forward loop: from the input projection xp (M, T, B, G) and W_hh
    (M, G, H), fill `buffers` (time_loops.c's, in its order: LSTM hs, cs, acts, tcs;
    GRU b_hh, hs, acts, hpn; RNN hs); the cell activation is tanh, or softsign."""
    m, t, b, _ = xp.shape
    whh_t = w_hh.transpose(1, 2).contiguous()
    _check(xp, *buffers)
    getattr(library(), f"{layout.lower()}_forward")(
        m, t, b, w_hh.shape[2], int(reverse), int(softsign), *_pointers(xp, whh_t, *buffers))


def backward(layout: str, grad: Tensor, w_hh: Tensor, buffers: tuple[Tensor, ...],
             reverse: bool, only_last: bool, softsign: bool = False,
             probe: Tensor | None = None) -> None:
    """Run `layout`'s backward loop: from the gradient of the outputs (every step's h,
    or the final h when `only_last`), fill the gradient buffers that end `buffers`
    (time_loops.c's order: LSTM cs, acts, tcs, dxp; GRU hs, acts, hpn, dxp, dhp;
    RNN hs, dxp), and `probe` (M, T, B, H) with every step's ∂L/∂h when given."""
    m, t, b, _ = buffers[-1].shape
    hidden = w_hh.shape[2]
    grad, whh = grad.contiguous(), w_hh.contiguous()
    _check(grad, *buffers, *(() if probe is None else (probe,)))
    if grad.numel() != m * b * hidden * (1 if only_last else t):
        raise ValueError("the C loops' gradient differs in shape")
    scratch = [grad.new_empty(b, hidden) for _ in range(2 if layout == "LSTM" else 1)]
    getattr(library(), f"{layout.lower()}_backward")(
        m, t, b, hidden, int(reverse), int(only_last), int(softsign),
        *_pointers(grad, whh, *buffers, *scratch), None if probe is None else probe.data_ptr())


def _check(*tensors: Tensor) -> None:
    """What C reads through a bare pointer must be what it expects."""
    if not all(u.is_contiguous() and u.dtype == torch.float32 and u.device.type == "cpu"
               for u in tensors):
        raise ValueError("the C loops take contiguous float32 CPU buffers")


def _pointers(*tensors: Tensor) -> list[int]:
    return [u.data_ptr() for u in tensors]
