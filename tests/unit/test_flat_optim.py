"""The engine's flat optimizer step (training.flat): bit for bit torch's per-tensor update,
with torch's per-parameter state_dict in and out."""

from __future__ import annotations

import pytest
import torch

from lstm_tui.config import TrainConfig, parse_config
from lstm_tui.training import flat
from lstm_tui.training.flat import FlatOptimizer
from lstm_tui.training.optim import build_optimizer, set_lr

OPTIMIZERS = ["sgd", "momentum", "adam", "rmsprop", "adagrad"]


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))


def batches(n: int) -> list:
    gen = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 3, generator=gen), torch.randn(8, 2, generator=gen))
            for _ in range(n)]


def train(net, opt, data, skip: str = "") -> None:
    for x, y in data:
        for p in net.parameters():
            p.grad = None
        torch.nn.functional.mse_loss(net(x), y).backward()
        if skip:                          # a parameter with no gradient at this step
            net.get_parameter(skip).grad = None
        opt.step()


def pair(name: str):
    cfg = TrainConfig(optimizer=name, lr=0.03, momentum=0.7, weight_decay=0.01)
    theirs, ours = model(), model()
    reference = build_optimizer(theirs.parameters(), cfg)
    params = list(ours.parameters())
    optimizer = build_optimizer(params, cfg)
    assert flat.applies(optimizer, params) == (name != "sgd")   # still right when asked
    return theirs, reference, ours, FlatOptimizer(optimizer, params)


def same_state(a: dict, b: dict) -> None:
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for k in a["state"]:
        assert a["state"][k].keys() == b["state"][k].keys()
        for key, value in a["state"][k].items():
            assert torch.equal(value, b["state"][k][key]), (k, key)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_the_flat_update_is_the_per_tensor_one_bit_for_bit(name):
    theirs, reference, ours, optimizer = pair(name)
    data = batches(6)
    train(theirs, reference, data[:3])
    train(ours, optimizer, data[:3])
    set_lr(reference, 0.01)               # the schedule's decay reaches both
    set_lr(optimizer, 0.01)
    train(theirs, reference, data[3:])
    train(ours, optimizer, data[3:])
    for a, b in zip(theirs.parameters(), ours.parameters()):
        assert torch.equal(a, b)
    same_state(optimizer.state_dict(), reference.state_dict())


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_its_state_dict_resumes_in_a_plain_optimizer_and_a_plain_one_resumes_in_it(
        name, tmp_path):
    theirs, reference, ours, optimizer = pair(name)
    data = batches(8)
    train(theirs, reference, data[:4])
    train(ours, optimizer, data[:4])
    torch.save({"model": ours.state_dict(), "optimizer": optimizer.state_dict()},
               tmp_path / "flat.pt")
    torch.save({"model": theirs.state_dict(), "optimizer": reference.state_dict()},
               tmp_path / "plain.pt")
    cfg = TrainConfig(optimizer=name, lr=0.03, momentum=0.7, weight_decay=0.01)
    # the flat checkpoint in torch's own optimizer; the plain one in a flat optimizer
    plain, flat_net = model(), model()
    saved = torch.load(tmp_path / "flat.pt", weights_only=True)
    plain.load_state_dict(saved["model"])
    plain_opt = build_optimizer(plain.parameters(), cfg)
    plain_opt.load_state_dict(saved["optimizer"])
    saved = torch.load(tmp_path / "plain.pt", weights_only=True)
    flat_net.load_state_dict(saved["model"])
    params = list(flat_net.parameters())
    flat_opt = FlatOptimizer(build_optimizer(params, cfg), params)
    flat_opt.load_state_dict(saved["optimizer"])
    for net, opt in ((theirs, reference), (plain, plain_opt), (flat_net, flat_opt)):
        train(net, opt, data[4:])
    for a, b, c in zip(theirs.parameters(), plain.parameters(), flat_net.parameters()):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_a_step_without_some_gradient_steps_per_tensor_from_then_on_as_torch_does():
    theirs, reference, ours, optimizer = pair("adam")
    data = batches(6)
    for net, opt in ((theirs, reference), (ours, optimizer)):
        train(net, opt, data[:2])
        train(net, opt, data[2:4], skip="2.bias")    # torch leaves that bias alone
        train(net, opt, data[4:])
    assert not optimizer.flat_mode
    for a, b in zip(theirs.parameters(), ours.parameters()):
        assert torch.equal(a, b)
    same_state(optimizer.state_dict(), reference.state_dict())


def test_what_it_does_not_take():
    net = model()
    params = list(net.parameters())
    lbfgs = torch.optim.LBFGS(params)
    assert not flat.applies(lbfgs, params)
    assert not flat.applies(build_optimizer(params, TrainConfig(optimizer="sgd")), params)
    assert not flat.applies(build_optimizer(params, TrainConfig()), params[:-1])
    net[2].bias.requires_grad_(False)
    assert not flat.applies(build_optimizer(params, TrainConfig()), params)


def test_a_run_trains_the_same_weights_flat_or_per_tensor(tmp_path, monkeypatch):
    from lstm_tui.experiment import start_run
    from lstm_tui.runs.checkpoint import load_checkpoint
    cfg = parse_config({"task": {"kind": "nth_element", "seq_len": 6, "train_size": 256,
                                 "val_size": 64},
                        "model": {"hidden": 8},
                        "train": {"steps": 30, "eval_every": 10, "log_every": 5,
                                  "batch_size": 16, "grad_clip": 1.0}})
    flats = []
    real = FlatOptimizer.__init__
    monkeypatch.setattr(FlatOptimizer, "__init__",
                        lambda self, *a: (real(self, *a), flats.append(self))[0])
    run_dir, last = start_run(cfg, tmp_path / "flat")
    assert last.status == "completed" and flats and flats[0].flat_mode
    monkeypatch.setattr(flat, "applies", lambda *a: False)
    plain_dir, _ = start_run(cfg, tmp_path / "plain")
    a, b = load_checkpoint(run_dir / "last.pt"), load_checkpoint(plain_dir / "last.pt")
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
        # weights of their own, as before: they save one by one (safetensors refuses
        # tensors that share memory)
        assert a["model"][key].untyped_storage().nbytes() == a["model"][key].nbytes
    same_state(a["optimizer"], b["optimizer"])
