"""The task registry: everything the program knows about a task kind, found by its kind.

A task kind is one :class:`TaskSpec`, declared in the kind's own module under
``lstm_tui.tasks`` (or in another installed package, through the entry-point group
``lstm_lab.tasks``).  The preset loader, ``check``, the engine, sweeps, the ensemble
backend, the run store and the TUI all ask this module; none of them names a kind.

This module and the specs import neither torch nor Textual: a spec points at its torch
code by a ``"module:attribute"`` string that is imported on first build.  The built-in
kinds are found without scanning the installed packages for plugins: ``get`` of a
built-in kind imports that kind's module alone and ``known_kinds`` imports none, so the
lab paints its first frame first and scans in a thread afterwards.
"""

from __future__ import annotations

import dataclasses
import importlib
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

GROUP = "lstm_lab.tasks"          # entry-point group of task plugins
DEFAULT_KIND = "nth_element"      # the kind of a preset that names none
# The built-in kinds in their order, each with its module under lstm_tui.tasks (whose
# SPECS declare it): a kind's module is imported when the kind is first asked for.
BUILTIN_KINDS = {"nth_element": "nth_element", "weighted_sum": "weighted_sum",
                 "char_lm": "char_lm", "adding": "memory", "copy": "memory",
                 "series": "series", "sequence_classification": "sequence_classification"}
BUILTIN = tuple(dict.fromkeys(BUILTIN_KINDS.values()))   # the modules


@dataclass(frozen=True)
class TaskSpec:
    """One task kind.

    kind:           the ``task.kind`` value
    config:         its config dataclass; fields made with ``config.opt`` (default, help,
                    range, ``Literal`` choices), a ``kind`` field first whose default is `kind`
    build:          ``"module:attribute"`` (or a callable) giving ``(cfg, seed) -> Task``;
                    imported on first build, as it imports torch
    shape:          ``cfg -> TaskShape`` without torch (equal to the built task's attributes)
    metric, goal:   the primary validation metric and whether "max" or "min" is better
    metrics:        further metrics a sweep may rank by, name -> goal (``loss`` is always one)
    member_fields:  task fields ensemble members may differ in; None = cannot be batched
    check:          ``(cfg: RunConfig, source) -> None``, raising ConfigError naming the key;
                    the checks that involve more than one field, or the data file
    samples_text:   the task's runs can be sampled as text (``lstm-lab sample``)
    data_path:      the config field naming a data file (the Dataset pane's file field)
    presets:        preset files the task ships (listed by ``lstm-lab presets``, found by
                    name like the shipped ones)
    preview:        ``cfg -> Preview`` of the data before training (the Dataset pane's
                    chart), without torch; ConfigError as ``check`` says it
    figures:        ``cfg -> paths`` of the summary.json figures its reports record
                    ("test.mae", "baselines.persistence.mae"): what ``[expect]`` may name
    data_files:     ``cfg -> {field: path}`` of the data files a run reads (None: the task
                    reads none); a run stores them resolved and records their size and
                    SHA-256, and listing runs skips ``check`` for such a task (it reads them)
    predict:        ``"module:attribute"`` (or a callable) giving ``(run, data, options) ->
                    dict``: a trained run (``runs.trained.TrainedRun``) used on new data,
                    the document ``lstm-lab predict --json`` prints (``runs.predict``);
                    None = the kind's runs cannot predict
    rolling:        its predict hook also forecasts every window (``predict --rolling``)
    output_meaning: what the model's output holds, for an exported model's model.json
                    (empty: logits over the classes)
    """
    kind: str
    config: type
    build: str | Callable[[Any, int], Any]
    shape: Callable[[Any], Any]
    metric: str
    goal: str
    metrics: Mapping[str, str] = field(default_factory=dict)
    member_fields: frozenset[str] | None = None
    check: Callable[[Any, str], None] | None = None
    samples_text: bool = False
    data_path: str = ""
    summary: str = ""
    presets: tuple[str, ...] = ()
    preview: Callable[[Any], "Preview"] | None = None
    figures: Callable[[Any], tuple[str, ...]] | None = None
    data_files: Callable[[Any], dict[str, str]] | None = None
    predict: str | Callable[..., dict] | None = None
    rolling: bool = False
    output_meaning: str = ""

    @property
    def batchable(self) -> bool:
        return self.member_fields is not None

    def metric_options(self) -> dict[str, str]:
        """metric -> goal of everything a sweep may rank this task's runs by."""
        return {self.metric: self.goal, "loss": "min", **self.metrics}

    def make(self, cfg: Any, seed: int) -> Any:
        """The built task (imports the torch implementation on first use)."""
        task = _imported(self.build)(cfg, seed)
        task.metric, task.goal = self.metric, self.goal   # declared once, on the spec
        return task

    def predictor(self) -> Callable[..., dict] | None:
        """The predict hook (imported on first use), or None."""
        return None if self.predict is None else _imported(self.predict)


def _imported(ref: str | Callable) -> Callable:
    """A ``"module:attribute"`` reference imported, or the callable itself."""
    if isinstance(ref, str):
        module, _, name = ref.partition(":")
        return getattr(importlib.import_module(module), name)
    return ref


@dataclass(frozen=True)
class Preview:
    """A task's data drawn before training: curves, split borders and a few lines of text.

    curves:  (label, xs, ys) each, already cut to a few thousand points
    borders: (label, x) vertical marks, e.g. where val and test start
    notes:   lines of text (counts per split or class, the file's columns)
    xticks:  (x, label) pairs when the x values stand for something else (dates by row)
    """
    title: str
    curves: tuple = ()
    borders: tuple = ()
    notes: tuple[str, ...] = ()
    xticks: tuple = ()


_SPECS: dict[str, TaskSpec] = {}
_PROBLEMS: list[str] = []
_loaded = False                   # the built-ins and the plugins
_builtins_in: dict | None = None  # the table the built-ins were put in (tests swap tables)
_lock = threading.RLock()         # a scan may run in a thread; a plugin may call register()


def _problem(text: str) -> None:
    _PROBLEMS.append(text)


def _valid(spec: Any, where: str) -> TaskSpec | None:
    """`spec` if it is a usable TaskSpec, else None with the problem recorded."""

    if not isinstance(spec, TaskSpec):
        _problem(f"{where}: not a TaskSpec (got {type(spec).__name__})")
        return None
    if not dataclasses.is_dataclass(spec.config):
        _problem(f"{where}: spec {spec.kind!r}: config is not a dataclass")
        return None
    kind_field = spec.config.__dataclass_fields__.get("kind")
    if kind_field is None or kind_field.default != spec.kind:
        _problem(f"{where}: spec {spec.kind!r}: its config needs a field "
                 f"kind = {spec.kind!r} (the default)")
        return None
    if spec.goal not in ("max", "min"):
        _problem(f"{where}: spec {spec.kind!r}: goal must be max or min, got {spec.goal!r}")
        return None
    if spec.kind in _SPECS or spec.kind in BUILTIN_KINDS:    # a built-in not loaded yet too
        _problem(f"{where}: task kind {spec.kind!r} is already registered; ignored")
        return None
    return spec


def register(spec: TaskSpec, where: str = "") -> bool:
    """Add a spec (built-ins, plugins, tests); False (and a recorded problem) if unusable."""
    _load()
    ok = _valid(spec, where or f"task {getattr(spec, 'kind', spec)!r}")
    if ok is not None:
        _SPECS[ok.kind] = ok
    return ok is not None


def unregister(kind: str) -> None:
    """Remove a kind (tests)."""
    _SPECS.pop(kind, None)


def _load_builtins(kind: str | None = None) -> None:
    """The built-in kinds (no scan of the installed packages): all of them, or only the
    module of `kind` when it is a built-in not in the table yet."""
    global _builtins_in
    if _builtins_in is _SPECS or (kind is not None and kind in _SPECS):
        return
    with _lock:
        if _builtins_in is _SPECS:
            return
        if kind is None:
            modules = BUILTIN
        elif kind in BUILTIN_KINDS:
            modules = (BUILTIN_KINDS[kind],)
        else:
            return
        for name in modules:
            module = importlib.import_module(f"lstm_tui.tasks.{name}")
            for spec in module.SPECS:
                _SPECS[spec.kind] = spec
        if kind is None:
            _builtins_in = _SPECS


def _in_order() -> list[str]:
    """The registered kinds: the built-ins in their order (whichever was loaded first),
    then plugins in the order they came."""
    table = dict(_SPECS)    # one C call: a scan in another thread cannot change it midway
    return [k for k in BUILTIN_KINDS if k in table] + [k for k in table
                                                       if k not in BUILTIN_KINDS]


def _load() -> None:
    """The built-ins, then the plugins (once; another thread waits for a scan under way)."""
    global _loaded
    with _lock:
        if _loaded:
            return
        _loaded = True
        _load_builtins()
        _load_plugins()


def _load_plugins() -> None:
    """Specs from installed packages; a broken one is one recorded line, never a crash."""
    from importlib.metadata import entry_points
    try:
        found = list(entry_points(group=GROUP))
    except Exception as exc:  # a broken installation must not stop the lab
        _problem(f"task plugins: cannot list entry points: {exc}")
        return
    for ep in found:
        where = f"task plugin {ep.name!r} ({ep.value})"
        try:
            with _user_interrupts() as interrupted:
                loaded = ep.load()
                specs = loaded() if callable(loaded) and not isinstance(loaded, TaskSpec) \
                    else loaded
            specs = specs if isinstance(specs, (list, tuple)) else [specs]
        except BaseException as exc:   # third-party code, sys.exit() and raise
            if isinstance(exc, KeyboardInterrupt) and interrupted():  # KeyboardInterrupt too
                raise                  # the user's own Ctrl-C stops the program
            first = (str(exc).strip().splitlines() or [""])[0]
            _problem(f"{where}: {type(exc).__name__}: {first}".rstrip(": "))
            continue
        for spec in specs:
            ok = _valid(spec, where)
            if ok is not None:
                _SPECS[ok.kind] = ok


@contextmanager
def _user_interrupts() -> Iterator[Callable[[], bool]]:
    """Whether a KeyboardInterrupt raised inside came from the user's Ctrl-C (SIGINT), not
    from code that raised it.  Signals reach only the main thread: elsewhere, never."""
    pressed: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    previous = signal.getsignal(signal.SIGINT)

    def on_ctrl_c(signum, frame):
        pressed.append(True)
        if callable(previous):
            previous(signum, frame)     # Python's own handler raises KeyboardInterrupt
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield lambda: bool(pressed)
    finally:
        signal.signal(signal.SIGINT, previous)


def kinds() -> list[str]:
    """Every registered kind: the built-ins in their order, then plugins."""
    _load()
    return _in_order()


def known_kinds() -> list[str]:
    """The built-in kinds and those registered so far, without scanning for plugins or
    importing a kind's module: what a front end can offer before the scan has run."""
    if _builtins_in is _SPECS:
        return _in_order()
    return list(BUILTIN_KINDS) + [k for k in _in_order() if k not in BUILTIN_KINDS]


def get(kind: str) -> TaskSpec | None:
    """The spec of `kind`, or None; the plugins are scanned for only when the kind is not
    registered yet (a built-in never waits for the scan)."""
    _load_builtins(kind)
    spec = _SPECS.get(kind)
    if spec is None:
        _load()
        spec = _SPECS.get(kind)
    return spec


def spec_of(kind: str, source: str = "", key: str = "task.kind") -> TaskSpec:
    """The spec of `kind`, or a ConfigError listing the kinds (with a "did you mean")."""
    from lstm_tui.errors import ConfigError, suggest
    spec = get(kind)
    if spec is None:
        hint = suggest(str(kind), kinds())
        extra = f" (did you mean {hint!r}?)" if hint else ""
        raise ConfigError(source, key, f"must be one of {', '.join(kinds())}, "
                          f"got {kind!r}{extra}")
    return spec


def config_classes() -> dict[str, type]:
    """kind -> config dataclass."""
    _load()
    return {kind: _SPECS[kind].config for kind in _in_order()}


def problems() -> list[str]:
    """One line per plugin that could not be loaded (for front ends to show)."""
    _load()
    return list(_PROBLEMS)


def report_problems(stream=None) -> None:
    """Write the plugin problems to stderr once per process (headless commands)."""
    global _reported
    if _reported:
        return
    _reported = True
    for line in problems():
        print(f"warning: {line}", file=stream or sys.stderr)


_reported = False


def build_task(cfg: Any, seed: int) -> Any:
    """The task `cfg` describes, its data generated deterministically from `seed`."""
    return spec_of(cfg.kind).make(cfg, seed)


def describe_task(cfg: Any) -> Any:
    """The shape of the task `cfg` builds, without torch."""
    spec = spec_of(cfg.kind)
    return dataclasses.replace(spec.shape(cfg), metric=spec.metric, goal=spec.goal)


def samples_text(kind: str) -> bool:
    """Whether runs of `kind` can be sampled as text (unknown kinds cannot)."""
    spec = get(kind)
    return spec is not None and spec.samples_text


def data_files(cfg: Any) -> list[str]:
    """The data files a task config names (none for a kind that reads none)."""
    spec = get(cfg.kind)
    if spec is None or spec.data_files is None:
        return []
    return [str(path) for path in spec.data_files(cfg).values() if path]


def data_preview(cfg: Any) -> Preview | None:
    """The task's preview of its data, or None (no preview, or the data cannot be read:
    the config check says why)."""
    from lstm_tui.errors import ConfigError
    spec = get(cfg.kind)
    if spec is None or spec.preview is None:
        return None
    try:
        return spec.preview(cfg)
    except ConfigError:
        return None
