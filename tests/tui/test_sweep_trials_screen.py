"""The Sweep screen with a tpe or random search: the Trials tab (table, best so far, Pareto
scatter) fed by a real tpe sweep launched from the screen, by the driver's events, and by
a sweep folder; its definition of [sweep.space]."""

from __future__ import annotations

import os

import pytest
from textual.widgets import DataTable, TabbedContent

from lstm_tui.numbers import fmt
from lstm_tui.sweeps import objectives as ob
from lstm_tui.sweeps.backends import PointProgress, PointStarted
from lstm_tui.sweeps.runner import (PointFinished, SweepFinished, SweepStarted, read_results,
                                    sweep_dir_for)
from lstm_tui.sweeps.spec import parse_sweep
from lstm_tui.tui.screens.run_detail import RunDetailScreen
from lstm_tui.tui.screens.sweep import SweepScreen
from lstm_tui.tui.sweep.process import ResultsRead
from lstm_tui.tui.sweep.trials import TrialPlot, TrialsView
from tests.sweep_trials_data import BEST_SO_FAR, trials_sweep
from tests.tui.test_sweep_screen import (Host, fake_driver, pick_key, settle, shown,
                                         tiny_config, type_into, wait_for)

SPACE = {"train.lr": {"low": 1e-3, "high": 0.3, "log": True}, "model.hidden": [4, 8]}


def tpe_config(**sweep):
    return tiny_config({"search": "tpe", "trials": 3, "space": SPACE,
                        "metrics": ["accuracy", "params"], **sweep}, steps=6, eval_every=3,
                       log_every=3)


def table_rows(screen) -> list[list[str]]:
    table = screen.query_one("#trials-table", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def column(screen, name: str) -> list[str]:
    table = screen.query_one("#trials-table", DataTable)
    index = [str(c.label) for c in table.ordered_columns].index(name)
    return [row[index] for row in table_rows(screen)]


# ---------------------------------------------------------------- a real tpe sweep

@pytest.mark.slow
async def test_launch_a_tpe_sweep_and_watch_its_trials_fill_in(tmp_path):
    pytest.importorskip("optuna")
    root = tmp_path / "runs"
    app = Host(lambda: SweepScreen(root, tpe_config()))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await settle(pilot)
        assert shown(pilot, "#point-count") == \
            "3 trials = tpe over 2 keys; Pareto front of accuracy, params"
        assert screen.query_one("#axes-table", DataTable).get_row_at(0)[0] == "train.lr"
        await pilot.press("ctrl+r")
        assert screen.query_one(TabbedContent).active == "trials"
        assert screen.process is not None and screen.process.pid != os.getpid()
        await wait_for(pilot, lambda: screen.state.done >= 1, what="a first trial")
        screen.refresh_views()        # no await: the table is the state of this moment
        assert len(table_rows(screen)) == screen.state.done + len(screen.state.running)
        await wait_for(pilot, lambda: screen.state.ended, what="the sweep to end")
        assert screen.state.ended == "finished", screen.state.error
        await settle(pilot)
        folder = sweep_dir_for(root, screen.spec)
        rows = sorted(read_results(folder / "results.csv"), key=lambda r: r["point"])
        assert [r["point"] for r in rows] == [0, 1, 2]
        best = ob.best_so_far(rows, "accuracy", "max")
        assert column(screen, "trial") == ["0", "1", "2"]
        assert column(screen, "best so far") == [fmt(b) for b in best]
        assert column(screen, "best accuracy") == [fmt(r["best_accuracy"]) for r in rows]
        assert column(screen, "params") == [fmt(float(r["params"])) for r in rows]
        assert column(screen, "lr") == [fmt(r["train.lr"]) for r in rows]
        front = {r["point"] for r in ob.pareto_front(rows, [("accuracy", "max"),
                                                           ("params", "min")])}
        marks = column(screen, "")
        assert {i for i, m in enumerate(marks) if "◆" in m} == front
        assert "★" in marks[0]                        # the first counted trial sets a best
        info = shown(pilot, "#trials-info")
        assert "3 of 3 trials (tpe; 3 counted)" in info
        assert f"best so far {fmt(max(b for b in best if b is not None))}" in info
        assert screen.query_one("#pareto-plot", TrialPlot).display
        assert "3/3" in shown(pilot, "#sweep-status")
        # Enter on a trial opens its run
        screen.query_one("#trials-table", DataTable).focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run_path == folder / rows[1]["run"]


# ---------------------------------------------------------------- events and folders

async def test_a_tpe_sweeps_trials_arrive_with_the_drivers_events(tmp_path):
    pytest.importorskip("optuna")
    cfg = tpe_config()
    spec = parse_sweep(cfg, "tiny.toml")
    folder = sweep_dir_for(tmp_path / "runs", spec)
    app = Host(lambda: SweepScreen(tmp_path / "runs", cfg))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        _, send = fake_driver(screen)
        await pilot.press("5")
        assert screen.query_one(TabbedContent).active == "trials"

        def row(point: int, acc: float, params: int) -> dict:
            return {"point": point, "key": f"trial{point}", "run": f"p00{point}-x-s0",
                    "train.lr": 0.01 * (point + 1), "model.hidden": 4, "seed": 0,
                    "status": "completed", "best_accuracy": acc, "params": params}

        send(SweepStarted(folder, "tiny", 3, 0, 3, tuple(spec.axes), "accuracy", "max",
                          "sequential", 1), ResultsRead([]),
             PointStarted("trial0", str(folder / "p000-x-s0"), 6),
             PointProgress("trial0", 3, 6, None, 1.0))
        await settle(pilot)
        assert table_rows(screen)[0][2:4] == ["", "● running"]
        assert "50%" in table_rows(screen)[0][4]
        send(PointFinished("trial0", 0, "", row(0, 0.5, 300), 1, 3),
             PointFinished("trial1", 1, "", row(1, 0.4, 100), 2, 3))
        await wait_for(pilot, lambda: len(column(screen, "trial")) == 2, timeout=20,
                       what="two trials")
        await settle(pilot)
        assert column(screen, "trial") == ["0", "1"]
        assert column(screen, "best so far") == ["0.5", "0.5"]
        assert column(screen, "") == ["★◆", "◆"]
        assert "2 of 3 trials" in shown(pilot, "#trials-info")
        assert "2/3" in shown(pilot, "#sweep-status")
        send(PointFinished("trial2", 2, "", row(2, 0.7, 300), 3, 3))
        # the driver's messages arrive through the app's queue: wait for them, not a count
        await wait_for(pilot, lambda: len(column(screen, "trial")) == 3, timeout=20,
                       what="the third trial")
        await settle(pilot)
        assert column(screen, "best so far") == ["0.5", "0.5", "0.7"]
        assert column(screen, "") == ["★", "◆", "★◆"]
        # (the end of a real sweep re-reads its results.csv, which this fake folder lacks)


async def test_a_random_search_folder_opens_on_its_trials_and_every_view_draws(tmp_path):
    folder = trials_sweep(tmp_path / "runs")
    app = Host(lambda: SweepScreen(tmp_path / "runs", sweep_dir=folder, watch_seconds=3600))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await settle(pilot)
        assert screen.query_one(TabbedContent).active == "trials"
        assert column(screen, "best so far") == [fmt(b) for b in BEST_SO_FAR]
        assert column(screen, "status")[2] == "pruned"
        assert column(screen, "") == ["★", "★", "", "★◆", "", "◆"]
        assert "best so far 0.6 @ trial 3" in shown(pilot, "#trials-info")
        plot = screen.query_one("#trials-plot", TrialPlot)
        assert "best accuracy" in plot.border_title and "best so far" in plot.border_title
        await pilot.press("f")                       # the final metric instead
        await settle(pilot)
        assert column(screen, "best so far")[:2] == ["0.35", "0.5"]
        for key in ("2", "3", "4", "1", "5"):         # no view breaks on drawn points
            await pilot.press(key)
            await settle(pilot)
        assert screen.query_one(TabbedContent).active == "trials"
        view = screen.query_one(TrialsView)
        assert view.trials is not None and len(view.trials.trials) == 6


async def test_a_grid_sweep_has_no_trials_tab(tmp_path):
    app = Host(lambda: SweepScreen(tmp_path / "runs", tiny_config(
        {"grid": {"model.hidden": [4, 8]}})))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await settle(pilot)
        tabs = screen.query_one(TabbedContent)
        assert tabs.get_tab("trials").has_class("-hidden")
        await pilot.press("5")
        assert tabs.active == "define"


# ---------------------------------------------------------------- defining a search

async def test_keys_and_ranges_added_to_a_search_go_into_its_space(tmp_path):
    pytest.importorskip("optuna")
    app = Host(lambda: SweepScreen(tmp_path / "runs", tpe_config(metrics=["accuracy",
                                                                          "loss"])))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await settle(pilot)
        await pick_key(pilot, "model.cell")
        await type_into(pilot, "#axis-values", "lstm, gru")
        await pilot.press("enter")
        await pick_key(pilot, "train.weight_decay")
        await type_into(pilot, "#range-low", "0.0001")
        await type_into(pilot, "#range-high", "0.01")
        await pilot.press("enter")
        define = screen.define
        assert define.table["space"]["model.cell"] == ["lstm", "gru"]
        assert define.table["space"]["train.weight_decay"] == {"low": 0.0001, "high": 0.01,
                                                               "log": False}
        assert "grid" not in define.table
        assert shown(pilot, "#point-count").startswith("3 trials = tpe over 4 keys")
        keys = [screen.query_one("#axes-table", DataTable).get_row_at(i)[0] for i in range(4)]
        assert keys == ["train.lr", "model.hidden", "model.cell", "train.weight_decay"]
        await type_into(pilot, "#range-low", "0.1")     # low > high: the CLI's message
        await type_into(pilot, "#range-high", "0.01")
        await pilot.press("enter")
        assert "sweep.space.train.weight_decay" in shown(pilot, "#axis-message")
        assert define.table["space"]["train.weight_decay"]["low"] == 0.0001


async def test_a_tpe_folder_opens_without_optuna_and_says_why_it_cannot_resume(
        tmp_path, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "optuna" else real(name, *a))
    folder = trials_sweep(tmp_path / "runs", search="tpe")
    app = Host(lambda: SweepScreen(tmp_path / "runs", sweep_dir=folder, watch_seconds=3600))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await settle(pilot)
        assert screen.query_one(TabbedContent).active == "trials"
        assert column(screen, "best so far") == [fmt(b) for b in BEST_SO_FAR]
        assert "pip install 'lstm-lab[optuna]'" in shown(pilot, "#point-count")
        await pilot.press("ctrl+r")                   # refused, with the install hint whole
        await pilot.pause()
        assert screen.process is None
        assert any("pip install 'lstm-lab[optuna]'" in str(n.message)
                   for n in app._notifications)


async def test_a_running_random_trial_shows_its_values(tmp_path):
    cfg = tiny_config({"search": "random", "trials": 2, "space": SPACE})
    spec = parse_sweep(cfg, "tiny.toml")
    point = spec.points()[1]
    app = Host(lambda: SweepScreen(tmp_path / "runs", cfg))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        _, send = fake_driver(screen)
        await pilot.press("5")
        send(SweepStarted(tmp_path, "tiny", 2, 0, 2, tuple(spec.axes), "accuracy", "max",
                          "sequential", 1),
             PointStarted(point.key, str(tmp_path / "p001-x-s0"), 10))
        await settle(pilot)
        assert column(screen, "lr") == [fmt(point.values["train.lr"])]
        assert column(screen, "status") == ["● running"]
        assert column(screen, "") == ["p001-x-s0"]
