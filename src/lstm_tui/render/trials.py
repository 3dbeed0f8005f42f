"""A sweep's trials for the terminal: the trials table, the Pareto table and their plotext
charts, drawn from :class:`lstm_tui.sweeps.trials.Trials`."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from lstm_tui.numbers import fmt
from lstm_tui.sweeps.trials import (NEW_BEST, ON_FRONT, TERMINAL, Trials, draw_pareto, draw_trials,
                                    objectives_text, pareto_title, shown_trials)


def trials_table(t: Trials, limit: int = 30) -> Table:
    """The trials in order: searched values, status, the metric, the best so far; ★ where
    it improved (◆ on the Pareto front with several objectives)."""
    rows = shown_trials(t, limit)
    title = f"{len(t.trials)} of {t.total} trials in order by {t.label} " \
            f"({'higher' if t.goal == 'max' else 'lower'} is better)"
    table = Table(title=title, title_justify="left", caption_justify="left")
    table.add_column("trial", justify="right")
    for a in t.axes:
        table.add_column(a.rsplit(".", 1)[-1], justify="right")
    table.add_column("status")
    table.add_column(t.label, justify="right")
    extra = [m for m, _ in t.objectives[1:]]
    for m in extra:
        table.add_column(m, justify="right")
    table.add_column("best so far", justify="right", style="bold")
    table.add_column("", no_wrap=True)
    for trial in rows:
        mark = (NEW_BEST if trial.improved else "") + (ON_FRONT if t.on_front(trial) else "")
        cells = [str(trial.number), *(fmt(trial.values.get(a)) for a in t.axes),
                 fmt(trial.status), fmt(trial.value),
                 *(fmt(trial.scores[i + 1]) for i in range(len(extra))), fmt(trial.best), mark]
        table.add_row(*map(Text, cells), style="green" if trial.improved else None)
    notes = [f"{NEW_BEST} the best so far improved"]
    if t.several:
        notes.append(f"{ON_FRONT} on the Pareto front")
    if len(rows) < len(t.trials):
        notes.append(f"{len(rows)} of {len(t.trials)} shown: each that improved the best, "
                     "then the latest (--limit)")
    table.caption = "; ".join(notes)
    return table


def pareto_table(t: Trials) -> Table:
    """The Pareto front, best first by the first objective."""
    counted = sum(trial.counted for trial in t.trials)
    table = Table(title=f"Pareto front: {len(t.front)} of {counted} counted trials "
                  f"({objectives_text(t.objectives)})", title_justify="left")
    table.add_column("trial", justify="right")
    for a in t.axes:
        table.add_column(a.rsplit(".", 1)[-1], justify="right")
    for m, _ in t.objectives:
        table.add_column(m, justify="right", style="bold")
    table.add_column("run", style="dim", overflow="fold")
    for trial in t.front:
        table.add_row(*map(Text, [str(trial.number), *(fmt(trial.values.get(a)) for a in t.axes),
                                  *(fmt(s) for s in trial.scores), fmt(trial.run)]))
    return table


def trials_text(t: Trials, width: int = 100, height: int = 16,
                color: bool | None = None) -> str | None:
    """draw_trials as a chart for the terminal; None when no trial has a figure yet."""
    from lstm_tui.render.sweep_tables import plotext_figure
    plt, color = plotext_figure(width, height, color)
    # the key goes in the title: plotext draws a legend over the data's top-left corner
    if not draw_trials(plt, t, TERMINAL if color else None, legend=False):
        return None
    plt.title(f"{t.label} per trial (• counted, x pruned or failed) and the best so far "
              f"({'line' if color else '+'})")
    return plt.build()


def pareto_text(t: Trials, width: int = 100, height: int = 16,
                color: bool | None = None) -> str | None:
    """draw_pareto as a chart for the terminal; None with one objective or no figures."""
    from lstm_tui.render.sweep_tables import plotext_figure
    plt, color = plotext_figure(width, height, color)
    if not draw_pareto(plt, t, TERMINAL if color else None, legend=False):
        return None
    plt.title(pareto_title(t) + " (◆, joined)")
    return plt.build()


def renderables(t: Trials, width: int, limit: int = 30, color: bool | None = None) -> list:
    """What `sweep-report` prints for drawn points: the trials table and chart; with
    several objectives, the Pareto front's table and scatter."""
    parts: list = [trials_table(t, limit)]
    chart = trials_text(t, width - 1, color=color)
    parts.append(Text.from_ansi(chart) if chart else Text("no trial has a figure yet",
                                                           style="dim"))
    if t.several:
        parts.append(pareto_table(t))
        scatter = pareto_text(t, width - 1, color=color)
        if scatter:
            parts.append(Text.from_ansi(scatter))
    return parts
