"""Window and better(): what the engine's log records and early stopping rest on
(mutation pass 3)."""

from __future__ import annotations

import math

import pytest
import torch

from lstm_tui.training.window import Gradients, Window, better


def test_a_window_sums_the_metric_and_its_count_over_steps():
    w = Window()
    assert w.count == 0
    w.add(torch.tensor(1.0), torch.tensor(2.0), 3)
    w.add(torch.tensor(0.5), torch.tensor(5.0), 4)
    assert w.count == 2
    assert float(w.metric_total) == 7.0 and w.metric_count == 7


def test_the_first_nonfinite_step_is_found_by_its_index():
    w = Window()
    for v in (1.0, math.nan, math.inf, 2.0):
        w.add(torch.tensor(v), torch.tensor(0.0), 1)
    [figures] = w.figures(None)
    assert figures.first_bad == 1 and figures.steps == 4
    ok = Window()
    for v in (1.0, 2.0):
        ok.add(torch.tensor(v), torch.tensor(0.0), 1)
    [figures] = ok.figures(None)
    assert figures.first_bad is None
    assert (figures.loss, figures.first_loss, figures.metric_count) == (1.5, 1.0, 2)
    assert (figures.grad_norm, figures.grad_norms, figures.abs_total) == (0.0, [], 0.0)


def test_a_window_of_members_gives_each_its_own_figures():
    w = Window()
    w.add(torch.tensor([1.0, 4.0]), torch.tensor([3.0, 0.0]), 5)
    w.add(torch.tensor([2.0, math.nan]), torch.tensor([1.0, 2.0]), 5)
    grads = Gradients(norm=torch.tensor([0.5, 0.25]),
                      norms=torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
                      means=torch.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]),
                      abs_total=torch.tensor([7.0, 8.0]))
    first, second = w.figures(grads)
    assert (first.first_bad, first.loss, first.metric_total, first.first_loss) == \
        (None, 1.5, 4.0, 1.0)
    assert (second.first_bad, second.metric_total, second.first_loss) == (1, 2.0, 4.0)
    assert first.metric_count == second.metric_count == 10
    assert (first.grad_norm, first.grad_norms, first.abs_total) == (0.5, [1.0, 3.0, 5.0], 7.0)
    assert second.grad_means == pytest.approx([0.2, 0.4, 0.6])
    kept = grads.keep(torch.tensor([1]))                 # the second member only
    assert kept.norm.tolist() == [0.25] and kept.abs_total.tolist() == [8.0]
    assert kept.norms.tolist() == [[2.0], [4.0], [6.0]]


def test_better_needs_more_than_min_delta_toward_the_goal():
    assert better(1.0, None, "min", 0.1)
    assert better(0.8, 1.0, "min", 0.1) and not better(0.9, 1.0, "min", 0.125)
    assert not better(0.75, 1.0, "min", 0.25)          # exactly min_delta: not better
    assert better(1.5, 1.0, "max", 0.25) and not better(1.25, 1.0, "max", 0.25)
