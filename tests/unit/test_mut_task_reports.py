"""Final figures with the best weights, and the forecast's step (mutation pass 3)."""

from __future__ import annotations

import torch

from lstm_tui import events as ev
from lstm_tui.training import task_reports
from lstm_tui.training.task_reports import BestWeights


class _Reporting:
    """A task with a final report: it reports the weight the model has then."""

    def final_report(self, model, batch_size):
        return {"w": float(model.weight.item())}

    def val_forecast(self, model, first_output=None):
        return {"rows": (1,), "truth": (0.5,), "forecast": (0.25,)}


def _model(w: float) -> torch.nn.Linear:
    m = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        m.weight.fill_(w)
    return m


def test_a_diverged_run_reports_nothing():
    seen: list = []
    BestWeights(_Reporting()).finish(_model(1.0), 8, "diverged", seen.append)
    assert seen == []


def test_without_an_improvement_the_models_own_weights_report():
    seen: list = []
    BestWeights(_Reporting()).finish(_model(2.0), 8, "finished", seen.append)
    assert seen == [ev.TaskReport(figures={"w": 2.0})]


def test_the_best_weights_report_not_the_last():
    best, seen = BestWeights(_Reporting()), []
    model = _model(3.0)
    best.improved(model)
    with torch.no_grad():
        model.weight.fill_(5.0)
    best.finish(model, 8, "finished", seen.append)
    assert seen == [ev.TaskReport(figures={"w": 3.0})]


def test_a_forecast_carries_its_step():
    seen: list = []
    task_reports.forecast(_Reporting(), _model(1.0), 7, seen.append)
    assert [e.step for e in seen] == [7] and seen[0].forecast == (0.25,)
