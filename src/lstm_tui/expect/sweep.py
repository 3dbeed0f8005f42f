"""A sweep preset's ``[expect]``: bands over its result table, judged when the sweep ends.

::

    [expect]
    "best_accuracy[seq_len=30]" = { max = 0.2 }     # every cell with seq_len 30
    "best_accuracy[seq_len=5, hidden=32]" = { min = 0.95 }
    "best_mad[cell=rnn, seq_len=12] - best_mad[cell=lstm, seq_len=12]" = { min = 3 }
    "max(best_accuracy)" = { min = 0.95 }           # the best cell (or trial) reaches it
    "max(best_accuracy[cell=lstm]) - max(best_accuracy[cell=gru])" = { min = 0 }

Grammar: ``term`` or ``term - term``; a term is a results.csv column (``best_<metric>``,
``final_<metric>``, ``val_loss``, ...) with an optional ``[axis=value, ...]`` filter (an axis
by its key, ``task.seq_len``, or its last part, ``seq_len``).  A cell is one combination of
the swept values, its figure the mean over seeds (failed points left out).  A term alone
must hold for every cell it selects (the one furthest from the band is reported); each side
of a difference (an ordering: "lstm beats rnn by at least 3") must select exactly one cell.
``max(term)``, ``min(term)`` and ``mean(term)`` fold the cells a term selects into one
figure: the best cell, for instance, which is what a drawn search (``random``, ``tpe``:
each trial a cell, filters only on keys searched from a list) is judged by.
Checked against the sweep's axes before any point trains.  The verdicts are saved beside
results.csv as ``expectations.json`` (:func:`save`, :func:`load`) by the sweep driver, so
`sweep`, `verify`, the Sweep screen and `sweep-report` all read the same record.
No Textual, no rich, no torch.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstm_tui.config import ConfigError, parse_value, suggest
from lstm_tui.expect.verdicts import finite, parse_band, read_verdicts, record

FILE = "expectations.json"          # beside results.csv

TERM = re.compile(r"(?P<column>[A-Za-z_]\w*)\s*(?:\[(?P<where>[^\]]*)\])?")
FOLD = re.compile(r"(?P<fold>max|min|mean)\(\s*(?P<inner>.*?)\s*\)")
FOLDS = {"max": max, "min": min, "mean": lambda v: sum(v) / len(v)}


@dataclass(frozen=True)
class Term:
    column: str
    where: tuple[tuple[str, Any], ...]      # (axis key, value)
    fold: str = ""                          # max | min | mean over the cells, or "" (each)


@dataclass(frozen=True)
class SweepJudged:
    """The sweep driver's last event: the verdicts it saved (after SweepFinished)."""
    verdicts: list


@dataclass(frozen=True)
class SweepExpectation:
    key: str
    terms: tuple[Term, ...]                 # one, or two (a difference)
    min: float | None
    max: float | None


def check(spec: Any, columns: list[str], table: Any, source: str = "") -> list[SweepExpectation]:
    """Parse `table` against the sweep `spec` (its axes and values) and its result columns."""
    if not isinstance(table, dict):
        raise ConfigError(source, "expect", "must be a table of \"column[axis=value]\" = "
                          "{ min = ..., max = ... }")
    values = _axis_values(spec)
    found = []
    for key, bounds in table.items():
        where = f"expect.{key}"
        parts = [p.strip() for p in _split_minus(str(key))]
        if len(parts) > 2 or not all(parts):
            raise ConfigError(source, where, "must be column[axis=value, ...] or a "
                              "difference of two of them (a - b)")
        terms = tuple(_term(p, columns, values, source, where) for p in parts)
        if len(terms) == 2:
            for term in terms:
                if not term.fold and _cells(term, values) != 1:
                    raise ConfigError(source, where, "each side of a difference must pin every "
                                      f"swept axis to one value ({', '.join(values)}) or "
                                      "fold its cells: max(...), min(...), mean(...)")
        lo, hi = parse_band(bounds, source, where)
        found.append(SweepExpectation(str(key), terms, lo, hi))
    return found


def _split_minus(key: str) -> list[str]:
    """'a[x=-1] - b' -> ['a[x=-1]', 'b']: a minus outside brackets, spaced, is the operator."""
    depth, parts, start = 0, [], 0
    for i, ch in enumerate(key):
        depth += ch == "["
        depth -= ch == "]"
        if ch == "-" and depth == 0 and key[i - 1:i] == " ":
            parts.append(key[start:i])
            start = i + 1
    return parts + [key[start:]]


def _axis_values(spec: Any) -> dict[str, list]:
    """Each axis's values in this sweep; a drawn search's keys, their choices (a key
    searched over a range has none to pin)."""
    values: dict[str, list] = {axis: [] for axis in spec.axes}
    if not spec.points():           # tpe: the points are drawn as the sweep goes
        for axis, space in getattr(spec, "random", {}).items():
            values[axis] = list(space.choices)
    for point in spec.points():
        for axis, value in point.values.items():
            if value not in values[axis]:
                values[axis].append(value)
    return values


def _term(text: str, columns: list[str], values: dict[str, list], source: str,
          where: str) -> Term:
    folded = FOLD.fullmatch(text)
    if folded:
        inner = _term(folded["inner"], columns, values, source, where)
        if inner.fold:
            raise ConfigError(source, where, f"{text!r}: one max/min/mean at most")
        return Term(inner.column, inner.where, folded["fold"])
    m = TERM.fullmatch(text)
    if not m:
        raise ConfigError(source, where, f"{text!r} is not column[axis=value, ...] (or "
                          "max(...), min(...), mean(...) of one)")
    column = m["column"]
    numeric = [c for c in columns if c not in ("point", "run", "seed", "status", "message",
                                               "key", *values)]
    if column not in numeric:
        hint = suggest(column, numeric)
        raise ConfigError(source, where, f"{column!r} is no result column"
                          + (f" (did you mean {hint!r}?)" if hint else "")
                          + f" (columns: {', '.join(numeric)})")
    pins = []
    for item in filter(None, (s.strip() for s in (m["where"] or "").split(","))):
        name, eq, raw = item.partition("=")
        name = name.strip()
        axis = name if name in values else next(
            (a for a in values if a.rsplit(".", 1)[-1] == name), None)
        if not eq or axis is None:
            raise ConfigError(source, where, f"{item!r}: must be axis=value with a swept axis "
                              f"({', '.join(values)})")
        value = parse_value(raw.strip())
        if not values[axis]:
            raise ConfigError(source, where, f"{item!r}: {axis} is drawn from a range, so no "
                              "value of it can be pinned (fold the trials: max(...))")
        if not any(_same(value, v) for v in values[axis]):
            raise ConfigError(source, where, f"{item!r}: {axis} takes "
                              f"{', '.join(map(str, values[axis]))} in this sweep")
        pins.append((axis, value))
    return Term(column, tuple(pins))


def _cells(term: Term, values: dict[str, list]) -> int:
    pinned = {axis for axis, _ in term.where}
    return math.prod(len(v) for a, v in values.items() if a not in pinned)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


# ---------------------------------------------------------------- verdicts

def cell_means(term: Term, rows: list[dict], axes: list[str]) -> list[float]:
    """The mean over seeds of `term.column` in each cell the term selects."""
    groups: dict[tuple, list[float]] = {}
    for row in rows:
        if row.get("status") == "failed" or not finite(row.get(term.column)):
            continue
        if not all(_same(row.get(axis), value) for axis, value in term.where):
            continue
        key = tuple(repr(row.get(a)) for a in axes)
        groups.setdefault(key, []).append(float(row[term.column]))
    return [sum(v) / len(v) for v in groups.values()]


def verdicts(found: list[SweepExpectation], rows: list[dict], axes: list[str]) -> list[dict]:
    out = []
    for e in found:
        means = [cell_means(t, rows, axes) for t in e.terms]
        if not all(means):
            observed = None
        else:    # a folded term is one figure; a plain side of a difference, its one cell
            sides = [FOLDS[t.fold](m) if t.fold else m[0] for t, m in zip(e.terms, means)]
            if len(e.terms) == 2:
                observed = sides[0] - sides[1]
            elif e.terms[0].fold:
                observed = sides[0]
            else:
                observed = _worst(means[0], e.min, e.max)
        out.append(record(e.key, observed, e.min, e.max))
    return out


def _worst(values: list[float], lo: float | None, hi: float | None) -> float:
    """The value furthest outside the band, or (all inside) the one nearest its edge."""
    def margin(v: float) -> float:
        return min(v - lo if lo is not None else math.inf, hi - v if hi is not None else math.inf)
    return min(values, key=margin)



# ---------------------------------------------------------------- the saved record

def save(sweep_dir: Path, judged: list[dict]) -> None:
    from lstm_tui.fsio import atomic_write_json
    atomic_write_json(Path(sweep_dir) / FILE, {"expectations": judged})


def load(sweep_dir: Path) -> list[dict]:
    """The saved verdicts, checked item by item; [] when there are none (or the file is
    unreadable: a sweep without [expect], or one not finished yet)."""
    from lstm_tui.fsio import read_json_object
    data = read_json_object(Path(sweep_dir) / FILE)
    return read_verdicts(data) if data is not None else []
