"""`lstm-lab sweep` with search = "tpe": parallel trials and several objectives from the
command line, and the backends it refuses (one line, exit 2)."""

from __future__ import annotations

import pytest

from tests.cli.test_sweep_cli import _bad, _invoke, _preset

TPE = ('search = "tpe"\ntrials = 3\n'
       'space = { "train.lr" = { low = 1e-3, high = 0.1, log = true }, "model.hidden" = [4, 8] }\n')


@pytest.mark.parametrize("args", [("--backend", "ensemble"),
                                  ("--backend", "ensemble", "--workers", "2")])
def test_tpe_refuses_the_ensemble_backend(tmp_path, args):
    pytest.importorskip("optuna")
    path = _preset(tmp_path, TPE)
    _bad(_invoke("sweep", path, "--runs-dir", tmp_path / "runs", *args),
         '--backend: backend: search = "tpe" draws its trials one by one')
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_parallel_multi_objective_tpe_from_the_command_line(tmp_path):
    pytest.importorskip("optuna")
    path = _preset(tmp_path, TPE + 'metrics = ["accuracy", "params"]\n')
    result = _invoke("sweep", path, "--runs-dir", tmp_path / "runs", "--backend", "processes",
                     "--workers", "2")
    assert result.exit_code == 0, result.output
    from lstm_tui.runs.reader import list_runs
    assert len(list_runs(tmp_path / "runs")) == 3


def test_check_json_counts_a_tpe_sweeps_trials_and_its_objectives():
    import json
    from typer.testing import CliRunner
    from lstm_tui.cli.main import app
    result = CliRunner().invoke(app, ["check", "sweep_nth_cells_tpe", "--json"])
    assert result.exit_code == 0, result.output
    sweep = json.loads(result.output)["sweep"]
    assert sweep["points"] == 24 and sweep["search"] == "tpe"
    assert sweep["objectives"] == [{"metric": "accuracy", "goal": "max"},
                                   {"metric": "params", "goal": "min"}]
