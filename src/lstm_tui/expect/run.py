"""Expected results in presets: the ``[expect]`` grammar, its checks and its verdicts.

A preset may say what its run should show, checked when the run ends::

    [expect]
    "val.accuracy" = { min = 0.99 }              # best value over the run
    "val.accuracy@epoch5" = { min = 0.9 }        # best value by the end of epoch 5
    "val.perplexity@step2000" = { max = 6 }      # best value by step 2000
    "test.mae / baselines.persistence.test.mae" = { max = 0.8 }   # a ratio

Grammar (one key; spaces around ``/`` are free)::

    key   := term | term "/" term
    term  := "val." METRIC ["@epoch" N | "@step" N]
           | "test." FIGURE
           | "baselines." NAME "." FIGURE | "baselines." NAME ".test." FIGURE

``val.METRIC`` is the best validation value over the run (highest for a metric where
higher is better, lowest otherwise), or by an epoch or step.  ``test.*`` and
``baselines.*`` are the figures the task records in summary.json (the series task's
test block and naive forecasts, the classifier's majority baseline).  Each value is a
table with ``min`` and/or ``max`` (numbers).  A missed expectation is a finding, not a
failed run.  This module imports neither torch nor Textual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from lstm_tui.errors import ConfigError, suggest
from lstm_tui.expect.verdicts import band_text, finite, parse_band, record

TERM = re.compile(r"(?P<path>[A-Za-z_][\w.]*?)(?:@(?P<unit>epoch|step)(?P<n>\d+))?")
SPLITS = ("val", "test", "baselines")
GRAMMAR = ("split.metric, split.metric@epochN / @stepN (val only), or a ratio "
           "'a / b' of two such figures")


@dataclass(frozen=True)
class Term:
    path: tuple[str, ...]          # ("val", "accuracy"), ("baselines", "persistence", "mae")
    unit: str = ""                 # "epoch" | "step" | ""
    n: int = 0

    @property
    def text(self) -> str:
        return ".".join(self.path) + (f"@{self.unit}{self.n}" if self.unit else "")


@dataclass(frozen=True)
class Expectation:
    key: str                       # as written in the preset
    num: Term
    den: Term | None
    min: float | None
    max: float | None

    def band(self) -> str:
        return band_text(self.min, self.max)


# ---------------------------------------------------------------- parsing and checking

def parse(table: Any, source: str = "", section: str = "expect") -> list[Expectation]:
    """The expectations of an ``[expect]`` table (grammar only; :func:`check` knows the
    task).  ConfigError names the key on the first problem."""
    if not isinstance(table, dict):
        raise ConfigError(source, section, "must be a table of \"figure\" = { min = ..., "
                          "max = ... }")
    found = []
    for key, bounds in table.items():
        where = f"{section}.{key}"
        parts = [p.strip() for p in str(key).split("/")]
        if len(parts) > 2 or not all(parts):
            raise ConfigError(source, where, f"must be {GRAMMAR}")
        terms = [_term(p, source, where) for p in parts]
        lo, hi = parse_band(bounds, source, where)
        found.append(Expectation(str(key), terms[0], terms[1] if len(terms) > 1 else None,
                                 lo, hi))
    return found


def _term(text: str, source: str, where: str) -> Term:
    m = TERM.fullmatch(text)
    if not m:
        raise ConfigError(source, where, f"{text!r} is not a figure ({GRAMMAR})")
    path = tuple(m["path"].split("."))
    if path[0] not in SPLITS:
        hint = suggest(path[0], SPLITS)
        extra = f" (did you mean {hint!r}?)" if hint else ""
        raise ConfigError(source, where, f"{text!r}: the split must be one of "
                          f"{', '.join(SPLITS)}{extra}")
    if len(path) < 2 or (path[0] == "baselines" and len(path) < 3):
        raise ConfigError(source, where, f"{text!r} names no figure ({GRAMMAR})")
    if m["unit"] and path[0] != "val":
        raise ConfigError(source, where, f"{text!r}: @epoch/@step apply to val figures only")
    n = int(m["n"]) if m["n"] else 0
    if m["unit"] and n < 1:
        raise ConfigError(source, where, f"{text!r}: the {m['unit']} must be >= 1")
    return Term(path, m["unit"] or "", n)


def check(cfg: Any, table: Any, source: str = "", section: str = "expect", *,
          length: bool = True) -> list[Expectation]:
    """Parse and check against the task and (with `length`) the run's length: an unknown
    metric or figure, an epoch or step past the run are ConfigErrors naming the key."""
    from lstm_tui.tasks.registry import spec_of
    found = parse(table, source, section)
    spec = spec_of(cfg.task.kind, source)
    metrics = spec.metric_options()
    figures = set(spec.figures(cfg.task)) if spec.figures else set()
    for e in found:
        where = f"{section}.{e.key}"
        for term in (e.num, e.den):
            if term is None:
                continue
            if term.path[0] == "val":
                name = ".".join(term.path[1:])
                if name not in metrics:
                    raise ConfigError(source, where, f"{term.text!r}: {cfg.task.kind} records "
                                      f"no val metric {name!r} (it records: "
                                      f"{', '.join(metrics)})")
                if length:
                    _check_length(cfg, term, source, where)
            elif ".".join(term.path) not in figures:
                known = ", ".join(sorted(figures)) or "none"
                raise ConfigError(source, where, f"{term.text!r}: {cfg.task.kind} with this "
                                  f"config records no such figure (it records: {known})")
    return found


def past_the_run(term: Term, train: Any) -> str:
    """Why `term` names an epoch or step the run (as `train` configures it) never
    reaches, or "" when it does."""
    if term.unit == "epoch" and not train.steps and term.n > train.epochs:
        return f"epoch {term.n} is past the run (train.epochs = {train.epochs})"
    if term.unit == "step" and train.steps and term.n > train.steps:
        return f"step {term.n} is past the run (train.steps = {train.steps})"
    return ""


def _check_length(cfg: Any, term: Term, source: str, where: str) -> None:
    why = past_the_run(term, cfg.train)
    if why:
        raise ConfigError(source, where, f"{term.text!r}: {why}")


# ---------------------------------------------------------------- verdicts

def goal_of(kind: str, metric: str) -> str:
    from lstm_tui.tasks.registry import get
    spec = get(kind)
    return spec.metric_options().get(metric, "min") if spec else "min"


def observe(term: Term, val_records: Iterable[dict], summary: dict, kind: str) -> float | None:
    """The figure a term names in a finished run, or None when the run did not record it."""
    if term.path[0] != "val":
        value: Any = summary
        for part in term.path:
            value = value.get(part) if isinstance(value, dict) else None
        return float(value) if finite(value) else None
    name = ".".join(term.path[1:])
    values = [r[name] for r in val_records if finite(r.get(name))
              and (term.unit != "epoch" or _count(r.get("epoch")) and r["epoch"] <= term.n)
              and (term.unit != "step" or _count(r.get("step")) and r["step"] <= term.n)]
    if not values:
        return None
    return max(values) if goal_of(kind, name) == "max" else min(values)


def verdicts(found: list[Expectation], val_records: list[dict], summary: dict,
             kind: str, train: Any = None) -> list[dict]:
    """One record per expectation for summary.json: key, observed, min, max, met.  With
    `train` (the run's config), a figure at an epoch or step past a run shortened by
    `--set` is not recorded (its best so far is no value "by step N")."""
    def seen(term: Term) -> float | None:
        if train is not None and past_the_run(term, train):
            return None
        return observe(term, val_records, summary, kind)
    out = []
    for e in found:
        num = seen(e.num)
        den = seen(e.den) if e.den else 1.0
        observed = None if num is None or not den else num / den
        out.append(record(e.key, observed, e.min, e.max))
    return out


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class RunExpectations:
    """A run's [expect] (none for a sweep's points: the sweep judges them), judged when
    the run ends: it hears the validation records (a few per epoch) and writes each
    verdict into the summary.  runs.writer feeds it, also the records before a resume."""

    def __init__(self, cfg: Any) -> None:
        self.table = cfg.expect if cfg.sweep is None else None
        self.kind, self.train = cfg.task.kind, cfg.train
        self.val: list[dict] = []

    @property
    def active(self) -> bool:
        return bool(self.table)

    def heard(self, val_record: dict) -> None:
        if self.table:
            self.val.append(val_record)

    def judge(self, summary: dict) -> None:
        if not self.table:
            return
        try:
            found = parse(self.table)
        except ValueError as exc:    # checked before training; a hand-edited resume
            summary["message"] = f"[expect] not judged: {exc}"
            return
        summary["expectations"] = verdicts(found, self.val, summary, self.kind, self.train)
