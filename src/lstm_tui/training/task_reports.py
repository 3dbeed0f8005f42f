"""Task figures beyond the validation metric: what a task reports before training (e.g.
baselines) and, at the end, with the best weights (e.g. a test block).

The engine and the ensemble backend both use these helpers, so a run's summary.json
gets the same figures whichever trained it.
"""

from __future__ import annotations

from typing import Callable

import torch

from lstm_tui import events as ev


def start(task, emit: Callable[[ev.Event], None]) -> None:
    """Emit the task's figures known before training (nothing when it has none)."""
    figures = task.start_report()
    if figures:
        emit(ev.TaskReport(figures=figures))


def forecast(task, model: torch.nn.Module, step: int, emit: Callable[[ev.Event], None],
             first_output: torch.Tensor | None = None) -> None:
    """Emit the task's forecast-vs-truth stretch at a validation (series tasks);
    `first_output`: the validation's first batch output, when it was kept."""
    fields = task.val_forecast(model, first_output)
    if fields:
        emit(ev.Forecast(step=step, **fields))


class BestWeights:
    """A copy of the weights at the best validation, kept only for tasks with a final
    report (the checkpoint files belong to the listener; the engine cannot read them)."""

    def __init__(self, task) -> None:
        self.task = task
        self.wanted = type(task).final_report is not _base_final_report()
        self.state: dict | None = None

    def improved(self, model: torch.nn.Module) -> None:
        if self.wanted:
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def finish(self, model: torch.nn.Module, batch_size: int, status: str,
               emit: Callable[[ev.Event], None]) -> None:
        """Emit the final figures measured with the best weights (the model's own when no
        validation improved yet); a diverged run has none worth reporting."""
        if not self.wanted or status == "diverged":
            return
        if self.state is not None:
            model.load_state_dict(self.state)
        figures = self.task.final_report(model, batch_size)
        if figures:
            emit(ev.TaskReport(figures=figures))


def _base_final_report():
    from lstm_tui.tasks.base import Task
    return Task.final_report
