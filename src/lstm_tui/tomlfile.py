"""TOML text in and out, and what makes a run folder's config.toml whole.

Every reader of presets and run configs parses through :func:`loads_toml`, where a
nesting bomb is bad TOML like any other, never a RecursionError.  Values are written by
tomli-w (:func:`dumps`), so any string (control characters, quotes, non-ASCII) and any
number reads back as it was.  A run's config.toml ends with a line counting its keys, so
one cut short, emptied or missing keys is told from a preset (:func:`run_config_problem`).
Pure Python: neither torch nor Textual, and no other module of the package.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

MAX_DEPTH = 20    # tables and arrays inside each other; a config needs 4


class TooDeep(tomllib.TOMLDecodeError):
    """TOML nested past MAX_DEPTH (a nesting bomb): bad TOML like any other."""

    def __init__(self) -> None:
        ValueError.__init__(self, f"nested deeper than {MAX_DEPTH} levels of tables and arrays")


def loads_toml(text: str) -> dict:
    """tomllib.loads, where a nesting bomb is a TOMLDecodeError, never a RecursionError
    (every reader of presets and run configs parses through here)."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise TooDeep() from None
    todo = [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise TooDeep()
        items = value.values() if isinstance(value, dict) else value
        todo.extend((v, depth + 1) for v in items if isinstance(v, (dict, list)))
    return data


RUN_CONFIG, RUN_SUMMARY = "config.toml", "summary.json"   # in every run folder
# the last line of every config.toml a run writes, with the number of keys above it: a
# file without it (and without the [train] table's last key, for runs of older versions)
# was cut short or emptied, one with fewer keys lost some
CONFIG_END = "# end of the resolved config"
_END = re.compile(re.escape(CONFIG_END) + r"(?:: (\d+) keys)?")


def run_config_problem(text: str, data: dict) -> str | None:
    """Why a run's config.toml (`text`, parsed as `data`) is not whole, or None."""
    last = (text.rstrip("\n").rsplit("\n", 1) or [""])[-1]
    end = _END.fullmatch(last.strip())
    if end is None:
        train = data.get("train")
        legacy = all(isinstance(data.get(t), dict) and data.get(t) for t in ("task", "model")) \
            and isinstance(train, dict) and "threads" in train
        return None if legacy else \
            f"cut short or emptied (a run's config ends with the line {CONFIG_END!r})"
    if end.group(1) is not None:
        missing = int(end.group(1)) - count_keys(data)
        if missing > 0:
            return f"{missing} of its {end.group(1)} keys are missing"
    return None


def is_run_config(path: str | Path) -> bool:
    """A run folder's config.toml (its summary.json beside it), not a preset."""
    path = Path(path)
    return path.name == RUN_CONFIG and (path.parent / RUN_SUMMARY).is_file()


def count_keys(data: dict) -> int:
    """The keys a run's config holds: name, description and the task/model/train keys."""
    return sum(k in data for k in ("name", "description")) + sum(
        len(data[t]) for t in ("task", "model", "train") if isinstance(data.get(t), dict))


def toml_line(key: str, value: Any) -> str:
    """`key = value` (an array over several lines), as tomli-w writes it."""
    return dumps({key: value}).rstrip("\n")


def toml_value(value: Any) -> str:
    """A value as one line of TOML (tomli-w spreads arrays over lines, and writes a table's
    sub-tables after its plain keys): README tables, and tables whose key order matters."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}"
                                for k, v in value.items()) + " }"
    return toml_line("v", value).partition(" = ")[2]


def toml_key(key: str) -> str:
    """`key` as TOML writes it (quoted when it is not a bare key: "train.lr")."""
    return toml_line(key, 0).rpartition(" = ")[0]


def dumps(data: dict) -> str:
    import tomli_w
    try:
        return tomli_w.dumps(data)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot write {', '.join(map(str, data))} as TOML: {exc}") from None
