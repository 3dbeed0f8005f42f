"""runs/resources.py behaviour that mutation testing found unchecked (see TESTING.md):
the GPU found by its UUID, what a resource sample record holds and at which step, and
the run's end without a start."""

from __future__ import annotations

import json
import sys
import threading
import types

import torch

from lstm_tui import events as ev
from lstm_tui.runs import provenance, resources

STARTED = ev.RunStarted(run_id="r", config={}, summary=ev.ModelSummary((), 1, 1),
                        device="cpu", total_steps=10, steps_per_epoch=5, dataset_size=10,
                        metric="accuracy", goal="max", start_step=3)


def fake_nvml(asked: list):
    """A pynvml whose answers depend on the handle: a wrong handle reads as no GPU."""
    class Util:
        gpu = 55

    class Mem:
        used, total = 2**30, 8 * 2**30

    def only(handle, answer):
        if handle != ("uuid", asked[-1]):
            raise RuntimeError("not that handle")
        return answer

    def by_uuid(uuid):
        asked.append(uuid)
        return ("uuid", uuid)

    return types.SimpleNamespace(
        nvmlInit=lambda: None, nvmlDeviceGetHandleByUUID=by_uuid,
        nvmlDeviceGetHandleByIndex=lambda i: ("index", i),
        nvmlDeviceGetUtilizationRates=lambda h: only(h, Util),
        nvmlDeviceGetMemoryInfo=lambda h: only(h, Mem))


def test_the_gpu_is_found_by_its_uuid_so_visible_devices_cannot_renumber_it(monkeypatch):
    for uuid, asked_for in (("5f1c-77", "GPU-5f1c-77"), ("GPU-5f1c-77", "GPU-5f1c-77")):
        asked: list[str] = []
        monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(asked))
        monkeypatch.setattr(torch.cuda, "get_device_properties",
                            lambda index, uuid=uuid: types.SimpleNamespace(uuid=uuid))
        sampler = resources.ResourceSampler("cuda:1", every=60)
        assert asked == [asked_for]
        assert sampler.sample_now()[3:] == (55.0, 2**30, 8 * 2**30)


def test_without_torch_the_gpu_is_found_by_its_index(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml([]))
    monkeypatch.setitem(sys.modules, "torch", None)
    sampler = resources.ResourceSampler("cuda:2", every=60)
    assert sampler._gpu.handle == ("index", 2)


def test_the_sampler_thread_is_named_for_thread_listings():
    sampler = resources.ResourceSampler("cpu", every=60).start()
    try:
        assert "lstm-lab-resources" in [t.name for t in threading.enumerate()]
    finally:
        sampler.stop()


class FakeSampler:
    """Always has a sample ready: seconds 1.23456, CPU 50%, 1000 bytes, no GPU."""
    stopped = 0

    def __init__(self, device, every):
        pass

    def start(self):
        return self

    def take(self):
        return (1.23456, 50.04, 1000, None, None, None)

    def stop(self):
        FakeSampler.stopped += 1


def test_samples_are_recorded_at_the_last_step_heard(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "ResourceSampler", FakeSampler)
    monkeypatch.setattr(FakeSampler, "stopped", 0)
    heard = []
    emit = resources.instrument(tmp_path, heard.append)
    emit(STARTED)                                           # resumed at step 3
    emit(ev.CheckpointWritten(step=7, tag="last", path="x"))
    emit(ev.Finished("completed", 9, 2.0, 0.9, 0.9))
    emit(ev.DataProgress("late", 1, 1))                     # after the end: no sample, no error
    records = [json.loads(line) for line in
               (tmp_path / resources.RESOURCES).read_text().splitlines()]
    assert records == [
        {"step": 3, "time": 1.235, "cpu_percent": 50.0, "rss_bytes": 1000, "gpu_util": None,
         "gpu_mem_bytes": None, "gpu_mem_total": None},
        {"step": 7, "time": 1.235, "cpu_percent": 50.0, "rss_bytes": 1000, "gpu_util": None,
         "gpu_mem_bytes": None, "gpu_mem_total": None}]
    assert [type(e).__name__ for e in heard] == [
        "RunStarted", "ResourceSample", "CheckpointWritten", "ResourceSample", "Finished",
        "DataProgress"]
    assert FakeSampler.stopped == 1


def test_an_end_without_a_start_still_records_the_peak_on_the_cpu(tmp_path):
    emit = resources.instrument(tmp_path, lambda event: None)
    emit(ev.Failed("boom", 0))
    prov = provenance.read_provenance(tmp_path)
    assert prov["peak"]["rss_bytes"] > 0 and prov["peak"]["cuda_max_allocated_bytes"] is None


def test_without_psutil_the_run_goes_unsampled_and_on(tmp_path, monkeypatch):
    def no_psutil(device, every):
        raise ImportError("No module named 'psutil'")

    monkeypatch.setattr(resources, "ResourceSampler", no_psutil)
    heard = []
    emit = resources.instrument(tmp_path, heard.append)
    emit(STARTED)
    emit(ev.CheckpointWritten(step=7, tag="last", path="x"))
    emit(ev.Finished("completed", 9, 2.0, 0.9, 0.9))
    assert [type(e).__name__ for e in heard] == ["RunStarted", "CheckpointWritten", "Finished"]
    assert not (tmp_path / resources.RESOURCES).exists()
    assert provenance.read_provenance(tmp_path)["ended"] > 0
