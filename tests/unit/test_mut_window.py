"""Window and better(): what the engine's log records and early stopping rest on
(mutation pass 3)."""

from __future__ import annotations

import math

import torch

from lstm_tui.training.window import Window, better


def test_a_window_sums_the_metric_and_its_count_over_steps():
    w = Window()
    assert w.count == 0 and w.first_nonfinite() is None
    w.add(torch.tensor(1.0), torch.tensor(2.0), 3)
    w.add(torch.tensor(0.5), torch.tensor(5.0), 4)
    assert w.count == 2
    assert float(w.metric_total) == 7.0 and w.metric_count == 7


def test_the_first_nonfinite_step_is_found_by_its_index():
    w = Window()
    for v in (1.0, math.nan, math.inf, 2.0):
        w.add(torch.tensor(v), torch.tensor(0.0), 1)
    assert w.first_nonfinite() == 1
    ok = Window()
    for v in (1.0, 2.0):
        ok.add(torch.tensor(v), torch.tensor(0.0), 1)
    assert ok.first_nonfinite() is None


def test_better_needs_more_than_min_delta_toward_the_goal():
    assert better(1.0, None, "min", 0.1)
    assert better(0.8, 1.0, "min", 0.1) and not better(0.9, 1.0, "min", 0.125)
    assert not better(0.75, 1.0, "min", 0.25)          # exactly min_delta: not better
    assert better(1.5, 1.0, "max", 0.25) and not better(1.25, 1.0, "max", 0.25)
