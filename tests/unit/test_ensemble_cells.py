"""Every cell trains in the ensemble, each member equal to its own engine run; the
hand-tuned kernels of the built-in layouts equal the generic batched form."""

from __future__ import annotations

import pytest
import torch

from lstm_tui.models.cells import names
from lstm_tui.training import engine
from lstm_tui.training.ensemble import group_key, unbatchable_reason
from lstm_tui.training.ensemble.recurrence import forward, network
from lstm_tui.models.kernels.workspace import Workspace
from tests.unit.test_ensemble import assert_same_run, config, separate, together

OPTIONS = {"slstm": {"heads": 2}, "indrnn": {"recurrent_max": 0.9}}


def configs(cell: str, task: str = "nth_element", **model):
    model = {"cell": cell, **OPTIONS.get(cell, {}), **model}
    return [config(task, model, lr=lr, seed=seed, steps=12, log_every=3, eval_every=6,
                   **extra)
            for lr, seed, extra in ((0.01, 0, {}), (0.03, 1, {"grad_clip": 0.5}))]


@pytest.mark.parametrize("cell", names())
def test_every_cell_trains_in_the_ensemble_as_its_sequential_twins(cell):
    cfgs = configs(cell)
    assert unbatchable_reason(cfgs[0]) is None and len({group_key(c) for c in cfgs}) == 1
    streams, results = together(cfgs)
    for cfg, mine, last in zip(cfgs, streams, results):
        assert last.status == "completed"
        assert_same_run(mine, separate(cfg), tol=1e-5)


@pytest.mark.parametrize("cell,task,model", [
    ("lstm_cifg", "copy", {"layers": 2, "bidirectional": True, "peepholes": True}),
    ("minlstm", "weighted_sum", {"bidirectional": True}),
    ("slstm", "adding", {"layers": 2}),
    ("lstm", "nth_element", {"peepholes": True}),      # a built-in off its kernel's layout
])
def test_generic_shapes_and_tasks_equal_separate_runs(cell, task, model):
    cfgs = configs(cell, task, **model)
    streams, _ = together(cfgs)
    for cfg, mine in zip(cfgs, streams):
        assert_same_run(mine, separate(cfg), tol=1e-5)


@pytest.mark.parametrize("cell,activation", [("lstm", "tanh"), ("gru", "softsign"),
                                             ("rnn", "tanh")])
def test_the_hand_tuned_kernels_equal_the_generic_form(cell, activation):
    models = []
    for seed in range(3):
        torch.manual_seed(seed)
        cfg = config(model={"cell": cell, "activation": activation, "layers": 2,
                            "bidirectional": True})
        models.append(engine.build(cfg).model)
    net = network(models[0], "last")
    generic = network(models[0], "last", hand_tuned=False)
    assert net.layout == cell.upper() and generic.layout == "" and generic.model is not None
    stacks = {n: torch.stack([dict(m.named_parameters())[n].detach() for m in models])
              for n, _ in models[0].named_parameters()}
    x = torch.randn(3, 6, 4, 5)
    torch.testing.assert_close(forward(net, stacks, x, Workspace()),
                               forward(generic, stacks, x, Workspace()), atol=1e-5, rtol=1e-5)


def test_only_the_pytorch_layouts_get_a_hand_tuned_kernel():
    for cell in names():
        for extra in ({}, {"peepholes": True}):
            cfg = configs(cell, **extra)[0] if extra.keys() <= {"peepholes"} and \
                ("peepholes" not in extra or cell.startswith("lstm")) else None
            if cfg is None:
                continue
            net = network(engine.build(cfg).model, "last")
            expected = cell.upper() if cell in ("lstm", "gru", "rnn") and not extra else ""
            assert net.layout == expected, (cell, extra)


def test_the_ensemble_keeps_a_cells_bound_as_the_engine_does():
    cfgs = [config("adding", {"cell": "indrnn", "recurrent_max": 0.5}, lr=lr, seed=seed,
                   steps=6, log_every=3, eval_every=3) for lr, seed in ((0.5, 0), (0.3, 1))]
    saved: dict = {}

    def saver(key):
        def save(tag, payload):
            saved[key, tag] = payload["model"]["rnn.weight_hh_l0"]
            return tag
        return save
    streams, _ = together(cfgs, saves=[saver(("ensemble", 0)), saver(("ensemble", 1))])
    for k, (cfg, mine) in enumerate(zip(cfgs, streams)):
        assert_same_run(mine, separate(cfg, save_checkpoint=saver(("engine", k))), tol=1e-5)
        ours, theirs = saved[("ensemble", k), "last"], saved[("engine", k), "last"]
        assert ours.abs().max() == pytest.approx(0.5)              # at the bound, not past
        torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)
