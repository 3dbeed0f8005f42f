"""The cell registry: every cell kind the lab knows, found by its name.

A cell kind is one :class:`~lstm_tui.models.cells.base.CellSpec` in its own module under
``lstm_tui.models.cells`` (or in an installed package, through the entry-point group
``lstm_lab.cells``).  The config's choices and checks, the model, the ensemble,
``inspect``, the parameter table and the Model pane ask this module; none of them names a
cell.  Reading names, options and parameter counts imports no torch; :func:`trial`
(run on plugin cells by the checks) does.  A built-in cell is found without the others:
``get`` of a built-in imports its module alone and never scans the installed packages for
plugins, so checking a config of a built-in cell (the lab's first frame) does neither.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import threading
from collections.abc import Sequence
from typing import Any

from lstm_tui.errors import ConfigError, suggest
from lstm_tui.models.cells.base import OPTIONS, CellSpec

GROUP = "lstm_lab.cells"          # entry-point group of cell plugins
BUILTIN = ("rnn", "lstm", "gru", "lstm_nig", "lstm_nfg", "lstm_nog", "lstm_niaf",
           "lstm_noaf", "lstm_cifg", "lstm_fgr", "mingru", "minlstm", "indrnn", "slstm")

_SPECS: dict[str, CellSpec] = {}
_PLUGINS: dict[str, str] = {}      # name -> where it came from, for plugin cells
_PROBLEMS: list[str] = []
_TRIALS: dict[tuple, str | None] = {}
_loaded = False                   # the built-ins and the plugins
_lock = threading.RLock()         # the app scans in a thread; a plugin may call register()


def _valid(spec: Any, where: str) -> CellSpec | None:
    """`spec` if it is a usable CellSpec, else None with the problem recorded."""
    def problem(text: str) -> None:
        _PROBLEMS.append(f"{where}: {text}")

    if not isinstance(spec, CellSpec):
        problem(f"not a CellSpec (got {type(spec).__name__})")
        return None
    if not spec.name or not spec.name.replace("_", "").isalnum() or spec.name != spec.name.lower():
        problem(f"cell name {spec.name!r} must be lower-case letters, digits and _")
        return None
    unknown = sorted(set(spec.options) - set(OPTIONS))
    if unknown:
        problem(f"cell {spec.name!r}: unknown options {', '.join(unknown)} "
                f"(a cell may take {', '.join(OPTIONS)})")
        return None
    if "hidden" not in spec.gates or not set(spec.bounded) <= set(spec.gates):
        problem(f"cell {spec.name!r}: gates must name 'hidden', and bounded only gates")
        return None
    if not spec.state or spec.state[0] != "h" or not set(spec.start) <= set(spec.state):
        problem(f"cell {spec.name!r}: state must start with 'h' (start: state parts only)")
        return None
    if spec.name in _SPECS or spec.name in BUILTIN:    # a built-in not loaded yet too
        problem(f"cell {spec.name!r} is already registered; ignored")
        return None
    return spec


def register(spec: CellSpec, where: str = "") -> bool:
    """Add a spec (plugins, tests); False (and a recorded problem) if unusable."""
    _load()
    ok = _valid(spec, where or f"cell {getattr(spec, 'name', spec)!r}")
    if ok is not None:
        _SPECS[ok.name] = ok
        _PLUGINS[ok.name] = where or "registered"
    return ok is not None


def unregister(name: str) -> None:
    """Remove a cell (tests)."""
    _SPECS.pop(name, None)
    _PLUGINS.pop(name, None)


def _load() -> None:
    """The built-ins, then the plugins (once; another thread waits for a scan under way)."""
    global _loaded
    with _lock:
        if _loaded:
            return
        _loaded = True
        for name in BUILTIN:
            _load_builtin(name)
        _load_plugins()


def _load_builtin(name: str) -> None:
    if name not in _SPECS:
        _SPECS[name] = importlib.import_module(f"lstm_tui.models.cells.{name}").SPEC


def _load_plugins() -> None:
    """Specs from installed packages; a broken one is one recorded line, never a crash."""
    from importlib.metadata import entry_points
    try:
        found = list(entry_points(group=GROUP))
    except Exception as exc:  # a broken installation must not stop the lab
        _PROBLEMS.append(f"cell plugins: cannot list entry points: {exc}")
        return
    for ep in found:
        where = f"cell plugin {ep.name!r} ({ep.value})"
        try:
            loaded = ep.load()
            specs = loaded() if callable(loaded) and not isinstance(loaded, CellSpec) else loaded
            specs = specs if isinstance(specs, (list, tuple)) else [specs]
        except Exception as exc:  # import errors of third-party code: reported, skipped
            first = (str(exc).strip().splitlines() or [""])[0]
            _PROBLEMS.append(f"{where}: {type(exc).__name__}: {first}")
            continue
        for spec in specs:
            ok = _valid(spec, where)
            if ok is not None:
                _SPECS[ok.name] = ok
                _PLUGINS[ok.name] = where


def names() -> list[str]:
    """Every registered cell: the built-ins in their order, then plugins."""
    return [name for name, _ in _items()]


class _Names(Sequence):
    """The registered cells' names as the config's choices of ``model.cell``: listed in
    full when read, while ``name in NAMES`` asks for that one cell (a built-in: its module
    alone, no scan for plugins)."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and get(name) is not None

    def __getitem__(self, index):
        return names()[index]

    def __len__(self) -> int:
        return len(names())

    def __iter__(self):
        return iter(names())

    def __repr__(self) -> str:
        return repr(tuple(names()))


NAMES = _Names()


def get(name: str) -> CellSpec | None:
    """The spec of cell `name`, or None; a built-in is loaded alone, other names wait for
    every cell and the scan for plugins."""
    if name in BUILTIN and not _loaded:
        with _lock:
            _load_builtin(name)
    else:
        _load()
    return _SPECS.get(name)


def spec_of(name: str, source: str = "", key: str = "model.cell") -> CellSpec:
    """The spec of `name`, or a ConfigError listing the cells (with a "did you mean")."""
    spec = get(name)
    if spec is None:
        hint = suggest(str(name), names())
        extra = f" (did you mean {hint!r}?)" if hint else ""
        raise ConfigError(source, key, f"must be one of {', '.join(names())}, "
                          f"got {name!r}{extra}")
    return spec


def taking(option: str) -> list[str]:
    """The cells that take `option`."""
    return [name for name, spec in _items() if option in spec.options]


def _items() -> list[tuple[str, CellSpec]]:
    """The registered cells: the built-ins in their order, then plugins."""
    _load()
    table = dict(_SPECS)
    return [(n, table[n]) for n in BUILTIN if n in table] + [
        (n, spec) for n, spec in table.items() if n not in BUILTIN]


def problems() -> list[str]:
    """One line per plugin that could not be loaded (for front ends to show)."""
    _load()
    return list(_PROBLEMS)


def is_plugin(name: str) -> bool:
    if name in BUILTIN:     # a plugin never takes a built-in's name
        return False
    _load()
    return name in _PLUGINS


def broken_plugins(config_of) -> list[str]:
    """One line per plugin cell that does not run (`config_of(name)` gives the model
    config to try it with; imports torch when there is a plugin cell)."""
    found = []
    for name, spec in _items():
        if name in _PLUGINS:
            problem = trial(spec, config_of(name))
            if problem:
                found.append(f"{_PLUGINS[name]}: {problem}")
    return found


# ---------------------------------------------------------------- checking a model config

def check_model(cfg: Any, source: str = "") -> None:
    """The model config's cell takes every option set away from its default, passes its
    own check, and (a plugin cell) runs; else a ConfigError naming the key."""
    spec = spec_of(cfg.cell, source)
    defaults = {f.name: f.default for f in dataclasses.fields(cfg)}
    for option in OPTIONS:
        if option in spec.options or option not in defaults:
            continue
        if getattr(cfg, option) != defaults[option]:
            takers = ", ".join(taking(option)) or "none"
            raise ConfigError(source, f"model.{option}", f"the {cfg.cell} cell does not take "
                              f"{option} (leave it at {json.dumps(defaults[option])}; cells "
                              f"that take it: {takers})")
    if spec.check is not None:
        spec.check(cfg, source)
    if is_plugin(spec.name):
        problem = trial(spec, cfg)
        if problem:
            raise ConfigError(source, "model.cell", f"{_PLUGINS[spec.name]}: {problem}")


def trial(spec: CellSpec, cfg: Any) -> str | None:
    """Run the cell for three steps on a tiny batch (torch): None when its project, step
    and scan give the shapes the contract asks for, else what is wrong, in one line."""
    key = (spec.name, id(spec), repr(cfg))
    if key not in _TRIALS:
        try:
            _TRIALS[key] = _trial(spec, cfg)
        except Exception as exc:  # third-party code: whatever it raises is its problem
            first = (str(exc).strip().splitlines() or [""])[0]
            _TRIALS[key] = f"cell {spec.name!r} fails: {type(exc).__name__}: {first}"
    return _TRIALS[key]


def _trial(spec: CellSpec, cfg: Any) -> str | None:
    import torch
    batch, steps, size, hidden = 2, 3, 3, cfg.hidden
    gen = torch.Generator().manual_seed(0)
    p = {q.name: torch.randn(q.shape, generator=gen) * 0.1
         for q in spec.layer_params(size, hidden, cfg)}
    x = torch.randn(batch, steps, size, generator=gen)
    want = (batch, hidden)
    with torch.no_grad():
        xp = spec.project(p, x, cfg)
        if tuple(xp.shape[:2]) != (batch, steps):
            return f"cell {spec.name!r}: project gives {tuple(xp.shape)}, expected " \
                   f"({batch}, {steps}, ...)"
        ready = spec.prepare(p, cfg) if spec.prepare else p
        state = tuple(torch.full(want, spec.start.get(n, 0.0)) for n in spec.state)
        for t in range(steps):
            state, gates = spec.step(ready, xp[:, t], state, cfg)
            if len(state) != len(spec.state):
                return f"cell {spec.name!r}: step returns {len(state)} state parts, " \
                       f"expected {len(spec.state)} ({', '.join(spec.state)})"
            for name, part in zip(spec.state, state):
                if tuple(part.shape) != want:
                    return f"cell {spec.name!r}: step returns {name} of shape " \
                           f"{tuple(part.shape)}, expected {want}"
            for name in spec.gates:
                value = gates.get(name)
                if not isinstance(value, (int, float)) and \
                        (value is None or tuple(value.shape) != want):
                    got = "nothing" if value is None else f"shape {tuple(value.shape)}"
                    return f"cell {spec.name!r}: step gives {got} for gate {name!r}, " \
                           f"expected {want}"
        if spec.scan is not None:
            hs, _ = spec.scan(p, xp, cfg)
            if tuple(hs.shape) != (batch, steps, hidden):
                return f"cell {spec.name!r}: scan gives {tuple(hs.shape)}, expected " \
                       f"{(batch, steps, hidden)}"
    return None
