"""benchmarks/gpu_check.sh and its helpers work before a GPU ever appears."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import _device  # noqa: E402


def test_the_clock_synchronizes_the_device_first(monkeypatch):
    import torch
    order = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda d=None: order.append(("sync", d)))
    monkeypatch.setattr(_device.time, "perf_counter", lambda: order.append("clock") or 1.0)
    _device.clock("cuda:1")
    assert order == [("sync", "cuda:1"), "clock"]
    order.clear()
    _device.clock("cpu")
    assert order == ["clock"]


def test_the_script_refuses_an_unknown_option():
    done = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--bogus"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "unknown option --bogus" in done.stderr


@pytest.mark.slow
def test_the_checks_run_dry_on_the_cpu():
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_checks.py"),
                           "--device", "cpu", "--dry", "--only", "tf32,sync-debug"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DRY RUN" in done.stdout and "FAILED" not in done.stdout
    rows = [line.split() for line in done.stdout.splitlines()
            if line.strip().startswith(("false", "true"))]
    assert {r[0] for r in rows} == {"false", "true"} and len(rows) == 4
    assert all(float(r[3]) < 1e-5 for r in rows)       # on the CPU TF32 changes nothing
    assert "needs CUDA: skipped on cpu" in done.stdout
