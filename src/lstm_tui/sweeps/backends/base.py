"""What every backend shares: the messages, the Backend protocol, the registry, options.

The driver (:mod:`lstm_tui.sweeps.runner`, :mod:`lstm_tui.sweeps.tpe`) hands a backend a
list of :class:`PointTask` (config + the run folder the driver chose) and a ``report``
callable.  The backend trains them however it likes and calls ``report`` — always in
the driver's own thread — with small messages: :class:`PointStarted`,
:class:`PointProgress` (throttled, never one per step) and exactly one :class:`PointDone`
per point it trained.  Points it never started (a stop was requested) are simply not
reported.  The driver is the only writer of results.csv; each point's run folder is
written by a RunWriter where the point trains, so every point is a normal run in the
store.  Wherever that is, the point's folder is touched only under its writer lock
(.point.open_point), the same OS lock ``headless --resume`` takes: a point whose folder
another live process writes is not trained but reported as :data:`BUSY`.

An adaptive search (sweeps.tpe) knows its points only as results come in: it passes
``more``, a :data:`More` callable the backend calls whenever it has free slots
(``more(n)`` returns up to n new tasks, [] when there are none yet or left), after
reporting the results that freed them, so the search can tell a result before it draws
the next point.  The backend is done when nothing is in flight and ``more`` gives nothing.

A backend declares the options it takes (as harlequin's adapters declare theirs): its
``Options`` is a frozen dataclass whose fields made with :func:`~lstm_tui.config.opt`
are the options (``--devices``, ``--gpus``, ...), and ``Options.build(spec, **given)``
checks the values given and fills in the others (from the sweep's ``[sweep]`` table
where it has them).  Front ends build them with :func:`backend_options` and hand them to
:func:`make_backend`; a backend without ``Options`` takes none (:class:`NoOptions`).

A new backend is one module with a class ``X(workers, options)`` having ``name``,
``workers``, ``Options`` and ``run(tasks, report, should_stop)`` (and ``more=None`` to
take an adaptive search's points), plus one line in :data:`BACKENDS`, imported only
when chosen.  Points are trained by :mod:`.point` wherever they run, so run folders are
the same whatever the backend.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence, Union

from lstm_tui.config import ConfigError, RunConfig, suggest

# ---------------------------------------------------------------- what travels

DONE = ("completed", "stopped_early", "diverged", "failed", "pruned")  # never trained again
BUSY = "busy"     # a PointDone's status: another live process writes the point's folder, so
                  # it was neither touched nor trained (nor recorded); the next sweep run
                  # takes it up again


@dataclass(frozen=True)
class PointTask:
    """One point to train, as the driver hands it to a backend (picklable)."""
    key: str
    index: int
    config: RunConfig
    run_dir: str
    sweep: str                 # the sweep's name, recorded in the run's summary.json


@dataclass(frozen=True)
class PointStarted:
    key: str
    run_dir: str
    total_steps: int


@dataclass(frozen=True)
class PointProgress:
    key: str
    step: int
    total_steps: int
    metric: float | None       # last validation value of the task metric (None before one)
    loss: float | None         # last training loss


@dataclass(frozen=True)
class PointDone:
    key: str
    status: str                # completed | stopped_early | diverged | failed | interrupted
                               # | pruned | busy (BUSY)
    message: str = ""
    seconds: float = 0.0


Message = Union[PointStarted, PointProgress, PointDone]
Report = Callable[[Message], None]
StopCheck = Callable[[], bool]
More = Callable[[int], list[PointTask]]      # up to n more tasks; [] for none now


class Backend(Protocol):
    """Trains points and reports on them (see the module docstring)."""
    name: str
    workers: int

    def run(self, tasks: Sequence[PointTask], report: Report, should_stop: StopCheck,
            more: More | None = None) -> None:
        ...


@dataclass(frozen=True)
class NoOptions:
    """The options of a backend that takes none."""

    @classmethod
    def build(cls, spec: Any = None) -> "NoOptions":
        return cls()


# ---------------------------------------------------------------- the registry

BACKENDS: dict[str, str] = {
    "sequential": "lstm_tui.sweeps.backends.local:Sequential",
    "processes": "lstm_tui.sweeps.backends.pool:Processes",
    "ensemble": "lstm_tui.sweeps.backends.local:Ensemble",
    "ray": "lstm_tui.sweeps.backends.ray:RayBackend",      # pip install 'lstm-lab[ray]'
}


def backend_names() -> list[str]:
    return list(BACKENDS)


def backend_class(name: str) -> type:
    """The class of the backend called `name` (its module imported now), or a
    ConfigError listing the known ones."""
    if name not in BACKENDS:
        hint = suggest(name, BACKENDS)
        extra = f" (did you mean {hint!r}?)" if hint else ""
        raise ConfigError("--backend", "backend",
                          f"must be one of {', '.join(BACKENDS)}, got {name!r}{extra}")
    module, attr = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), attr)


def options_type(cls: type) -> type:
    """The Options a backend class declares (NoOptions when it declares none)."""
    return getattr(cls, "Options", NoOptions)


def option_names(options: type) -> list[str]:
    """The options an Options dataclass declares: its fields made with config.opt."""
    return [f.name for f in dataclasses.fields(options) if "help" in f.metadata]


def backend_options(name: str, spec: Any = None, **given: Any) -> Any:
    """The options of backend `name` for the sweep `spec`: the `given` ones (the command
    line's; None = not given) checked, the others from the sweep or the defaults.  An
    option the backend does not take is a ConfigError naming the backends that do."""
    options = options_type(backend_class(name))
    for key, value in given.items():
        if value is not None and key not in option_names(options):
            takers = [b for b in BACKENDS
                      if key in option_names(options_type(backend_class(b)))]
            raise ConfigError(f"--{key}", key, f"is an option of --backend "
                              f"{' or '.join(takers)} (the {name} backend does not take it)")
    return options.build(spec, **{k: v for k, v in given.items() if v is not None})


def make_backend(name: str, workers: int = 1, options: Any = None) -> Backend:
    """The backend called `name` with `options` (from :func:`backend_options`; None: the
    defaults of its Options), or a ConfigError for an unknown name or bad `workers`."""
    cls = backend_class(name)
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError("--workers", "workers", f"must be an integer >= 1, got {workers!r}")
    if workers > 1 and name == "sequential":
        raise ConfigError("--workers", "workers", "the sequential backend runs one point at a "
                          "time; use --backend processes (or ensemble) with --workers")
    kind = options_type(cls)
    if options is None:
        options = kind()
    elif not isinstance(options, kind):
        raise TypeError(f"the {name} backend takes {kind.__name__}, got "
                        f"{type(options).__name__}")
    return cls(workers, options)


def sweep_backend(name: str, workers: int, spec: Any, options: Any = None) -> Backend:
    """The backend a sweep runs on: with `options` when the front end built them, else
    with those the sweep's own table gives (``backend_options(name, spec)``)."""
    return make_backend(name, workers,
                        options if options is not None else backend_options(name, spec))
