"""sweep-report of a tpe or random search: the trials view in the terminal, --json and
--output figures, and range axes refused as groups (one line, exit 2)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from tests.sweep_trials_data import BEST_SO_FAR, FRONT, IMPROVED, trials_sweep

runner = CliRunner()
MAGIC = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_a_drawn_sweep_is_shown_as_trials_not_as_a_sparse_heatmap(tmp_path):
    result = invoke("sweep-report", trials_sweep(tmp_path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "6 of 6 trials in order by best accuracy" in out
    assert "best accuracy per trial (• counted, x pruned or failed) and the best so far" in out
    assert "Pareto front: 2 of 4 counted trials" in out
    assert "accuracy against params" in out
    assert "rows: " not in out and "\x1b[" not in out          # no heatmap, plain in a pipe
    marked = [int(ln.split("│")[1]) for ln in out.splitlines()
              if ln.startswith("│") and "★" in ln]
    assert marked == IMPROVED


def test_the_json_document_carries_the_trials_and_the_front(tmp_path):
    result = invoke("sweep-report", trials_sweep(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["view"] == "trials" and doc["search"] == "random"
    assert doc["objectives"] == [{"metric": "accuracy", "goal": "max"},
                                 {"metric": "params", "goal": "min"}]
    trials = doc["trials"]
    assert [t["trial"] for t in trials] == [0, 1, 2, 3, 4, 5]
    assert [t["best_so_far"] for t in trials] == BEST_SO_FAR
    assert [t["trial"] for t in trials if t["improved"]] == IMPROVED
    assert trials[2]["status"] == "pruned" and not trials[2]["counted"]
    assert trials[3]["scores"] == {"accuracy": 0.6, "params": 500} and trials[3]["pareto"]
    assert trials[1]["values"] == {"train.lr": 0.1, "model.hidden": 16}
    assert doc["best"]["trial"] == 3 and doc["best"]["value"] == 0.6
    assert doc["pareto_front"] == FRONT
    one = trials_sweep(tmp_path, metrics=False, name="sweep-one")
    doc = json.loads(invoke("sweep-report", one, "--json").stdout)
    assert doc["pareto_front"] is None and len(doc["objectives"]) == 1


def test_json_of_a_drawn_sweep_without_results_is_an_empty_trials_view(tmp_path):
    folder = trials_sweep(tmp_path, rows=[])
    doc = json.loads(invoke("sweep-report", folder, "--json").stdout)
    assert doc["view"] == "trials" and doc["trials"] == [] and doc["best"] is None


@pytest.mark.parametrize("ext", ["png", "svg", "pdf", "html"])
def test_figures_of_the_trials_and_the_front(tmp_path, ext):
    pytest.importorskip("matplotlib" if ext != "html" else "plotly")
    target = tmp_path / f"trials.{ext}"
    result = invoke("sweep-report", trials_sweep(tmp_path), "--output", target)
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    if ext == "html":
        page = data.decode()
        assert "best accuracy per trial, and the best so far" in page
        assert "Pareto front" in page and "<script src" not in page
        assert '"type": "surface"' not in page
    else:
        assert data.startswith(MAGIC[ext])
        if ext == "svg":
            assert "best so far" in data.decode() and "Pareto front" in data.decode()


@pytest.mark.parametrize("args, option", [
    (["--x", "hidden", "--y", "lr"], "--y"), (["--x", "lr", "--y", "hidden"], "--x"),
    (["--x", "hidden", "--by", "lr"], "--by"), (["--epochs", "lr"], "--epochs"),
])
def test_an_axis_drawn_from_a_range_cannot_group_trials(tmp_path, args, option):
    result = invoke("sweep-report", trials_sweep(tmp_path), *args)
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith(f"error: {option}: train.lr: is drawn from "
                                                "a range")
    assert "Traceback" not in result.output


def test_the_grid_views_still_work_along_a_searched_key(tmp_path):
    folder = trials_sweep(tmp_path)
    result = invoke("sweep-report", folder, "--x", "lr", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["view"] == "lines"
    result = invoke("sweep-report", folder, "--x", "lr", "--by", "hidden", "--json")
    assert result.exit_code == 0
    assert [ln["label"] for ln in json.loads(result.stdout)["lines"]["lines"]] == \
        ["hidden=4", "hidden=8", "hidden=16"]


def test_a_tpe_sweep_folder_reads_the_same(tmp_path):
    pytest.importorskip("optuna")
    doc = json.loads(invoke("sweep-report", trials_sweep(tmp_path, search="tpe"),
                            "--json").stdout)
    assert doc["search"] == "tpe" and doc["view"] == "trials"
    assert [t["best_so_far"] for t in doc["trials"]] == BEST_SO_FAR


def test_reading_a_tpe_sweep_needs_no_optuna(tmp_path, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "optuna" else real(name, *a))
    result = invoke("sweep-report", trials_sweep(tmp_path, search="tpe"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["search"] == "tpe"


@pytest.mark.slow
def test_a_real_random_search_reports_its_trials(tmp_path):
    from lstm_tui.config import parse_config
    from lstm_tui.sweeps import objectives as ob
    from lstm_tui.sweeps.runner import run_points
    from lstm_tui.sweeps.spec import parse_sweep
    data = {"name": "rnd", "task": {"kind": "nth_element", "seq_len": 4, "features": 5,
                                    "n": 1, "train_size": 64, "val_size": 32},
            "model": {"hidden": 4},
            "train": {"steps": 6, "eval_every": 3, "log_every": 3, "batch_size": 16},
            "sweep": {"search": "random", "trials": 4, "metrics": ["accuracy", "params"],
                      "space": {"train.lr": {"low": 1e-3, "high": 0.3, "log": True},
                                "model.hidden": [4, 8]}}}
    cfg = parse_config(data, "rnd.toml")
    result = run_points("rnd.toml", cfg, parse_sweep(cfg, "rnd.toml"), tmp_path)
    doc = json.loads(invoke("sweep-report", result.sweep_dir, "--json").stdout)
    assert doc["view"] == "trials" and [t["trial"] for t in doc["trials"]] == [0, 1, 2, 3]
    assert [t["best_so_far"] for t in doc["trials"]] == \
        ob.best_so_far(result.rows, "accuracy", "max")
    front = ob.pareto_front(result.rows, [("accuracy", "max"), ("params", "min")])
    assert doc["pareto_front"] == [r["point"] for r in front]
