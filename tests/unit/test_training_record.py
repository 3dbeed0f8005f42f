"""One training record, two engines: a config trained by ``engine.train`` and by the
ensemble (alone, and as one member among several) emits the same events, field by field,
and saves the same checkpoints.  Only timings differ, and floats to float rounding.

``train_ensemble`` hands a group of one to the engine, so "alone" runs the ensemble's
own loop (``_Ensemble``) on a single member, as bench_ensemble.py does.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
import torch

from lstm_tui import events as ev
from lstm_tui.config import parse_config
from lstm_tui.training import engine
from lstm_tui.training.ensemble import group_key, train_ensemble
from lstm_tui.training.ensemble.engine import _Ensemble
from tests.unit.test_series import write_csv

TIMING = {"seconds", "steps_per_sec", "examples_per_sec"}
TOL = 1e-5


def same(mine, theirs, where: str = "") -> None:
    """`mine` equals `theirs`: tensors allclose, floats within TOL, the rest exactly."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(mine, torch.Tensor), where
        assert (mine.shape, mine.dtype, mine.device) == \
            (theirs.shape, theirs.dtype, theirs.device), where
        if theirs.is_floating_point():
            assert torch.allclose(mine, theirs, rtol=TOL, atol=TOL), where
        else:
            assert torch.equal(mine, theirs), where
    elif dataclasses.is_dataclass(theirs):
        assert type(mine) is type(theirs), where
        for f in dataclasses.fields(theirs):
            if f.name not in TIMING:
                same(getattr(mine, f.name), getattr(theirs, f.name), f"{where}.{f.name}")
    elif isinstance(theirs, dict):
        assert isinstance(mine, dict) and mine.keys() == theirs.keys(), where
        for key in theirs:
            same(mine[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert type(mine) is type(theirs) and len(mine) == len(theirs), where
        for i, (a, b) in enumerate(zip(mine, theirs)):
            same(a, b, f"{where}[{i}]")
    elif isinstance(theirs, float) and not math.isnan(theirs):
        assert isinstance(mine, float) and mine == pytest.approx(theirs, rel=TOL, abs=TOL), \
            f"{where}: {mine} != {theirs}"
    elif isinstance(theirs, float):
        assert isinstance(mine, float) and math.isnan(mine), where
    else:
        assert mine == theirs, f"{where}: {mine!r} != {theirs!r}"


class Saved:
    """A checkpoint writer that keeps a copy of every payload, by (tag, step)."""

    def __init__(self) -> None:
        self.payloads: dict[tuple[str, int], dict] = {}

    def __call__(self, tag: str, payload: dict) -> str:
        self.payloads[(tag, payload["step"])] = copy.deepcopy(payload)
        return f"{tag}.pt"


def engine_run(cfg) -> tuple[list, Saved]:
    events, saved = [], Saved()
    engine.train(cfg, events.append, save_checkpoint=saved)
    return events, saved


def ensemble_alone(cfg) -> tuple[list, Saved]:
    events, saved = [], Saved()
    _Ensemble([cfg], [events.append], [saved], [""]).run(lambda: False)
    return events, saved


def ensemble_among(cfgs, index: int) -> tuple[list, Saved]:
    assert len({group_key(c) for c in cfgs}) == 1
    streams, saves = [[] for _ in cfgs], [Saved() for _ in cfgs]
    train_ensemble(cfgs, [s.append for s in streams], lambda: False, saves)
    return streams[index], saves[index]


def assert_same_record(mine: tuple[list, Saved], theirs: tuple[list, Saved],
                       process_rng: bool) -> None:
    """Same events with the same fields, same checkpoints with the same contents.

    `process_rng`: whether the process-wide generator states ("rng", "cuda_rng") must
    agree too.  Among several members they cannot: the ensemble builds every member
    (each seeding and drawing its init) before training, so the global generator is where
    the last build left it.  Batchable runs draw nothing from it (no dropout).
    """
    (events, saved), (their_events, their_saved) = mine, theirs
    assert [type(e).__name__ for e in events] == [type(e).__name__ for e in their_events]
    for i, (a, b) in enumerate(zip(events, their_events)):
        same(a, b, f"event {i} {type(b).__name__}")
    assert saved.payloads.keys() == their_saved.payloads.keys()
    for key, payload in their_saved.payloads.items():
        ours = saved.payloads[key]
        assert ours.keys() == payload.keys(), key
        for name in payload:
            if name in ("rng", "cuda_rng") and not process_rng:
                continue
            same(ours[name], payload[name], f"checkpoint {key} [{name!r}]")


def config(task: dict, model: dict, **train):
    return parse_config({"task": task, "model": {"hidden": 6, **model},
                         "train": {"batch_size": 16, "steps": 24, "eval_every": 8,
                                   "log_every": 3, "device": "cpu", **train}})


NTH = {"kind": "nth_element", "seq_len": 5, "features": 4, "n": 1, "train_size": 128,
       "val_size": 64}
ADDING = {"kind": "adding", "seq_len": 6, "train_size": 128, "val_size": 32}


def scenarios(tmp_path) -> dict[str, tuple[list, list]]:
    """Per case: the configs of one group, and the statuses the engine ends them with."""
    series = {"kind": "series", "path": write_csv(tmp_path / "s.csv"), "target": ["load"],
              "window": 6}
    return {
        # clipping, a validation between two logs, is_best flags, early stopping
        "classification": ([
            config(NTH, {"cell": "lstm"}, optimizer="adam", lr=0.02, seed=0, grad_clip=0.5,
                   patience=1, min_delta=0.05),
            config(NTH, {"cell": "lstm"}, optimizer="adam", lr=0.005, seed=1),
            config(NTH, {"cell": "lstm", "init": "orthogonal"}, optimizer="adam", lr=0.01,
                   seed=2, weight_decay=1e-3),
        ], ["stopped_early", "completed", "completed"]),
        # the task's reports: baselines, forecasts, the final test block with the best weights
        "series": ([
            config(series, {"cell": "gru"}, optimizer="momentum", lr=0.05, seed=3,
                   lr_decay=0.5, lr_decay_every=10),
            config(series, {"cell": "gru"}, optimizer="momentum", lr=0.01, seed=4),
        ], ["completed", "completed"]),
        # a loss that goes non-finite: the divergence rule and its advice
        "diverging": ([
            config(ADDING, {"cell": "rnn"}, optimizer="sgd", lr=1e30, seed=5),
            config(ADDING, {"cell": "rnn"}, optimizer="sgd", lr=0.05, seed=6),
        ], ["diverged", "completed"]),
    }


@pytest.mark.parametrize("case", ["classification", "series", "diverging"])
def test_both_engines_keep_the_same_record(tmp_path, case):
    cfgs, statuses = scenarios(tmp_path)[case]
    first = cfgs[0]
    theirs = engine_run(first)
    assert theirs[0][-1].status == statuses[0]
    assert theirs[1].payloads or statuses[0] == "diverged"   # diverged before a validation
    assert_same_record(ensemble_alone(first), theirs, process_rng=True)
    for index, cfg in enumerate(cfgs):
        their_run = theirs if index == 0 else engine_run(cfg)
        assert their_run[0][-1].status == statuses[index]
        assert_same_record(ensemble_among(cfgs, index), their_run, process_rng=False)


def test_the_comparison_sees_a_difference():
    """The checks above can fail: another learning rate, another record."""
    cfg = config(NTH, {"cell": "lstm"}, optimizer="adam", lr=0.02, seed=0)
    other = config(NTH, {"cell": "lstm"}, optimizer="adam", lr=0.021, seed=0)
    with pytest.raises(AssertionError):
        assert_same_record(ensemble_alone(other), engine_run(cfg), process_rng=True)
    events, saved = engine_run(cfg)
    with pytest.raises(AssertionError):          # one event fewer
        assert_same_record((events[:-1], saved), (events, saved), process_rng=True)
    tampered = copy.deepcopy(saved)
    key = next(iter(tampered.payloads))
    tampered.payloads[key]["bad_evals"] += 1
    with pytest.raises(AssertionError):          # one checkpoint field off
        assert_same_record((events, tampered), (events, saved), process_rng=True)
    assert ev.Finished in {type(e) for e in events}


def test_a_validation_that_improved_saves_best_and_last_from_one_payload():
    # one state_dict and one payload for both tags: a writer stores it once (runs.writer)
    saved = []
    cfg = parse_config({"task": {"train_size": 64, "val_size": 32}, "model": {"hidden": 4},
                        "train": {"steps": 20, "eval_every": 10, "batch_size": 8}})
    events = []
    engine.train(cfg, events.append,
                 save_checkpoint=lambda tag, payload: saved.append((tag, payload)) or tag)
    improved = [e.step for e in events if isinstance(e, ev.ValMetrics) and e.is_best]
    assert improved and saved[0][0] == "best" and saved[1][0] == "last"
    assert saved[0][1] is saved[1][1] and saved[0][1]["step"] == improved[0]
    written = [(e.tag, e.step) for e in events if isinstance(e, ev.CheckpointWritten)]
    assert written[:2] == [("best", improved[0]), ("last", improved[0])]
