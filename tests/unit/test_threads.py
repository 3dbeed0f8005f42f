"""The thread rule: one thread unless the work is big enough; train.threads wins."""

from __future__ import annotations

import torch

from lstm_tui.config import parse_config
from lstm_tui.training import threads
from lstm_tui.training.threads import (MIN_WORK_PER_THREAD, apply_threads, choose_threads,
                                       set_cpu_budget, step_work)


def test_small_models_get_one_thread_big_ones_more_explicit_wins():
    assert choose_threads(0, step_work(10_000, 32), budget=16) == 1
    assert choose_threads(0, MIN_WORK_PER_THREAD - 1, budget=16) == 1
    assert choose_threads(0, 2 * MIN_WORK_PER_THREAD, budget=16) == 2
    assert choose_threads(0, 100 * MIN_WORK_PER_THREAD, budget=4) == 4   # capped by budget
    assert choose_threads(3, 1, budget=1) == 3                            # train.threads wins


def test_the_budget_of_a_pool_worker_caps_the_threads():
    try:
        set_cpu_budget(2)
        assert choose_threads(0, 100 * MIN_WORK_PER_THREAD) == 2
        set_cpu_budget(None)
        assert choose_threads(0, 100 * MIN_WORK_PER_THREAD) == min(100, threads.cpu_count())
    finally:
        set_cpu_budget(None)


def test_the_engine_applies_the_rule(monkeypatch):
    from lstm_tui.training.engine import train
    seen = []
    monkeypatch.setattr(threads, "choose_threads",
                        lambda explicit, work, budget=None: seen.append((explicit, work)) or 1)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        cfg = parse_config({"task": {"train_size": 32, "val_size": 16},
                            "model": {"hidden": 4}, "train": {"steps": 2, "batch_size": 8}})
        train(cfg, lambda e: None)
        assert torch.get_num_threads() == 1
        assert seen and seen[0][0] == 0 and seen[0][1] > 0
        monkeypatch.undo()
        cfg.train.threads = 2
        assert apply_threads(cfg.train.threads, 1) == 2 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_the_training_pane_help_says_what_zero_does():
    from lstm_tui.config import TrainConfig, field_specs
    spec = next(s for s in field_specs(TrainConfig) if s.name == "threads")
    assert "torch's default" not in spec.help and "1 unless" in spec.help
