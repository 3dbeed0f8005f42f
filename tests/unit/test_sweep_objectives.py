"""search = "random" over [sweep.space], and several objectives (metrics = [...]):
parsing, bad input, the results.csv columns and the Pareto front / best-so-far views."""

from __future__ import annotations

import pytest

from lstm_tui.config import ConfigError, parse_config
from lstm_tui.sweeps import objectives as ob
from lstm_tui.sweeps.runner import columns_for, run_points
from lstm_tui.sweeps.spec import parse_sweep

TASK = {"kind": "nth_element", "seq_len": 4, "features": 5, "n": 1, "train_size": 64,
        "val_size": 32}
SPACE = {"train.lr": {"low": 1e-3, "high": 0.3, "log": True}, "model.hidden": [4, 8]}


def _spec(**sweep):
    data = {"name": "obj", "task": TASK, "model": {"hidden": 4},
            "train": {"steps": 6, "eval_every": 3, "log_every": 3, "batch_size": 16},
            "sweep": {"search": "random", "trials": 5, "space": SPACE, **sweep}}
    cfg = parse_config(data, "obj.toml")
    return cfg, parse_sweep(cfg, "obj.toml")


def test_random_search_draws_trials_points_from_the_space_the_same_way_each_time():
    _, spec = _spec()
    points = spec.points()
    assert spec.search == "random" and spec.size == 5 and len(points) == 5
    assert all(1e-3 <= p.values["train.lr"] <= 0.3 for p in points)
    assert {p.values["model.hidden"] for p in points} <= {4, 8}
    assert [p.values for p in _spec()[1].points()] == [p.values for p in points]
    assert len({p.values["train.lr"] for p in points}) == 5


def test_several_objectives_take_each_metrics_own_goal_and_add_their_columns():
    _, spec = _spec(metrics=["accuracy", "loss", "params"])
    assert spec.metric == "accuracy" and spec.goal == "max"
    assert spec.objectives == [("accuracy", "max"), ("loss", "min"), ("params", "min")]
    columns = columns_for(spec)
    assert "best_accuracy" in columns and "best_loss" in columns and "params" in columns
    assert "best_params" not in columns
    assert _spec()[1].objectives == [("accuracy", "max")]


@pytest.mark.parametrize("sweep, key, words", [
    ({"metrics": ["accuracy", "parms"]}, "sweep.metrics", "did you mean 'params'"),
    ({"metrics": ["accuracy"]}, "sweep.metrics", "2 or 3"),
    ({"metrics": "accuracy"}, "sweep.metrics", "must be a list of strings"),
    ({"metrics": ["accuracy", "accuracy"]}, "sweep.metrics", "twice"),
    ({"metrics": ["params", "accuracy"]}, "sweep.metrics", "must start with a validation"),
    ({"metrics": ["accuracy", "params"], "goal": "min"}, "sweep.goal", "not used with"),
    ({"metrics": ["accuracy", "mae"]}, "sweep.metrics", "not recorded"),
    ({"search": "randm"}, "sweep.search", "did you mean 'random'"),
    ({"trials": 0}, "sweep.trials", ">= 1"),
    ({"space": {"train.lrr": [0.1]}}, "sweep.space.train.lrr", ""),
    ({"space": {"train.lr": ["fast"]}}, "sweep.space.train.lr", ""),
    ({"grid": {"train.lr": [0.1]}}, "sweep.grid", "not used with search = \"random\""),
])
def test_bad_objectives_and_random_search_are_one_line_naming_the_key(sweep, key, words):
    with pytest.raises(ConfigError) as caught:
        _spec(**sweep)
    assert caught.value.key == key and words in caught.value.message
    assert "\n" not in str(caught.value)


ROWS = [  # trial order; accuracy max, params min
    {"status": "completed", "best_accuracy": 0.5, "params": 100},
    {"status": "completed", "best_accuracy": 0.9, "params": 400},
    {"status": "failed", "best_accuracy": 0.99, "params": 10},      # not a result
    {"status": "completed", "best_accuracy": 0.7, "params": 100},   # dominates row 0
    {"status": "stopped_early", "best_accuracy": 0.8, "params": 500},  # dominated by 1
    {"status": "pruned", "best_accuracy": 0.95, "params": 50},      # pruned: not counted
    {"status": "completed", "best_accuracy": float("nan"), "params": 5},
]


def test_pareto_front_keeps_the_counted_rows_no_other_dominates_best_first():
    front = ob.pareto_front(ROWS, [("accuracy", "max"), ("params", "min")])
    assert [(r["best_accuracy"], r["params"]) for r in front] == [(0.9, 400), (0.7, 100)]
    flipped = ob.pareto_front(ROWS, [("accuracy", "min"), ("params", "max")])
    assert [(r["best_accuracy"], r["params"]) for r in flipped] == [(0.5, 100), (0.8, 500)]


def test_best_so_far_follows_trial_order_and_the_goal():
    assert ob.best_so_far(ROWS, "accuracy", "max") == [0.5, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    assert ob.best_so_far(ROWS, "accuracy", "min") == [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert ob.best_so_far([], "accuracy", "max") == []
    assert ob.dominates([1, 1], [1, 2], ["max", "min"]) and not ob.dominates(
        [1, 1], [1, 1], ["max", "min"])


@pytest.mark.slow
def test_a_random_search_with_two_objectives_runs_and_records_both(tmp_path):
    cfg, spec = _spec(metrics=["accuracy", "loss"], trials=3)
    result = run_points("obj.toml", cfg, spec, tmp_path)
    assert result.complete and len(result.rows) == 3
    for row in result.rows:
        assert 0 <= row["best_accuracy"] <= 1 and row["best_loss"] > 0
        assert row["best_loss"] <= row["val_loss"] + 1e-12
    assert ob.pareto_front(result.rows, spec.objectives)
