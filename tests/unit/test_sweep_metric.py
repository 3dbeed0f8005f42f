"""A sweep scored by a metric other than the task's own picks its best the right way."""

from __future__ import annotations

import pytest

from lstm_tui.config import parse_config
from lstm_tui.runs.reader import load_run
from lstm_tui.sweeps.runner import read_results, run_points
from lstm_tui.sweeps.spec import parse_sweep


def _sweep(tmp_path, **sweep):
    data = {"name": "by-loss",
            "task": {"kind": "nth_element", "seq_len": 4, "features": 5, "n": 1,
                     "train_size": 64, "val_size": 32},
            "model": {"hidden": 4},
            "train": {"steps": 20, "eval_every": 5, "log_every": 5, "batch_size": 16,
                      "optimizer": "adam", "lr": 0.05},
            "sweep": {"grid": {"model.cell": ["lstm", "gru"]}, **sweep}}
    cfg = parse_config(data, "by-loss.toml")
    spec = parse_sweep(cfg, "by-loss.toml")
    return run_points("by-loss.toml", cfg, spec, tmp_path / "runs")


@pytest.mark.parametrize("goal", ["min", "max", None])
def test_best_loss_is_the_extreme_the_goal_asks_for(tmp_path, goal):
    result = _sweep(tmp_path, metric="loss", **({"goal": goal} if goal else {}))
    assert result.complete and result.goal == (goal or "min")
    pick = max if goal == "max" else min
    rows = read_results(result.sweep_dir / "results.csv")
    assert len(rows) == 2
    for row in rows:
        steps, losses = load_run(result.sweep_dir / row["run"]).series("val", "loss")
        assert steps == [5, 10, 15, 20] and len(set(losses)) > 1
        assert row["best_loss"] == pytest.approx(pick(losses))
        assert row["final_loss"] == pytest.approx(losses[-1])
