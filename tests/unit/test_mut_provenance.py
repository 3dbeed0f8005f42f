"""runs/provenance.py behaviour that mutation testing found unchecked (see TESTING.md):
the CPU's name on other architectures, the facts without torch, the CUDA device's name
and peak memory (faked: no GPU here), a damaged record shown whole."""

from __future__ import annotations

import io
import sys

import pytest
import torch

from lstm_tui.runs import provenance


@pytest.mark.parametrize("cpuinfo,name", [
    ("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold\n", "Intel(R) Xeon(R) Gold"),
    ("processor : 0\nHardware : BCM2835\n", "BCM2835"),                  # older ARM boards
    ("system type : MT7621\ncpu model : MIPS 1004Kc V2.15\n", "MIPS 1004Kc V2.15"),
])
def test_the_cpu_is_named_from_the_line_each_architecture_writes(monkeypatch, cpuinfo, name):
    def fake_open(path, *args, **kwargs):
        assert path == "/proc/cpuinfo"
        return io.StringIO(cpuinfo)

    monkeypatch.setattr(provenance, "open", fake_open, raising=False)
    assert provenance.cpu_name() == name


def test_without_torch_imported_the_torch_facts_are_null(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)     # the UI process: never imports it
    env = provenance.environment("cpu")
    assert {k: env[k] for k in ("torch", "cuda", "cudnn", "torch_threads")} == \
        dict.fromkeys(("torch", "cuda", "cudnn", "torch_threads"))
    assert env["device_name"] == provenance.cpu_name()
    assert provenance.peak_memory("cuda:0")["cuda_max_allocated_bytes"] is None


def test_with_torch_the_facts_are_its_own():
    env = provenance.environment("cpu")
    assert env["torch"] == torch.__version__ and env["cuda"] == torch.version.cuda
    assert "cudnn" in env and env["torch_threads"] == torch.get_num_threads()


def test_a_cuda_device_is_named_and_measured_by_torch(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: f"Fake GPU {device}")
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device: 12345)
    assert provenance.environment("cuda:1")["device_name"] == "Fake GPU cuda:1"
    assert provenance.peak_memory("cuda:1")["cuda_max_allocated_bytes"] == 12345
    assert provenance.peak_memory("cpu")["cuda_max_allocated_bytes"] is None
    assert provenance.environment("mps")["device_name"] == \
        f"Apple MPS ({provenance.cpu_name()})"


@pytest.mark.parametrize("peak", ["12 GB", [1, 2], 7])
def test_a_peak_that_is_not_a_table_shows_no_memory(peak):
    rows = dict(provenance.display_rows({"torch": "2.13.0", "peak": peak}))
    assert rows["peak memory"] == "-"


def test_the_rows_and_their_order():
    rows = provenance.display_rows({"command": "lstm-lab headless x"})
    assert [label for label, _ in rows] == ["lstm-lab", "git", "python", "torch", "device",
                                            "threads", "host", "command", "peak memory"]
    assert dict(rows)["command"] == "lstm-lab headless x"
    assert dict(rows)["git"] == "not a checkout"
