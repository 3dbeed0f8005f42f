"""[expect] in presets: the grammar, its checks before training, and the verdicts."""

from __future__ import annotations

import json
import tomllib

import pytest
from typer.testing import CliRunner

from lstm_tui.expect import run as expect
from lstm_tui.expect import verdicts
from lstm_tui.cli.main import app
from lstm_tui.config import ConfigError, parse_config, read_toml, to_toml
from tests.conftest import BAD_PRESETS, PRESETS

runner = CliRunner()
TINY = ["--set", "task.train_size=320",
        "--set", "task.val_size=64", "--set", "train.log_every=5"]


def cfg_with(expect_table, **train):
    data = {"task": {"kind": "nth_element"}, "train": {"epochs": 4, **train},
            "expect": expect_table}
    return parse_config(data, "p.toml", expect_length=True)


@pytest.mark.parametrize("table,key,fragment", [
    ({"val.acc": {"min": 1}}, "expect.val.acc", "no val metric 'acc'"),
    ({"vall.accuracy": {"min": 1}}, "expect.vall.accuracy", "did you mean 'val'"),
    ({"val.accuracy": {"min": "x"}}, "expect.val.accuracy.min", "finite number"),
    ({"val.accuracy": {"mni": 1}}, "expect.val.accuracy.mni", "unknown bound"),
    ({"val.accuracy": 0.9}, "expect.val.accuracy", "min = NUMBER"),
    ({"val.accuracy": {"min": 0.9, "max": 0.1}}, "expect.val.accuracy", "above max"),
    ({"val.accuracy@epoch5": {"min": 0.5}}, "expect.val.accuracy@epoch5", "past the run"),
    ({"test.accuracy@epoch1": {"min": 0.5}}, "expect.test.accuracy@epoch1", "val figures only"),
    ({"test.mae": {"max": 1}}, "expect.test.mae", "records no such figure"),
    ({"a / b / c": {"max": 1}}, "expect.a / b / c", "ratio"),
])
def test_bad_expectations_name_the_key(table, key, fragment):
    with pytest.raises(ConfigError) as info:
        cfg_with(table)
    assert info.value.key == key and fragment in info.value.message, str(info.value)


def test_step_past_the_run_and_sweep_expectations_left_to_the_sweep(tmp_path):
    with pytest.raises(ConfigError, match="step 500 is past the run"):
        cfg_with({"val.loss@step500": {"max": 1}}, steps=100)
    # a --set that shortens the preset's run keeps the expectation (then not recorded)
    from lstm_tui.config import load_preset
    preset = tmp_path / "p.toml"
    preset.write_text('[train]\nsteps = 600\n[expect]\n"val.loss@step500" = { max = 1 }\n')
    assert load_preset(preset, ["train.steps=10"]).expect == {"val.loss@step500": {"max": 1}}
    cfg = parse_config({"expect": {"anything goes": 1}, "sweep": {"seeds": 2}})
    assert cfg.expect == {"anything goes": 1}


def test_series_figures_and_ratios_parse():
    data = read_toml(PRESETS / "series_sunspots.toml")
    data["expect"] = {"test.mae / baselines.persistence.test.mae": {"max": 0.8},
                      "val.mae@epoch3": {"max": 100}}
    cfg = parse_config(data, "s.toml")
    (ratio, by_epoch) = expect.parse(cfg.expect)
    assert ratio.den.path == ("baselines", "persistence", "test", "mae")
    assert by_epoch.num.unit == "epoch" and by_epoch.num.n == 3


def test_config_round_trips_its_expectations():
    cfg = cfg_with({"val.accuracy@epoch2": {"min": 0.5}, "val.loss": {"max": 3.0}})
    again = parse_config(tomllib.loads(to_toml(cfg)), "again")
    assert again.expect == cfg.expect


def test_verdicts_best_by_goal_by_epoch_and_ratio():
    records = [{"epoch": 1, "step": 10, "accuracy": 0.4, "loss": 2.0},
               {"epoch": 2, "step": 20, "accuracy": 0.9, "loss": 1.0},
               {"epoch": 3, "step": 30, "accuracy": 0.7, "loss": 1.5}]
    found = expect.parse({"val.accuracy": {"min": 0.85}, "val.accuracy@epoch1": {"min": 0.5},
                          "val.loss@step20": {"max": 1.0}, "val.loss / val.accuracy":
                          {"max": 1.2}, "test.mae": {"max": 1}})
    got = {v["key"]: v for v in expect.verdicts(found, records, {}, "nth_element")}
    assert got["val.accuracy"]["observed"] == 0.9 and got["val.accuracy"]["met"]
    assert got["val.accuracy@epoch1"]["observed"] == 0.4 and not got["val.accuracy@epoch1"]["met"]
    assert got["val.loss@step20"]["observed"] == 1.0 and got["val.loss@step20"]["met"]
    assert got["val.loss / val.accuracy"]["observed"] == pytest.approx(1.0 / 0.9)
    assert got["test.mae"]["observed"] is None and not got["test.mae"]["met"]


def test_summary_verdicts_read_tolerantly():
    summary = {"expectations": [
        {"key": "val.accuracy", "observed": 0.5, "min": 0.9, "max": None, "met": False},
        {"key": "x", "met": "yes"}, "junk", {"key": "y", "met": True, "min": "a"}]}
    assert [v["key"] for v in verdicts.read_verdicts(summary)] == ["val.accuracy"]
    ((label, text),) = verdicts.verdict_rows(summary)
    assert label == "expect val.accuracy" and "MISSED" in text and ">= 0.9" in text
    assert verdicts.read_verdicts({"expectations": 3}) == []


@pytest.mark.parametrize("preset", sorted(p.name for p in BAD_PRESETS.glob("expect_*.toml")))
def test_bad_expectations_exit_2_before_training(preset, runs_dir):
    result = runner.invoke(app, ["headless", str(BAD_PRESETS / preset)])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert preset in line and "expect." in line
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_run_records_verdicts_shows_them_and_strict_exits_3(runs_dir, tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text('[task]\nkind = "nth_element"\n[train]\nepochs = 2\n\n[expect]\n'
                      '"val.accuracy" = { min = 0.0 }\n"val.loss@epoch1" = { max = 0.001 }\n')
    result = runner.invoke(app, ["headless", str(preset), *TINY])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "expect val.accuracy" in text and "met" in text and "MISSED" in text
    (run_dir,) = list(runs_dir.iterdir())
    verdicts = json.loads((run_dir / "summary.json").read_text())["expectations"]
    assert [(v["key"], v["met"]) for v in verdicts] == [("val.accuracy", True),
                                                       ("val.loss@epoch1", False)]
    assert "expect" in tomllib.loads((run_dir / "config.toml").read_text())
    strict = runner.invoke(app, ["headless", str(preset), *TINY, "--strict"])
    assert strict.exit_code == 3 and "val.loss@epoch1" in strict.stderr
