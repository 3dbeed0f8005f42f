"""`lstm-lab runs`: which runs (filters), in which order, with which columns, as records.

Pure data: no rich, no torch.  A run is looked at as one flat mapping of its listing
fields (name, status, best, tags, ...) and its config keys (model.cell, train.lr, ...),
so --where, --columns and --sort all name things the same way.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from lstm_tui import events as ev
from lstm_tui.config import ConfigError
from lstm_tui.fsio import open_regular
from lstm_tui.runs.index import Progress, indexed_entries, no_gc
from lstm_tui.runs.layout import CONFIG
from lstm_tui.runs.reader import MAX_CONFIG_BYTES, RunInfo, flatten
from lstm_tui.tomlfile import loads_toml

JSON_FORMAT = 1        # bumped only when a field changes meaning or goes away

FIELDS = ("name", "path", "sweep", "task", "cell", "hidden", "status", "metric", "goal",
          "best", "final", "steps", "seconds", "params", "created", "updated", "age", "tags",
          "note", "error")
STATUS_CHOICES = (*ev.STATUSES, "corrupt")
OPS = ("<=", ">=", "!=", "=", "<", ">", "~")
WHERE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(<=|>=|!=|=|<|>|~)\s*(.*?)\s*")
Known = set[str] | Callable[[], set[str]]      # the keys a query may name (or a function)
WHERE_HELP = ("KEY OP VALUE with OP one of = != < <= > >= ~ (contains), e.g. "
              "model.cell=gru or 'train.lr<0.01'")


@dataclass
class Row:
    """One listed run: its RunInfo and its config flattened to dotted keys (or a function
    that reads it, called when first needed: a listing that names no config key never
    decodes 10,000 configs)."""
    info: RunInfo
    rel: str                                   # its folder relative to the store
    _config: dict[str, Any] | Callable[[], dict[str, Any]] = field(default_factory=dict,
                                                                   repr=False)
    config_json: Callable[[], str] | None = field(default=None, repr=False)   # the same, as JSON

    @property
    def config(self) -> dict[str, Any]:
        if callable(self._config):
            self._config = self._config()
        return self._config

    def value(self, key: str) -> Any:
        if key in FIELDS:
            return field_value(self.info, key, self.rel)
        return self.config.get(key)


def field_value(info: RunInfo, key: str, rel: str = "") -> Any:
    if key == "name":
        return rel or info.name
    if key == "path":
        return str(info.path)
    if key == "status":
        return "corrupt" if info.error else info.status
    if key == "age":
        return info.age
    if key == "tags":
        return list(info.tags)
    if key == "error":
        return info.error or None
    return getattr(info, key)


def read_config(folder: Path) -> dict[str, Any]:
    """The run's config.toml flattened; {} when it is missing or damaged."""
    try:
        with open_regular(Path(folder) / CONFIG) as fh:
            return flatten(loads_toml(fh.read(MAX_CONFIG_BYTES).decode("utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def store_rows(root: Path, progress: Progress | None = None) -> list[Row]:
    """Every run of the store as a row, oldest first, through the index (runs.index)."""
    entries = indexed_entries(root, progress)
    with no_gc():
        return [Row(e.info, e.rel, lambda e=e: e.config, e.config_json) for e in entries]


def rows_of(infos: Sequence[RunInfo], root: Path) -> list[Row]:
    """Rows of runs listed some other way, their configs read from the files."""
    rows = []
    for info in infos:
        try:
            rel = info.path.relative_to(root).as_posix()
        except ValueError:
            rel = info.name
        rows.append(Row(info, rel, read_config(info.path)))
    return rows


# ---------------------------------------------------------------- --where

@dataclass(frozen=True)
class Where:
    key: str
    op: str
    value: str

    def __call__(self, row: Row) -> bool:
        have = row.value(self.key)
        if isinstance(have, list):                       # tags: =/!= ask membership
            inside = any(_same(t, self.value) for t in have)
            if self.op == "~":
                return any(self.value.lower() in t.lower() for t in have)
            return inside if self.op == "=" else not inside if self.op == "!=" else False
        if self.op == "~":
            return have is not None and self.value.lower() in str(have).lower()
        if self.op in ("=", "!="):
            return _same(have, self.value) == (self.op == "=")
        number = _number(have)
        if number is None:
            return False
        want = float(self.value)
        return {"<": number < want, "<=": number <= want, ">": number > want,
                ">=": number >= want}[self.op]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _same(have: Any, text: str) -> bool:
    if have is None:
        return text.lower() in ("none", "null", "-", "")
    if isinstance(have, bool):
        return text.lower() == str(have).lower()
    if isinstance(have, (int, float)):
        try:
            return float(have) == float(text)
        except ValueError:
            return False
    return str(have) == text


def parse_where(text: str, known: Known) -> Where:
    """`model.cell=gru` -> Where; ConfigError naming the key and what is allowed."""
    m = WHERE.fullmatch(text)
    if not m:
        raise ConfigError("--where", "", f"{text!r}: expected {WHERE_HELP}")
    key, op, value = m.groups()
    check_key(key, known, "--where")
    if op in ("<", "<=", ">", ">="):
        try:
            float(value)
        except ValueError:
            raise ConfigError("--where", key, f"{op} needs a number, got {value!r}") from None
    return Where(key, op, value)


def check_key(key: str, known: Known, option: str) -> None:
    if key in FIELDS:
        return
    known = known() if callable(known) else known
    if key in known:
        return
    close = difflib.get_close_matches(key, sorted(known), n=3)
    hint = f"did you mean {', '.join(close)}?" if close else \
        f"listing fields: {', '.join(FIELDS)}, or a config key such as model.cell"
    raise ConfigError(option, key, f"unknown field; {hint}")


def known_keys(rows: Sequence[Row]) -> set[str]:
    return set(FIELDS).union(*(r.config for r in rows))


def known_later(rows: Sequence[Row]) -> Callable[[], set[str]]:
    """known_keys(rows), worked out only when a key that is no listing field is named."""
    cache: list[set[str]] = []

    def known() -> set[str]:
        if not cache:
            cache.append(known_keys(rows))
        return cache[0]
    return known


# ---------------------------------------------------------------- selecting

@dataclass
class Query:
    where: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    sweep: str | None = None
    sort: str | None = None
    descending: bool = False
    limit: int | None = None


def select(rows: list[Row], q: Query) -> list[Row]:
    """Filter, sort and cut `rows` (which come oldest first) as the query says."""
    known = known_later(rows)
    wheres = [parse_where(w, known) for w in q.where]
    for status in q.status:
        if status not in STATUS_CHOICES:
            raise ConfigError("--status", "status", f"{status!r}: must be one of "
                              f"{', '.join(STATUS_CHOICES)}")
    if q.sort:
        check_key(q.sort, known, "--sort")
    out = [r for r in rows
           if all(w(r) for w in wheres)
           and (not q.status or r.value("status") in q.status)
           and all(t in r.info.tags for t in q.tags)
           and (q.sweep is None or _in_sweep(r, q.sweep))]
    if q.sort:                       # sorted: the first N
        out = sort_rows(out, q.sort, q.descending)
        return out[:q.limit] if q.limit is not None else out
    if q.limit is not None:          # the default order is oldest first: the N newest
        out = out[-q.limit:] if q.limit > 0 else []
    return out[::-1] if q.descending else out


def _in_sweep(row: Row, name: str) -> bool:
    group = row.rel.split("/")[0] if "/" in row.rel else ""
    return name in (row.info.sweep, group) or (bool(group) and group.startswith(name))


def sort_rows(rows: list[Row], key: str, descending: bool = False) -> list[Row]:
    """Ascending by `key` (missing values last); `best` puts each run's best first by its
    task's goal (higher accuracy, lower loss)."""
    def sort_key(row: Row) -> tuple:
        value = row.value(key)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return (1, 0, "")
        if key == "best" and isinstance(value, (int, float)):
            value = -value if row.info.goal == "max" else value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (0, 0, float(value))
        return (0, 1, str(value).lower())
    present = sorted((r for r in rows if sort_key(r)[0] == 0), key=sort_key,
                     reverse=descending)
    return present + [r for r in rows if sort_key(r)[0] == 1]


# ---------------------------------------------------------------- the JSON document

def record(row: Row) -> dict[str, Any]:
    """One run in `lstm-lab runs --json` (its fields: docs/runs.md)."""
    data = _listed(row)
    config = row.config
    if not all(math.isfinite(v) for v in config.values() if type(v) is float):
        config = {k: _finite(v) if isinstance(v, float) else v for k, v in config.items()}
    data["config"] = config
    return data


def _listed(row: Row) -> dict[str, Any]:
    """The listing fields of a record (FIELDS but age, in that order): field_value's
    rules written out, since a call per field is a third of `runs --json` at 10,000 runs
    (a test holds the two equal)."""
    info = row.info
    return {"name": row.rel or info.name, "path": str(info.path), "sweep": info.sweep or None,
            "task": info.task, "cell": info.cell, "hidden": info.hidden,
            "status": "corrupt" if info.error else info.status, "metric": info.metric,
            "goal": info.goal, "best": _finite(info.best), "final": _finite(info.final),
            "steps": info.steps, "seconds": info.seconds, "params": info.params,
            "created": info.created, "updated": info.updated, "tags": list(info.tags),
            "note": info.note, "error": info.error or None}


def record_json(row: Row) -> str:
    """record(row) as JSON text; the config goes in as the index keeps it (already JSON,
    the same text) unless it holds a NaN or an infinity to be written as null."""
    text = row.config_json() if row.config_json is not None and callable(row._config) \
        else None
    if text is None or "NaN" in text or "Infinity" in text:
        return _ENCODER.encode(record(row))
    return _ENCODER.encode(_listed(row))[:-1] + ', "config": ' + text + "}"


_ENCODER = json.JSONEncoder(allow_nan=False, default=str)     # one for 10,000 records


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: they are written as null."""
    if value is None or (type(value) is float and math.isfinite(value)):
        return value                                   # (the common cases, cheaply)
    return value if _number(value) is not None else None


def document(rows: Sequence[Row], root: Path) -> dict[str, Any]:
    return {"format": JSON_FORMAT, "runs_dir": str(root), "count": len(rows),
            "runs": [record(r) for r in rows]}


def document_lines(rows: Sequence[Row], root: Path) -> Iterator[str]:
    """The document as text, one run a line: json's C encoder writes a line at a time
    (an indented dump goes through its pure-Python one, 10x slower at 10,000 runs)."""
    head = json.dumps({"format": JSON_FORMAT, "runs_dir": str(root), "count": len(rows)})
    yield head[:-1] + ', "runs": [' + ("\n" if rows else "")
    for n, row in enumerate(rows):
        yield "  " + record_json(row) + \
            (",\n" if n < len(rows) - 1 else "\n")
    yield "]}\n"


def differing_keys(configs: Iterable[dict]) -> dict[str, list[object]]:
    """Only the config keys whose values differ between the runs (missing shown as None)."""
    flats = [flatten(c) for c in configs]
    keys = sorted(set().union(*flats)) if flats else []
    out = {}
    for key in keys:
        values = [f.get(key) for f in flats]
        if any(v != values[0] for v in values[1:]) and key not in ("name", "description"):
            out[key] = values
    return out
