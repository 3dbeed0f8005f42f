"""A preset's ``[sweep]`` table, checked and expanded into points (no torch here).

    [sweep]
    grid = { "task.seq_len" = [5, 10, 20], "model.hidden" = [8, 16] }
    random = { "train.lr" = { low = 1e-4, high = 1e-1, log = true },
               "model.cell" = ["lstm", "gru"], samples = 4, seed = 0 }
    seeds = 2

    [sweep]              # or: `trials` points drawn from a space (random, tpe)
    search = "tpe"
    trials = 40
    space = { "train.lr" = { low = 1e-4, high = 1e-1, log = true }, "model.cell" = ["lstm"] }

The table's own keys (seeds, metric, goal, scheduler, search, trials, ...) are the typed
fields of :class:`SweepConfig`, checked like a config section's; ``grid``, ``random``
and ``space`` are tables of axes, checked here against the config's fields.

``search = "random"`` is the random table over [sweep.space] with ``trials`` draws (no
Optuna needed, every backend): the baseline a TPE search is compared with.

Every grid combination gets ``samples`` random draws (one when there is no random
table) and each of those is repeated ``seeds`` times: ``grid × samples × seeds`` points.
Random draws come from ``random.seed`` (default ``train.seed``), so the same preset
always expands to the same points.  Points are ordered seed-major (every combination at
the first seed, then at the next), so a surface fills in early and is refined after.

The size is worked out arithmetically before anything is expanded: more than
MAX_POINTS points needs ``--yes``, and more than MAX_POINTS_YES is refused even then (each
point holds its own config; a million-point grid would fill the memory before a single
point trained).  Points are expanded when first asked for (:meth:`SweepSpec.points`), so
a sweep only read (``reading=True``) never expands them.

Every problem is one :class:`ConfigError` naming the preset, the key
(``sweep.grid.task.seq_len``) and what is allowed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import random as _random
from dataclasses import dataclass, field
from typing import Any, Iterator, Literal

from lstm_tui.config import (SECTIONS, ConfigError, FieldSpec, RunConfig, allowed,
                             TrainConfig, check_value, config_to_dict, field_specs, opt, suggest, validate)
from lstm_tui.tasks import registry

MAX_POINTS = 10_000            # more needs --yes
MAX_POINTS_YES = 100_000       # more is refused even with --yes (about 1.4 KB and 0.1 ms a point)
# [model] keys added after 0.1.0 (the cell registry): at their defaults they leave a
# sweep's fingerprint as it was, so a sweep folder made before them resumes
KEYS_SINCE_0_1 = {"peepholes": False, "heads": 1, "recurrent_max": 0.0, "compile": "auto"}
SPACE_SEARCHES = ("random", "tpe")       # the searches over [sweep.space] with `trials`
RANDOM_KEYS = ("samples", "seed")
RANGE_KEYS = ("low", "high", "log")


@dataclass(frozen=True)
class SweepConfig:
    """The ``[sweep]`` table as written, its own keys typed and checked (like a config
    section's: one line per problem, did-you-mean, ranges) and documented in the README's
    key table.  ``grid``, ``random`` and ``space`` are tables of axes (config keys), kept
    raw here and checked by :func:`parse_sweep`; a key left out is None (not given) where
    its default depends on the task or on the search."""
    grid: dict | None = None
    random: dict | None = None
    seeds: int = opt(1, "repeats per point (seeds train.seed + 0, + 1, ...)", min=1)
    metric: str | None = opt(None, "what points are ranked and pruned by: a validation "
                             "metric of the task, or loss (default: the task's metric)")
    goal: Literal["max", "min"] | None = opt(None, "whether a higher or a lower metric is "
                                             "better (default: the metric's own)")
    cpus: float = opt(1.0, "CPUs per point on the ray backend (the local backends ignore "
                      "it)", min=0)
    gpus: float = opt(0.0, "GPUs per point on the ray backend; a fraction shares one (0.25)",
                      min=0)
    retries: int = opt(2, "tries again of a point whose Ray worker or node died", min=0)
    scheduler: Literal["none", "asha", "median"] = opt(
        "none", "stop hopeless points early (none: every point trains to its end)")
    grace: int = opt(1, "evaluations every point gets before it can be stopped", min=1)
    reduction: int = opt(3, "asha: keep the top 1/reduction at each rung", min=2)
    search: Literal["grid", "random", "tpe"] = opt(
        "grid", "the grid and random tables, or `trials` points drawn from [sweep.space] "
        "at random or by TPE (Optuna)")
    trials: int | None = opt(None, "random, tpe: how many points are drawn (required there)",
                             min=1, max=MAX_POINTS)
    space: dict | None = None
    metrics: list[str] | None = opt(None, "2 or 3 objectives, a Pareto front (e.g. "
                                    "[\"accuracy\", \"params\"]); the first is the metric")


def read_sweep_table(table: Any, source: str) -> SweepConfig:
    """The [sweep] table typed and checked key by key (the axes tables kept raw)."""
    if not isinstance(table, dict):
        raise ConfigError(source, "sweep", "must be a table")
    names = [f.name for f in dataclasses.fields(SweepConfig)]
    specs = {s.name: s for s in field_specs(SweepConfig)}
    values = {}
    for key, value in table.items():
        if key not in names:
            hint = suggest(key, names)
            extra = f"; did you mean {hint!r}?" if hint else ""
            raise ConfigError(source, f"sweep.{key}",
                              f"unknown key{extra} (allowed: {', '.join(names)})")
        values[key] = check_value(specs[key], value, source, f"sweep.{key}") \
            if key in specs else value
    return SweepConfig(**values)


@dataclass(frozen=True)
class RandomAxis:
    """One random axis: a list of choices, or a (log-)uniform range."""
    key: str
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    field: FieldSpec | None = None    # the config field, to check each draw

    def draw(self, rng: _random.Random) -> Any:
        if self.choices:
            return self.choices[rng.randrange(len(self.choices))]
        lo, hi = float(self.low), float(self.high)
        if self.log:
            value = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        else:
            value = rng.uniform(lo, hi)
        if self.integer:
            return min(int(self.high), max(int(self.low), round(value)))
        return float(f"{value:.6g}")   # readable in tables and folder names, still exact-stable


@dataclass(frozen=True)
class Point:
    """One run of a sweep: the swept values, its seed and its full, checked config."""
    index: int
    values: dict[str, Any]
    seed: int
    repeat: int                 # k in train.seed + k
    config: RunConfig
    key: str                    # stable id of (values, seed), used to resume

    def label(self, short: bool = True) -> str:
        """'seq_len=10 hidden=16 seed=1' (leaf names when short)."""
        parts = [f"{k.rsplit('.', 1)[-1] if short else k}={show_value(v)}"
                 for k, v in self.values.items()]
        return " ".join(parts + [f"seed={self.seed}"])


@dataclass
class SweepSpec:
    """A checked sweep: its axes, repeats, metric and the expanded points."""
    base: RunConfig                      # the preset as resolved (sweep table included)
    source: str
    grid: dict[str, list]
    random: dict[str, RandomAxis]
    samples: int
    random_seed: int
    seeds: int
    metric: str                          # resolved: the task's when the table says none
    goal: str
    cpus: float                          # the rest as in SweepConfig
    gpus: float
    retries: int
    scheduler: str
    grace: int
    reduction: int
    search: str
    trials: int = 0                      # tpe: its points are drawn as the sweep goes
    metrics: tuple[str, ...] = ()        # several objectives (metric is the first), or ()
    goals: tuple[str, ...] = ()          # each objective's goal
    _points: list[Point] | None = field(default=None, repr=False)   # expanded when asked

    @property
    def axes(self) -> list[str]:
        """The swept keys, grid first, in the preset's order."""
        return list(self.grid) + list(self.random)

    @property
    def name(self) -> str:
        return self.base.name or self.base.task.kind

    @property
    def objectives(self) -> list[tuple[str, str]]:
        """(metric, goal) of every objective: several with `metrics`, else the one metric."""
        if self.metrics:
            return list(zip(self.metrics, self.goals))
        return [(self.metric, self.goal)]

    @property
    def size(self) -> int:
        if self.search == "tpe":
            return self.trials
        return math.prod(len(v) for v in self.grid.values()) * self.samples * self.seeds

    def points(self) -> list[Point]:
        """Every point, expanded (and each one checked) the first time it is asked for;
        a tpe search has none up front."""
        if self._points is None:
            self._points = [] if self.search == "tpe" else list(_expand(self))
        return list(self._points)

    def fingerprint(self) -> str:
        """A short hash of the resolved config and sweep table: names the sweep folder
        (the description and [expect] are left out: rewording or re-banding does not make
        a new sweep, nor does logging it to a tracker)."""
        data = config_to_dict(self.base)
        data.pop("description", None)
        data.pop("expect", None)
        data["train"].pop("log_to", None)
        for key, default in KEYS_SINCE_0_1.items():    # a sweep of 0.1.0 keeps its folder
            if data["model"].get(key) == default:
                data["model"].pop(key)
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:8]


def parse_sweep(cfg: RunConfig, source: str, *, yes: bool = False,
                reading: bool = False) -> SweepSpec:
    """Check ``cfg.sweep`` and expand it; `yes` allows more than MAX_POINTS points.
    `reading`: the sweep's results are only read (sweep-report, the Sweep screen), so the
    extra its search needs to run (Optuna for tpe) is not required."""
    if cfg.sweep is None:
        raise ConfigError(source, "sweep", "missing: a sweep preset needs a sweep table with "
                          "a grid (e.g. grid = { \"task.seq_len\" = [5, 10] })")
    sweep = read_sweep_table(cfg.sweep, source)
    data = config_to_dict(cfg)
    data.pop("sweep", None)
    if sweep.search in SPACE_SEARCHES:
        return _parse_space(sweep, data, cfg, source, reading)
    for key in ("space", "trials"):
        if getattr(sweep, key) is not None:
            raise ConfigError(source, f"sweep.{key}", "is only used with search = \"random\" "
                              "or \"tpe\"")

    grid = _parse_grid({} if sweep.grid is None else sweep.grid, data, cfg, source)
    random_axes, samples, random_seed = _parse_random(sweep.random, data, cfg, source, grid)
    if not grid and not random_axes:
        raise ConfigError(source, "sweep.grid", "is empty: give at least one axis with a "
                          "non-empty list, e.g. grid = { \"task.seq_len\" = [5, 10, 20] }")
    spec = SweepSpec(base=cfg, source=source, grid=grid, random=random_axes, samples=samples,
                     random_seed=random_seed, seeds=sweep.seeds, **_settings(sweep),
                     **_parse_objectives(sweep, cfg, source))
    _check_size(spec, yes)
    if not reading:
        spec.points()         # every point checked now: an invalid one is bad input at once
    return spec


def _check_size(spec: SweepSpec, yes: bool) -> None:
    """The point count, worked out before anything is expanded, within the limits."""
    if spec.size <= MAX_POINTS or (yes and spec.size <= MAX_POINTS_YES):
        return
    sizes = " × ".join(str(len(v)) for v in spec.grid.values()) or "1"
    limit = (f"at most {MAX_POINTS_YES:,} even with --yes (split the sweep)" if yes or
             spec.size > MAX_POINTS_YES else f"at most {MAX_POINTS:,} without --yes")
    raise ConfigError(spec.source, "sweep", f"has {spec.size:,} points (grid {sizes}, "
                      f"samples {spec.samples}, seeds {spec.seeds}); {limit}")


def _settings(sweep: SweepConfig) -> dict:
    """The table's keys a SweepSpec takes as they are."""
    return {key: getattr(sweep, key) for key in ("cpus", "gpus", "retries", "scheduler",
                                                 "grace", "reduction", "search")}


def _parse_space(sweep: SweepConfig, data: dict, cfg: RunConfig,
                 source: str, reading: bool = False) -> SweepSpec:
    """search = "random" | "tpe": a [sweep.space] of ranges and choices, and `trials`."""
    import importlib.util
    search = sweep.search
    for key in ("grid", "random"):
        if getattr(sweep, key) is not None:
            raise ConfigError(source, f"sweep.{key}", f"is not used with search = \"{search}\" "
                              "(give the axes in [sweep.space])")
    space = sweep.space
    if not isinstance(space, dict) or not space:
        raise ConfigError(source, "sweep.space", f"missing or empty: {search} searches a space, "
                          "e.g. space = { \"train.lr\" = { low = 1e-4, high = 1e-1, log = true } }")
    axes = {}
    for key, value in space.items():
        where = f"sweep.space.{key}"
        axis = _random_axis(key, axis_spec(key, data, source, where), value, source, where)
        if any(not isinstance(c, (bool, int, float, str)) for c in axis.choices):
            raise ConfigError(source, where, "choices must be numbers, strings or booleans")
        axes[key] = axis
    if sweep.trials is None:
        raise ConfigError(source, "sweep.trials", f"missing: how many points {search} trains "
                          "(an integer >= 1)")
    if sweep.seeds != 1:
        raise ConfigError(source, "sweep.seeds", f"must be 1 with search = \"{search}\" (each "
                          "trial is one run; the sampler chooses what to repeat)")
    objectives = _parse_objectives(sweep, cfg, source)
    if search == "tpe" and not reading and importlib.util.find_spec("optuna") is None:
        raise ConfigError(source, "sweep.search", "tpe needs Optuna: pip install "
                          "'lstm-lab[optuna]'")
    common = dict(base=cfg, source=source, grid={}, random=axes, random_seed=cfg.train.seed,
                  seeds=1, **_settings(sweep), **objectives)
    if search == "random":      # the random table, `trials` draws: points known up front
        spec = SweepSpec(samples=sweep.trials, **common)
        if not reading:
            spec.points()
        return spec
    return SweepSpec(samples=1, trials=sweep.trials, **common)


def make_point(spec: SweepSpec, index: int, values: dict) -> Point:
    """The point of a drawn set of values (tpe's trials), checked like a grid point; its
    key names the trial too (a sampler may draw the same values twice)."""
    checked = {k: check_value(spec.random[k].field, v, spec.source, f"sweep.space.{k}")
               for k, v in values.items()}
    point = _point(index, checked, 0, spec)
    return dataclasses.replace(point, key=point_key({"trial": index, **checked}, point.seed))


# ---------------------------------------------------------------- axes

def _parse_grid(grid: Any, data: dict, cfg: RunConfig, source: str) -> dict[str, list]:
    if not isinstance(grid, dict):
        raise ConfigError(source, "sweep.grid", "must be a table of axes, e.g. "
                          "grid = { \"task.seq_len\" = [5, 10, 20] }")
    out = {}
    for key, values in grid.items():
        where = f"sweep.grid.{key}"
        spec = axis_spec(key, data, source, where)
        if not isinstance(values, list) or not values:
            raise ConfigError(source, where, f"must be a non-empty list of values "
                              f"({allowed(spec)}), got {values!r}")
        checked = [check_value(spec, v, source, where) for v in values]
        for i, v in enumerate(checked):
            if v in checked[:i]:
                raise ConfigError(source, where, f"lists {show_value(v)} twice (values must differ)")
        out[key] = checked
    return out


def _parse_random(table: Any, data: dict, cfg: RunConfig, source: str,
                  grid: dict) -> tuple[dict[str, RandomAxis], int, int]:
    if table is None:
        return {}, 1, cfg.train.seed
    if not isinstance(table, dict):
        raise ConfigError(source, "sweep.random", "must be a table of axes and samples = N")
    axes: dict[str, RandomAxis] = {}
    for key, value in table.items():
        if key in RANDOM_KEYS:
            continue
        where = f"sweep.random.{key}"
        if "." not in key:
            hint = suggest(key, RANDOM_KEYS)
            if hint:
                raise ConfigError(source, where, f"unknown key; did you mean {hint!r}? "
                                  f"(axes are section.key; other keys: samples, seed)")
        spec = axis_spec(key, data, source, where)
        if key in grid:
            raise ConfigError(source, where, "is already a grid axis (sweep it in one place)")
        axes[key] = _random_axis(key, spec, value, source, where)
    if not axes:
        raise ConfigError(source, "sweep.random", "has no axes (give e.g. \"train.lr\" = "
                          "{ low = 1e-4, high = 1e-1, log = true }, or leave it out)")
    if "samples" not in table:
        raise ConfigError(source, "sweep.random.samples", "missing: how many random draws "
                          "per grid point (an integer >= 1)")
    samples = _number(table, "samples", 1, source, integer=True, minimum=1,
                      where="sweep.random.samples")
    seed = _number(table, "seed", cfg.train.seed, source, integer=True,
                   where="sweep.random.seed")
    return axes, samples, seed


def _random_axis(key: str, spec: FieldSpec, value: Any, source: str, where: str) -> RandomAxis:
    if isinstance(value, list):
        if not value:
            raise ConfigError(source, where, "must list at least one choice")
        return RandomAxis(key, choices=tuple(check_value(spec, v, source, where) for v in value),
                          field=spec)
    if not isinstance(value, dict):
        raise ConfigError(source, where, "must be a list of choices or a range "
                          "{ low = A, high = B, log = true|false }")
    for k in value:
        if k not in RANGE_KEYS:
            hint = suggest(k, RANGE_KEYS)
            extra = f"; did you mean {hint!r}?" if hint else ""
            raise ConfigError(source, f"{where}.{k}", f"unknown key{extra} "
                              f"(allowed: {', '.join(RANGE_KEYS)})")
    if spec.kind not in ("int", "float"):
        raise ConfigError(source, where, f"a range needs a numeric key; {key} is "
                          f"{allowed(spec)}: give a list of choices")
    for k in ("low", "high"):
        if k not in value:
            raise ConfigError(source, f"{where}.{k}", "missing (a range needs low and high)")
    low = check_value(spec, value["low"], source, f"{where}.low")
    high = check_value(spec, value["high"], source, f"{where}.high")
    log = value.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(source, f"{where}.log", f"must be true or false, got {log!r}")
    if not low < high:
        raise ConfigError(source, where, f"needs low < high, got low {low!r}, high {high!r}")
    if log and low <= 0:
        raise ConfigError(source, f"{where}.low", f"must be > 0 for a log range, got {low!r}")
    return RandomAxis(key, low=low, high=high, log=log, integer=spec.kind == "int", field=spec)


def axis_spec(key: str, data: dict, source: str, where: str) -> FieldSpec:
    """The field an axis key names (``section.key`` as in --set), or a ConfigError."""
    if not isinstance(key, str) or not key:
        raise ConfigError(source, where, "must name a config key such as task.seq_len")
    parts = key.split(".")
    if len(parts) == 1:
        if key in ("name", "description"):
            raise ConfigError(source, where, "cannot be swept (sweep task.*, model.* or train.*)")
        full = [f"{section}.{s.name}" for section, cls in _sections(data).items()
                for s in field_specs(cls) if s.name == key]
        hint = f"; did you mean {full[0]!r}?" if full else ""
        raise ConfigError(source, where, f"names nothing{hint} (use task.KEY, model.KEY or "
                          "train.KEY)")
    if len(parts) != 2 or parts[0] not in ("task", "model", "train"):
        raise ConfigError(source, where, "names nothing (use task.KEY, model.KEY or train.KEY)")
    section, leaf = parts
    if key == "task.kind":
        raise ConfigError(source, where, "cannot be swept (each task kind has its own keys; "
                          "make one sweep per task)")
    cls = _sections(data)[section]
    specs = {s.name: s for s in field_specs(cls)}
    if leaf not in specs:
        hint = suggest(leaf, specs)
        extra = f"; did you mean '{section}.{hint}'?" if hint else ""
        raise ConfigError(source, where, f"unknown key{extra} (allowed: "
                          f"{', '.join(f'{section}.{n}' for n in specs if n != 'kind')})")
    return specs[leaf]


def _sections(data: dict) -> dict[str, type]:
    kind = data.get("task", {}).get("kind", registry.DEFAULT_KIND)
    return {"task": registry.spec_of(kind).config, **SECTIONS}


# ---------------------------------------------------------------- scalars

def _number(table: dict, key: str, default: Any, source: str, *, integer: bool = False,
            minimum: float = 0, where: str | None = None) -> Any:
    where = where or f"sweep.{key}"
    value = table.get(key, default)
    ok = not isinstance(value, bool) and (isinstance(value, int) if integer
                                         else isinstance(value, (int, float)))
    if not ok or value < minimum or (isinstance(value, float) and not math.isfinite(value)):
        noun = "an integer" if integer else "a number"
        raise ConfigError(source, where, f"must be {noun} >= {minimum:g}, got {value!r}")
    return value


def _parse_metric(sweep: SweepConfig, cfg: RunConfig, source: str) -> tuple[str, str]:
    spec = registry.spec_of(cfg.task.kind)
    options = spec.metric_options()
    metric = spec.metric if sweep.metric is None else sweep.metric
    if metric not in options:
        hint = suggest(str(metric), options)
        extra = f" (did you mean {hint!r}?)" if hint else ""
        raise ConfigError(source, "sweep.metric", f"must be one of {', '.join(options)} for "
                          f"task {cfg.task.kind}, got {metric!r}{extra}")
    return metric, options[metric] if sweep.goal is None else sweep.goal


COLUMN_OBJECTIVES = {"params": "min", "seconds": "min"}   # results.csv columns, not metrics


def _parse_objectives(sweep: SweepConfig, cfg: RunConfig, source: str) -> dict:
    """metric and goal, and with ``metrics = [...]`` every objective and its goal."""
    if sweep.metrics is None:
        metric, goal = _parse_metric(sweep, cfg, source)
        return {"metric": metric, "goal": goal}
    metrics = sweep.metrics
    options = {**registry.spec_of(cfg.task.kind).metric_options(), **COLUMN_OBJECTIVES}
    allowed_text = ", ".join(options)
    if not 2 <= len(metrics) <= 3:
        raise ConfigError(source, "sweep.metrics", f"must list 2 or 3 objectives, e.g. "
                          f"[\"{registry.spec_of(cfg.task.kind).metric}\", "
                          f"\"params\"] (recorded: {allowed_text})")
    for name in metrics:
        if name not in options:
            hint = suggest(name, list(options))
            extra = f" (did you mean {hint!r}?)" if hint else ""
            raise ConfigError(source, "sweep.metrics", f"{name!r} is not recorded for task "
                              f"{cfg.task.kind}{extra}; recorded: {allowed_text}")
    if len(set(metrics)) != len(metrics):
        raise ConfigError(source, "sweep.metrics", "lists an objective twice")
    if metrics[0] in COLUMN_OBJECTIVES:
        raise ConfigError(source, "sweep.metrics", f"must start with a validation metric "
                          f"(the one points are ranked and pruned by), not {metrics[0]!r}")
    for key in ("metric", "goal"):
        if getattr(sweep, key) is not None:
            raise ConfigError(source, f"sweep.{key}", "is not used with metrics = [...] (the "
                              "first objective is the metric; each has its own goal)")
    goals = tuple(options[m] for m in metrics)
    return {"metric": metrics[0], "goal": goals[0], "metrics": tuple(metrics), "goals": goals}


# ---------------------------------------------------------------- expansion

def _expand(spec: SweepSpec) -> Iterator[Point]:
    """The points one by one, seed-major (the combinations are drawn once, then repeated)."""
    rng = _random.Random(spec.random_seed)
    table = "space" if spec.search in SPACE_SEARCHES else "random"
    combos = []
    for values in itertools.product(*spec.grid.values()):
        grid_values = dict(zip(spec.grid, values))
        for _ in range(spec.samples):
            drawn = {k: check_value(axis.field, axis.draw(rng), spec.source, f"sweep.{table}.{k}")
                     for k, axis in spec.random.items()}
            combos.append({**grid_values, **drawn})
    index = 0
    for k in range(spec.seeds):
        for values in combos:
            yield _point(index, values, k, spec)
            index += 1


def _point(index: int, values: dict, repeat: int, spec: SweepSpec) -> Point:
    # Values were checked axis by axis; build the config by replacing fields (parse_config
    # per point costs ~3 ms, too much for 10,000 points) and run the cross-field checks.
    changes: dict[str, dict] = {"task": {}, "model": {}, "train": {}}
    for key, value in values.items():
        section, leaf = key.split(".")
        changes[section][leaf] = list(value) if isinstance(value, list) else value
    base = spec.base
    seed = changes["train"].get("seed", base.train.seed) + repeat
    largest = next(s.max for s in field_specs(TrainConfig) if s.name == "seed")
    if seed > largest:                # torch takes seeds < 2**64
        raise ConfigError(spec.source, "sweep.seeds", f"repeat {repeat} would train with "
                          f"seed {seed}, past the largest seed {int(largest)}; lower "
                          "train.seed or sweep.seeds")
    changes["train"]["seed"] = seed
    cfg = dataclasses.replace(
        base, sweep=None, expect=None,
        task=dataclasses.replace(base.task, **_copied(base.task, changes["task"])),
        model=dataclasses.replace(base.model, **changes["model"]),
        train=dataclasses.replace(base.train, **changes["train"]))
    try:
        validate(cfg, spec.source)
    except ConfigError as exc:
        shown = " ".join(f"{k}={show_value(v)}" for k, v in values.items())
        table = "grid" if exc.key in spec.grid else "random" if exc.key in spec.random else ""
        key = f"sweep.{table}.{exc.key}" if table else "sweep"
        raise ConfigError(spec.source, key, f"the point {shown} is invalid: "
                          f"{exc.key}: {exc.message}") from None
    return Point(index=index, values=dict(values), seed=seed, repeat=repeat, config=cfg,
                 key=point_key(values, seed))


def _copied(task: Any, changes: dict) -> dict:
    """Changes plus fresh copies of the task's list fields (points must not share them)."""
    lists = {f.name: list(getattr(task, f.name)) for f in dataclasses.fields(task)
             if isinstance(getattr(task, f.name), list)}
    return {**lists, **changes}


def point_key(values: dict, seed: int) -> str:
    """A stable id of a point: the same values and seed always give the same key."""
    text = json.dumps({"values": values, "seed": seed}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def show_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ",".join(show_value(v) for v in value) + "]"
    return str(value)
