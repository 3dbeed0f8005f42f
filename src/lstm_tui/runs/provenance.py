"""Where a number came from: provenance.json in every run folder.

Written by the training process when the engine reports RunStarted (the device is
chosen and torch's threads are set by then), and completed at the end with the peak
memory.  A resumed run keeps its first environment and adds one entry per resume to
`resumes`.  Every probe is defensive: a missing git, an odd /proc or a failing
driver call leaves a field null, never a failed run.

  lstm_lab, python, torch, cuda, cudnn   versions (cuda/cudnn null on a CPU build)
  git {commit, dirty, root}              of the working directory, null outside a checkout
  device, device_name                    "cuda:0" and the GPU model, or "cpu" and the CPU's
  torch_threads, host, platform, pid, command, started
  peak {rss_bytes, cuda_max_allocated_bytes}, ended       when the run ends
"""

from __future__ import annotations

import functools
import os
import platform
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lstm_tui.version import VERSION
from lstm_tui.fsio import atomic_write_json, read_json_object

PROVENANCE = "provenance.json"


@functools.lru_cache(maxsize=8)
def _git(cwd: Path) -> dict[str, Any] | None:
    """Asked once per process and folder: a sweep worker training many points does not
    run git for each (and the code it runs is what it imported at start anyway)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip()
    try:
        root = git("rev-parse", "--show-toplevel")
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty, "root": root}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            head = fh.read(65536)       # the first processor's block is enough
        for line in head.splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def _torch_facts(device: str) -> dict[str, Any]:
    torch = sys.modules.get("torch")     # the training process has it; never import here
    if torch is None:
        return {"torch": None, "cuda": None, "cudnn": None, "torch_threads": None,
                "device_name": cpu_name()}
    facts: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda,
                             "cudnn": None, "torch_threads": torch.get_num_threads()}
    try:
        if torch.backends.cudnn.is_available():
            facts["cudnn"] = torch.backends.cudnn.version()
    except Exception:      # a broken CUDA install must not fail the run
        pass
    facts["device_name"] = cpu_name()
    try:
        if device.startswith("cuda"):
            facts["device_name"] = torch.cuda.get_device_name(torch.device(device))
        elif device.startswith("mps"):
            facts["device_name"] = f"Apple MPS ({cpu_name()})"
    except Exception:
        pass
    return facts


def environment(device: str, cwd: Path | None = None) -> dict[str, Any]:
    """The software and machine this process trains with."""
    git = _git(Path(cwd or os.getcwd()).resolve())
    return {"lstm_lab": VERSION, "git": dict(git) if git else None,
            "python": platform.python_version(), **_torch_facts(device), "device": device,
            "host": socket.gethostname(), "platform": platform.platform(),
            "pid": os.getpid(), "command": shlex.join(sys.argv), "started": time.time()}


def peak_memory(device: str) -> dict[str, Any]:
    """This process's peak RSS, and on CUDA the peak memory torch allocated."""
    try:
        import resource         # POSIX only; Windows has no peak figure here
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rss = rss if sys.platform == "darwin" else rss * 1024
    except ImportError:
        rss = None
    peak: dict[str, Any] = {"rss_bytes": rss, "cuda_max_allocated_bytes": None}
    torch = sys.modules.get("torch")
    if torch is not None and device.startswith("cuda"):
        try:
            peak["cuda_max_allocated_bytes"] = torch.cuda.max_memory_allocated(
                torch.device(device))
        except Exception:
            pass
    return peak


def read_provenance(run_dir: Path) -> dict[str, Any]:
    return read_json_object(Path(run_dir) / PROVENANCE) or {}


def record_start(run_dir: Path, device: str) -> None:
    """Write the environment (or, for a resumed run, add it to `resumes`)."""
    atomic_write_json(Path(run_dir) / PROVENANCE, start_record(run_dir, device))


def start_record(run_dir: Path, device: str) -> dict[str, Any]:
    """What record_start writes, taken in the training thread (torch's thread count is
    that thread's); the CUDA peak is reset here, so the peak at the end is this run's."""
    env = environment(device)
    old = read_json_object(Path(run_dir) / PROVENANCE)
    if old and old.get("started"):
        old.setdefault("resumes", []).append(env)
        env = old
    torch = sys.modules.get("torch")
    if torch is not None and device.startswith("cuda"):
        try:    # so that the peak at the end is this run's, not the process's so far
            torch.cuda.reset_peak_memory_stats(torch.device(device))
        except Exception:
            pass
    return env


def record_end(run_dir: Path, device: str) -> None:
    path = Path(run_dir) / PROVENANCE
    data = read_json_object(path) or {}
    data.update(peak=peak_memory(device), ended=time.time())
    atomic_write_json(path, data)


def human_bytes(n: Any) -> str:
    if not isinstance(n, (int, float)) or isinstance(n, bool):
        return "-"
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def display_rows(prov: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) rows for the run detail screen and `compare`; [] when not recorded."""
    if not prov:
        return []
    git = prov.get("git") if isinstance(prov.get("git"), dict) else None
    torch = str(prov.get("torch") or "-")
    if prov.get("cuda"):
        torch += f" (CUDA {prov['cuda']}, cuDNN {prov.get('cudnn') or '-'})"
    peak = prov.get("peak") if isinstance(prov.get("peak"), dict) else {}
    memory = "-"
    if peak:
        memory = f"RSS {human_bytes(peak.get('rss_bytes'))}"
        if peak.get("cuda_max_allocated_bytes") is not None:
            memory += f", CUDA {human_bytes(peak['cuda_max_allocated_bytes'])}"
    return [
        ("lstm-lab", str(prov.get("lstm_lab") or "-")),
        ("git", f"{str(git.get('commit'))[:12]}{' (dirty)' if git.get('dirty') else ''}"
         if git else "not a checkout"),
        ("python", str(prov.get("python") or "-")),
        ("torch", torch),
        ("device", f"{prov.get('device') or '-'} · {prov.get('device_name') or '-'}"),
        ("threads", str(prov.get("torch_threads") or "-")),
        ("host", str(prov.get("host") or "-")),
        ("command", str(prov.get("command") or "-")),
        ("peak memory", memory),
    ]


# rows that say which environment a number came from (the command and memory may differ)
ENV_LABELS = ("lstm-lab", "git", "python", "torch", "device", "threads", "host")


def differing_env(provs: list[dict[str, Any]]) -> list[str]:
    """The ENV_LABELS whose text differs between the runs that recorded a provenance."""
    shown = [dict(display_rows(p)) for p in provs if p]
    if len(shown) < 2:
        return []
    return [k for k in ENV_LABELS if len({s.get(k) for s in shown}) > 1]
