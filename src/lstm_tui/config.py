"""Typed configuration of a run (task, model, training) and the TOML presets that hold it.

Every option is a dataclass field with a default, a one-line help text and, where it
applies, a range (``min``/``max`` in the field metadata) or a set of choices (a
``Literal`` type).  The loader checks a preset against these types and reports the
first problem as a :class:`ConfigError` naming the file, the key and what is allowed.
Front ends build their forms from :func:`field_specs`, so a new key appears there
without UI code written for it.  This module imports neither torch nor Textual.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import tomllib
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lstm_tui.errors import ConfigError, suggest  # noqa: F401  (re-exported: callers use config's)
from lstm_tui.fsio import open_regular
from lstm_tui.tomlfile import (CONFIG_END, count_keys, dumps, is_run_config, loads_toml,
                               run_config_problem, toml_key, toml_line, toml_value)


def opt(default: Any, help: str, *, min: float | None = None, max: float | None = None,
        exclusive_min: bool = False, exclusive_max: bool = False, factory: Any = None,
        indexed: tuple[str, ...] = (), choices: Any = None) -> Any:
    """A config field: default value, help text and an optional range.  `indexed` names
    choices that may also be written `choice:N` (cuda:1, the second GPU); `choices`, a
    function giving the allowed values of a `str` field read when asked (a registry's
    names, plugins included)."""
    meta = {"help": help, "min": min, "max": max, "choices": choices,
            "exclusive_min": exclusive_min, "exclusive_max": exclusive_max, "indexed": indexed}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


# ---------------------------------------------------------------- tasks
# Each task kind's config dataclass lives in its own module under lstm_tui.tasks and is
# found through lstm_tui.tasks.registry; ``TASKS`` (kind -> config class) and the class
# names stay reachable from here for existing callers (see __getattr__ below).


def __getattr__(name: str) -> Any:
    if name.startswith("__"):   # the import machinery asks for __path__ and friends
        raise AttributeError(name)
    from lstm_tui.tasks import registry
    if name == "TASKS":
        return registry.config_classes()
    for cls in registry.config_classes().values():
        if cls.__name__ == name:
            return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _task_class(kind: str, source: str = "") -> type:
    from lstm_tui.tasks.registry import spec_of
    return spec_of(kind, source).config


def _default_task() -> Any:
    from lstm_tui.tasks.registry import DEFAULT_KIND
    return _task_class(DEFAULT_KIND)()


# ---------------------------------------------------------------- model and training

def _cell_names() -> Sequence[str]:
    """The cells' names, read when listed (``in`` asks for one cell: no scan for plugins)."""
    from lstm_tui.models.cells.registry import NAMES
    return NAMES


@dataclass
class ModelConfig:
    """The recurrent network: a stack of cells and a linear read-out.  activation,
    forget_bias, peepholes, heads and recurrent_max are options only some cells take
    (docs/cells.md); the others refuse any value but the default."""
    cell: str = opt("lstm", "recurrent cell (docs/cells.md)", choices=_cell_names)
    hidden: int = opt(32, "units per layer and direction", min=1, max=100_000)
    layers: int = opt(1, "stacked recurrent layers", min=1, max=64)
    bidirectional: bool = opt(False, "run a second stack backwards in time")
    dropout: float = opt(0.0, "dropout between layers and before the read-out",
                         min=0.0, max=1.0, exclusive_max=True)
    activation: Literal["tanh", "softsign"] = opt(
        "tanh", "cell activation (softsign uses the hand-written cell)")
    init: Literal["default", "xavier", "orthogonal"] = opt(
        "default", "weight init: PyTorch's uniform, Xavier/Glorot, or orthogonal recurrent")
    forget_bias: float = opt(1.0, "LSTM forget-gate bias at init (Keras unit_forget_bias)")
    peepholes: bool = opt(False, "LSTM family: peephole weights from the cell to the gates "
                          "(Gers & Schmidhuber 2000)")
    heads: int = opt(1, "sLSTM: heads of the block-diagonal recurrence (divides hidden)",
                     min=1, max=100_000)
    recurrent_max: float = opt(0.0, "IndRNN: bound |u| of the recurrent weights after every "
                               "step (0 = none)", min=0.0)
    compile: Literal["auto", "on", "off"] = opt(
        "auto", "compile the step loop of a cell with no fused kernel (torch.compile; "
        "auto: CPU runs of 20,000+ steps)")


@dataclass
class TrainConfig:
    """Optimisation, schedule, stopping and where to run."""
    optimizer: Literal["sgd", "momentum", "adam", "rmsprop", "adagrad", "lbfgs"] = opt(
        "adam", "optimizer (lbfgs is the quasi-Newton, 2nd-order option)")
    lr: float = opt(0.01, "learning rate", min=0.0, exclusive_min=True)
    momentum: float = opt(0.9, "momentum (optimizer = momentum)", min=0.0, max=1.0,
                          exclusive_max=True)
    weight_decay: float = opt(0.0, "L2 weight decay", min=0.0)
    lr_decay: float = opt(1.0, "multiply lr by this every lr_decay_every steps",
                          min=0.0, max=1.0, exclusive_min=True)
    lr_decay_every: int = opt(0, "steps between lr decays (0 = never)", min=0)
    batch_size: int = opt(32, "sequences per step", min=1, max=1_000_000)
    epochs: int = opt(10, "passes over the training data (when steps = 0)", min=1)
    steps: int = opt(0, "optimizer steps (0 = use epochs)", min=0)
    grad_clip: float = opt(0.0, "clip the global gradient norm to this (0 = off)", min=0.0)
    patience: int = opt(0, "early stopping: evaluations without improvement (0 = off)", min=0)
    monitor: Literal["metric", "loss"] = opt("metric", "what early stopping and 'best' watch")
    min_delta: float = opt(0.0, "improvement smaller than this does not count", min=0.0)
    eval_every: int = opt(0, "steps between validations (0 = once per epoch)", min=0)
    log_every: int = opt(10, "steps between train metric records", min=1)
    seed: int = opt(0, "seed of data, init and batch order", min=0, max=2 ** 64 - 1)
    device: Literal["auto", "cpu", "cuda", "mps"] = opt(
        "auto", "auto = cuda, then mps, then cpu; cuda:N = the N-th GPU", indexed=("cuda",))
    threads: int = opt(0, "torch CPU threads (0 = automatic: 1 unless the model is big "
                                "enough to gain from more)", min=0, max=1024)
    tf32: bool = opt(False, "TF32 for cuDNN RNNs and matmuls together on CUDA (faster; "
                     "false = exact FP32 everywhere)")
    deterministic: bool = opt(False, "deterministic cuDNN/cuBLAS kernels: identical CUDA reruns "
                              "(slower)")
    log_to: list[str] = opt(None, "trackers the run also logs to, live: mlflow, wandb (each "
                            "needs its extra, lstm-lab[mlflow] or [wandb])", factory=list)


@dataclass
class RunConfig:
    """A whole experiment: what a preset file holds once resolved."""
    name: str = opt("", "short name used in the run folder")
    description: str = opt("", "what this run should show")
    task: Any = field(default_factory=_default_task)   # a registered task's config
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sweep: dict | None = None  # checked by lstm_tui.sweeps; kept raw here
    expect: dict | None = None  # expected results, checked by lstm_tui.expect.run (raw here)


SECTIONS = {"model": ModelConfig, "train": TrainConfig}
TOP_LEVEL = ("name", "description", "task", "model", "train", "sweep", "expect", "quick")
# `quick` ([quick] set/expect: the preset's shortened `verify --quick` form) is read by
# lstm_tui.expect.verify from the file; a run never keeps it


# ---------------------------------------------------------------- introspection

@dataclass(frozen=True)
class FieldSpec:
    """What a front end needs to show and check one option."""
    name: str
    kind: str                      # "int" | "float" | "bool" | "str" | "choice" | "list[float]" | "list[int]" | "list[str]"
    default: Any
    help: str
    choices: Sequence[str] = ()    # a registry's names (model.cell) are read when listed
    min: float | None = None
    max: float | None = None
    exclusive_min: bool = False
    exclusive_max: bool = False
    indexed: tuple[str, ...] = ()  # choices that also take an index: cuda -> cuda:1


def field_specs(cls: type) -> list[FieldSpec]:
    """The fields of a config dataclass, in order, with their types, ranges and help
    (choices read from their registry now: a plugin may have added some)."""
    return [dataclasses.replace(s, choices=_CHOICES[(cls, s.name)]())
            if (cls, s.name) in _CHOICES else s for s in _field_specs(cls)]


_CHOICES: dict[tuple[type, str], Any] = {}   # (class, field) -> function giving its choices


@functools.cache    # reflection is slow (get_type_hints) and a class's fields never change
def _field_specs(cls: type) -> tuple[FieldSpec, ...]:
    hints = typing.get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        hint = _given(hints[f.name])
        if typing.get_origin(hint) is Literal:
            kind, choices = "choice", tuple(typing.get_args(hint))
        elif typing.get_origin(hint) is list:
            kind, choices = f"list[{typing.get_args(hint)[0].__name__}]", ()
        elif hint in (int, float, bool, str):
            kind, choices = hint.__name__, ()
        else:
            continue  # nested sections are not plain fields
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        m = f.metadata
        if m.get("choices") is not None:
            kind, choices = "choice", ()
            _CHOICES[(cls, f.name)] = m["choices"]
        specs.append(FieldSpec(f.name, kind, default, m.get("help", ""), choices,
                               m.get("min"), m.get("max"),
                               m.get("exclusive_min", False), m.get("exclusive_max", False),
                               tuple(m.get("indexed", ()))))
    return tuple(specs)


def _given(hint: Any) -> Any:
    """``X | None`` -> X: a field whose default None means "not given" (its value,
    when given, is an X)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args \
            and len(args) == 2:
        return next(a for a in args if a is not type(None))
    return hint


def allowed(spec: FieldSpec) -> str:
    """'an integer >= 1', 'one of lstm, gru', ... for error messages."""
    if spec.kind == "choice":
        return "one of " + ", ".join(spec.choices) + "".join(
            f" or {name}:N" for name in spec.indexed)
    noun = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string",
            "list[float]": "a list of numbers", "list[int]": "a list of integers",
            "list[str]": "a list of strings"}[spec.kind]
    bounds = []
    if spec.min is not None:
        bounds.append(f"{'>' if spec.exclusive_min else '>='} {_number(spec.min)}")
    if spec.max is not None:
        bounds.append(f"{'<' if spec.exclusive_max else '<='} {_number(spec.max)}")
    return noun + (" " + " and ".join(bounds) if bounds else "")


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def check_value(spec: FieldSpec, value: Any, source: str, key: str) -> Any:
    """The value converted to the field's type, or a ConfigError saying what is allowed."""
    def bad(extra: str = "") -> ConfigError:
        shown = repr(value)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return ConfigError(source, key, f"must be {allowed(spec)}, got {shown}{extra}")

    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise bad()
        return value
    if spec.kind == "str":
        if not isinstance(value, str) or not _encodable(value):
            raise bad(" (not valid UTF-8 text)" if isinstance(value, str) else "")
        return value
    if spec.kind == "choice":
        if value not in spec.choices and not is_indexed_choice(spec, value):
            hint = suggest(str(value), spec.choices)
            raise bad(f" (did you mean {hint!r}?)" if hint else "")
        return value
    if spec.kind == "list[str]":
        if not isinstance(value, list) or not all(isinstance(v, str) and _encodable(v)
                                                  for v in value):
            raise bad()
        return list(value)
    if spec.kind.startswith("list"):
        item = int if spec.kind == "list[int]" else float
        if not isinstance(value, list) or not all(_is_number(v, item) for v in value):
            raise bad()
        return [item(v) for v in value]
    if not _is_number(value, int if spec.kind == "int" else float):
        raise bad()
    value = int(value) if spec.kind == "int" else float(value)
    if spec.kind == "float" and not math.isfinite(value):
        raise bad()
    lo_bad = spec.min is not None and (value <= spec.min if spec.exclusive_min else value < spec.min)
    hi_bad = spec.max is not None and (value >= spec.max if spec.exclusive_max else value > spec.max)
    if lo_bad or hi_bad:
        raise bad()
    return value


def is_indexed_choice(spec: FieldSpec, value: Any) -> bool:
    """`value` is one of the spec's indexed choices with an index (cuda:0, cuda:1, ...)."""
    if not isinstance(value, str) or ":" not in value:
        return False
    name, _, index = value.partition(":")
    return name in spec.indexed and index.isdigit() and index == str(int(index))


def _encodable(text: str) -> bool:
    """Text a file can hold: a lone surrogate (undecodable bytes of a command line) cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_number(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind is int else isinstance(value, (int, float))


# ---------------------------------------------------------------- parsing

def _unknown(source: str, key: str, options: typing.Iterable[str]) -> ConfigError:
    leaf = key.rsplit(".", 1)[-1]
    hint = suggest(leaf, options)
    extra = f"; did you mean {hint!r}?" if hint else ""
    return ConfigError(source, key, f"unknown key{extra} (allowed: {', '.join(options)})")


def _build(cls: type, table: Any, source: str, prefix: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(source, prefix, "must be a table")
    specs = {s.name: s for s in field_specs(cls)}
    values = {}
    for key, value in table.items():
        if key not in specs:
            raise _unknown(source, f"{prefix}.{key}", specs)
        values[key] = check_value(specs[key], value, source, f"{prefix}.{key}")
    return cls(**values)


def parse_config(data: dict, source: str = "", *, expect_length: bool = False,
                 files: bool = True) -> RunConfig:
    """A RunConfig from a preset's tables; raises ConfigError on the first problem.
    `expect_length`: an [expect] epoch or step past the run is an error too (checked for
    a preset as written; a --set that shortens its run, or a run folder's config, keep
    such an expectation, reported as not recorded).  `files=False`: the task's data
    files are not read (listing runs), so a task that reads files skips its own check."""
    for key in data:
        if key not in TOP_LEVEL:
            raise _unknown(source, key, TOP_LEVEL)
    if not isinstance(data.get("task", {}), dict):   # before dict(): `task = 3` is no table
        raise ConfigError(source, "task", "must be a table")
    task_table = dict(data.get("task", {}))
    kind = task_table.get("kind", _default_kind())
    task_cls = _task_class(kind, source)
    cfg = RunConfig(
        name=check_value(_top_spec("name"), data.get("name", ""), source, "name"),
        description=check_value(_top_spec("description"), data.get("description", ""),
                                source, "description"),
        task=_build(task_cls, task_table, source, "task"),
        model=_build(ModelConfig, data.get("model", {}), source, "model"),
        train=_build(TrainConfig, data.get("train", {}), source, "train"),
        sweep=data.get("sweep"),
        expect=data.get("expect"),
    )
    if cfg.sweep is not None and not isinstance(cfg.sweep, dict):
        raise ConfigError(source, "sweep", "must be a table")
    validate(cfg, source, expect_length=expect_length, files=files)
    return cfg


def _top_spec(name: str) -> FieldSpec:
    return next(s for s in field_specs(RunConfig) if s.name == name)


# The most text (bytes of a file read whole, or task.max_chars) a char_lm run takes:
# the corpus is held a few times over (text, codes), so 100 MB (text8's size) is ~1.5 GB.
MAX_TEXT = 100_000_000


def validate(cfg: RunConfig, source: str = "", *, expect_length: bool = False,
             files: bool = True) -> None:
    """Checks that involve more than one field (or the task's data file): the task's own."""
    from lstm_tui.models.cells.registry import check_model
    from lstm_tui.tasks.registry import spec_of
    spec = spec_of(cfg.task.kind, source)
    reads = spec.data_files is not None and any(spec.data_files(cfg.task).values())
    if spec.check is not None and (files or not reads):
        spec.check(cfg, source)
    check_model(cfg.model, source)
    if cfg.train.log_to:
        from lstm_tui.trackers import check_names
        check_names(cfg.train.log_to, source, "train.log_to")
    if cfg.expect is not None and cfg.sweep is None:    # a sweep's [expect] is its own
        from lstm_tui.expect.run import check
        check(cfg, cfg.expect, source, length=expect_length)


def _default_kind() -> str:
    from lstm_tui.tasks.registry import DEFAULT_KIND
    return DEFAULT_KIND


# ---------------------------------------------------------------- files and overrides

MAX_PRESET_BYTES = 1 << 20      # a preset is a page of TOML; never read a huge file whole


def read_toml_text(path: str | Path) -> str:
    """A preset's text: a regular file (a named pipe would wait forever), bounded in size,
    UTF-8; a ConfigError naming the file otherwise."""
    path = Path(path)
    try:
        with open_regular(path) as fh:
            raw = fh.read(MAX_PRESET_BYTES + 1)
        if len(raw) > MAX_PRESET_BYTES:
            raise ConfigError(str(path), "", f"larger than {MAX_PRESET_BYTES // 1024} KiB: "
                              "not a preset")
        return raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc}") from None


def read_toml(path: str | Path) -> dict:
    """The tables of a TOML file, or a ConfigError naming the file."""
    text = read_toml_text(path)
    try:
        return loads_toml(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"invalid TOML: {exc}") from None


def apply_overrides(data: dict, overrides: typing.Iterable[str], source: str = "--set") -> dict:
    """Apply ``section.key=value`` strings to preset tables (values parsed as TOML)."""
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(source, item[:80], "must look like section.key=value")
        key, raw = (s.strip() for s in item.split("=", 1))
        if "\n" in item or "\r" in item:   # TOML would read the first line and drop the rest
            raise ConfigError(source, key[:80], "must be one line: the value holds a line "
                              "break (write \\n inside a quoted TOML string instead)")
        value = parse_value(raw)
        parts = key.split(".")
        if len(parts) == 1:
            if key not in ("name", "description"):
                raise _unknown(source, key, ("name", "description", "task.*", "model.*",
                                             "train.*"))
            data[key] = value
            continue
        if len(parts) != 2 or parts[0] not in ("task", "model", "train"):
            raise ConfigError(source, key, "names nothing (use task.KEY, model.KEY or train.KEY)")
        section, leaf = parts
        table = data.setdefault(section, {})
        if section == "task" and leaf == "kind" and value != table.get("kind"):
            table = data[section] = {}  # a new task kind starts from its own defaults
        cls = SECTIONS.get(section) or _task_class(table.get("kind", _default_kind()), source)
        names = [s.name for s in field_specs(cls)]
        if leaf not in names:
            raise _unknown(source, key, names)
        table[leaf] = value
    return data


def parse_value(raw: str) -> Any:
    """A --set value: TOML syntax if it parses (3, 1e-3, true, [1, 2]), else a bare string."""
    if "\n" in raw or "\r" in raw:
        return raw
    try:
        return loads_toml(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def load_preset(path: str | Path, overrides: typing.Iterable[str] = (), *,
                files: bool = True) -> RunConfig:
    """Read, override and check a preset file; a fault the overrides brought in is
    blamed on the --set that did it, not on the file.  A run folder's config.toml is
    complete by construction: cut short, emptied or missing keys, it is refused, never
    filled in with defaults.  `files=False`: the task's data files are not read (as in
    :func:`parse_config`; the lab reads them after its first frame)."""
    overrides = list(overrides)
    data = read_toml(path)
    if is_run_config(path):
        problem = run_config_problem(read_toml_text(path), data)
        if problem:
            raise ConfigError(str(path), "", f"{problem}; the run folder's config is corrupt "
                              "(copy a complete one, or a preset, to train again)")
    merged = apply_overrides(data, overrides)
    try:
        return parse_config(merged, str(path), expect_length=not overrides, files=files)
    except ConfigError as exc:
        if not overrides:
            raise
        culprit = [o for o in overrides if o.split("=", 1)[0].strip() == exc.key]
        if not culprit:
            try:
                parse_config(data, str(path), files=files)
            except ConfigError:
                raise exc from None   # the file is at fault on its own
        shown = culprit[-1] if culprit and len(culprit[-1]) <= 80 else \
            (culprit[-1][:77] + "..." if culprit else "")
        where = f"--set {shown}" if culprit else "--set"
        raise ConfigError(where, exc.key, exc.message) from None


# ---------------------------------------------------------------- a run's config.toml

def run_toml(cfg: RunConfig) -> str:
    """A run's config.toml: the resolved config, then the end line counting its keys."""
    text = to_toml(cfg)
    return f"{text}{CONFIG_END}: {count_keys(loads_toml(text))} keys\n"


# ---------------------------------------------------------------- writing

def config_to_dict(cfg: RunConfig) -> dict:
    """Plain tables (TOML-able); `sweep` is left out when absent."""
    data = dataclasses.asdict(cfg)
    for key in ("sweep", "expect"):
        if data.get(key) is None:
            data.pop(key, None)
    return data


def to_toml(cfg: RunConfig | dict, comments: bool = True) -> str:
    """TOML text of a config, written by tomli-w so that any string (control characters,
    quotes, non-ASCII) and any number reads back as it was; with comments, each key
    carries its help text."""
    data = config_to_dict(cfg) if isinstance(cfg, RunConfig) else cfg
    lines = []
    for key in ("name", "description"):
        if data.get(key):
            lines.append(toml_line(key, data[key]))
    from lstm_tui.tasks.registry import get
    spec = get(data.get("task", {}).get("kind", ""))
    classes = {"task": spec.config if spec else None,
               "model": ModelConfig, "train": TrainConfig}
    for section in ("task", "model", "train", "sweep", "expect"):
        if section not in data or data[section] is None:
            continue
        helps = {s.name: s.help for s in field_specs(classes[section])} if classes.get(section) \
            else {}
        lines.append("")
        lines.extend(_toml_table(section, data[section], helps if comments else {}))
    return "\n".join(lines).lstrip("\n") + "\n"


def _toml_table(name: str, table: dict, helps: dict) -> list[str]:
    """The table as tomli-w writes it, each key's first line followed by its help.  The
    sweep's tables of axes are written inline: tomli-w would put a range (a sub-table)
    after the lists, and the order of the axes decides the points a sweep draws."""
    if name == "sweep":
        return [f"[{name}]"] + [f"{toml_key(k)} = {toml_value(v)}" if isinstance(v, dict)
                                else toml_line(k, v) for k, v in table.items()]
    lines = dumps({name: table}).rstrip("\n").split("\n")
    at = 0
    for key, text in helps.items():
        if key not in table or isinstance(table[key], dict):
            continue
        first = toml_line(key, table[key]).split("\n")[0]
        try:
            at = lines.index(first, at)
        except ValueError:
            continue
        lines[at] = f"{first:<32} # {text}"
    return lines


