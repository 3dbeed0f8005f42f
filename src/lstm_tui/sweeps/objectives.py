"""What a sweep ranks its points by: one metric, or several (``metrics = [...]``), read
from results.csv rows.  The best point, the best so far in trial order, and the Pareto
front of several objectives (the seed deck's "how many cells does it take": accuracy
against parameter count).  Pure functions on rows: no torch, no Optuna.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

from lstm_tui.sweeps.spec import COLUMN_OBJECTIVES

GOOD = ("completed", "stopped_early")        # rows whose figures count as results


def value(row: dict, metric: str, column: str | None = None) -> float | None:
    """The row's figure for an objective: best_<metric>, or the column itself (params);
    `column` reads another column instead (final_<metric>, for `sweep-report --final`)."""
    raw = row.get(column or (metric if metric in COLUMN_OBJECTIVES else f"best_{metric}"))
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        return None
    return float(raw)


def better(a: float, b: float, goal: str) -> bool:
    return a > b if goal == "max" else a < b


def counted(rows: Iterable[dict]) -> list[dict]:
    return [r for r in rows if r.get("status") in GOOD]


def best_so_far(rows: Sequence[dict], metric: str, goal: str,
                column: str | None = None) -> list[float | None]:
    """For rows in trial order: the best value of `metric` (or of `column`) among the
    counted rows so far."""
    best: float | None = None
    out: list[float | None] = []
    for row in rows:
        v = value(row, metric, column) if row.get("status") in GOOD else None
        if v is not None and (best is None or better(v, best, goal)):
            best = v
        out.append(best)
    return out


def dominates(a: Sequence[float], b: Sequence[float], goals: Sequence[str]) -> bool:
    """a is at least as good as b in every objective and better in one."""
    no_worse = all(x == y or better(x, y, g) for x, y, g in zip(a, b, goals))
    return no_worse and any(better(x, y, g) for x, y, g in zip(a, b, goals))


def pareto_front(rows: Iterable[dict], objectives: Sequence[tuple[str, str]]) -> list[dict]:
    """The counted rows no other counted row dominates, ordered by the first objective
    (best first).  Rows missing an objective's figure are left out."""
    metrics = [m for m, _ in objectives]
    goals = [g for _, g in objectives]
    scored: list[tuple[list[float], dict]] = []
    for row in counted(rows):
        values = [value(row, m) for m in metrics]
        if all(v is not None for v in values):
            scored.append((values, row))   # type: ignore[arg-type]
    front = [(v, r) for v, r in scored
             if not any(dominates(w, v, goals) for w, _ in scored)]
    front.sort(key=lambda vr: vr[0][0], reverse=goals[0] == "max")
    return [r for _, r in front]


def objective_values(row: dict, objectives: Sequence[tuple[str, str]]) -> list[Any]:
    return [value(row, m) for m, _ in objectives]
