"""`lstm-lab verify`: presets judged against their [expect]; --quick is the CI gate."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from lstm_tui.config import read_toml
from lstm_tui.presets import preset_files

runner = CliRunner()


def test_every_shipped_preset_has_expectations_that_check():
    from lstm_tui.expect.verify import plan
    for path in preset_files():
        assert read_toml(path).get("expect"), f"{path.name} has no [expect]"
    planned, skipped = plan(preset_files(), quick=False, named=False)
    assert not skipped and len(planned) == len(preset_files())    # sweeps checked too


@pytest.mark.slow
def test_verify_quick_passes_on_the_shipped_presets(tmp_path):
    """The CI gate: a change that breaks what a seed experiment shows fails here."""
    result = runner.invoke(app, ["verify", "--quick", "--json"], catch_exceptions=False)
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    missed = [r for r in rows if r["verdict"] != "met"]
    assert result.exit_code == 0 and rows and not missed, result.output
    quick = {p.stem for p in preset_files() if "quick" in read_toml(p)}
    assert {r["preset"] for r in rows} == quick


@pytest.mark.slow
def test_a_broken_engine_misses_its_expectations(monkeypatch):
    """The optimizer step patched away: nothing learns, and verify says so (exit 3)."""
    from lstm_tui.training import engine
    real = engine.build_optimizer

    def no_step(params, cfg):
        optimizer = real(params, cfg)
        optimizer.step = lambda *args, **kwargs: None
        return optimizer
    monkeypatch.setattr(engine, "build_optimizer", no_step)
    monkeypatch.setattr(engine.flat.FlatOptimizer, "step", lambda self: None)   # its CPU path
    result = runner.invoke(app, ["verify", "--quick", "nth_element_lstm",
                                 "weighted_sum_simple_lstm", "--json"], catch_exceptions=False)
    assert result.exit_code == 3, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [(r["preset"], r["expectation"], r["verdict"]) for r in rows] == [
        ("nth_element_lstm", "val.accuracy", "missed"),
        ("weighted_sum_simple_lstm", "val.mad", "missed")]


def test_verify_table_and_kept_runs(tmp_path):
    preset = tmp_path / "tiny.toml"
    preset.write_text('[task]\nkind = "nth_element"\ntrain_size = 200\nval_size = 50\n'
                      '[train]\nepochs = 1\n[expect]\n"val.accuracy" = { min = 0.0 }\n'
                      '"val.loss" = { max = 0.0001 }\n')
    result = runner.invoke(app, ["verify", str(preset), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 3, result.output
    text = " ".join(result.stdout.split())
    for word in ("preset", "expectation", "observed", "band", "seconds", "met", "missed",
                 ">= 0", "<= 0.0001"):
        assert word in text
    assert len(list((tmp_path / "runs").iterdir())) == 1


@pytest.mark.parametrize("body,fragment", [
    ('[quick]\nset = ["train.nope=1"]\n', "train.nope: unknown key"),
    ('[quick]\nsets = []\n', "quick.sets: unknown key"),
    ('[quick.expect]\n"val.acc" = { min = 1 }\n', "expect.val.acc"),
    ('', "expect: the preset has no expectations"),
])
def test_bad_quick_tables_exit_2_before_training(tmp_path, body, fragment):
    preset = tmp_path / "p.toml"
    expect = '[expect]\n"val.accuracy" = { min = 0.5 }\n' if body else ""
    preset.write_text('[train]\nepochs = 1\n' + expect + body)
    result = runner.invoke(app, ["verify", "--quick", str(preset)])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert fragment in line and "p.toml" in line


def test_verify_judges_a_sweep_preset_over_its_table(tmp_path):
    preset = tmp_path / "s.toml"
    preset.write_text('[task]\nkind = "nth_element"\ntrain_size = 64\nval_size = 32\n'
                      '[train]\nepochs = 1\n[sweep]\nseeds = 1\n[sweep.grid]\n'
                      '"model.hidden" = [4, 8]\n[expect]\n"best_accuracy" = { min = 0.0 }\n')
    result = runner.invoke(app, ["verify", str(preset), "--json"])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert row["preset"] == "s" and row["expectation"] == "best_accuracy" and row["verdict"] == "met"
    quick = runner.invoke(app, ["verify", "--quick", str(preset)])
    assert quick.exit_code == 3 and "a sweep: not in --quick" in quick.stderr
    bad = runner.invoke(app, ["verify", str(preset), "--backend", "ray"])
    assert bad.exit_code == 2 and "--backend" in bad.stderr


def test_the_verify_table_shows_a_filtered_expectation_whole(tmp_path):
    # rich would read "[hidden=4]" as markup and print "best_accuracy" alone
    preset = tmp_path / "s.toml"
    preset.write_text('[task]\nkind = "nth_element"\ntrain_size = 64\nval_size = 32\n'
                      '[train]\nepochs = 1\n[sweep]\nseeds = 1\n[sweep.grid]\n'
                      '"model.hidden" = [4, 8]\n[expect]\n'
                      '"best_accuracy[hidden=4]" = { min = 0.0 }\n')
    result = runner.invoke(app, ["verify", str(preset), "--runs-dir", str(tmp_path / "runs")],
                           env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "best_accuracy[hidden=4]" in result.stdout
