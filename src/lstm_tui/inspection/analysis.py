"""Choosing units to show and relating them to the text (numpy only, no torch).

Karpathy, Johnson and Fei-Fei (2015) found char-RNN cells that track quotes, spaces and
the position in a line; :func:`rank_by_feature` finds such units by the correlation of
their activation with those features of the text.
"""

from __future__ import annotations

import numpy as np

from lstm_tui.config import ConfigError

FEATURES = ("quote", "space", "newline", "position")


def parse_units(spec: str, hidden: int) -> list[int]:
    """'0,5,7' or '3-6' or a mix -> unit indices, each checked against `hidden`."""
    units: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = part.split("-", 1)
                picked = list(range(int(lo), int(hi) + 1))
            else:
                picked = [int(part)]
        except ValueError:
            raise ConfigError("--units", "units", f"{part!r} is not a unit number or a "
                              "range like 3-6") from None
        for u in picked:
            check_unit(u, hidden, "--units")
        units += [u for u in picked if u not in units]
    if not units:
        raise ConfigError("--units", "units", "names no unit (e.g. 0,5,7 or 3-6)")
    return units


def check_unit(unit: int, hidden: int, option: str = "--unit") -> int:
    if not 0 <= unit < hidden:
        raise ConfigError(option, option.lstrip("-"), f"unit {unit} is out of range: "
                          f"this layer has {hidden} units (0..{hidden - 1})")
    return unit


def top_by_variance(values, k: int) -> list[int]:
    """The `k` units whose activation varies most over time (ties: lower index first)."""
    arr = np.asarray(values, dtype=np.float64)          # (T, H)
    var = arr.var(axis=0) if arr.shape[0] else np.zeros(arr.shape[1])
    order = sorted(range(arr.shape[1]), key=lambda u: (-var[u], u))
    return order[:max(0, k)]


def text_feature(text: str, feature: str) -> np.ndarray:
    """A number per character: inside a quote (1/0), is a space, is a newline, or the
    position in the line (characters since the last newline)."""
    if feature not in FEATURES:
        raise ConfigError("--find", "find", f"must be one of {', '.join(FEATURES)}, "
                          f"got {feature!r}")
    out = np.zeros(len(text))
    inside, column = False, 0
    for t, ch in enumerate(text):
        if feature == "quote":
            if ch == '"':
                inside = not inside
            out[t] = 1.0 if inside or ch == '"' else 0.0
        elif feature == "space":
            out[t] = ch == " "
        elif feature == "newline":
            out[t] = ch == "\n"
        else:
            out[t] = column
            column = 0 if ch == "\n" else column + 1
    return out


def correlations(values, feature: np.ndarray) -> np.ndarray:
    """Pearson correlation of each unit (column of T x H `values`) with `feature`;
    0 where either is constant."""
    arr = np.asarray(values, dtype=np.float64)
    a = arr - arr.mean(0)
    f = feature - feature.mean()
    denom = np.sqrt((a * a).sum(0) * (f * f).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * f[:, None]).sum(0) / denom
    return np.where(denom > 0, r, 0.0)


def rank_by_feature(values, text: str, feature: str, k: int) -> list[tuple[int, float]]:
    """The `k` units most correlated (either sign) with a feature of `text`."""
    r = correlations(values, text_feature(text, feature))
    order = sorted(range(len(r)), key=lambda u: (-abs(r[u]), u))
    return [(u, float(r[u])) for u in order[:max(0, k)]]
