"""Bad input of the issue-10 sweep keys and options: one line naming the key, exit 2."""

from __future__ import annotations

import pytest

from tests.cli.test_sweep_cli import _bad, _invoke, _preset

GRID = 'grid = { "train.lr" = [0.1, 0.01] }\n'
TPE = 'search = "tpe"\ntrials = 3\nspace = { "train.lr" = { low = 1e-4, high = 0.1, log = true } }\n'


@pytest.mark.parametrize("sweep,fragment", [
    (GRID + 'scheduler = "ahsa"', "sweep.scheduler: must be one of none, asha, median, got "
                                  "'ahsa' (did you mean 'asha'?)"),
    (GRID + 'scheduler = "asha"\ngrace = 0', "sweep.grace: must be an integer >= 1"),
    (GRID + 'scheduler = "asha"\nreduction = 1', "sweep.reduction: must be an integer >= 2"),
    (GRID + 'search = "bayes"', "sweep.search: must be one of grid, random, tpe"),
    (GRID + "trials = 3", "sweep.trials: is only used with search"),
    (TPE.replace("trials = 3", "trials = 0"), "sweep.trials: must be an integer >= 1"),
    (TPE.replace("train.lr", "train.lrr"), "sweep.space.train.lrr: unknown key"),
    (TPE.replace("{ low = 1e-4, high = 0.1, log = true }", '["fast"]'),
     "sweep.space.train.lr: must be a number"),
])
def test_bad_scheduler_and_search_input(tmp_path, sweep, fragment):
    pytest.importorskip("optuna")
    path = _preset(tmp_path, sweep)
    _bad(_invoke("sweep", path, "--runs-dir", tmp_path / "runs"), fragment)
    assert not (tmp_path / "runs").exists()
    _bad(_invoke("check", path), fragment)


def test_bad_devices(tmp_path, monkeypatch):
    from lstm_tui.training import placement
    monkeypatch.setattr(placement, "gpu_count", lambda: 2)
    path = _preset(tmp_path, GRID)
    runs = tmp_path / "runs"
    _bad(_invoke("sweep", path, "--devices", "0,2", "--backend", "processes", "--runs-dir",
                 runs), "--devices: devices: GPU 2 was asked for but torch sees 2")
    _bad(_invoke("sweep", path, "--devices", "0", "--runs-dir", runs),
         "is an option of --backend processes or ensemble")
    _bad(_invoke("sweep", path, "--devices", "0;1", "--backend", "ensemble", "--runs-dir", runs),
         "must be GPU indices separated by commas")
    assert not runs.exists()


def test_a_pruned_point_is_shown_as_pruned(tmp_path):
    path = _preset(tmp_path, 'grid = { "train.lr" = [0.0001, 0.001, 0.03, 0.1, 0.3, 0.00003] }'
                   '\nscheduler = "asha"\nreduction = 2')
    path.write_text(path.read_text().replace("eval_every = 5", "eval_every = 2"))
    result = _invoke("sweep", path, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    assert "pruned" in result.output and "failed" not in result.output
    listing = _invoke("runs", "--runs-dir", tmp_path / "runs", "--status", "pruned")
    assert listing.exit_code == 0 and "pruned" in listing.output
