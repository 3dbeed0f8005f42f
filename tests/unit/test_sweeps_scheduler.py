"""Early stopping of sweep points: the rules, the pruned status, resume, and the same
verdicts on sequential, processes and ensemble."""

from __future__ import annotations

import pytest

from lstm_tui.config import ConfigError, parse_config
from lstm_tui.runs.reader import list_runs, read_info
from lstm_tui.sweeps.runner import read_results, run_points
from lstm_tui.sweeps.scheduler import PointEnded, PointEval, Pruner, pruning_order
from lstm_tui.sweeps.spec import parse_sweep

TASK = {"kind": "nth_element", "seq_len": 4, "features": 5, "n": 1, "train_size": 64,
        "val_size": 32}
LRS = [0.0001, 0.001, 0.03, 0.1, 0.3, 0.00003]


def _spec(**sweep):
    data = {"name": "prune", "task": TASK, "model": {"hidden": 4},
            "train": {"steps": 24, "eval_every": 3, "log_every": 3, "batch_size": 16},
            "sweep": {"grid": {"train.lr": LRS}, **sweep}}
    cfg = parse_config(data, "prune.toml")
    return cfg, parse_sweep(cfg, "prune.toml")


# ---------------------------------------------------------------- the rules alone

def _pruner(rule, order, **kw):
    return Pruner(rule, kw.get("grace", 1), kw.get("reduction", 2), kw.get("goal", "max"),
                  "accuracy", order)


def test_asha_keeps_the_top_share_at_each_rung_in_order():
    p = _pruner("asha", ["a", "b", "c", "d"])
    assert p.offer(PointEval("a", 1, 0.5, 10)) == [("a", 1, "")]       # alone: kept
    assert p.offer(PointEval("b", 1, 0.4, 10))[0][2].startswith("pruned by asha")
    assert p.offer(PointEval("c", 1, 0.9, 10)) == [("c", 1, "")]
    # evaluation 3 is no rung (grace 1, reduction 2: rungs 1, 2, 4)
    assert not p.is_decision(3) and p.is_decision(4)
    # d waits until every earlier point has reached evaluation 1 or ended
    p2 = _pruner("asha", ["a", "b"])
    assert p2.offer(PointEval("b", 1, 0.1, 5)) == []
    assert p2.offer(PointEnded("a")) == [("b", 1, "")]


def test_median_compares_best_so_far_and_respects_grace_and_goal():
    p = _pruner("median", ["a", "b", "c"], grace=2, goal="min")
    for n, v in enumerate([1.0, 0.5], 1):
        p.offer(PointEval("a", n, v, n))
    assert p.offer(PointEval("b", 1, 0.9, 1)) == [("b", 1, "")]          # before grace
    made = p.offer(PointEval("b", 2, 0.8, 2))                            # 0.8 worse than 0.5
    assert made[0][2].startswith("pruned by median")
    p.offer(PointEval("c", 1, 0.2, 1))
    assert p.offer(PointEval("c", 2, 0.9, 2)) == [("c", 2, "")]          # best so far 0.2


def test_pruning_order_is_by_key_with_each_ensemble_group_together():
    # not the grid's order: ascending learning rates would let each point beat all before
    data = {"name": "o", "task": TASK, "model": {"hidden": 4}, "train": {"steps": 6},
            "sweep": {"grid": {"model.hidden": [4, 8], "train.lr": LRS}}}
    cfg = parse_config(data, "o.toml")
    points = parse_sweep(cfg, "o.toml").points()
    order = pruning_order([(p.key, p.config) for p in points])
    hidden = {p.key: p.config.model.hidden for p in points}
    assert sorted(order) == sorted(p.key for p in points) and order[0] == min(order)
    first = [hidden[k] for k in order]
    assert first == sorted(first, key=first.index)          # two runs, one per group
    for size in (4, 8):
        group = [k for k in order if hidden[k] == size]
        assert group == sorted(group)
    assert order != [p.key for p in points]


# ---------------------------------------------------------------- whole sweeps

def _pruned(result):
    return {r["key"]: (r["status"], r["steps"]) for r in result.rows}


@pytest.mark.slow
def test_the_same_points_are_pruned_on_every_backend(tmp_path):
    cfg, spec = _spec(scheduler="asha", grace=1, reduction=2)
    seq = run_points("p.toml", cfg, spec, tmp_path / "seq")
    statuses = {r["status"] for r in seq.rows}
    assert "pruned" in statuses and statuses <= {"pruned", "completed"}
    assert seq.complete and not seq.failed
    ens = run_points("p.toml", cfg, spec, tmp_path / "ens", backend="ensemble")
    assert _pruned(ens) == _pruned(seq)
    par = run_points("p.toml", cfg, spec, tmp_path / "par", backend="processes", workers=2)
    assert _pruned(par) == _pruned(seq)
    pruned = [r for r in seq.rows if r["status"] == "pruned"]
    for row in pruned:
        assert row["steps"] < 24 and row["steps"] % 3 == 0
        assert row["message"].startswith("pruned by asha")
        info = read_info(seq.sweep_dir / row["run"])
        assert info.status == "pruned" and info.steps == row["steps"]
        assert (seq.sweep_dir / row["run"] / "last.pt").exists()
    assert {r.status for r in list_runs(tmp_path / "seq")} == statuses
    # results.csv keeps the status; a re-run neither retrains nor un-prunes
    assert [r["status"] for r in read_results(seq.sweep_dir / "results.csv")] == \
        [r["status"] for r in seq.rows]
    again = run_points("p.toml", cfg, spec, tmp_path / "seq")
    assert _pruned(again) == _pruned(seq)


def test_a_resumed_sweep_decides_as_the_first_one(tmp_path):
    cfg, spec = _spec(scheduler="median", grace=2)
    full = run_points("p.toml", cfg, spec, tmp_path / "full")
    calls = []
    half = run_points("p.toml", cfg, spec, tmp_path / "half",
                      listener=lambda e: calls.append(e),
                      should_stop=lambda: sum(type(e).__name__ == "PointFinished"
                                             for e in calls) >= 3)
    assert not half.complete
    rest = run_points("p.toml", cfg, spec, tmp_path / "half")
    assert rest.complete and _pruned(rest) == _pruned(full)


@pytest.mark.parametrize("sweep, key", [
    ({"scheduler": "hyperband"}, "sweep.scheduler"),
    ({"scheduler": "asha", "grace": 0}, "sweep.grace"),
    ({"scheduler": "asha", "reduction": 1}, "sweep.reduction"),
    ({"scheduler": "asha", "grace": 1.5}, "sweep.grace"),
])
def test_bad_scheduler_settings_name_the_key(sweep, key):
    with pytest.raises(ConfigError) as info:
        _spec(**sweep)
    assert info.value.key == key


def test_a_backend_that_cannot_stop_points_refuses_a_scheduler_before_anything_runs(
        tmp_path, monkeypatch):
    from lstm_tui.sweeps import backends

    class Plain:                     # a backend without a `pruner` to fill
        name, workers = "plain", 1

        def __init__(self, workers, spec):
            pass

    monkeypatch.setitem(backends.BACKENDS, "plain", f"{__name__}:Plain")
    monkeypatch.setitem(globals(), "Plain", Plain)
    cfg, spec = _spec(scheduler="asha")
    with pytest.raises(ConfigError) as info:
        run_points("p.toml", cfg, spec, tmp_path / "r", backend="plain")
    assert info.value.key == "sweep.scheduler" and "plain cannot" in info.value.message
    assert not (tmp_path / "r").exists()


def test_an_evaluation_reported_again_counts_once_and_gets_its_verdict_again():
    # a Ray task tried again after a lost worker trains from the start: same values
    p = _pruner("asha", ["a", "b"])
    p.offer(PointEval("a", 1, 0.5, 10))
    first = p.offer(PointEval("b", 1, 0.4, 10))
    assert first[0][2].startswith("pruned by asha")
    assert p.offer(PointEval("b", 1, 0.4, 10)) == first and p.best["b"] == [0.4]
    p.offer(PointEval("a", 2, 0.6, 20))          # no rung: decided at once
    assert p.offer(PointEval("a", 2, 0.6, 20)) == [("a", 2, "")] and len(p.best["a"]) == 2


# ---------------------------------------------------------------- lower is better (issue 27)

def _first_rung(rule, goal, values, **kw):
    """The verdicts of points a, b, c, ... reporting `values` at evaluation 1."""
    keys = [chr(ord("a") + i) for i in range(len(values))]
    p = _pruner(rule, keys, goal=goal, **kw)
    kept = {}
    for key, value in zip(keys, values):
        for k, n, verdict in p.offer(PointEval(key, 1, value, 3)):
            kept[k] = verdict == ""
    return kept


def test_asha_with_a_lower_is_better_metric_keeps_the_lowest():
    values = [0.5, 0.4, 0.9, 0.45, None, 0.1]
    # min, reduction 2: a alone; b 0.4 beats a; c 0.9 is third of 3 (keep 2); d 0.45 is
    # second of 4 (keep 2); e (a NaN loss) is worst; f 0.1 beats all
    assert _first_rung("asha", "min", values) == {
        "a": True, "b": True, "c": False, "d": True, "e": False, "f": True}
    # the same numbers with higher is better keep the others
    assert _first_rung("asha", "max", values) == {
        "a": True, "b": False, "c": True, "d": False, "e": False, "f": False}


def test_asha_with_loss_ranks_by_best_so_far_at_later_rungs():
    p = _pruner("asha", ["a", "b", "c"], goal="min", grace=1, reduction=3)
    for key, series in (("a", [0.9, 0.8, 0.7]), ("b", [0.5, 2.0, 3.0]), ("c", [0.6, 0.6, 0.65])):
        verdicts = [p.offer(PointEval(key, n, v, 3 * n)) for n, v in enumerate(series, 1)]
        assert all(v == [] or v[0][0] == key for v in verdicts)
    # rung 3 (grace 1 · reduction 3): best so far a 0.7, b 0.5 (its later losses rose),
    # c 0.6; keep ceil(3/3) = 1 of 3: b only
    assert [p.verdicts[(k, 3)] == "" for k in "abc"] == [True, True, False]
    assert "best accuracy 0.6 not in the top 1 of 3" in p.verdicts[("c", 3)]


def test_median_with_a_lower_is_better_metric_prunes_the_higher():
    p = _pruner("median", ["a", "b", "c", "d"], goal="min")
    verdict = {}
    for key, series in (("a", [1.0, 0.3]), ("b", [0.9, 0.2]), ("c", [0.4, 0.35]),
                        ("d", [0.25, 0.5])):
        for n, v in enumerate(series, 1):
            for k, at, why in p.offer(PointEval(key, n, v, n)):
                verdict[(k, at)] = why == ""
    # evaluation 1: b 0.9 < median 1.0 kept; c 0.4 < median(1.0, 0.9) kept; d 0.25 kept
    assert [verdict[(k, 1)] for k in "abcd"] == [True, True, True, True]
    # evaluation 2 (best so far): b 0.2 beats 0.3; c 0.35 is worse than median(0.3, 0.2)
    # = 0.25; d 0.25 (its best, from evaluation 1) beats median(0.3, 0.2, 0.35) = 0.3
    assert verdict[("b", 2)] and not verdict[("c", 2)] and verdict[("d", 2)]


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["asha", "median"])
def test_a_sweep_pruning_on_validation_loss_keeps_the_lower_losses(tmp_path, rule):
    """End to end with metric = "loss": at each decision, a pruned point's best loss so
    far is worse (higher) than what the rule keeps, read back from the run folders."""
    import json
    import math
    import statistics
    cfg, spec = _spec(scheduler=rule, grace=1, reduction=2, metric="loss")
    assert spec.goal == "min"
    result = run_points("p.toml", cfg, spec, tmp_path)
    best = {}
    for row in result.rows:
        losses = [json.loads(line)["loss"] for line in
                  (result.sweep_dir / row["run"] / "metrics.jsonl").read_text().splitlines()
                  if json.loads(line)["split"] == "val"]
        best[row["key"]] = [min(losses[:n]) for n in range(1, len(losses) + 1)]
    order = pruning_order([(p.key, p.config) for p in spec.points()])
    pruned = [r for r in result.rows if r["status"] == "pruned"]
    assert pruned and any(r["status"] == "completed" for r in result.rows)
    for row in pruned:
        n = row["steps"] // 3
        earlier = [best[k][n - 1] for k in order[:order.index(row["key"])]
                   if len(best[k]) >= n]
        mine = best[row["key"]][n - 1]
        if rule == "asha":
            keep = math.ceil((len(earlier) + 1) / 2)
            assert sum(v <= mine for v in earlier) >= keep, row
        else:
            assert mine > statistics.median(earlier), row
    lowest = min(result.rows, key=lambda r: best[r["key"]][-1])
    assert lowest["status"] == "completed"


def _mtimes(sweep_dir):
    return {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("p*/summary.json")}


def test_a_pruned_point_resumed_by_hand_is_reconciled_from_its_folder(tmp_path):
    """Issue 27/7: `headless SWEEP/POINT --resume` of a pruned point trains it on to
    completed; the next sweep run takes the row from the folder (the truth) and retrains
    nothing.  A hand resume that was stopped leaves the point interrupted: it is pending
    again, and trained by the sweep."""
    from lstm_tui.experiment import resume_run
    cfg, spec = _spec(scheduler="asha", grace=1, reduction=2)
    first = run_points("p.toml", cfg, spec, tmp_path)
    pruned = [r for r in first.rows if r["status"] == "pruned"]
    assert len(pruned) >= 2
    done_by_hand, stopped_by_hand = (first.sweep_dir / pruned[0]["run"],
                                     first.sweep_dir / pruned[1]["run"])
    _, last = resume_run(done_by_hand)
    assert last.status == "completed" and read_info(done_by_hand).steps == 24
    steps = []
    resume_run(stopped_by_hand, [lambda e: steps.append(e)],
               should_stop=lambda: len(steps) > 5)
    assert read_info(stopped_by_hand).status == "interrupted"
    before = _mtimes(first.sweep_dir)
    again = run_points("p.toml", cfg, spec, tmp_path)
    rows = {r["run"]: r for r in again.rows}
    row = rows[done_by_hand.name]
    assert row["status"] == "completed" and row["steps"] == 24
    assert row["best_accuracy"] == read_info(done_by_hand).best
    on_disk = {r["run"]: r for r in read_results(again.sweep_dir / "results.csv")}
    assert on_disk[done_by_hand.name]["status"] == "completed"
    # the point stopped by hand was trained again by the sweep (its folder ended anew)
    ended = read_info(stopped_by_hand)
    assert ended.status in ("completed", "pruned")
    assert rows[stopped_by_hand.name]["status"] == ended.status
    # nothing else was trained again, and no row was lost
    after = _mtimes(again.sweep_dir)
    assert {k: v for k, v in after.items() if k != stopped_by_hand.name} == \
        {k: v for k, v in before.items() if k != stopped_by_hand.name}
    assert len(again.rows) == len(first.rows) and again.complete
    assert {r["run"]: r["status"] for r in again.rows if r["run"] not in
            (done_by_hand.name, stopped_by_hand.name)} == \
        {r["run"]: r["status"] for r in first.rows if r["run"] not in
         (done_by_hand.name, stopped_by_hand.name)}
