"""The Sweep screen's Trials view: a tpe or random search, trial by trial.

A line on the best so far, the trials in the order they were drawn (searched values,
status, the metric, the best so far, ★ where it improved; a running trial at the end
with its progress), the metric per trial with the best so far as a staircase and, with
several objectives, the Pareto scatter (◆ the front).  Every number is
:func:`lstm_tui.sweeps.trials.trials_of` (as `sweep-report` shows it) and both charts are
drawn by its ``draw_trials`` / ``draw_pareto``.  The screen hands the sweep down in
``shown``; Enter on a trial posts :class:`~lstm_tui.tui.messages.RunPicked`.  Nothing
here imports torch.
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Static, TabbedContent

from lstm_tui.numbers import fmt
from lstm_tui.sweeps import trials as tr
from lstm_tui.tui.messages import RunPicked
from lstm_tui.tui.plotting import rich_color, series_color
from lstm_tui.tui.run_labels import status_text
from lstm_tui.tui.sweep.state import Shown, SweepState
from lstm_tui.tui.widgets.heatmap import leaf
from lstm_tui.tui.widgets.run_charts import CurvesPlot
from lstm_tui.tui.widgets.safe_plot import SafePlot

GREY = (150, 150, 150)
COLORS = {"trial": series_color(0), "other": GREY, "best": series_color(1),
          "front": series_color(5)}


LEGEND_TRIALS = (("trial", "•", "trial"), ("other", "x", "pruned"), ("best", "▀", "best so far"))
LEGEND_PARETO = (("other", "•", "trial"), ("front", "▀", "Pareto front"))


def _rgb(color: tuple[int, int, int]) -> str:
    return "rgb({},{},{})".format(*color)


def has_trials(state: SweepState | None) -> bool:
    """Does the sweep shown get a Trials tab (its points drawn: tpe, random)?"""
    return state is not None and tr.drawn(state.search)


def show_tab(tabs: TabbedContent, state: SweepState | None) -> None:
    """The Trials tab only for a sweep of drawn points (a grid has none to show)."""
    want = has_trials(state)
    if tabs.get_tab("trials").has_class("-hidden") != want:
        return                                   # as it should be: nothing to redo
    if want:
        tabs.show_tab("trials")
        return
    if tabs.active == "trials":
        tabs.active = "grid"
    tabs.hide_tab("trials")


class TrialPlot(SafePlot):
    """One chart of the Trials view, its title on the top border."""

    DEFAULT_CSS = CurvesPlot.DEFAULT_CSS.replace("CurvesPlot", "TrialPlot")

    def draw(self, t: tr.Trials | None, pareto: bool, title: str) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.frame(False)
        drawn = t is not None and (tr.draw_pareto(plt, t, COLORS, legend=False) if pareto
                                   else tr.draw_trials(plt, t, COLORS, legend=False))
        if not drawn:
            plt.title("no finished trial yet")
        legend = LEGEND_PARETO if pareto else LEGEND_TRIALS
        self.border_title = "  ".join([f"[b]{escape(title)}[/b]", *(
            f"[{_rgb(COLORS[role])}]{glyph}[/] {label}" for role, glyph, label in legend)])
        self.refresh()


class TrialsView(Vertical):
    """The trials of a drawn sweep, their best so far and (several objectives) the front."""

    shown: reactive[Shown] = reactive(Shown(None), init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.trials: tr.Trials | None = None
        self._runs: list[str] = []          # the run folder of each table row
        self._columns: tuple = ()

    def compose(self) -> ComposeResult:
        yield Static(id="trials-info")
        yield DataTable(id="trials-table", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="trials-charts"):
            yield TrialPlot(id="trials-plot")
            yield TrialPlot(id="pareto-plot")

    def watch_shown(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        if not self.is_mounted:
            return
        state, column = self.shown.state, self.shown.column
        t = state.trials(column) if has_trials(state) else None
        self.trials = t
        self.query_one("#trials-info", Static).update(self._info(state, t))
        self._fill_table(state, t)
        several = t is not None and t.several
        pareto = self.query_one("#pareto-plot", TrialPlot)
        pareto.display = several
        label = t.label if t is not None else "metric"
        self.query_one("#trials-plot", TrialPlot).draw(
            t, False, label)
        if several:
            (first, _), (second, _) = t.objectives[:2]
            pareto.draw(t, True, f"{first} against {second}")

    def _info(self, state: SweepState | None, t: tr.Trials | None) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if state is None or t is None:
            text.append("a tpe or random search shows its trials here", style="dim")
            return text
        done = sum(x.counted for x in t.trials)
        text.append(f"{len(t.trials)} of {t.total} trials", style="bold")
        text.append(f" ({state.search}; {done} counted)", style="dim")
        best = t.best_trial()
        if best is not None:
            text.append(f" · best so far {fmt(best.value)} ", style="bold")
            text.append(f"@ trial {best.number}", style="dim")
            improved = sum(x.improved for x in t.trials)
            text.append(f" · {tr.NEW_BEST} improved {improved}×", style="dim")
        if t.several:
            text.append(f" · {tr.ON_FRONT} {len(t.front)} on the Pareto front", style="dim")
        return text

    def _fill_table(self, state: SweepState | None, t: tr.Trials | None) -> None:
        table = self.query_one("#trials-table", DataTable)
        extra = [m for m, _ in t.objectives[1:]] if t is not None else []
        axes = t.axes if t is not None else []
        columns = ("trial", *(leaf(a) for a in axes), "status",
                   t.label if t is not None else "metric", *extra, "best so far", "")
        row = table.cursor_row
        if columns != self._columns:
            table.clear(columns=True)
            for name in columns:
                table.add_column(name)
            self._columns = columns
        table.clear()
        self._runs = []
        for x in (t.trials if t is not None else []):
            mark = (tr.NEW_BEST if x.improved else "") + \
                (tr.ON_FRONT if t.on_front(x) else "")
            style = "bold green" if x.improved else ""
            table.add_row(Text(str(x.number), justify="right"),
                          *(Text(fmt(x.values.get(a)), justify="right") for a in axes),
                          status_text(x.status), Text(fmt(x.value), justify="right",
                                                      style=style),
                          *(Text(fmt(s), justify="right") for s in x.scores[1:]),
                          Text(fmt(x.best), justify="right", style="bold"),
                          Text(mark, style=rich_color(1)))
            self._runs.append(x.run)
        for key, run in (state.running.items() if state is not None and t is not None
                         else []):
            name = Path(run.run_dir).name
            progress = f" {100 * run.fraction:.0f}%" if run.fraction is not None else ""
            values = state.point_values(key) or {}      # a tpe trial's: known when it ends
            table.add_row(Text("…", justify="right"),
                          *(Text(fmt(values[a]) if a in values else "") for a in axes),
                          status_text("running"), Text(progress.strip(), justify="right"),
                          *(Text("") for _ in extra), Text(""), Text(fmt(name), style="dim"))
            self._runs.append(name)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)

    @on(DataTable.RowSelected, "#trials-table")
    def _open_trial(self, event: DataTable.RowSelected) -> None:
        event.stop()
        state = self.shown.state
        if state is None or not 0 <= event.cursor_row < len(self._runs):
            return
        run = self._runs[event.cursor_row]
        if run:
            self.post_message(RunPicked(state.sweep_dir / run))
