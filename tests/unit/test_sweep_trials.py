"""A tpe or random search read as trials: trial order, the best so far, where it
improved, the Pareto front; the terminal's table and charts (sweeps.trials)."""

from __future__ import annotations

import io

from rich.console import Console

from lstm_tui.render import trials as rt
from lstm_tui.sweeps import trials as tr
from lstm_tui.sweeps.runner import read_results
from tests.sweep_trials_data import BEST_SO_FAR, FRONT, IMPROVED, trials_sweep

OBJECTIVES = [("accuracy", "max"), ("params", "min")]
AXES = ["train.lr", "model.hidden"]


def _trials(tmp_path, objectives=OBJECTIVES, column=None):
    rows = read_results(trials_sweep(tmp_path) / "results.csv")
    return tr.trials_of(rows, AXES, objectives, column, total=8)


def test_trials_come_in_drawn_order_with_the_best_so_far_and_its_improvements(tmp_path):
    t = _trials(tmp_path)
    assert [x.number for x in t.trials] == [0, 1, 2, 3, 4, 5]
    assert [x.best for x in t.trials] == BEST_SO_FAR
    assert [x.number for x in t.trials if x.improved] == IMPROVED
    assert [x.counted for x in t.trials] == [True, True, False, True, False, True]
    pruned = t.trials[2]
    assert pruned.value == 0.30 and pruned.best == 0.55 and not pruned.improved
    assert t.trials[4].value is None and t.trials[4].status == "failed"
    assert t.trials[1].values == {"train.lr": 0.1, "model.hidden": 16}
    assert t.trials[1].scores == (0.55, 1500)
    assert t.best_trial().number == 3 and t.total == 8 and t.label == "best accuracy"


def test_the_pareto_front_is_the_counted_trials_no_other_beats_in_both(tmp_path):
    t = _trials(tmp_path)
    assert [x.number for x in t.front] == FRONT
    assert [x.number for x in t.trials if t.on_front(x)] == [3, 5]
    assert [(p[0].number, p[1], p[2]) for p in tr.scatter_points(t)] == \
        [(0, 200, 0.40), (1, 1500, 0.55), (3, 500, 0.60), (5, 200, 0.50)]
    assert _trials(tmp_path, OBJECTIVES[:1]).front == []


def test_final_reads_the_final_column_and_min_goals_flip_the_best(tmp_path):
    t = _trials(tmp_path, column="final_accuracy")
    assert [x.best for x in t.trials] == [0.35, 0.5, 0.5, 0.55, 0.55, 0.55]
    lowest = _trials(tmp_path, [("accuracy", "min")])
    assert [x.best for x in lowest.trials] == [0.40, 0.40, 0.40, 0.40, 0.40, 0.40]
    assert [x.number for x in lowest.trials if x.improved] == [0]


def test_the_staircase_steps_up_where_the_best_improved(tmp_path):
    xs, ys = tr.best_steps(_trials(tmp_path))
    assert list(zip(xs, ys)) == [(0, .4), (1, .4), (1, .55), (2, .55), (3, .55), (3, .6),
                                 (4, .6), (5, .6)]


def test_a_long_table_keeps_every_improvement_then_the_latest(tmp_path):
    t = _trials(tmp_path)
    assert [x.number for x in tr.shown_trials(t, 4)] == [0, 1, 3, 5]
    assert [x.number for x in tr.shown_trials(t, 3)] == [0, 1, 3]
    assert [x.number for x in tr.shown_trials(t, 2)] == [1, 3]
    assert len(tr.shown_trials(t, 30)) == 6


def test_the_terminal_shows_the_table_and_both_charts(tmp_path):
    t = _trials(tmp_path)
    console = Console(width=120, file=io.StringIO(), record=True, color_system=None)
    for part in rt.renderables(t, 120, limit=30, color=False):
        console.print(part)
    text = console.export_text()
    assert "6 of 8 trials in order by best accuracy (higher is better)" in text
    assert "best accuracy per trial (• counted, x pruned or failed) and the best so far" in text
    assert "Pareto front: 2 of 4 counted trials (accuracy higher, params lower" in text
    assert "accuracy against params: 2 of 4 trials on the Pareto front" in text
    assert "★ the best so far improved; ◆ on the Pareto front" in text
    row3 = next(line for line in text.splitlines() if line.startswith("│     3 "))
    assert "0.6" in row3 and "★◆" in row3 and "500" in row3
    one = tr.trials_of(read_results(tmp_path / "sweep-drawn" / "results.csv"), AXES,
                       OBJECTIVES[:1])
    assert len(rt.renderables(one, 100, color=False)) == 2     # no front for one objective


def test_no_figure_yet_draws_nothing():
    t = tr.trials_of([], AXES, OBJECTIVES)
    assert rt.trials_text(t) is None and rt.pareto_text(t) is None and t.best_trial() is None
