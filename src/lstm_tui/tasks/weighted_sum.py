"""Predict a weighted sum of chosen positions of an integer sequence (regression, MAD).

Values are integers from the open interval (low, high).  In "simple" mode every window is
drawn independently.  In "realistic" mode there is one autoregressive series: each target
(plus noise) is appended to the series and becomes the last input of the next window, and
the windows slide by one step (a chronological split).  The config, the spec and the
target arithmetic live here (numpy, imported when used); the tensors are built by
:mod:`lstm_tui.tasks.weighted_sum_data`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from lstm_tui.config import opt
from lstm_tui.errors import ConfigError
from lstm_tui.tasks.registry import TaskSpec
from lstm_tui.tasks.shapes import TaskShape


@dataclass
class WeightedSumTask:
    """Ints in (-50, 50); predict a weighted sum of chosen positions (regression, MAD)."""
    kind: Literal["weighted_sum"] = opt("weighted_sum", "task kind (docs/tasks.md)")
    seq_len: int = opt(5, "sequence length", min=2, max=100_000)
    weights: list[float] = opt(None, "weights of the summed positions", factory=lambda: [0.6, 0.3])
    positions: list[int] = opt(None, "positions summed (0 = first, -1 = last)",
                               factory=lambda: [0, -1])
    mode: Literal["simple", "realistic"] = opt(
        "simple", "simple: independent windows; realistic: one autoregressive series")
    noise_std: float = opt(0.0, "std of Gaussian noise added to each target", min=0.0)
    standardize: bool = opt(False, "standardize inputs and targets (MAD stays in original units)")
    low: int = opt(-50, "values drawn from the open interval (low, high)")
    high: int = opt(50, "values drawn from the open interval (low, high)")
    train_size: int = opt(5000, "training windows", min=1, max=10_000_000)
    val_size: int = opt(1000, "validation windows", min=1, max=10_000_000)


def weighted_sum_target(window, weights: Sequence[float], positions: Sequence[int]):
    """sum_i weights[i] * window[..., positions[i]] (positions python-style, -1 = last).

    `window` is one sequence or a (N, seq_len) array of them.
    """
    import numpy as np
    window = np.asarray(window, dtype=np.float64)
    return window[..., list(positions)] @ np.asarray(weights, dtype=np.float64)


def realistic_series(initial: Sequence[float], steps: int, weights: Sequence[float],
                     positions: Sequence[int], noise_std: float = 0.0,
                     rng=None):
    """`initial` followed by `steps` values, each the weighted sum of the previous
    ``len(initial)`` values plus N(0, noise_std) noise drawn from `rng` (float64)."""
    import numpy as np
    series = [float(v) for v in initial]
    width = len(series)
    offsets = [p % width for p in positions]   # python-style positions -> window offsets
    terms = list(zip(weights, offsets))
    noise = [0.0] * steps
    if noise_std > 0:
        noise = (rng or np.random.default_rng()).normal(0.0, noise_std, steps).tolist()
    # Inherently sequential (each value feeds the next); plain floats keep the loop cheap.
    for t in range(steps):
        series.append(sum(w * series[t + i] for w, i in terms) + noise[t])
    return np.asarray(series)



def shape(cfg: WeightedSumTask) -> TaskShape:
    return TaskShape(1, 1, cfg.seq_len, "last", cfg.train_size, cfg.val_size)


def check(cfg, source: str) -> None:
    t = cfg.task
    if len(t.weights) != len(t.positions) or not t.weights:
        raise ConfigError(source, "task.weights",
                          f"must have as many entries as task.positions ({len(t.positions)})"
                          f" and at least one, got {len(t.weights)}")
    for p in t.positions:
        if not -t.seq_len <= p < t.seq_len:
            raise ConfigError(source, "task.positions",
                              f"must lie in [-{t.seq_len}, {t.seq_len - 1}] for seq_len "
                              f"{t.seq_len}, got {p}")
    if t.high - t.low < 2:
        raise ConfigError(source, "task.high", f"must exceed task.low + 1 "
                          f"(the open interval needs an integer), got {t.low}..{t.high}")


# Fields that only change the data's values, never a shape: ensemble members may differ.
SPECS = [TaskSpec("weighted_sum", WeightedSumTask, "lstm_tui.tasks.weighted_sum_data:WeightedSum",
                  shape, "mad", "min",
                  member_fields=frozenset({"weights", "positions", "mode", "noise_std",
                                           "standardize", "low", "high", "val_size"}),
                  check=check, summary="predict a weighted sum of chosen positions",
                  output_meaning="the normalised sum: value = output * target_scale + "
                  "target_offset")]
