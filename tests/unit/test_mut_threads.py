"""The thread rule's edges, with torch's thread calls recorded, never made: a test that
really sets torch threads hangs the forked mutants (scripts/mutation.sh; pass 3)."""

from __future__ import annotations

import os

import pytest
import torch

from lstm_tui.training import threads
from lstm_tui.training.threads import (MIN_WORK_PER_THREAD, apply_threads, choose_threads,
                                       cpu_count, set_cpu_budget, step_work)


@pytest.fixture(autouse=True)
def _no_budget():
    set_cpu_budget(None)
    yield
    set_cpu_budget(None)


def test_cpu_count_is_the_affinity_mask(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert cpu_count() == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert cpu_count() == 3


@pytest.mark.parametrize("machine, expected", [(None, 1), (1, 1), (3, 3)])
def test_cpu_count_without_an_affinity_mask_is_the_machine(monkeypatch, machine, expected):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: machine)
    assert cpu_count() == expected


def test_a_budget_of_one_caps_a_big_run_at_one_thread(monkeypatch):
    monkeypatch.setattr(threads, "cpu_count", lambda: 8)
    set_cpu_budget(1)
    assert choose_threads(0, 100 * MIN_WORK_PER_THREAD) == 1
    set_cpu_budget(0)                                   # at least one
    assert choose_threads(0, 100 * MIN_WORK_PER_THREAD) == 1


def test_only_a_positive_explicit_count_wins():
    assert choose_threads(1, 100 * MIN_WORK_PER_THREAD, budget=4) == 1
    assert choose_threads(-1, 100 * MIN_WORK_PER_THREAD, budget=4) == 4
    n = choose_threads(0, 3 * MIN_WORK_PER_THREAD // 2, budget=4)
    assert n == 1 and isinstance(n, int)                # whole threads


def test_step_work_is_parameters_times_batch():
    assert step_work(10, 4) == 40


def test_apply_threads_sets_the_chosen_count_only_when_it_differs(monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    assert apply_threads(3, 0) == 3 and calls == [3]
    assert apply_threads(0, 2 * MIN_WORK_PER_THREAD) == min(2, cpu_count())
    calls.clear()
    assert apply_threads(1, 100 * MIN_WORK_PER_THREAD) == 1 and calls == []
