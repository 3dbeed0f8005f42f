"""Early stopping of sweep points: the driver's ASHA and median rules (no torch here).

    [sweep]
    scheduler = "asha"     # none (default) | asha | median
    grace = 1              # evaluations every point gets before it can be stopped
    reduction = 3          # asha: keep the top 1/reduction at each rung

A point reports each validation (its value of the sweep's metric) to the driver and
waits for the verdict; a pruned point ends with status ``pruned`` at that validation.

Decisions depend only on metrics, never on timing: a point is compared with the points
*before it* in the sweep's pruning order (points by key, a hash of their values and seed,
each ensemble group kept together; see :func:`pruning_order`) that reached the same
evaluation, and its verdict waits until every earlier point has reached that evaluation
or ended.  So asynchronous successive halving sees points arrive in a fixed order, and
the same sweep prunes the same points at the same steps on every backend.  Every backend
trains the points in that order: in-process backends never wait; a pool worker or a Ray
task may wait for an earlier point (submitted before it, so already running).

  asha    rung r at evaluation grace·reduction^r: a point not in the top
          ceil(n / reduction) of the n points (itself included) that reached the rung
          is stopped.  Values are each point's best so far (by the sweep's goal).
  median  from evaluation `grace` on, at every evaluation: a point whose best so far
          is worse than the median of the earlier points' best at that evaluation.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol

from lstm_tui.training.ensemble.grouping import group_key
WAIT_POLL = 0.02          # seconds between a pool worker's looks for its verdict


@dataclass(frozen=True)
class PointEval:
    """A point's n-th validation (1-based) and its value of the sweep's metric."""
    key: str
    n: int
    value: float | None
    step: int


@dataclass(frozen=True)
class PointEnded:
    """The point trains no more (any status): it reaches no later evaluation."""
    key: str


@dataclass
class Pruner:
    """The driver's record of every point's evaluations, and the verdicts."""
    rule: str
    grace: int
    reduction: int
    goal: str
    metric: str
    order: list[str]                                   # the pruning order (point keys)
    rank: dict[str, int] = field(init=False)
    best: dict[str, list] = field(default_factory=dict)  # key -> best so far after eval n
    steps: dict[tuple[str, int], int] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)
    waiting: dict[tuple[str, int], None] = field(default_factory=dict)
    verdicts: dict[tuple[str, int], str] = field(default_factory=dict)  # "" = go on

    def __post_init__(self) -> None:
        self.rank = {key: i for i, key in enumerate(self.order)}

    # ---- what arrives

    def offer(self, msg: PointEval | PointEnded) -> list[tuple[str, int, str]]:
        """Take a message; returns the verdicts it made possible (key, n, message)."""
        if isinstance(msg, PointEnded):
            self.ended.add(msg.key)
            self.waiting = {k: None for k in self.waiting if k[0] != msg.key}
        elif len(self.best.get(msg.key, ())) >= msg.n:
            # reported again (a Ray task tried again after a lost worker retrains from the
            # start, with the same values): counted once, its verdict given again
            known = self.verdicts.get((msg.key, msg.n))
            return [] if known is None else [(msg.key, msg.n, known)]
        else:
            self.record(msg.key, msg.value)
            self.steps[(msg.key, msg.n)] = msg.step
            if self.is_decision(msg.n):
                self.waiting[(msg.key, msg.n)] = None
            else:
                self.verdicts[(msg.key, msg.n)] = ""
                return [(msg.key, msg.n, "")]
        made = []
        for key, n in list(self.waiting):
            if self.ready(key, n):
                del self.waiting[(key, n)]
                made.append((key, n, self.decide(key, n)))
        return made

    def record(self, key: str, value: float | None) -> None:
        series = self.best.setdefault(key, [])
        if value is not None and not math.isfinite(value):
            value = None
        before = series[-1] if series else None
        series.append(value if self._better(value, before) else before)

    def history(self, key: str, values: Iterable[float | None]) -> None:
        """A point that ended in an earlier invocation: its evaluations, then its end."""
        for value in values:
            self.record(key, value)
        self.ended.add(key)

    # ---- the rules

    def is_decision(self, n: int) -> bool:
        if self.rule == "median":
            return n >= self.grace
        if self.rule == "asha":
            r = self.grace
            while r < n:
                r *= self.reduction
            return r == n
        return False

    def ready(self, key: str, n: int) -> bool:
        """Every point before `key` has reached evaluation n or ended."""
        mine = self.rank.get(key, len(self.order))
        return all(len(self.best.get(k, ())) >= n or k in self.ended
                   for k in self.order[:mine])

    def decide(self, key: str, n: int) -> str:
        """'' to go on, or why the point is pruned; kept so a verdict is made once."""
        if (key, n) in self.verdicts:
            return self.verdicts[(key, n)]
        mine = self.best[key][n - 1]
        before = [self.best[k][n - 1] for k in self.order[:self.rank.get(key, len(self.order))]
                  if len(self.best.get(k, ())) >= n]
        verdict = ""
        shown = "none" if mine is None else f"{mine:.6g}"
        if self.rule == "asha":
            keep = math.ceil((len(before) + 1) / self.reduction)
            ahead = sum(1 for v in before if not self._better(mine, v))
            if ahead >= keep:
                verdict = (f"pruned by asha at evaluation {n}: best {self.metric} {shown} "
                           f"not in the top {keep} of {len(before) + 1} points at this rung")
        elif self.rule == "median" and before:
            known = [v for v in before if v is not None]
            median = statistics.median(known) if known else None
            if median is not None and (mine is None or self._better(median, mine)):
                verdict = (f"pruned by median at evaluation {n}: best {self.metric} {shown} "
                           f"worse than the median {median:.6g} of {len(before)} points")
        self.verdicts[(key, n)] = verdict
        return verdict

    def _better(self, a: float | None, b: float | None) -> bool:
        """a strictly better than b (None is worst)."""
        if a is None:
            return False
        if b is None:
            return True
        return a > b if self.goal == "max" else a < b


# ---------------------------------------------------------------- the point's side

class Link(Protocol):
    """How a training point reaches the driver's Pruner."""

    def ask(self, msg: PointEval) -> str: ...

    def ended(self, key: str) -> None: ...


class LocalLink:
    """In the driver's own process (sequential, ensemble with one worker): the points
    train in pruning order, so every verdict can be made at once."""

    def __init__(self, pruner: Pruner):
        self.pruner, self.metric = pruner, pruner.metric

    def ask(self, msg: PointEval) -> str:
        self.pruner.offer(msg)
        if (msg.key, msg.n) in self.pruner.waiting:      # cannot happen in pruning order
            del self.pruner.waiting[(msg.key, msg.n)]
            return self.pruner.decide(msg.key, msg.n)
        return self.pruner.verdicts.get((msg.key, msg.n), "")

    def ended(self, key: str) -> None:
        self.pruner.offer(PointEnded(key))


class QueueLink:
    """In a pool worker: evaluations go up the message queue, verdicts come back in a
    shared dict the driver fills; waiting ends when the worker is told to stop.  A Ray
    task uses it too: its stream carries the evaluations up, and ``verdicts`` reads the
    driver's VerdictBoard actor (sweeps.backends.ray)."""

    def __init__(self, put: Callable[[Any], None], verdicts, should_stop: Callable[[], bool],
                 metric: str, poll: float = WAIT_POLL):
        self.put, self.verdicts, self.should_stop, self.metric = put, verdicts, should_stop, metric
        self.poll = poll

    def ask(self, msg: PointEval) -> str:
        self.put(msg)
        while True:
            verdict = self.verdicts.get((msg.key, msg.n))
            if verdict is not None:
                return verdict
            if self.should_stop():
                return ""
            time.sleep(self.poll)

    def ended(self, key: str) -> None:
        self.put(PointEnded(key))


class PruneAgent:
    """A listener of one point's events: each validation asks the driver for a verdict;
    ``stop()`` then returns ("pruned", why), which the engine ends the run with."""

    def __init__(self, key: str, metric: str, link: Link):
        self.key, self.metric, self.link = key, metric, link
        self.n, self.task_metric, self.verdict = 0, "", None
        self.over = False

    def __call__(self, event) -> None:
        from lstm_tui import events as ev
        if isinstance(event, ev.RunStarted):
            self.task_metric = event.metric
        elif isinstance(event, ev.ValMetrics) and self.verdict is None:
            self.n += 1
            if self.metric == "loss":
                value = event.loss
            elif self.metric == self.task_metric:
                value = event.metric
            else:
                value = event.extra.get(self.metric)
            why = self.link.ask(PointEval(self.key, self.n, value, event.step))
            if why:
                self.verdict = ("pruned", f"{why} (step {event.step})")
        elif isinstance(event, (ev.Finished, ev.Failed)) and not self.over:
            self.over = True
            self.link.ended(self.key)

    def stop(self):
        return self.verdict


def pruning_order(configs: list[tuple[str, Any]]) -> list[str]:
    """Point keys in the order every backend can train them (see the module doc): by key
    (a hash of the point's values and seed), each ensemble group kept together, groups
    in the order of their first key.

    Asynchronous successive halving assumes points arrive in an order unrelated to how
    good they are (random search samples them so; Optuna's GridSampler walks a grid in
    random order).  A grid is enumerated axis by axis — learning rates in ascending
    order, say — and in that order each point can beat every point before it, so none
    is stopped until the grid wraps round to its next seed.  The key is such an
    unrelated order, fixed for a point whatever else the grid holds.
    """
    groups: dict = {}
    for key, cfg in sorted(configs, key=lambda kc: kc[0]):
        groups.setdefault(group_key(cfg), []).append(key)
    return [k for keys in groups.values() for k in keys]
