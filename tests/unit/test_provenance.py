"""Where a number came from: provenance.json, resource samples, environments compared."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest

from lstm_tui import events as ev
from lstm_tui.runs import provenance
from lstm_tui.runs.resources import RESOURCES, instrument, resource_text

SUMMARY = ev.ModelSummary(rows=(), total=10, trainable=10)


def started(start_step: int = 0) -> ev.RunStarted:
    return ev.RunStarted(run_id="r", config={}, summary=SUMMARY, device="cpu", total_steps=100,
                         steps_per_epoch=10, dataset_size=100, metric="accuracy", goal="max",
                         start_step=start_step)


def test_instrument_records_provenance_and_hands_samples_in_the_engines_thread(tmp_path):
    heard = []
    emit = instrument(tmp_path, heard.append, every=0.02)
    emit(started())
    prov = json.loads((tmp_path / provenance.PROVENANCE).read_text())
    assert prov["lstm_lab"] and prov["python"] == ".".join(map(str, sys.version_info[:3]))
    assert prov["device"] == "cpu" and prov["device_name"] and prov["host"]
    assert "command" in prov and "peak" not in prov
    deadline = time.monotonic() + 10          # a loaded machine may be slow to sample
    while not any(isinstance(e, ev.ResourceSample) for e in heard):
        assert time.monotonic() < deadline
        time.sleep(0.05)
        emit(ev.CheckpointWritten(step=7, tag="last", path="last.pt"))
    kinds = [type(e).__name__ for e in heard]
    assert kinds[0] == "RunStarted" and kinds[-2:] == ["ResourceSample", "CheckpointWritten"]
    sample = heard[-2]
    assert sample.rss_bytes > 10_000_000 and sample.cpu_percent >= 0 and sample.gpu_util is None
    emit(ev.Finished(status="completed", step=9, seconds=1.0, best=0.5, final=0.5))
    assert isinstance(heard[-1], ev.Finished)
    prov = json.loads((tmp_path / provenance.PROVENANCE).read_text())
    assert prov["peak"]["rss_bytes"] > 10_000_000 and prov["ended"] >= prov["started"]
    samples = [e for e in heard if isinstance(e, ev.ResourceSample)]
    lines = [json.loads(x) for x in (tmp_path / RESOURCES).read_text().splitlines()]
    assert [x["step"] for x in lines] == [e.step for e in samples]
    assert lines[0]["rss_bytes"] == samples[0].rss_bytes and lines[0]["step"] in (0, 7)
    count = len(heard)
    time.sleep(0.1)                      # the sampler stopped with the run
    emit(ev.CheckpointWritten(step=9, tag="last", path="last.pt"))
    assert len(heard) == count + 1


def test_a_resumed_run_keeps_its_first_environment(tmp_path):
    instrument(tmp_path, lambda e: None, every=60)(started())
    first = provenance.read_provenance(tmp_path)
    emit = instrument(tmp_path, lambda e: None, every=60)
    emit(started(start_step=50))
    again = provenance.read_provenance(tmp_path)
    assert again["started"] == first["started"] and len(again["resumes"]) == 1
    emit(ev.Failed(error="boom", step=60))
    assert "peak" in provenance.read_provenance(tmp_path)


def test_a_listener_failure_in_provenance_never_fails_the_run(tmp_path):
    gone = tmp_path / "gone"
    emit = instrument(gone, lambda e: None, every=60)     # the folder does not exist
    emit(started())
    emit(ev.Finished(status="completed", step=1, seconds=0.1, best=None, final=None))


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_commit_and_dirty_flag_of_the_working_directory(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    assert provenance.environment("cpu", cwd=tmp_path)["git"] is None
    git("init", "-q")
    provenance._git.cache_clear()
    (tmp_path / "a.txt").write_text("one")
    git("add", "a.txt")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True,
                          text=True).stdout.strip()
    env = provenance.environment("cpu", cwd=tmp_path)
    assert env["git"]["commit"] == head and env["git"]["dirty"] is False
    (tmp_path / "a.txt").write_text("two")
    assert provenance.environment("cpu", cwd=tmp_path)["git"]["dirty"] is False   # cached
    provenance._git.cache_clear()
    assert provenance.environment("cpu", cwd=tmp_path)["git"]["dirty"] is True


def test_display_rows_and_differing_environments():
    a = {"lstm_lab": "0.1.0", "git": {"commit": "abcdef1234567890", "dirty": True},
         "python": "3.11.7", "torch": "2.13.0", "cuda": "12.4", "cudnn": 90100,
         "device": "cuda:0", "device_name": "NVIDIA H200", "torch_threads": 1, "host": "a",
         "command": "lstm-lab headless x", "peak": {"rss_bytes": 3 * 2**30,
                                                    "cuda_max_allocated_bytes": 2**29}}
    rows = dict(provenance.display_rows(a))
    assert rows["git"] == "abcdef123456 (dirty)"
    assert rows["torch"] == "2.13.0 (CUDA 12.4, cuDNN 90100)"
    assert rows["device"] == "cuda:0 · NVIDIA H200"
    assert rows["peak memory"] == "RSS 3.0 GB, CUDA 512.0 MB"
    b = dict(a, torch="2.12.0", host="b", command="other", git=None)
    assert provenance.differing_env([a, b]) == ["git", "torch", "host"]
    assert provenance.differing_env([a, dict(a, command="other")]) == []
    assert provenance.differing_env([a, {}]) == []       # an old run without a record
    assert provenance.display_rows({}) == []


def test_resource_text():
    sample = ev.ResourceSample(step=1, seconds=2.0, cpu_percent=98.4, rss_bytes=300 * 2**20,
                               gpu_util=45.0, gpu_mem_bytes=2**30, gpu_mem_total=80 * 2**30)
    assert resource_text(sample) == "CPU 98% · RSS 300.0 MB · GPU 45% 1.0 GB/80.0 GB"


@pytest.mark.parametrize("backend", ["sequential", "ensemble"])
def test_sweep_points_record_their_provenance(tmp_path, backend):
    from lstm_tui.config import parse_config
    from lstm_tui.runs.reader import list_runs
    from lstm_tui.sweeps.runner import run_points
    from lstm_tui.sweeps.spec import parse_sweep
    cfg = parse_config({
        "name": "tiny", "task": {"kind": "nth_element", "seq_len": 4, "features": 5, "n": 1,
                                 "train_size": 64, "val_size": 32},
        "model": {"hidden": 4}, "train": {"steps": 10, "eval_every": 5, "batch_size": 16},
        "sweep": {"grid": {"train.lr": [0.03, 0.01]}}}, "tiny.toml")
    result = run_points("tiny.toml", cfg, parse_sweep(cfg, "tiny.toml"), tmp_path / "runs",
                        backend=backend)
    assert result.complete
    runs = list_runs(tmp_path / "runs")
    assert len(runs) == 2
    for run in runs:
        prov = provenance.read_provenance(run.path)
        assert prov["torch"] and prov["device"] == "cpu" and prov["peak"]["rss_bytes"] > 0


def test_gpu_samples_come_from_nvml_when_it_is_there(monkeypatch):
    """nvidia-ml-py stands in here as a fake pynvml: the sampler asks it for the device's
    utilisation and memory; without it (or on a CPU run) the GPU fields stay None."""
    import types

    from lstm_tui.runs import resources

    class Util:
        gpu = 87

    class Mem:
        used, total = 3 * 2**30, 80 * 2**30

    fake = types.SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlDeviceGetHandleByIndex=lambda i: ("gpu", i),
        nvmlDeviceGetHandleByUUID=lambda u: (_ for _ in ()).throw(RuntimeError(u)),
        nvmlDeviceGetUtilizationRates=lambda h: Util,
        nvmlDeviceGetMemoryInfo=lambda h: Mem)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    sampler = resources.ResourceSampler("cuda:1", every=60)
    assert sampler._gpu.handle == ("gpu", 1)
    _, cpu, rss, util, used, total = sampler.sample_now()
    assert (util, used, total) == (87.0, 3 * 2**30, 80 * 2**30) and rss > 0
    assert resources.ResourceSampler("cpu", every=60).sample_now()[3:] == (None, None, None)
    monkeypatch.setitem(sys.modules, "pynvml", None)          # not installed
    assert resources.ResourceSampler("cuda:0", every=60).sample_now()[3:] == (None, None, None)
