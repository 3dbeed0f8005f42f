"""training/ensemble/ behaviour that mutation testing found unchecked (see TESTING.md):
the ensemble must report each member exactly as the engine would, here for the figures
the existing equivalence tests did not compare."""

from __future__ import annotations

import copy
import time

from lstm_tui import events as ev
from lstm_tui.config import parse_config
from lstm_tui.training.ensemble import train_ensemble
from lstm_tui.training.engine import train


def _configs(base: dict, lrs) -> list:
    out = []
    for lr in lrs:
        data = copy.deepcopy(base)
        data["train"]["lr"] = lr
        out.append(parse_config(data))
    return out


def _both(configs, **kw):
    """(ensemble events, engine events) per member, and what each saved."""
    ens = [[] for _ in configs]
    ens_saved = [[] for _ in configs]
    train_ensemble(configs, [e.append for e in ens],
                   save_checkpoints=[(lambda tag, p, s=s: s.append(p) or tag)
                                     for s in ens_saved], **kw)
    alone, alone_saved = [], []
    for cfg in configs:
        events, saved = [], []
        train(cfg, events.append, save_checkpoint=lambda tag, p, s=saved: s.append(p) or tag)
        alone.append(events)
        alone_saved.append(saved)
    return ens, ens_saved, alone, alone_saved


ACCURACY = {"task": {"kind": "nth_element", "seq_len": 4, "features": 4, "n": 1,
                     "train_size": 128, "val_size": 64},
            "model": {"hidden": 6},
            "train": {"batch_size": 16, "steps": 30, "eval_every": 3, "log_every": 3,
                      "optimizer": "adam", "monitor": "loss"}}


def test_monitoring_the_loss_of_a_max_task_flags_the_same_validations():
    ens, ens_saved, alone, alone_saved = _both(_configs(ACCURACY, [0.05, 0.02]))
    for mine, theirs in zip(ens, alone):
        flags = [v.is_best for v in mine if isinstance(v, ev.ValMetrics)]
        assert flags == [v.is_best for v in theirs if isinstance(v, ev.ValMetrics)]
        assert True in flags[1:] and False in flags
    for mine, theirs in zip(ens_saved, alone_saved):
        assert [sorted(p) for p in mine] == [sorted(p) for p in theirs]   # same payload keys
        assert [(p["step"], p["epoch"], p["seed"]) for p in mine] == \
            [(p["step"], p["epoch"], p["seed"]) for p in theirs]


def test_a_member_whose_loss_grows_is_diverged_with_the_engines_message():
    base = {"task": {"kind": "weighted_sum", "seq_len": 4, "train_size": 64, "val_size": 32},
            "model": {"cell": "rnn", "hidden": 4},
            "train": {"batch_size": 64, "steps": 30, "eval_every": 1, "log_every": 1,
                      "optimizer": "sgd"}}
    ens, _, alone, _ = _both(_configs(base, [0.5, 0.001]))
    grown = ens[0][-1]
    assert grown.status == "diverged" and grown.message == alone[0][-1].message
    assert grown.message.startswith("train loss grew to")
    assert ens[1][-1].status == "completed"


def test_member_seconds_are_the_time_spent():
    started = time.perf_counter()
    ens = [[], []]
    train_ensemble(_configs(ACCURACY, [0.05, 0.02]), [e.append for e in ens])
    spent = time.perf_counter() - started
    for events in ens:
        seconds = [e.seconds for e in events if isinstance(e, (ev.ValMetrics, ev.Finished))]
        assert all(0 < s <= spent for s in seconds)


def test_a_group_of_one_still_hears_its_member_stop():
    events = []
    (last,) = train_ensemble(_configs(ACCURACY, [0.05]), [events.append],
                             member_stops=[lambda: ("pruned", "pruned by test")])
    assert (last.status, last.message) == ("pruned", "pruned by test")


# ---------------------------------------------------------------- a held-out sample (seed 17)

def test_a_member_that_cannot_be_built_fails_alone_and_the_others_start_at_step_0(monkeypatch):
    from lstm_tui.training import engine
    configs = _configs(ACCURACY, (0.01, 0.02))
    real = engine.build

    def build(cfg, *args, **kwargs):
        if cfg.train.lr == 0.02:
            raise RuntimeError("out of memory")
        return real(cfg, *args, **kwargs)

    monkeypatch.setattr(engine, "build", build)
    streams = [[] for _ in configs]
    results = train_ensemble(configs, [s.append for s in streams])
    assert isinstance(results[1], ev.Failed) and "out of memory" in results[1].error
    assert results[0].status == "completed"
    [started] = [e for e in streams[0] if isinstance(e, ev.RunStarted)]
    assert started.start_step == 0                  # a fresh run, as the engine's would be
