"""The LSTM time loops of the ensemble in C (lstm_kernel.c), built on first use.

At the ensemble's sizes (hidden 16, a few dozen members) a time step's arithmetic is
small, and the torch ops of the Python loop in recurrence.py each make a pass over
buffers of megabytes; the C loops do a step's matmul and gates per batch row while
they are in cache (measured in benchmarks/RESULTS.md, "The ensemble, faster").

The kernel is plain C: it is compiled once per source and machine with the system's C
compiler (``$CC``, else ``cc``) into the user's cache folder, in about a second, and
loaded with ctypes.  Where there is no compiler, or the build fails, or
``LSTM_LAB_NATIVE=0`` is set, :func:`library` is None and recurrence.py runs its torch
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

SOURCE = Path(__file__).with_name("lstm_kernel.c")
# -fno-trapping-math lets gcc vectorize the exp's floor and clamps (it drops only the
# floating-point exception flags, never a value); 512-bit vectors, where the CPU has
# them, made the backward ~20% faster.
FLAGS = ("-O3", "-march=native", "-mprefer-vector-width=512", "-fno-trapping-math", "-fPIC",
         "-shared", "-std=gnu11")
BUILD_TIMEOUT = 120.0     # seconds: a busy machine compiles slowly


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
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    lib.lstm_forward.argtypes = [i64, i64, i64, i64, ctypes.c_int] + [ptr] * 6
    lib.lstm_backward.argtypes = [i64, i64, i64, i64, ctypes.c_int, ctypes.c_int] + [ptr] * 8
    lib.lstm_forward.restype = lib.lstm_backward.restype = None
    return lib


def _built() -> Path:
    """The shared library for this source, compiler flags and CPU, compiled if absent
    (into a temporary name, then renamed: processes may build it at once)."""
    source = SOURCE.read_bytes()
    key = hashlib.sha256(source + " ".join(FLAGS).encode() + _cpu().encode()).hexdigest()[:16]
    folder = _cache_folder()
    target = folder / f"lstm_kernel-{key}.so"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        built = Path(tmp) / target.name
        subprocess.run([os.environ.get("CC", "cc"), *FLAGS, str(SOURCE), "-o", str(built)],
                       check=True, capture_output=True, timeout=BUILD_TIMEOUT)
        os.replace(built, target)
    return target


def _cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lstm-lab" / "native"


def _cpu() -> str:
    """What -march=native compiles for: the machine and its CPU's feature flags."""
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next((line for line in fh if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = ""
    return f"{platform.machine()} {platform.processor()} {flags}"


def lstm_forward(xp: Tensor, w_hh: Tensor, hs: Tensor, cs: Tensor, acts: Tensor,
                 tcs: Tensor, reverse: bool) -> None:
    """Fill hs, cs (M, T+2, B, H), acts (M, T, B, 4H) and tcs (M, T, B, H) from the input
    projection xp (M, T, B, 4H) and W_hh (M, 4H, H); see lstm_kernel.c."""
    m, t, b, _ = xp.shape
    whh_t = w_hh.transpose(1, 2).contiguous()
    _check(xp, hs, cs, acts, tcs)
    library().lstm_forward(m, t, b, w_hh.shape[2], int(reverse), *_pointers(
        xp, whh_t, hs, cs, acts, tcs))


def lstm_backward(grad: Tensor, w_hh: Tensor, cs: Tensor, acts: Tensor, tcs: Tensor,
                  dz: Tensor, reverse: bool, only_last: bool) -> None:
    """Fill dz (M, T, B, 4H), the gradient of the pre-activations, from the gradient of
    the outputs (every step's h, or the final h when `only_last`)."""
    m, t, b, gates = acts.shape
    hidden = gates // 4
    grad, whh = grad.contiguous(), w_hh.contiguous()
    _check(cs, acts, tcs, dz)
    dh, dc = acts.new_empty(b, hidden), acts.new_empty(b, hidden)
    library().lstm_backward(m, t, b, hidden, int(reverse), int(only_last), *_pointers(
        grad, whh, cs, acts, tcs, dz, dh, dc))


def _check(*tensors: Tensor) -> None:
    if not all(u.is_contiguous() and u.dtype == torch.float32 for u in tensors):
        raise ValueError("the C loops take contiguous float32 buffers")


def _pointers(*tensors: Tensor) -> list[int]:
    return [u.data_ptr() for u in tensors]
