"""The ensemble backend: members equal separate engine runs, and stop on their own."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from lstm_tui import events as ev
from lstm_tui.config import parse_config
from lstm_tui.runs.reader import load_run
from lstm_tui.runs.writer import RunWriter
from lstm_tui.training import ensemble
from lstm_tui.training.ensemble import batches, sizing, unbatchable_reason
from lstm_tui.training.ensemble import group_key, train_ensemble
from lstm_tui.training.ensemble.engine import _Ensemble
from lstm_tui.training.ensemble.members import _Member
from lstm_tui.models.kernels.workspace import Workspace
from lstm_tui.training import engine
from lstm_tui.training.validation import evaluate

TASKS = {
    "nth_element": {"kind": "nth_element", "seq_len": 6, "features": 5, "n": 1,
                    "train_size": 256, "val_size": 64},
    "copy": {"kind": "copy", "length": 3, "delay": 2, "symbols": 4, "train_size": 256,
             "val_size": 64},
    "adding": {"kind": "adding", "seq_len": 8, "train_size": 256, "val_size": 64},
    "weighted_sum": {"kind": "weighted_sum", "seq_len": 5, "train_size": 256, "val_size": 64,
                     "standardize": True},
}


def config(task: str = "nth_element", model: dict | None = None, **train):
    data = {"task": dict(TASKS[task]), "model": {"cell": "lstm", "hidden": 8, **(model or {})},
            "train": {"batch_size": 16, "steps": 50, "eval_every": 25, "log_every": 1,
                      "device": "cpu", **train}}
    return parse_config(data)


def separate(cfg, **kwargs) -> list:
    events: list = []
    engine.train(cfg, events.append, **kwargs)
    return events


def together(cfgs, should_stop=lambda: False, saves=None) -> tuple[list[list], list]:
    streams: list[list] = [[] for _ in cfgs]
    results = train_ensemble(cfgs, [s.append for s in streams], should_stop,
                             saves or [None] * len(cfgs))
    return streams, results


def of(events, kind) -> list:
    return [e for e in events if isinstance(e, kind)]


def assert_same_run(mine: list, theirs: list, tol: float = 1e-4) -> None:
    """Same event kinds in the same order, same steps, losses within `tol`."""
    assert [type(e).__name__ for e in mine] == [type(e).__name__ for e in theirs]
    for a, b in zip(mine, theirs):
        if isinstance(a, ev.StepMetrics):
            assert (a.step, a.epoch, a.lr) == (b.step, b.epoch, b.lr)
            assert a.loss == pytest.approx(b.loss, abs=tol)
            assert a.metric == pytest.approx(b.metric, abs=max(tol, 1 / 16 + 1e-9))
            assert a.grad_norm == pytest.approx(b.grad_norm, rel=1e-3, abs=tol)
            assert a.grad_norms.keys() == b.grad_norms.keys() == a.grad_means.keys()
            for name in b.grad_norms:
                assert a.grad_norms[name] == pytest.approx(b.grad_norms[name], rel=1e-3, abs=tol)
                assert a.grad_means[name] == pytest.approx(b.grad_means[name], rel=1e-3, abs=tol)
            assert a.mean_abs_grad == pytest.approx(b.mean_abs_grad, rel=1e-3, abs=tol)
        elif isinstance(a, ev.ValMetrics):
            assert (a.step, a.is_best) == (b.step, b.is_best)
            assert a.loss == pytest.approx(b.loss, abs=tol)
            assert a.metric == pytest.approx(b.metric, abs=tol)
        elif isinstance(a, ev.TimestepGradients):
            assert a.step == b.step and a.norms == pytest.approx(b.norms, rel=1e-3, abs=tol)
        elif isinstance(a, ev.RunStarted):
            assert (a.config, a.summary, a.total_steps, a.steps_per_epoch, a.metric) == \
                (b.config, b.summary, b.total_steps, b.steps_per_epoch, b.metric)
        elif isinstance(a, ev.Finished):
            assert (a.status, a.step, a.message) == (b.status, b.step, b.message)
            if b.final is not None and math.isfinite(b.final):
                assert a.final == pytest.approx(b.final, abs=tol)


# ---------------------------------------------------------------- equivalence

@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_members_equal_separate_runs(cell, optimizer):
    lrs = {"adam": (0.01, 0.003, 0.02), "momentum": (0.1, 0.03, 0.2)}[optimizer]
    cfgs = [config(model={"cell": cell}, optimizer=optimizer, lr=lrs[0], seed=0),
            config(model={"cell": cell}, optimizer=optimizer, lr=lrs[1], seed=1, grad_clip=0.05),
            config(model={"cell": cell, "init": "orthogonal"}, optimizer=optimizer, lr=lrs[2],
                   seed=2, weight_decay=1e-3)]
    assert len({group_key(c) for c in cfgs}) == 1
    streams, results = together(cfgs)
    for cfg, mine, last in zip(cfgs, streams, results):
        theirs = separate(cfg)
        assert len(of(theirs, ev.StepMetrics)) == 50
        assert_same_run(mine, theirs)
        assert mine[-1] is last and last.status == "completed"
    assert min(e.grad_norm for e in of(streams[1], ev.StepMetrics)) > 0.05   # clipping acted


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adagrad"])
def test_other_optimizers_and_schedules_equal_separate_runs(optimizer):
    # logs every 4 steps, validations every 10: some validations fall between two logs
    cfgs = [config(optimizer=optimizer, lr=0.01, seed=0, steps=30, log_every=4, eval_every=10),
            config(optimizer=optimizer, lr=0.003, seed=1, steps=30, log_every=4, eval_every=10,
                   lr_decay=0.5, lr_decay_every=7, weight_decay=0.01)]
    streams, _ = together(cfgs)
    for cfg, mine in zip(cfgs, streams):
        assert_same_run(mine, separate(cfg))
    assert {e.lr for e in of(streams[1], ev.StepMetrics)} == {0.003 * 0.5 ** k for k in range(5)}


@pytest.mark.parametrize("task,model", [
    ("copy", {}),                                            # a prediction at every step
    ("adding", {"cell": "rnn"}),                             # regression
    ("weighted_sum", {"cell": "gru"}),                       # per-member target scale
    ("nth_element", {"layers": 2, "bidirectional": True}),
    ("nth_element", {"activation": "softsign", "layers": 2}),
    ("copy", {"cell": "gru", "bidirectional": True}),
])
def test_shapes_and_tasks_equal_separate_runs(task, model):
    cfgs = [config(task, model, lr=lr, seed=seed, steps=30, log_every=3, eval_every=15)
            for lr, seed in ((0.01, 0), (0.003, 1))]
    streams, _ = together(cfgs)
    for cfg, mine in zip(cfgs, streams):
        assert_same_run(mine, separate(cfg))


@pytest.mark.parametrize("task", sorted(TASKS))
def test_stacked_batches_are_the_tasks_own(task):
    cfgs = [config(task, seed=seed, batch_size=48) for seed in (3, 4)]
    members = [_Member(c, None, None, engine.build(c),
                                torch.Generator().manual_seed(c.train.seed), 0.0)
               for c in cfgs]
    fast = batches._batches(members, 48, Workspace())
    assert isinstance(fast, batches._StackedBatches)
    mine = []
    for _ in range(2):                                    # two epochs: fresh permutations
        fast.new_epoch()
        while (batch := fast.next()) is not None:
            mine.append(tuple(t.clone() for t in batch))
    theirs = []
    gens = [torch.Generator().manual_seed(c.train.seed) for c in cfgs]
    for _ in range(2):
        for pair in zip(*(m.exp.task.train_batches(48, g) for m, g in zip(members, gens))):
            theirs.append(batches._TaskBatches.layout(list(pair), Workspace()))
    assert len(mine) == len(theirs) == 2 * (256 // 48)
    for (x, y), (u, v) in zip(mine, theirs):
        assert torch.equal(x, u) and torch.equal(y, v) and y.dtype == v.dtype


# ---------------------------------------------------------------- stopping on their own

def test_a_diverging_member_stops_and_the_others_go_on():
    cfgs = [config("adding", optimizer="sgd", lr=lr, seed=seed, log_every=5)
            for lr, seed in ((0.05, 0), (1e30, 1), (0.02, 2))]
    streams, results = together(cfgs)
    assert [r.status for r in results] == ["completed", "diverged", "completed"]
    assert "lower train.lr (now 1e+30)" in results[1].message
    for cfg, mine in zip(cfgs, streams):
        assert_same_run(mine, separate(cfg))   # same divergence step and advice text


def test_early_stopping_is_per_member():
    cfgs = [config(lr=0.01, seed=0, eval_every=10, patience=1, min_delta=100.0),
            config(lr=0.01, seed=1, eval_every=10),
            config(lr=0.02, seed=2, eval_every=10, patience=2, monitor="loss", min_delta=100.0)]
    streams, results = together(cfgs)
    assert [(r.status, r.step) for r in results] == [
        ("stopped_early", 20), ("completed", 50), ("stopped_early", 30)]
    assert results[0].message == "no improvement of val metric in 1 evaluations (patience 1)"
    for cfg, mine in zip(cfgs, streams):
        assert_same_run(mine, separate(cfg))


def test_interrupt_stops_every_member_like_the_engine():
    calls = {"n": 0}

    def stop_after(n):
        def should_stop():
            calls["n"] += 1
            return calls["n"] > n
        return should_stop

    cfgs = [config(lr=0.01, seed=s, log_every=4) for s in (0, 1)]
    saved: list = []
    streams, results = together(cfgs, stop_after(13),
                                [lambda tag, p, i=i: saved.append((i, tag, p)) or tag
                                 for i in range(2)])
    assert [(r.status, r.step) for r in results] == [("interrupted", 13)] * 2
    assert [(i, tag, p["step"]) for i, tag, p in saved] == [(0, "last", 13), (1, "last", 13)]
    calls["n"] = 0
    theirs = separate(cfgs[0], should_stop=stop_after(13), save_checkpoint=lambda tag, p: tag)
    assert_same_run(streams[0], theirs)          # incl. the partial window logged at 13


def test_a_failing_listener_fails_only_its_member():
    cfgs = [config(lr=0.01, seed=s, steps=20, eval_every=10) for s in (0, 1)]
    good: list = []

    def broken(event):
        if isinstance(event, ev.ValMetrics):
            raise OSError("disk full")

    results = train_ensemble(cfgs, [broken, good.append], lambda: False, [None, None])
    assert isinstance(results[0], ev.Failed) and "disk full" in results[0].error
    assert results[1].status == "completed"
    assert_same_run(good, separate(cfgs[1]))


# ---------------------------------------------------------------- checkpoints and run folders

def test_checkpoints_load_into_a_normal_model_and_resume_like_the_engine():
    cfgs = [config(lr=0.01, seed=0, steps=40, eval_every=20),
            config(lr=0.003, seed=1, steps=40, eval_every=20, grad_clip=0.1)]

    def saver(store: dict):
        def save(tag, payload):
            store[(tag, payload["step"])] = copy.deepcopy(payload)   # the engine's alias
            return f"{tag}.pt"
        return save

    mine_saved: list[dict] = [{}, {}]
    streams, _ = together(cfgs, saves=[saver(mine_saved[0]), saver(mine_saved[1])])
    for i, cfg in enumerate(cfgs):
        theirs_saved: dict = {}
        full = separate(cfg, save_checkpoint=saver(theirs_saved))
        assert mine_saved[i].keys() == theirs_saved.keys()
        vals = {v.step: v for v in of(streams[i], ev.ValMetrics)}
        for step in (20, 40):
            payload = mine_saved[i][("last", step)]
            exp = engine.build(cfg)
            assert payload["model"].keys() == exp.model.state_dict().keys()
            exp.model.load_state_dict(payload["model"])
            loss, metric = evaluate(exp.model, exp.task, cfg.train.batch_size)
            assert loss == pytest.approx(vals[step].loss, abs=1e-6)
            assert metric == pytest.approx(vals[step].metric, abs=1e-6)
            exp.optimizer.load_state_dict(payload["optimizer"])   # torch's own format
        # the engine resumes from the ensemble's step-20 checkpoint as from its own
        resumed_mine = separate(cfg, resume=mine_saved[i][("last", 20)])
        resumed_theirs = separate(cfg, resume=theirs_saved[("last", 20)])
        assert of(resumed_mine, ev.RunStarted)[0].start_step == 20
        assert_same_run(resumed_mine, resumed_theirs)
        assert_same_run(streams[i], full)


def test_each_member_writes_a_normal_run_folder(tmp_path):
    cfgs = [config(lr=lr, seed=s, steps=20, eval_every=10, log_every=5)
            for lr, s in ((0.01, 0), (0.02, 1))]
    for i in range(2):
        (tmp_path / f"run{i}").mkdir()
    writers = [RunWriter(tmp_path / f"run{i}", c) for i, c in enumerate(cfgs)]
    train_ensemble(cfgs, writers, lambda: False, [w.save_checkpoint for w in writers])
    for i, cfg in enumerate(cfgs):
        run = load_run(tmp_path / f"run{i}")
        assert run.info.status == "completed" and run.info.steps == 20
        assert (tmp_path / f"run{i}" / "best.pt").is_file()
        steps, losses = run.series("train", "loss")
        assert steps == [5, 10, 15, 20] and all(math.isfinite(v) for v in losses)


# ---------------------------------------------------------------- grouping

def test_group_key_groups_what_can_train_together():
    base = config()
    same = [config(lr=0.5, seed=7), config(model={"init": "xavier", "forget_bias": 0.0}),
            config(weight_decay=0.1, momentum=0.5, lr_decay=0.5, lr_decay_every=10),
            config(grad_clip=1.0, patience=3, monitor="loss", min_delta=0.1)]
    other = [config(model={"hidden": 9}), config(model={"cell": "gru"}),
             config(model={"layers": 2}), config(optimizer="sgd"), config(batch_size=8),
             config(steps=60), config(eval_every=10), config(log_every=2)]
    key = group_key(base)
    assert all(group_key(c) == key for c in same)
    assert all(group_key(c) != key for c in other)
    nth = dict(TASKS["nth_element"])
    assert group_key(parse_config({"task": {**nth, "n": 3}})) == \
        group_key(parse_config({"task": {**nth, "n": 0, "val_size": 10}}))
    assert group_key(parse_config({"task": {**nth, "seq_len": 7}})) != \
        group_key(parse_config({"task": nth}))
    ws = dict(TASKS["weighted_sum"])
    assert group_key(parse_config({"task": {**ws, "noise_std": 0.5}})) == \
        group_key(parse_config({"task": ws}))


def test_configs_it_cannot_batch_are_alone_and_trained_by_the_engine():
    lbfgs = [config(optimizer="lbfgs", lr=0.5, seed=s, steps=4, eval_every=4) for s in (0, 1)]
    dropout = config(model={"dropout": 0.2, "layers": 2})
    char = parse_config({"task": {"kind": "char_lm", "max_chars": 2000}})
    assert group_key(lbfgs[0]) != group_key(lbfgs[1])
    for cfg in (lbfgs[0], dropout, char):
        assert unbatchable_reason(cfg)
        assert group_key(cfg) != group_key(config())
    assert unbatchable_reason(config()) is None
    streams, results = together(lbfgs[:1])
    assert_same_run(streams[0], separate(lbfgs[0]), tol=0.0)
    with pytest.raises(ValueError, match="not one group"):
        train_ensemble([config(), config(model={"hidden": 4})], [print, print])


def test_a_group_too_big_for_the_workspace_trains_in_chunks(monkeypatch):
    cfgs = [config(lr=0.01, seed=s, steps=10, eval_every=10) for s in range(3)]
    sizes: list[int] = []
    real = _Ensemble.__init__

    def spy(self, configs, *args):
        sizes.append(len(configs))
        real(self, configs, *args)

    monkeypatch.setattr(_Ensemble, "__init__", spy)
    monkeypatch.setattr(sizing, "WORKSPACE_BUDGET", 2 * sizing.member_bytes(cfgs[0]))
    streams, results = together(cfgs)
    assert sizes == [2] and [r.status for r in results] == ["completed"] * 3  # 2, then 1 alone
    for cfg, mine in zip(cfgs, streams):
        assert_same_run(mine, separate(cfg))


# ---------------------------------------------------------------- pruned members (issue 27)

def _watch_stacks(monkeypatch) -> list[tuple[int, int]]:
    """(members in the parameter stack, members in the batch) of every batched step."""
    seen: list[tuple[int, int]] = []
    from lstm_tui.training.ensemble.engine import _Ensemble
    score = _Ensemble._score     # called once per batched step, with that step's output

    def watched(self, out, y):
        seen.append((self.theta.shape[0], len(self.active)))
        return score(self, out, y)
    monkeypatch.setattr(_Ensemble, "_score", watched)
    return seen


def _prune_at(first_eval: int | None):
    """A scheduler's verdict: prune at the member's `first_eval`-th validation."""
    asked = []

    def verdict():
        asked.append(1)
        return ("pruned", "pruned by test") if first_eval and len(asked) >= first_eval \
            else None
    return verdict


def test_a_pruned_member_leaves_the_stacks_and_the_others_go_on_unchanged(monkeypatch):
    cfgs = [config(lr=0.01, seed=s, eval_every=10, log_every=5) for s in (0, 1, 2)]
    seen = _watch_stacks(monkeypatch)
    streams = [[] for _ in cfgs]
    results = train_ensemble(cfgs, [s.append for s in streams],
                             member_stops=[_prune_at(None), _prune_at(2), _prune_at(None)])
    assert [(r.status, r.step) for r in results] == [
        ("completed", 50), ("pruned", 20), ("completed", 50)]
    assert results[1].message == "pruned by test"
    # steps 1-20 carry three members, steps 21-50 two: the pruned rows are gone
    assert seen[:20] == [(3, 3)] * 20 and seen[20:] == [(2, 2)] * 30
    assert max(e.step for e in streams[1] if isinstance(e, ev.StepMetrics)) == 20
    for i in (0, 2):                         # the rows left behind are the right ones
        assert_same_run(streams[i], separate(cfgs[i]))


def test_a_group_whose_members_are_all_pruned_stops_training(monkeypatch):
    cfgs = [config(lr=0.01, seed=s, eval_every=10, log_every=5) for s in (0, 1)]
    seen = _watch_stacks(monkeypatch)
    results = train_ensemble(cfgs, [lambda e: None] * 2,
                             member_stops=[_prune_at(1), _prune_at(2)])
    assert [(r.status, r.step) for r in results] == [("pruned", 10), ("pruned", 20)]
    assert seen == [(2, 2)] * 10 + [(1, 1)] * 10          # no step after the last prune
