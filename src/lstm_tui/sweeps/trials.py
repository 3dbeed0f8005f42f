"""A sweep of drawn points (``search = "tpe"`` or ``"random"``) read as trials.

A grid's views (heatmaps, lines over axes) need values that repeat; drawn points each
have their own, so these sweeps are shown as what they are: trials in the order they
were drawn (results.csv's ``point`` column), each trial's metric, the best so far and
where it improved; with several objectives (``metrics = [...]``) the Pareto front.

Data first — :class:`Trials` from results.csv rows (no rich), which `sweep-report
--json`, its figures and the Sweep screen all draw; :mod:`lstm_tui.render.trials` is the
terminal's rendering (a rich table, plotext charts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from lstm_tui.sweeps import objectives as ob
from lstm_tui.sweeps.spec import SPACE_SEARCHES

NEW_BEST, ON_FRONT = "★", "◆"     # marks of the trials table (and the Sweep screen's)


def drawn(search: str) -> bool:
    """Are this search's points drawn one by one (shown as trials, not as a grid)?"""
    return search in SPACE_SEARCHES


# ---------------------------------------------------------------- data

@dataclass(frozen=True)
class Trial:
    number: int                    # the point column: the order the trials were drawn
    run: str
    values: dict[str, Any]         # the searched values
    status: str
    value: float | None            # the column shown (best_<metric>; final_ with --final)
    best: float | None             # the best so far over counted trials, this one included
    improved: bool                 # this trial set a new best
    scores: tuple[float | None, ...]   # each objective's figure (best_<m>, or params)

    @property
    def counted(self) -> bool:
        """Does its figure count (completed, stopped early; not pruned or failed)?"""
        return self.status in ob.GOOD


@dataclass
class Trials:
    axes: list[str]
    column: str                    # best_<metric> or final_<metric>
    objectives: list[tuple[str, str]]
    trials: list[Trial]            # trial order
    front: list[Trial]             # the Pareto front (several objectives), best first
    total: int                     # trials planned

    @property
    def metric(self) -> str:
        return self.objectives[0][0]

    @property
    def goal(self) -> str:
        return self.objectives[0][1]

    @property
    def several(self) -> bool:
        return len(self.objectives) > 1

    @property
    def label(self) -> str:
        return self.column.replace("_", " ")

    def best_trial(self) -> Trial | None:
        """The trial that holds the best so far (the last to improve it)."""
        return next((t for t in reversed(self.trials) if t.improved), None)

    def on_front(self, trial: Trial) -> bool:
        return any(t.number == trial.number for t in self.front)


def trial_order(rows: Iterable[dict]) -> list[dict]:
    """Rows by their point number (the order drawn); rows without one keep their place
    after the others."""
    rows = list(rows)
    return sorted(rows, key=lambda r: r["point"] if _int(r.get("point")) else math.inf)


def trials_of(rows: Iterable[dict], axes: Sequence[str], objectives: Sequence[tuple[str, str]],
              column: str | None = None, total: int = 0) -> Trials:
    """The rows as trials: in trial order, with the best so far of the first objective
    (of `column` when given) and, for several objectives, the Pareto front."""
    ordered = trial_order(rows)
    metric, goal = objectives[0]
    column = column or f"best_{metric}"
    out: list[Trial] = []
    by_row: dict[int, Trial] = {}
    previous: float | None = None
    for i, (row, best) in enumerate(zip(ordered, ob.best_so_far(ordered, metric, goal,
                                                                 column))):
        trial = Trial(row["point"] if _int(row.get("point")) else i, str(row.get("run") or ""),
                      {a: row.get(a) for a in axes}, str(row.get("status") or ""),
                      ob.value(row, metric, column), best,
                      best is not None and best != previous,
                      tuple(ob.value(row, m) for m, _ in objectives))
        out.append(trial)
        by_row[id(row)] = trial
        previous = best
    front = [by_row[id(r)] for r in ob.pareto_front(ordered, objectives)] \
        if len(objectives) > 1 else []
    return Trials(list(axes), column, list(objectives), out, front, max(total, len(out)))


def shown_trials(t: Trials, limit: int) -> list[Trial]:
    """At most `limit` trials for a table: every one that improved the best (the latest
    when there are more), then the latest others; in trial order."""
    if len(t.trials) <= limit:
        return list(t.trials)
    improved = [x for x in t.trials if x.improved][-limit:]
    others = [x for x in t.trials if not x.improved]
    room = limit - len(improved)
    chosen = improved + (others[-room:] if room > 0 else [])
    return sorted(chosen, key=lambda x: x.number)


def best_steps(t: Trials) -> tuple[list[float], list[float]]:
    """The best-so-far line as a staircase (flat until the trial that improves it)."""
    xs: list[float] = []
    ys: list[float] = []
    for trial in t.trials:
        if trial.best is None:
            continue
        if ys and trial.best != ys[-1]:
            xs.append(trial.number)
            ys.append(ys[-1])
        xs.append(trial.number)
        ys.append(trial.best)
    return xs, ys


def scatter_points(t: Trials) -> list[tuple[Trial, float, float]]:
    """(trial, x, y) of every counted trial with both figures: x the second objective,
    y the first (accuracy against parameter count)."""
    out = []
    for trial in t.trials:
        if trial.counted and len(trial.scores) > 1 and None not in trial.scores[:2]:
            out.append((trial, float(trial.scores[1]), float(trial.scores[0])))
    return out


def wide(values: Sequence[float]) -> bool:
    """Positive values spanning two decades or more: drawn on a log axis."""
    return bool(values) and min(values) > 0 and max(values) / min(values) >= 100


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def objectives_text(objectives: Sequence[tuple[str, str]]) -> str:
    """'accuracy higher, params lower is better'."""
    parts = [f"{m} {'higher' if g == 'max' else 'lower'}" for m, g in objectives]
    return ", ".join(parts) + " is better"




TERMINAL = {"trial": "blue", "other": "gray", "best": "orange", "front": "red"}


def draw_trials(plt, t: Trials, colors: dict | None, legend: bool = True) -> bool:
    """Onto a plotext figure (the module, or a Textual PlotextPlot's): the metric of each
    trial as dots (pruned or failed ones as x) and the best so far as a staircase.
    `colors` (by role, as in TERMINAL) or None for plain markers; without `legend` the
    caller says what is what (the TUI, on the border).  False: nothing to draw."""
    name = (lambda text: text) if legend else (lambda text: None)
    counted = [(x.number, x.value) for x in t.trials if x.counted and x.value is not None]
    other = [(x.number, x.value) for x in t.trials if not x.counted and x.value is not None]
    if not counted and not other:
        return False
    xs, ys = best_steps(t)
    if xs:        # first: the trials' dots are drawn over it
        plt.plot(xs, ys, label=name("best so far"),
                 color=colors["best"] if colors else "default",
                 marker="hd" if colors else "+")
    for points, label, role, marker in ((counted, "trial", "trial", "•"),
                                        (other, "pruned or failed", "other", "x")):
        if points:
            plt.scatter([p[0] for p in points], [p[1] for p in points], label=name(label),
                        color=colors[role] if colors else "default", marker=marker)
    numbers = [x.number for x in t.trials]
    ticks = numbers[::max(1, math.ceil(len(numbers) / 8))]     # whole trial numbers
    plt.xticks(ticks, [str(n) for n in ticks])
    _pad(plt, numbers, [p[1] for p in counted + other] + ys)
    plt.xlabel("trial")
    return True


def draw_pareto(plt, t: Trials, colors: dict | None, legend: bool = True) -> bool:
    """Onto a plotext figure: every counted trial, the first objective (up) against the
    second (across), the Pareto front highlighted and joined.  False: nothing to draw."""
    name = (lambda text: text) if legend else (lambda text: None)
    points = scatter_points(t)
    if not t.several or not points:
        return False
    front = sorted((p for p in points if t.on_front(p[0])), key=lambda p: p[1])
    rest = [p for p in points if not t.on_front(p[0])]
    if rest:
        plt.scatter([p[1] for p in rest], [p[2] for p in rest], label=name("trial"),
                    color=colors["other"] if colors else "default", marker="•")
    plt.plot([p[1] for p in front], [p[2] for p in front], label=name("Pareto front"),
             color=colors["front"] if colors else "default", marker="hd" if colors else ".")
    # the front's trials themselves, over the line joining them
    plt.scatter([p[1] for p in front], [p[2] for p in front],
                color=colors["front"] if colors else "default", marker="◆")
    log = wide([p[1] for p in points])
    if log:
        plt.xscale("log")
    _pad(plt, [] if log else [p[1] for p in points], [p[2] for p in points])
    plt.xlabel(t.objectives[1][0])
    return True


def _pad(plt, xs: Sequence[float], ys: Sequence[float]) -> None:
    """Limits a little wider than the data (no point drawn on the chart's edge), never
    below zero for figures that cannot be negative (a parameter count, an accuracy)."""
    for values, limit in ((xs, plt.xlim), (ys, plt.ylim)):
        if values:
            lo, hi = min(values), max(values)
            pad = (hi - lo) * 0.06 or abs(lo) * 0.05 or 0.05
            limit(max(lo - pad, 0.0) if lo >= 0 else lo - pad, hi + pad)


def pareto_title(t: Trials) -> str:
    (first, _), (second, _) = t.objectives[:2]
    points = scatter_points(t)
    front = sum(t.on_front(p[0]) for p in points)
    more = f" (front over all {len(t.objectives)} objectives)" if len(t.objectives) > 2 else ""
    return f"{first} against {second}: {front} of {len(points)} trials on the Pareto " \
           f"front{more}"
