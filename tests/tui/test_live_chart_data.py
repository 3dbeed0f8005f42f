"""The Live pane's charts hold the right data: train vs val, loss vs metric.

A snapshot shows the picture; these check what each curve is made of, so a swapped
pair of series, or a validation metric recorded as the validation loss, fails here.
"""

from __future__ import annotations

from lstm_tui import events as ev
from lstm_tui.config import RunConfig
from lstm_tui.tui.live import RunState
from lstm_tui.tui.widgets.charts import CurveChart
from tests.tui.fakes import training_script

SIZE = (120, 40)


def _expected(script):
    steps = [e for e in script if isinstance(e, ev.StepMetrics)]
    vals = [e for e in script if isinstance(e, ev.ValMetrics)]
    return {"train loss": {e.step: e.loss for e in steps},
            "train metric": {e.step: e.metric for e in steps},
            "val loss": {e.step: e.loss for e in vals},
            "val metric": {e.step: e.metric for e in vals},
            "grad norm": {e.step: e.grad_norm for e in steps}}


def test_run_state_keeps_each_figure_in_its_own_series():
    cfg = RunConfig()
    script = training_script(cfg, steps=300)
    state = RunState("k", cfg)
    for event in script:
        state.apply(event)
    want = _expected(script)
    for name, series in (("train loss", state.train_loss), ("train metric", state.train_metric),
                         ("val loss", state.val_loss), ("val metric", state.val_metric),
                         ("grad norm", state.grad_norm)):
        assert dict(zip(series.xs, series.ys)) == want[name], name
    # the four figures differ at every validation step, so a swap cannot go unseen
    for step in want["val loss"]:
        assert len({want[k][step] for k in ("train loss", "train metric", "val loss",
                                            "val metric")}) == 4


def _curves(chart: CurveChart) -> dict[str, dict]:
    return {label: dict(zip(xs, ys)) for label, xs, ys in chart.plotted}


async def test_live_charts_plot_train_and_val_of_loss_and_metric(app, fake_trainer):
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await pilot.press("ctrl+r")
        await pilot.pause()
        lab.refresh_live()
        await pilot.pause()
        want = _expected(fake_trainer.script(fake_trainer.configs[0]))
        for chart_id, figure in (("#chart-loss", "loss"), ("#chart-metric", "metric")):
            curves = _curves(lab.query_one(chart_id, CurveChart))
            assert list(curves) == ["train", "val"], chart_id
            for split in ("train", "val"):
                points = curves[split]
                assert points, (chart_id, split)
                # every plotted point is that split's figure at that step (decimation
                # may drop points, never move them)
                for step, value in points.items():
                    assert value == want[f"{split} {figure}"][step], (chart_id, split, step)
            assert len(curves["val"]) == len(want[f"val {figure}"])
        grad = _curves(lab.query_one("#chart-grad", CurveChart))
        assert list(grad) == ["‖g‖"]
        assert all(want["grad norm"][s] == v for s, v in grad["‖g‖"].items())
