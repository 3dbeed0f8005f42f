"""The Dataset pane for the file-based kinds: a preview of the data with the split or
class counts, and the same one-line messages as `lstm-lab check` for wrong choices."""

from __future__ import annotations

import json

from textual.widgets import Input, Static

from lstm_tui.config import ConfigError, load_preset
from lstm_tui.tui.app import make_app
from tests.conftest import PRESETS
from tests.tui.conftest import data_read, text_of, type_into
from tests.tui.fakes import FakeTrainer

SIZE = (120, 40)


async def test_a_series_preset_shows_its_splits_and_a_wrong_column_says_did_you_mean(tmp_path):
    app = make_app(tmp_path / "runs", trainer=FakeTrainer(),
                   preset=PRESETS / "series_sunspots.toml")
    async with app.run_test(size=SIZE) as pilot:
        await data_read(pilot)
        preview = app.screen.query_one("#data-preview")
        assert preview.has_class("-shown")
        notes = str(app.screen.query_one("#preview-notes", Static).render())
        assert "train 217 rows (197 windows)" in notes and "test 46 rows" in notes
        assert "columns of sunspots_yearly.csv: year, sunspots" in notes
        await type_into(pilot, "#task-target-input", "sunspot")
        await pilot.pause()
        status = text_of(pilot, "#check-status")
        cfg = load_preset(PRESETS / "series_sunspots.toml")
        cfg.task.target = ["sunspot"]
        try:
            from lstm_tui.config import validate
            validate(cfg)
        except ConfigError as exc:
            expected = str(exc)
        assert "did you mean 'sunspots'?" in expected and expected in status
        assert not preview.has_class("-shown")


async def test_a_classification_preset_shows_classes_and_counts(tmp_path):
    app = make_app(tmp_path / "runs", trainer=FakeTrainer(),
                   preset=PRESETS / "classify_italy_power.toml")
    async with app.run_test(size=SIZE) as pilot:
        await data_read(pilot)
        notes = str(app.screen.query_one("#preview-notes", Static).render())
        assert "classes (training file): 1: 34, 2: 33" in notes
        assert "train 53 · val 14 (stratified) · test 1029" in notes
        assert app.screen.query_one("#task-path-input", Input).value == \
            "ItalyPowerDemand_TRAIN.tsv"


async def test_a_synthetic_kind_shows_no_preview(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.screen.query_one("#data-preview").has_class("-shown")


async def test_live_pane_of_a_series_run_shows_forecast_and_persistence_line(tmp_path):
    from lstm_tui import events as ev
    from lstm_tui.tui.widgets.charts import CurveChart
    from tests.tui.fakes import step
    trainer = FakeTrainer()
    app = make_app(tmp_path / "runs", trainer=trainer, preset=PRESETS / "series_sunspots.toml")
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await pilot.pause()
        await pilot.press("ctrl+r")
        await pilot.pause()
        handle = trainer.handles[0]
        cfg = trainer.configs[0]
        forecast = lab.query_one("#chart-forecast", CurveChart)
        assert not forecast.display      # nothing to show before the first validation
        handle.emit(ev.TaskReport(figures={"baselines": {"persistence": {"mae": 29.5},
                                                         "mean": {"mae": 53.1}}}),
                    step(cfg, 450),
                    ev.ValMetrics(step=450, epoch=4, loss=0.2, metric=14.0, best=14.0,
                                  is_best=True),
                    ev.Forecast(step=450, rows=(237, 238, 239), truth=(10.0, 40.0, 90.0),
                                forecast=(12.0, 35.0, 80.0), target="sunspots"))
        await pilot.pause(lab.REDRAW_EVERY + 0.1)
        lab.refresh_live(force=True)
        await pilot.pause()
        metric = lab.query_one("#chart-metric", CurveChart)
        assert "persistence" in str(metric.border_title) and "mean" in str(metric.border_title)
        assert forecast.display and "forecast" in str(forecast.border_title)
        assert "sunspots at step 450" in str(forecast.border_title)


async def test_run_detail_shows_baselines_skill_and_confusion(tmp_path):
    from lstm_tui.tui.screens.runs import RunDetailScreen
    from tests.tui.conftest import Host
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "config.toml").write_text('[task]\nkind = "sequence_classification"\n'
                                     'path = "ItalyPowerDemand_TRAIN.tsv"\n')
    (run / "summary.json").write_text(json.dumps({
        "status": "completed", "metric": "accuracy", "goal": "max", "best": 0.93,
        "final": 0.9, "steps": 10, "baselines": {"majority": {"accuracy": 0.5,
                                                               "test": {"accuracy": 0.49}}},
        "test": {"accuracy": 0.926},
        "confusion": {"split": "test", "classes": [1, 2], "matrix": [[461, 52], [24, 492]]}}))
    app = Host(lambda: RunDetailScreen(tmp_path / "runs", run))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press("3")   # the Summary tab
        await pilot.pause()
        widget = app.screen.query_one("#detail-summary")
        shown = "\n".join("".join(s.text for s in widget.render_line(y))
                          for y in range(widget.size.height))
        assert "majority baseline accuracy" in shown and "val 0.5  test 0.49" in shown
        assert "test accuracy" in shown and "0.926" in shown
        assert "461" in shown and "492" in shown
