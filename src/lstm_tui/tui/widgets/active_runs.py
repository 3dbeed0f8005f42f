"""The Live pane's table of the runs started from this app (the highlighted one is drawn)."""

from __future__ import annotations

from textual.widgets import DataTable

from lstm_tui.numbers import fmt

RUN_COLUMNS = (("run", "run"), ("task", "task"), ("model", "model"), ("status", "status"),
               ("step", "step"), ("best", "best"))
NARROW_RUNS = 100


class ActiveRuns(DataTable):
    """The runs started from this app; the highlighted one is drawn.  Below
    NARROW_RUNS columns the task column goes (the model and the name tell the run)."""

    def on_mount(self) -> None:
        self.fit_columns(self.app.size.width)

    def fit_columns(self, width: int) -> bool:
        """Show the columns that fit `width`; True when they changed (rows cleared)."""
        keys = [k for _, k in RUN_COLUMNS if not (k == "task" and width < NARROW_RUNS)]
        if [c.value for c in self.columns] == keys:
            return False
        self.clear(columns=True)
        for label, key in RUN_COLUMNS:
            if key in keys:
                self.add_column(label, key=key)
        return True

    @staticmethod
    def row(state) -> dict[str, str]:
        """A run's cells (a tui.live.RunState), by column key."""
        m = state.config.model
        total = f"/{state.started.total_steps:,}" if state.started else ""
        return {"run": state.label, "task": state.config.task.kind,
                "model": f"{m.cell} {m.hidden}×{m.layers}", "status": state.status,
                "step": f"{state.step:,}{total}", "best": fmt(state.best)}

