"""Issue 27, "tried as a new user would": the screenshot command, the Inspect screen's
axis and status line, the run detail's baselines, the Dataset preview's time axis."""

from __future__ import annotations

from lstm_tui.tui.app import make_app
from tests.tui.conftest import record_notifications


async def test_a_screenshot_without_a_downloads_folder_lands_here_and_says_where(
        tmp_path, monkeypatch, fake_trainer):
    home, here = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    here.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.chdir(here)
    app = make_app(tmp_path / "runs", trainer=fake_trainer)
    async with app.run_test(size=(100, 30)) as pilot:
        said = record_notifications(app)
        app.action_screenshot()
        for _ in range(50):
            await pilot.pause(0.05)
            if said:
                break
        shots = list(here.glob("*.svg"))
        assert len(shots) == 1 and shots[0].read_text().lstrip().startswith("<svg")
        assert not (home / "Downloads").exists()
        assert any(str(shots[0]) in s for s in said), said


# ---------------------------------------------------------------- the Inspect screen

def test_tick_labels_stay_over_their_columns_with_wide_and_control_tokens():
    from rich.cells import cell_len
    from lstm_tui.render.inspection_view import LABEL_WIDTH, Scale, heatmap
    tokens = list("ab日本語cd\x1bef") + ["x"] * 12
    picture = heatmap([[0.5]] * len(tokens), tokens, [0], Scale(-1, 1, True), colour=False,
                      width=200, cursor=(10, 0))
    top, row, ruler = picture.plain.split("\n")
    assert "\x1b" not in picture.plain and "␛" in top
    step = 3                                   # two cells (日) and a gap
    assert cell_len(top) == cell_len(row) == LABEL_WIDTH + step * len(tokens)
    assert ruler.index("10") == LABEL_WIDTH + 10 * step == row.index("◆")
    assert top[LABEL_WIDTH + 2 * step] == "日"  # t=2 sits over its column too


async def test_the_map_says_what_is_out_of_view_and_the_readout_keeps_its_spaces(tmp_path):
    from lstm_tui.tui.screens.inspect import InspectScreen
    from lstm_tui.tui.widgets.activation_map import ActivationMap
    from tests.tui.conftest import Host, text_of
    from tests.tui.inspect_store import make_run
    run = make_run(tmp_path / "runs", "wide", "adding_problem",
                   ["model.hidden=30", "task.seq_len=30"])
    app = Host(lambda: InspectScreen(run.parent, run))
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.screen.loads:
                break
        await pilot.pause()
        await pilot.press("end", "down", "down")
        await pilot.pause()
        shown = text_of(pilot, "#inspect-map")
        assert "shown: steps " in shown and "of 30 (←→ Home End)" in shown
        assert "units 0-" in shown and "of 30 (↑↓ PgUp PgDn)" in shown
        readout = text_of(pilot, "#inspect-readout")
        assert " · unit 2 · cell = " in readout and " · saliency " in readout
        assert app.screen.query_one(ActivationMap).hidden_note().startswith("shown:")


# ---------------------------------------------------------------- run detail baselines

async def test_the_run_detail_draws_the_baselines_the_live_pane_draws(tmp_path):
    import json
    from lstm_tui.tui.screens.run_detail import RunDetailScreen
    from lstm_tui.tui.widgets.run_charts import CurvesPlot
    from tests.tui.conftest import Host
    from tests.tui.test_runs_screens import settle, write_run
    run = write_run(tmp_path / "runs", "20261101-120000-series", model={"hidden": 8})
    summary = json.loads((run / "summary.json").read_text())
    summary["baselines"] = {"persistence": {"accuracy": 0.5, "mae": 1.0},
                            "mean": {"accuracy": 0.25}, "broken": {"accuracy": "x"}}
    (run / "summary.json").write_text(json.dumps(summary))
    app = Host(lambda: RunDetailScreen(tmp_path / "runs", run, poll_seconds=3600))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        state = app.screen.query_one("#detail-metric", CurvesPlot).state
        assert state.labels == ("train", "val", "persistence", "mean")
        assert app.screen.query_one("#detail-loss", CurvesPlot).state.labels == ("train", "val")
    # the Live pane's lines come from the same helper: the same names and values
    from lstm_tui.tui.plotting import baseline_lines
    lines = baseline_lines(summary["baselines"], "accuracy", 10.0, 400.0)
    assert [(n, ys) for n, _, ys in lines] == [("persistence", [0.5, 0.5]),
                                               ("mean", [0.25, 0.25])]


def test_the_live_pane_draws_the_same_baseline_lines():
    from lstm_tui.config import RunConfig
    from lstm_tui.tui.live import RunState
    state = RunState("k", RunConfig())
    state.train_metric.append(5, 0.1)
    state.val_metric.append(10, 0.2)
    state.val_metric.append(40, 0.3)
    state.baselines = {"majority": {state.metric: 0.5}, "odd": {state.metric: None}}
    ((name, line),) = state.baseline_lines()
    assert name == "majority" and line.xs == [5, 40] and line.ys == [0.5, 0.5]


# ---------------------------------------------------------------- the Dataset preview

def test_the_series_preview_puts_the_time_column_on_its_x_axis(tmp_path):
    from lstm_tui.config import parse_config
    from lstm_tui.tasks import registry
    years = tmp_path / "years.csv"
    years.write_text("year,v\n" + "".join(f"{1900 + 2 * i},{i % 7}\n" for i in range(100)))
    cfg = parse_config({"task": {"kind": "series", "path": str(years), "target": ["v"],
                                 "time": "year", "window": 4, "horizon": 1}})
    preview = registry.data_preview(cfg.task)
    (_, xs, _), = preview.curves
    assert xs[:3] == [1900.0, 1902.0, 1904.0] and xs[-1] == 2098.0
    assert preview.title.startswith("v by year (1900")
    assert [x for _, x in preview.borders] == [1900.0 + 2 * 70, 1900.0 + 2 * 85]
    assert preview.xticks == ()
    dates = tmp_path / "dates.csv"
    dates.write_text("day,v\n" + "".join(f"2024-{1 + i // 28:02d}-{1 + i % 28:02d},{i % 3}\n"
                                         for i in range(120)))
    cfg = parse_config({"task": {"kind": "series", "path": str(dates), "target": ["v"],
                                 "time": "day", "window": 4, "horizon": 1}})
    preview = registry.data_preview(cfg.task)
    (_, xs, _), = preview.curves
    assert xs[:2] == [0.0, 1.0]                     # rows across, labelled with the dates
    assert preview.xticks[0] == (0.0, "2024-01-01")
    assert preview.xticks[-1] == (119.0, "2024-05-08") and len(preview.xticks) == 5
    no_time = parse_config({"task": {"kind": "series", "path": str(years), "target": ["v"],
                                     "window": 4, "horizon": 1}})
    assert registry.data_preview(no_time.task).curves[0][1][:2] == [0.0, 1.0]


async def test_the_dataset_pane_draws_the_dates_as_ticks(tmp_path, fake_trainer):
    from lstm_tui.tui.widgets.data_preview import DataPreview
    from lstm_tui.tasks.registry import Preview
    app = make_app(tmp_path / "runs", trainer=fake_trainer)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.screen.query_one(DataPreview)
        pane.show(Preview("v by day", (("v", [0.0, 1.0, 2.0], [1.0, 2.0, 3.0]),),
                          (("val", 1.0),), ("n",), ((0.0, "2024-01-01"), (2.0, "2024-01-03"))))
        await pilot.pause()
        drawn = pane.plot.plt.build()
        assert "2024-01-01" in drawn and "2024-01-03" in drawn
