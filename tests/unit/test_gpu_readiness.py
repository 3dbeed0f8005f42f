"""Issue 14 without a GPU: the CUDA paths checked through monkeypatched device queries and
the settings and states they save (the `cuda`-marked set in test_cuda.py runs them for
real when a GPU is there)."""

from __future__ import annotations

import json
import os

import pytest
import torch

from lstm_tui import devices
from lstm_tui import events as ev
from lstm_tui.config import ConfigError, ModelConfig, parse_config
from lstm_tui.experiment import start_run
from lstm_tui.models.network import build_model
from lstm_tui.sweeps.backends import local, pool
from lstm_tui.models.kernels import recurrent
from lstm_tui.training.ensemble import sizing
from lstm_tui.training.ensemble.engine import _Ensemble
from lstm_tui.sweeps.backends import PointDone, PointTask
from lstm_tui.sweeps.backends.point import ensemble_jobs
from lstm_tui.training import engine, placement, policy, rng, validation
from tests.unit.test_ensemble import assert_same_run, config, separate, together


@pytest.fixture(autouse=True)
def _default_policy():
    yield
    policy.apply(policy.Policy())


def fake_gpus(monkeypatch, count: int, current: int = 0) -> list:
    """torch.cuda answering as if `count` GPUs were there; returns the set_device calls."""
    calls: list = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: current)
    monkeypatch.setattr(torch.cuda, "set_device", calls.append)
    return calls


def tiny(**train) -> object:
    return parse_config({"task": {"kind": "nth_element", "seq_len": 6, "features": 4, "n": 2,
                                  "train_size": 64, "val_size": 32},
                         "model": {"hidden": 8},
                         "train": {"batch_size": 16, "steps": 8, "eval_every": 4,
                                   "log_every": 2, "device": "cpu", **train}})


# ---------------------------------------------------------------- 1. one precision policy

def test_tf32_switches_cudnn_rnns_and_matmuls_together():
    policy.apply(policy.Policy(tf32=True))
    assert torch.backends.cuda.matmul.fp32_precision == "tf32"
    assert torch.backends.cudnn.rnn.fp32_precision == "tf32"
    assert policy.current().tf32
    policy.apply(policy.Policy(tf32=False))
    # torch's own default keeps cuDNN RNNs in TF32: the policy must turn both to FP32
    assert torch.backends.cuda.matmul.fp32_precision == "ieee"
    assert torch.backends.cudnn.rnn.fp32_precision == "ieee"
    assert not policy.current().tf32


def test_build_sets_the_configs_policy_and_the_run_records_it(tmp_path):
    engine.build(tiny(tf32=True))
    assert policy.current() == policy.Policy(tf32=True, deterministic=False)
    engine.build(tiny())      # the default is exact FP32, whatever the last run set
    assert policy.current() == policy.Policy()
    run_dir, last = start_run(tiny(tf32=True, deterministic=True), tmp_path, [])
    assert last.status == "completed"
    text = (run_dir / "config.toml").read_text()
    assert "tf32 = true" in text and "deterministic = true" in text


def test_config_checks_the_new_keys():
    assert tiny().train.tf32 is False and tiny().train.deterministic is False
    with pytest.raises(ConfigError, match="train.tf32: must be true or false"):
        tiny(tf32="yes")


# ---------------------------------------------------------------- 3. determinism

def test_deterministic_sets_torch_cublas_and_cudnn(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    policy.apply(policy.Policy(deterministic=True))
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == policy.CUBLAS_WORKSPACE
    policy.apply(policy.Policy())
    assert not torch.are_deterministic_algorithms_enabled()
    assert not torch.backends.cudnn.deterministic


def test_deterministic_runs_train_and_repeat_exactly():
    def losses(cfg):
        events: list = []
        assert engine.train(cfg, events.append).status == "completed"
        return [e.loss for e in events if isinstance(e, ev.StepMetrics)]
    cfg = tiny(deterministic=True)
    assert losses(cfg) == losses(cfg)
    streams, results = together([tiny(deterministic=True, seed=s) for s in (0, 1)])
    assert [r.status for r in results] == ["completed"] * 2


# ---------------------------------------------------------------- 2. RNG states

def test_checkpoints_keep_the_cuda_rng_state_of_the_runs_gpu(monkeypatch):
    assert set(rng.states(torch.device("cpu"))) == {"rng"}
    state = torch.arange(8, dtype=torch.uint8)
    asked, put = [], []
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda d: asked.append(d) or state)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s, d: put.append((s, d)))
    gpu = torch.device("cuda", 1)
    saved = rng.states(gpu)
    assert asked == [gpu] and torch.equal(saved["cuda_rng"], state)
    rng.restore(saved, gpu)
    assert put and torch.equal(put[0][0], state) and put[0][1] == gpu
    put.clear()
    rng.restore({"rng": torch.get_rng_state()}, gpu)   # a CPU run's checkpoint: nothing to put
    assert put == []


def test_the_engine_saves_and_restores_the_rng_states(monkeypatch):
    real_states, real_restore = rng.states, rng.restore
    marker = torch.tensor([7, 7], dtype=torch.uint8)
    restored = []
    monkeypatch.setattr(rng, "states", lambda d: {**real_states(d), "cuda_rng": marker})
    monkeypatch.setattr(rng, "restore",
                        lambda p, d: restored.append(p.get("cuda_rng")) or real_restore(p, d))
    last: dict = {}
    engine.train(tiny(), lambda e: None, save_checkpoint=lambda tag, p: last.update(p) or "x")
    assert torch.equal(last["cuda_rng"], marker) and restored == []
    assert engine.train(tiny(steps=12), lambda e: None, resume=last).status == "completed"
    assert len(restored) == 1 and torch.equal(restored[0], marker)


def test_fused_multilayer_dropout_on_cuda_is_said_in_the_run_record(tmp_path):
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    fused = build_model(ModelConfig(layers=2, dropout=0.2), 4, 3, "last")
    stepwise = build_model(ModelConfig(layers=2, dropout=0.2, activation="softsign"), 4, 3, "last")
    one_layer = build_model(ModelConfig(layers=1, dropout=0.2), 4, 3, "last")
    assert rng.notes(fused, cuda) == (rng.FUSED_DROPOUT_NOTE,)
    assert rng.notes(fused, cpu) == rng.notes(stepwise, cuda) == rng.notes(one_layer, cuda) == ()
    from lstm_tui.runs.writer import RunWriter
    from lstm_tui.models import summarize
    (tmp_path / "r").mkdir()
    writer = RunWriter(tmp_path / "r", tiny())
    writer(ev.RunStarted(run_id="r", config={}, summary=summarize(ModelConfig(), 4, 3, 6, "last"),
                         device="cuda:0", total_steps=1, steps_per_epoch=1, dataset_size=1,
                         metric="accuracy", goal="max", notes=rng.notes(fused, cuda)))
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["notes"] == [rng.FUSED_DROPOUT_NOTE]


# ---------------------------------------------------------------- 4. placement

def test_device_names_and_gpu_indexes(monkeypatch):
    fake_gpus(monkeypatch, 0)
    with pytest.raises(ConfigError, match="torch sees no CUDA device"):
        engine.select_device("cuda:0")
    fake_gpus(monkeypatch, 2, current=1)
    assert engine.select_device("auto") == torch.device("cuda", 1)   # the process's GPU
    assert engine.select_device("cuda") == torch.device("cuda", 1)
    assert engine.select_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(ConfigError, match=r"sees 2 CUDA device\(s\).*cuda:0..cuda:1"):
        engine.select_device("cuda:2")
    assert tiny(device="cuda:1").train.device == "cuda:1"
    for bad in ("cuda:x", "cuda:", "cuda:01", "gpu"):
        with pytest.raises(ConfigError, match="one of auto, cpu, cuda, mps or cuda:N"):
            tiny(device=bad)


def test_each_process_claims_its_own_gpu_round_robin(monkeypatch):
    calls = fake_gpus(monkeypatch, 3)
    assert [placement.claim(slot) for slot in range(5)] == [0, 1, 2, 0, 1]
    assert calls == [0, 1, 2, 0, 1]
    calls = fake_gpus(monkeypatch, 1)
    assert placement.claim(4) is None and calls == []    # one GPU: nothing to choose


def test_lab_runs_get_successive_slots(monkeypatch):
    from lstm_tui.tui import worker
    slots = []
    monkeypatch.setattr(worker, "ChildProcess",
                        lambda ctx, target, args, **kw: slots.append(args[2]))
    trainer = worker.ProcessTrainer()
    for _ in range(3):
        trainer.start(tiny(), "/tmp", lambda message: None)
    assert slots == [0, 1, 2]


def _tasks(cfgs) -> list[PointTask]:
    return [PointTask(f"k{i}", i, c, f"/nowhere/{i}", "s") for i, c in enumerate(cfgs)]


def test_the_ensemble_backend_never_splits_a_group_on_cuda(monkeypatch):
    tasks = _tasks([config(seed=s) for s in range(6)])
    assert len(ensemble_jobs(tasks, 3)) == 3       # on the CPU the workers share it
    assert [len(j) for j in ensemble_jobs(tasks, 3, split=False)] == [6]
    seen = []
    monkeypatch.setattr(local, "run_pool", lambda jobs, *a: seen.append(jobs))
    monkeypatch.setattr(local, "_on_cuda", lambda tasks: True)
    local.Ensemble(3).run(tasks, lambda m: None, lambda: False)
    assert [len(j) for j in seen[0]] == [6]


def test_which_points_train_on_cuda(monkeypatch):
    fake_gpus(monkeypatch, 0)
    assert not local._on_cuda(_tasks([config(device="cpu"), config(device="auto")]))
    assert local._on_cuda(_tasks([config(device="cuda:1")]))
    fake_gpus(monkeypatch, 1)
    assert local._on_cuda(_tasks([config(device="auto")]))


class _Queue:
    def __init__(self):
        self.items, self.closed = [], False

    def put(self, item):
        self.items.append(item)

    def close(self):
        self.closed = True

    def join_thread(self):
        pass


def test_a_worker_that_hits_a_cuda_error_exits(monkeypatch):
    queue = _Queue()
    monkeypatch.setattr(pool, "_QUEUE", queue)

    def fake_exit(code):
        raise SystemExit(code)
    monkeypatch.setattr(pool.os, "_exit", fake_exit)
    fine = [PointDone("a", "completed"), PointDone("b", "failed", "ValueError: bad")]
    assert pool._exit_if_cuda_broken(fine) == fine and queue.items == []
    broken = [PointDone("a", "failed", "RuntimeError: CUDA error: an illegal memory access "
                        "was encountered"), PointDone("b", "completed")]
    with pytest.raises(SystemExit) as exc:
        pool._exit_if_cuda_broken(broken)
    assert exc.value.code == pool.EXIT_CUDA_BROKEN
    assert queue.items == broken and queue.closed     # the driver still gets the results
    assert not placement.is_cuda_fatal("RuntimeError: shapes do not match")


# ---------------------------------------------------------------- 5. memory

def test_ray_fractional_gpus_cap_the_workers_memory(monkeypatch):
    from lstm_tui.sweeps.backends import ray_task
    fake_gpus(monkeypatch, 1)
    fractions = []
    monkeypatch.setattr(torch.cuda, "set_per_process_memory_fraction",
                        lambda f, d=None: fractions.append(f))
    monkeypatch.setattr(placement, "_FRACTION", None)
    monkeypatch.setattr(ray_task, "job_stream", lambda *a: iter([["item"]]))
    assert list(ray_task._ray_job([], [], False, 1, 0.5, gpu_share=0.25)) == [["item"]]
    assert fractions == [0.25] and placement.memory_fraction() == 0.25
    assert placement.cap_memory(1.0) is None and fractions == [0.25]


def test_the_workspace_budget_follows_the_gpus_free_memory(monkeypatch):
    assert sizing.workspace_budget(torch.device("cpu")) == sizing.WORKSPACE_BUDGET
    gib = 2 ** 30
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda d=None: (4 * gib, 16 * gib))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda d=None: gib)
    monkeypatch.setattr(placement, "_FRACTION", None)
    gpu = torch.device("cuda", 0)
    assert sizing.workspace_budget(gpu) == int(4 * gib * sizing.GPU_FREE_SHARE)
    monkeypatch.setattr(placement, "_FRACTION", 0.125)   # 2 GiB of 16, 1 GiB already held
    assert sizing.workspace_budget(gpu) == int(1 * gib * sizing.GPU_FREE_SHARE)


def test_member_bytes_counts_data_and_parameters_too():
    from lstm_tui.tasks import build_task

    def sized(train_size: int, hidden: int = 8):
        return parse_config({"task": {"kind": "nth_element", "seq_len": 10, "features": 8,
                                      "n": 3, "train_size": train_size, "val_size": 200},
                             "model": {"hidden": hidden}, "train": {"batch_size": 16}})
    more, less = sized(20000), sized(200)
    data = [sum(t.numel() * t.element_size() for t in vars(build_task(c.task, 0)).values()
                if isinstance(t, torch.Tensor)) for c in (more, less)]
    # the task's own tensors and the stacked copy
    assert sizing.member_bytes(more) - sizing.member_bytes(less) == 2 * (data[0] - data[1])
    assert sizing.member_bytes(sized(200, hidden=64)) > sizing.member_bytes(less)


def test_a_group_too_big_for_a_small_card_trains_in_chunks(monkeypatch):
    cfgs = [config(lr=0.01, seed=s, steps=10, eval_every=10) for s in range(5)]
    budget = 2 * sizing.member_bytes(cfgs[0])
    monkeypatch.setattr(sizing, "workspace_budget", lambda device: budget)
    sizes = []
    real = _Ensemble.__init__
    monkeypatch.setattr(_Ensemble, "__init__",
                        lambda self, c, *a: sizes.append(len(c)) or real(self, c, *a))
    streams, results = together(cfgs)
    assert sizes == [2, 2] and [r.status for r in results] == ["completed"] * 5


def test_the_ensemble_frees_what_it_no_longer_needs():
    cfgs = [config(lr=0.01, seed=s, steps=20, eval_every=10) for s in range(3)]
    payloads: list = []
    group = _Ensemble(cfgs, [lambda e: None] * 3,
                               [lambda tag, p: payloads.append(p) or "x"] * 3, [""] * 3)
    results = group.run(lambda: False)
    assert [r.status for r in results] == ["completed"] * 3
    assert all(mb.exp is None for mb in group.members)      # ended members let go
    tensors = [t for p in payloads for t in p["model"].values()]
    tensors += [t for p in payloads for s in p["optimizer"]["state"].values()
                for t in s.values()]
    assert tensors and all(t.device.type == "cpu" for t in tensors)


# ---------------------------------------------------------------- 6. speed paths

def test_the_gpu_recurrence_uses_torch_tanh_and_equals_the_cpu_trick(monkeypatch):
    assert recurrent.activation_on("tanh", torch.device("cuda", 0)) == "torch_tanh"
    assert recurrent.activation_on("tanh", torch.device("cpu")) == "tanh"
    assert recurrent.activation_on("softsign", torch.device("cuda", 0)) == "softsign"
    monkeypatch.setattr(recurrent, "activation_on",
                        lambda name, device: "torch_tanh" if name == "tanh" else name)
    for cell in ("lstm", "gru", "rnn"):
        cfgs = [config(model={"cell": cell}, lr=0.01, seed=s, steps=20, eval_every=10)
                for s in (0, 1)]
        streams, _ = together(cfgs)
        for cfg, mine in zip(cfgs, streams):
            assert_same_run(mine, separate(cfg))


def test_validation_samples_come_from_a_cpu_copy(monkeypatch):
    model = build_model(ModelConfig(layers=2), 5, 5, "all")
    assert validation.cpu_copy(model) is model            # already on the CPU: no copy
    clone = validation.copy_to_cpu(model)
    assert clone is not model and clone.training == model.training
    for a, b in zip(model.state_dict().values(), clone.state_dict().values()):
        assert a is not b and torch.equal(a, b) and b.device.type == "cpu"
    seen = []
    from lstm_tui.models import sampling
    real = sampling.generate

    def spy(model, *args, device, **kwargs):
        seen.append((next(model.parameters()).device.type, torch.device(device).type))
        return real(model, *args, device=device, **kwargs)
    monkeypatch.setattr(sampling, "generate", spy)
    copies = []
    monkeypatch.setattr(validation, "cpu_copy", lambda m: copies.append(m) or m)
    cfg = parse_config({"task": {"kind": "char_lm", "seq_len": 8, "sample_length": 5},
                        "model": {"hidden": 8},
                        "train": {"steps": 4, "eval_every": 2, "batch_size": 8,
                                  "device": "cpu"}})
    assert engine.train(cfg, lambda e: None).status == "completed"
    assert seen == [("cpu", "cpu")] * 2 and len(copies) == 2


# ---------------------------------------------------------------- 7. honest labels

def test_the_lab_offers_cuda_only_when_torch_was_built_for_it(tmp_path, monkeypatch):
    cpu_build = tmp_path / "cpu.py"
    cpu_build.write_text("__version__ = '2.13.0+cpu'\ncuda: Optional[str] = None\n")
    gpu_build = tmp_path / "gpu.py"
    gpu_build.write_text("__version__ = '2.13.0'\ncuda: Optional[str] = '12.8'\n")
    assert devices.cuda_in_version_file(cpu_build) is None
    assert devices.cuda_in_version_file(gpu_build) == "12.8"
    assert devices.cuda_in_version_file(tmp_path / "missing.py") is None
    assert devices.torch_cuda_version() == torch.version.cuda     # this machine's own torch
    monkeypatch.setattr(devices, "nvidia_driver", lambda: True)
    monkeypatch.setattr(devices, "torch_cuda_version", lambda: None)
    assert not devices.cuda_present()        # a driver but a CPU build of torch: no cuda
    monkeypatch.setattr(devices, "torch_cuda_version", lambda: "12.8")
    assert devices.cuda_present()
