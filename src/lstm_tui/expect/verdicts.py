"""Bands and verdicts, the part of an expectation that runs and sweeps share: the
``{ min = .., max = .. }`` band parser, a verdict's record, and the tolerant reader of saved
verdicts (summary.json's ``expectations``, a sweep's ``expectations.json``).
No Textual, no rich, no torch."""

from __future__ import annotations

import math
from typing import Any

from lstm_tui.errors import ConfigError


def parse_band(value: Any, source: str, where: str) -> tuple[float | None, float | None]:
    """An expectation's `{ min = .., max = .. }` table as (lo, hi); a ConfigError naming
    `where` otherwise."""
    allowed = "a table { min = NUMBER, max = NUMBER } with at least one of them"
    if not isinstance(value, dict) or not value:
        raise ConfigError(source, where, f"must be {allowed}, got {value!r}")
    for name in value:
        if name not in ("min", "max"):
            raise ConfigError(source, f"{where}.{name}", "unknown bound (allowed: min, max)")
    out = []
    for name in ("min", "max"):
        v = value.get(name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                              or not math.isfinite(v)):
            raise ConfigError(source, f"{where}.{name}", f"must be a finite number, got {v!r}")
        out.append(None if v is None else float(v))
    if out[0] is not None and out[1] is not None and out[0] > out[1]:
        raise ConfigError(source, where, f"min {out[0]:g} is above max {out[1]:g}")
    return out[0], out[1]


def band_text(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"{_g(lo)}..{_g(hi)}"
    return f">= {_g(lo)}" if lo is not None else f"<= {_g(hi)}"


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def record(key: str, observed: float | None, lo: float | None, hi: float | None) -> dict:
    """One verdict as summary.json and expectations.json keep it."""
    met = observed is not None and (lo is None or observed >= lo) and \
        (hi is None or observed <= hi)
    return {"key": key, "observed": observed, "min": lo, "max": hi,
            "met": bool(met)}


def read_verdicts(summary: dict) -> list[dict]:
    """summary.json's expectations, checked item by item (a hand-edited file may hold
    anything; what is unusable is left out)."""
    items = summary.get("expectations")
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) \
                or not isinstance(item.get("met"), bool):
            continue
        clean = {"key": item["key"], "met": item["met"]}
        for name in ("observed", "min", "max"):
            clean[name] = float(item[name]) if finite(item.get(name)) else None
        if clean["min"] is None and clean["max"] is None:
            continue
        out.append(clean)
    return out


def verdict_rows(summary: dict) -> list[tuple[str, str]]:
    """(label, text) rows for the result table and the run detail."""
    rows = []
    for v in read_verdicts(summary):
        observed = "not recorded" if v["observed"] is None else f"{v['observed']:.4g}"
        word = "met" if v["met"] else "MISSED"
        rows.append((f"expect {v['key']}", f"{observed}  (band {band_text(v['min'], v['max'])})"
                     f"  {word}"))
    return rows


def missed(summary: dict) -> list[dict]:
    return [v for v in read_verdicts(summary) if not v["met"]]


def finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
