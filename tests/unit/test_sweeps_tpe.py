"""search = "tpe": Optuna draws the points, the driver trains and records them, resume."""

from __future__ import annotations

import importlib.util

import pytest

from lstm_tui.config import ConfigError, parse_config
from lstm_tui.runs.reader import list_runs
from lstm_tui.sweeps.drive import run_sweep
from lstm_tui.sweeps.runner import read_results
from lstm_tui.sweeps.spec import parse_sweep

TASK = {"kind": "nth_element", "seq_len": 4, "features": 5, "n": 1, "train_size": 64,
        "val_size": 32}
SPACE = {"train.lr": {"low": 1e-4, "high": 0.3, "log": True}, "model.hidden": [4, 8]}


def _spec(train=None, **sweep):
    sweep = {"search": "tpe", "trials": 4, "space": SPACE, **sweep}
    data = {"name": "tpe", "task": TASK, "model": {"hidden": 4},
            "train": train or {"steps": 9, "eval_every": 3, "log_every": 3,
                               "batch_size": 16},
            "sweep": sweep}
    cfg = parse_config(data, "tpe.toml")
    return cfg, parse_sweep(cfg, "tpe.toml")


@pytest.mark.slow
def test_tpe_trains_its_trials_and_keeps_the_study_in_the_sweep_folder(tmp_path):
    pytest.importorskip("optuna")
    cfg, spec = _spec(scheduler="asha", reduction=2)
    assert spec.size == 4 and spec.axes == ["train.lr", "model.hidden"]
    result = run_sweep("tpe.toml", cfg, spec, tmp_path)
    assert result.complete and len(result.rows) == 4
    assert (result.sweep_dir / "study.journal").stat().st_size > 0
    assert [r["point"] for r in result.rows] == [0, 1, 2, 3]
    for row in result.rows:
        assert 1e-4 <= row["train.lr"] <= 0.3 and row["model.hidden"] in (4, 8)
        assert row["status"] in ("completed", "pruned")
    assert len({r["key"] for r in result.rows}) == 4
    assert len(read_results(result.sweep_dir / "results.csv")) == 4
    assert len(list_runs(tmp_path)) == 4
    import optuna
    study = optuna.load_study(
        study_name=result.sweep_dir.name,
        storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(
            str(result.sweep_dir / "study.journal"))))
    states = [t.state.name for t in study.trials]
    assert states == ["PRUNED" if r["status"] == "pruned" else "COMPLETE" for r in result.rows]


def test_a_stopped_tpe_sweep_resumes_without_drawing_again(tmp_path):
    pytest.importorskip("optuna")
    cfg, spec = _spec()
    seen = []
    first = run_sweep("tpe.toml", cfg, spec, tmp_path, listener=seen.append,
                      should_stop=lambda: sum(type(e).__name__ == "PointFinished"
                                              for e in seen) >= 2)
    assert first.done == 2 and not first.complete
    keys = [r["key"] for r in first.rows]
    rest = run_sweep("tpe.toml", cfg, spec, tmp_path)
    assert rest.complete and [r["key"] for r in rest.rows][:2] == keys
    again = run_sweep("tpe.toml", cfg, spec, tmp_path)   # nothing left: nothing trained
    assert [r["key"] for r in again.rows] == [r["key"] for r in rest.rows]


@pytest.mark.parametrize("sweep, key", [
    ({"search": "bayes"}, "sweep.search"),
    ({"trials": 0}, "sweep.trials"),
    ({"trials": None}, "sweep.trials"),
    ({"space": {"train.lrr": [0.1]}}, "sweep.space.train.lrr"),
    ({"space": {"model.hidden": ["big"]}}, "sweep.space.model.hidden"),
    ({"space": {}}, "sweep.space"),
    ({"grid": {"train.lr": [0.1]}}, "sweep.grid"),
    ({"seeds": 2}, "sweep.seeds"),
])
def test_bad_tpe_input_names_the_key(sweep, key):
    pytest.importorskip("optuna")
    if sweep.get("trials", 1) is None:
        data_sweep = {"search": "tpe", "space": SPACE}
        cfg = parse_config({"task": TASK, "sweep": data_sweep}, "tpe.toml")
        with pytest.raises(ConfigError) as info:
            parse_sweep(cfg, "tpe.toml")
    else:
        with pytest.raises(ConfigError) as info:
            _spec(**sweep)
    assert info.value.key == key


def test_space_and_trials_need_tpe():
    cfg = parse_config({"task": TASK, "sweep": {"grid": {"train.lr": [0.1]}, "trials": 3}},
                       "g.toml")
    with pytest.raises(ConfigError) as info:
        parse_sweep(cfg, "g.toml")
    assert info.value.key == "sweep.trials"


def test_tpe_without_optuna_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "optuna" else real(name, *a))
    with pytest.raises(ConfigError) as info:
        _spec()
    assert info.value.key == "sweep.search"
    assert "pip install 'lstm-lab[optuna]'" in info.value.message
