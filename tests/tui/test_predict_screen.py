"""The Predict screen: p on the Runs screen, a file picked, the command's numbers shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Checkbox, DataTable, Input

from lstm_tui.numbers import fmt
from lstm_tui.runs.predict import predict
from lstm_tui.runs.trained import open_trained
from lstm_tui.tui.screens.predict import ForecastChart, PredictScreen
from lstm_tui.tui.screens.runs import RunsScreen
from tests.predict_runs import TASKS, train
from tests.tui.conftest import Host, record_notifications, text_of, type_into

SIZE = (120, 40)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("predict-screen")
    return {kind: train(folder / kind, TASKS[kind](folder)) for kind in
            ("series", "sequence_classification", "nth_element")}


async def predicted(pilot) -> PredictScreen:
    screen = pilot.app.screen
    for _ in range(200):
        await pilot.pause(0.05)
        if screen.doc is not None or "error" in text_of(pilot, "#predict-status"):
            break
    await pilot.pause()
    return screen


async def test_a_series_run_shows_its_forecast_and_rolling_scores(runs):
    run_dir = runs["series"]
    app = Host(lambda: PredictScreen(run_dir.parent, run_dir))
    async with app.run_test(size=SIZE) as pilot:
        data = app.screen.query_one("#predict-file", Input).value
        assert data.endswith("load.csv")                    # the run's own data file
        await pilot.press("enter")
        screen = await predicted(pilot)
        want = predict(open_trained(run_dir), Path(data))
        table = screen.query_one("#predict-table", DataTable)
        assert table.row_count == 2
        assert [table.get_row_at(i)[2] for i in range(2)] == \
            [fmt(f["values"]["load"]) for f in want["forecast"]]
        chart = screen.query_one("#predict-chart", ForecastChart)
        assert chart.display and [c[0] for c in chart.plotted] == ["load", "load forecast"]
        assert chart.plotted[0][1][-1] == 0 and chart.plotted[1][1] == [0, 1, 2]
        assert "forecast of 2 steps after 299" in text_of(pilot, "#predict-status")
        screen.query_one("#predict-rolling", Checkbox).value = True
        screen.doc = None
        await pilot.click("#predict-go")
        await predicted(pilot)
        rolling = predict(open_trained(run_dir), Path(data), _rolling())["rolling"]
        status = text_of(pilot, "#predict-status")
        assert f"{rolling['windows']} windows: MAE {fmt(rolling['mae'])}" in status
        assert len(chart.plotted[0][1]) == rolling["windows"]


def _rolling():
    from lstm_tui.runs.predict import PredictOptions
    return PredictOptions(rolling=True)


async def test_a_classifier_shows_labels_and_accuracy_and_bad_files_one_line(runs, tmp_path):
    run_dir = runs["sequence_classification"]
    app = Host(lambda: PredictScreen(run_dir.parent, run_dir))
    async with app.run_test(size=SIZE) as pilot:
        assert not app.screen.query_one("#predict-rolling").display   # a series option
        await pilot.press("enter")
        screen = await predicted(pilot)
        summary = json.loads((run_dir / "summary.json").read_text())
        assert screen.query_one("#predict-table", DataTable).row_count == 30
        assert f"accuracy {fmt(summary['test']['accuracy'])}" in \
            text_of(pilot, "#predict-status")
        assert not screen.query_one("#predict-chart").display
        screen.doc = None
        await type_into(pilot, "#predict-file", str(tmp_path / "nope.tsv"))
        await pilot.press("enter")
        await predicted(pilot)
        assert "error: --input: no such file" in text_of(pilot, "#predict-status")


async def test_p_on_the_runs_screen_opens_predict_or_says_why_not(runs):
    for kind in ("series", "nth_element"):
        run_dir = runs[kind]
        app = Host(lambda: RunsScreen(run_dir.parent, poll_seconds=3600))
        async with app.run_test(size=SIZE) as pilot:
            notes = record_notifications(app)
            for _ in range(40):
                await pilot.pause(0.05)
                if app.screen.runs:
                    break
            await pilot.press("p")
            await pilot.pause()
            if kind == "series":
                assert isinstance(app.screen, PredictScreen)
                assert app.screen.run_path == run_dir
                await pilot.press("escape")
                assert isinstance(app.screen, RunsScreen)
            else:
                assert isinstance(app.screen, RunsScreen)
                assert any("predict needs a task with a predict hook" in n for n in notes)
