"""The trackers a run can also log to, live (MLflow, W&B): their names, extras and checks.

Light on purpose: the config checks ``train.log_to`` against these names, and a command
checks that a tracker's extra is installed, without importing any tracker library.  The
listeners themselves are made by :mod:`lstm_tui.trackers.listen`, where a run's events are
produced; each tracker's client is one module (:mod:`.mlflow`, :mod:`.wandb`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Iterable

from lstm_tui.errors import ConfigError, suggest

__all__ = ["TRACKERS", "TrackerSpec", "check_names", "install_hint", "merged", "names",
           "require"]


@dataclass(frozen=True)
class TrackerSpec:
    name: str          # what `--log-to` and `train.log_to` say
    module: str        # the lstm_tui module with its `open_sink(start)`
    library: str       # the module its extra installs (found without importing it)


TRACKERS: dict[str, TrackerSpec] = {
    "mlflow": TrackerSpec("mlflow", "lstm_tui.trackers.mlflow", "mlflow"),
    "wandb": TrackerSpec("wandb", "lstm_tui.trackers.wandb", "wandb"),
}


def names() -> list[str]:
    return list(TRACKERS)


def install_hint(name: str) -> str:
    return f"pip install 'lstm-lab[{name}]'"


def check_names(values: Iterable[str], source: str, key: str) -> list[str]:
    """The tracker names, each once in the order given; ConfigError on an unknown one."""
    kept: list[str] = []
    for value in values:
        if value not in TRACKERS:
            hint = suggest(str(value), TRACKERS)
            extra = f" (did you mean {hint!r}?)" if hint else ""
            raise ConfigError(source, key, f"must name trackers among {', '.join(TRACKERS)}, "
                              f"got {value!r}{extra}")
        if value not in kept:
            kept.append(value)
    return kept


def merged(configured: Iterable[str], flags: Iterable[str] | None) -> list[str]:
    """`train.log_to` with the `--log-to` flags added (checked, each once)."""
    return check_names(list(configured), "", "train.log_to") + \
        [n for n in check_names(flags or [], "--log-to", "") if n not in configured]


def require(values: Iterable[str], source: str = "") -> None:
    """ConfigError with the pip command when a tracker's extra is not installed; called
    before a run or a sweep starts, so a missing extra is bad input, not a warning."""
    for name in values:
        spec = TRACKERS[name]
        try:
            found = importlib.util.find_spec(spec.library) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise ConfigError(source, "", f"logging to {name} needs its extra: "
                              f"{install_hint(name)}")
