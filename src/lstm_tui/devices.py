"""What the lab may say about devices before torch is imported.

The UI process keeps torch out of its start-up, so it cannot call
``torch.cuda.is_available()``.  It asks the installed torch what it was built for by
reading ``torch/version.py`` (a CPU build says ``cuda = None``) and looks for the NVIDIA
driver; CUDA is offered only when both are there.  A training process still resolves
``auto`` with torch itself (``engine.select_device``).
"""

from __future__ import annotations

import importlib.util
import platform
import re
import shutil
import sys
from pathlib import Path

_CUDA_LINE = re.compile(r"^cuda\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.M)


def torch_cuda_version() -> str | None:
    """The CUDA version the installed torch was built with (None: a CPU build, or no torch)."""
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "version.py"
        if path.is_file():
            return cuda_in_version_file(path)
    return None


def cuda_in_version_file(path: Path) -> str | None:
    """The ``cuda = '...'`` value of a torch/version.py (None when absent or unreadable)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(8192)        # a few lines; never a whole unknown file
    except OSError:
        return None
    match = _CUDA_LINE.search(text)
    return match.group(1) if match else None


def nvidia_driver() -> bool:
    """An NVIDIA driver is installed."""
    return shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia/version").exists()


def cuda_present() -> bool:
    """torch here was built with CUDA and a driver exists to run it."""
    return torch_cuda_version() is not None and nvidia_driver()


def device_labels() -> dict[str, str]:
    """The Training pane's labels of `train.device`'s choices: what each means here."""
    cuda = cuda_present()
    mps = sys.platform == "darwin" and platform.machine() == "arm64"
    auto = "cuda" if cuda else "mps" if mps else "cpu"
    return {"auto": f"auto ({auto})", "cuda": "cuda" if cuda else "cuda (none found)",
            "mps": "mps" if mps else "mps (not here)"}

