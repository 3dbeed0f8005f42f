"""Resource samples while a run trains, and the provenance hooks around one run.

A thread samples the process's CPU use and RSS (psutil) and, on a CUDA run with
nvidia-ml-py installed, the GPU's utilisation and memory (NVML) every EVERY seconds.
It never calls a listener itself: `instrument` hands the newest sample to the
listeners just before the engine's next event, from the engine's own thread, so every
listener still hears one event at a time.  Samples are appended to resources.jsonl.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Callable

from lstm_tui import events as ev
from lstm_tui.fsio import atomic_write_json
from lstm_tui.runs import provenance
from lstm_tui.runs.behind import WriteBehind, wake

RESOURCES = "resources.jsonl"
EVERY = 5.0              # seconds between samples: cheap, and enough for a trend
IDLE_STOP = 600.0        # a run that emits nothing this long has ended without saying so
NVML_HINT = "pip install 'lstm-lab[nvml]'"

Emit = Callable[[Any], None]


class _Nvml:
    """One GPU through NVML; `None` from `open` when NVML or the device is not there."""

    def __init__(self, nvml: Any, handle: Any):
        self.nvml, self.handle = nvml, handle

    @classmethod
    def open(cls, device: str) -> _Nvml | None:
        if not device.startswith("cuda"):
            return None
        try:
            import pynvml as nvml       # nvidia-ml-py, the optional [nvml] extra
            nvml.nvmlInit()
        except Exception:               # not installed, no driver: no GPU samples
            return None
        try:
            handle = cls._handle(nvml, device)
        except Exception:
            return None
        return cls(nvml, handle)

    @staticmethod
    def _handle(nvml: Any, device: str) -> Any:
        import sys
        torch = sys.modules.get("torch")
        index = int(device.split(":")[1]) if ":" in device else 0
        if torch is not None:   # CUDA_VISIBLE_DEVICES renumbers: find the GPU by its UUID
            try:
                uuid = str(torch.cuda.get_device_properties(index).uuid)
                return nvml.nvmlDeviceGetHandleByUUID(
                    uuid if uuid.startswith("GPU-") else f"GPU-{uuid}")
            except Exception:
                pass
        return nvml.nvmlDeviceGetHandleByIndex(index)

    def sample(self) -> tuple[float | None, int | None, int | None]:
        try:
            util = float(self.nvml.nvmlDeviceGetUtilizationRates(self.handle).gpu)
            mem = self.nvml.nvmlDeviceGetMemoryInfo(self.handle)
            return util, int(mem.used), int(mem.total)
        except Exception:
            return None, None, None


class ResourceSampler:
    """Samples in a daemon thread; `take()` returns the newest sample not yet taken."""

    def __init__(self, device: str, every: float = EVERY):
        import psutil
        self.every = every
        self.device = device
        self._proc = psutil.Process()
        self._proc.cpu_percent(None)          # primes the counter: the first reading is 0
        self._gpu = _Nvml.open(device)
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._pending: tuple | None = None
        self._taken = self._started
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lstm-lab-resources",
                                        daemon=True)

    def start(self) -> ResourceSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def sample_now(self) -> tuple:
        cpu = self._proc.cpu_percent(None)
        rss = self._proc.memory_info().rss
        gpu = self._gpu.sample() if self._gpu else (None, None, None)
        return (time.monotonic() - self._started, cpu, rss, *gpu)

    def take(self) -> tuple | None:
        with self._lock:
            pending, self._pending = self._pending, None
            self._taken = time.monotonic()
        return pending

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            if time.monotonic() - self._taken > max(IDLE_STOP, 3 * self.every):
                return        # e.g. the engine raised instead of emitting Failed
            try:
                sample = self.sample_now()
            except Exception:         # the process table is gone at exit: stop quietly
                return
            with self._lock:
                self._pending = sample


def instrument(run_dir: Path, emit: Emit, every: float = EVERY, sample: bool = True,
               behind: bool = False) -> Emit:
    """Wrap a run's emit: provenance at start and end, resource samples in between
    (unless `sample` is false: runs sharing a process need them once).  The end's
    provenance is written before the listeners hear the end, so that it goes to the disk
    while the run writer finishes its own files; with `behind`, the start's is written
    behind the training (runs.behind)."""
    run_dir = Path(run_dir)
    state: dict[str, Any] = {"sampler": None, "device": "cpu", "step": 0}
    later = WriteBehind() if behind else None

    def wrapped(event: Any) -> None:
        sampler: ResourceSampler | None = state["sampler"]
        if sampler is not None:
            taken = sampler.take()
            if taken is not None:
                record = ev.ResourceSample(state["step"], *taken)
                _append(run_dir, record)
                emit(record)
        step = getattr(event, "step", None)
        if isinstance(step, int):
            state["step"] = step
        if isinstance(event, (ev.Finished, ev.Failed)):
            if sampler is not None:
                sampler.stop()
                state["sampler"] = None
            if later is not None:   # the start's record first
                later.drain(quiet=True)
            wake()     # the run writer's last files, waiting for its last summary
            _quietly(provenance.record_end, run_dir, state["device"])
        emit(event)
        if isinstance(event, ev.RunStarted):
            state["device"] = event.device
            state["step"] = event.start_step
            if later is None:
                _quietly(provenance.record_start, run_dir, event.device)
            else:
                _record_start_behind(run_dir, event.device, later)
            try:
                state["sampler"] = ResourceSampler(event.device, every).start() if sample \
                    else None
            except (ImportError, OSError):   # no psutil, or refused: the run goes unsampled
                state["sampler"] = None
    return wrapped


def resource_text(sample: ev.ResourceSample) -> str:
    """One line for the Live pane: CPU 98% · RSS 312.4 MB · GPU 45% 1.2 GB/80.0 GB"""
    parts = [f"CPU {sample.cpu_percent:.0f}%", f"RSS {provenance.human_bytes(sample.rss_bytes)}"]
    if sample.gpu_util is not None:
        gpu = f"GPU {sample.gpu_util:.0f}%"
        if sample.gpu_mem_bytes is not None:
            gpu += f" {provenance.human_bytes(sample.gpu_mem_bytes)}"
            if sample.gpu_mem_total:
                gpu += f"/{provenance.human_bytes(sample.gpu_mem_total)}"
        parts.append(gpu)
    return " · ".join(parts)


def _record_start_behind(run_dir: Path, device: str, behind: WriteBehind) -> None:
    try:
        env = provenance.start_record(run_dir, device)
    except OSError:
        return
    path = run_dir / provenance.PROVENANCE
    behind.put(path, lambda: _quietly(atomic_write_json, path, env))


def _quietly(fn: Callable[..., None], *args: Any) -> None:
    """Provenance is a record about the run: failing to write it never fails the run."""
    try:
        fn(*args)
    except OSError:
        pass


def _append(run_dir: Path, sample: ev.ResourceSample) -> None:
    record = {"step": sample.step, "time": round(sample.seconds, 3),
              "cpu_percent": round(sample.cpu_percent, 1), "rss_bytes": sample.rss_bytes,
              "gpu_util": sample.gpu_util, "gpu_mem_bytes": sample.gpu_mem_bytes,
              "gpu_mem_total": sample.gpu_mem_total}
    try:
        with open(run_dir / RESOURCES, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
    except OSError:
        pass
