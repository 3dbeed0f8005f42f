"""A sweep preset's [expect]: cells' means over seeds and orderings, checked before training."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from lstm_tui.config import ConfigError, parse_config
from lstm_tui.expect import sweep as expect
from lstm_tui.sweeps.runner import columns_for
from lstm_tui.sweeps.spec import parse_sweep

SWEEP = {"task": {"kind": "nth_element", "train_size": 100, "val_size": 50},
         "train": {"epochs": 1},
         "sweep": {"seeds": 2, "grid": {"task.seq_len": [5, 12], "model.cell": ["rnn", "lstm"]}}}


def spec_and_columns():
    cfg = parse_config(SWEEP, "s.toml")
    spec = parse_sweep(cfg, "s.toml")
    return spec, columns_for(spec)


@pytest.mark.parametrize("key,fragment", [
    ("best_acc", "did you mean 'best_accuracy'"),
    ("best_accuracy[hidden=3]", "swept axis"),
    ("best_accuracy[seq_len=7]", "takes 5, 12"),
    ("best_accuracy[seq_len=5] - best_accuracy[seq_len=12]", "pin every swept axis"),
    ("a - b - c", "difference of two"),
    ("max(max(best_accuracy))", "one max/min/mean"),
    ("top(best_accuracy)", "is not column"),
    ("max(best_acc)", "did you mean 'best_accuracy'"),
])
def test_bad_sweep_expectations_name_the_key(key, fragment):
    spec, columns = spec_and_columns()
    with pytest.raises(ConfigError) as info:
        expect.check(spec, columns, {key: {"min": 0}}, "s.toml")
    assert info.value.key == f"expect.{key}" and fragment in info.value.message, str(info.value)


def rows():
    out = []
    for seq_len, cell, accs in [(5, "rnn", (0.9, 1.0)), (5, "lstm", (1.0, 1.0)),
                                (12, "rnn", (0.1, 0.2)), (12, "lstm", (0.6, 0.8))]:
        for seed, acc in enumerate(accs):
            out.append({"task.seq_len": seq_len, "model.cell": cell, "seed": seed,
                        "status": "completed", "best_accuracy": acc})
    out.append({"task.seq_len": 12, "model.cell": "lstm", "seed": 9, "status": "failed",
                "best_accuracy": 0.0})
    return out


def test_cells_every_and_orderings():
    spec, columns = spec_and_columns()
    found = expect.check(spec, columns, {
        "best_accuracy[seq_len=5]": {"min": 0.9},
        "best_accuracy[seq_len=12]": {"max": 0.5},
        "best_accuracy[model.cell=lstm, seq_len=12] - best_accuracy[cell=rnn, seq_len=12]":
            {"min": 0.4}}, "s.toml")
    got = {v["key"]: v for v in expect.verdicts(found, rows(), spec.axes)}
    every5, every12, order = got.values()
    assert every5["met"] and every5["observed"] == pytest.approx(0.95)   # the rnn cell
    assert not every12["met"] and every12["observed"] == pytest.approx(0.7)   # lstm, failed out
    assert order["met"] and order["observed"] == pytest.approx(0.55)


def test_sweep_command_judges_and_saves(tmp_path):
    preset = tmp_path / "s.toml"
    preset.write_text('[task]\nkind = "nth_element"\ntrain_size = 64\nval_size = 32\n'
                      '[train]\nepochs = 1\n[sweep]\nseeds = 1\n[sweep.grid]\n'
                      '"model.hidden" = [4, 8]\n[expect]\n"best_accuracy" = { min = 0.0 }\n'
                      '"best_accuracy[hidden=4]" = { min = 2.0 }\n')
    result = CliRunner().invoke(app, ["sweep", str(preset), "--runs-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "expect best_accuracy:" in text and "met" in text and "MISSED" in text
    (folder,) = (tmp_path / "r").iterdir()
    saved = json.loads((folder / "expectations.json").read_text())["expectations"]
    assert [v["met"] for v in saved] == [True, False]
    # the report shows them (and its JSON carries them); --strict turns the miss into exit 3
    report = CliRunner().invoke(app, ["sweep-report", str(folder)])
    assert report.exit_code == 0, report.output
    lines = [" ".join(line.split()) for line in report.stdout.splitlines()]
    assert "expect best_accuracy: " in "\n".join(lines)
    missed = next(line for line in lines if line.startswith("expect best_accuracy[hidden=4]"))
    assert missed.endswith("(band >= 2) MISSED"), missed
    observed = float(missed.split(": ")[1].split()[0])
    assert observed == pytest.approx(saved[1]["observed"], rel=1e-3) and observed <= 1
    doc = json.loads(CliRunner().invoke(app, ["sweep-report", str(folder), "--json"]).stdout)
    assert doc["expectations"] == saved
    strict = CliRunner().invoke(app, ["sweep", str(preset), "--strict", "--runs-dir",
                                      str(tmp_path / "r")])     # resumes: nothing to train
    assert strict.exit_code == 3, strict.output
    assert "missed expectations (--strict): best_accuracy[hidden=4]" in strict.stderr
    assert "MISSED" in strict.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(preset.read_text().replace("hidden=4", "hidden=5"))
    result = CliRunner().invoke(app, ["sweep", str(bad), "--runs-dir", str(tmp_path / "r2")])
    assert result.exit_code == 2 and "expect.best_accuracy[hidden=5]" in result.stderr
    assert not (tmp_path / "r2").exists() or not any((tmp_path / "r2").iterdir())


def test_strict_sweep_that_meets_its_expectations_exits_0(tmp_path):
    preset = tmp_path / "s.toml"
    preset.write_text('[task]\nkind = "nth_element"\ntrain_size = 64\nval_size = 32\n'
                      '[train]\nsteps = 4\n[sweep]\nseeds = 1\n[sweep.grid]\n'
                      '"model.hidden" = [4]\n[expect]\n"best_accuracy" = { min = 0.0 }\n')
    result = CliRunner().invoke(app, ["sweep", str(preset), "--strict", "--runs-dir",
                                      str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "r").iterdir()
    assert expect.load(folder)[0]["met"] is True
    plain = CliRunner().invoke(app, ["sweep-report", str(folder)])
    assert "expect best_accuracy:" in " ".join(plain.stdout.split())


def test_saved_verdicts_are_read_tolerantly(tmp_path):
    assert expect.load(tmp_path) == []                          # none saved
    (tmp_path / expect.FILE).write_text("{not json")
    assert expect.load(tmp_path) == []
    (tmp_path / expect.FILE).write_text(json.dumps({"expectations": [
        {"key": "a", "observed": 1.0, "min": 0.5, "max": None, "met": True},
        {"key": 3, "met": True}, "junk"]}))
    assert expect.load(tmp_path) == [{"key": "a", "met": True, "observed": 1.0, "min": 0.5,
                                      "max": None}]


def test_expectations_do_not_change_the_sweep_folder():
    spec, _ = spec_and_columns()
    banded = parse_sweep(parse_config({**SWEEP, "expect": {"best_accuracy": {"min": 0}}},
                                      "s.toml"), "s.toml")
    assert banded.fingerprint() == spec.fingerprint()


# ---- folds: max(...), min(...), mean(...) over the cells a term selects

ROWS = [  # two seeds per cell; a failed point is left out
    {"task.seq_len": 5, "model.cell": "rnn", "status": "completed", "best_accuracy": 0.8},
    {"task.seq_len": 5, "model.cell": "rnn", "status": "completed", "best_accuracy": 0.6},
    {"task.seq_len": 5, "model.cell": "lstm", "status": "completed", "best_accuracy": 1.0},
    {"task.seq_len": 12, "model.cell": "rnn", "status": "completed", "best_accuracy": 0.2},
    {"task.seq_len": 12, "model.cell": "lstm", "status": "completed", "best_accuracy": 0.5},
    {"task.seq_len": 12, "model.cell": "lstm", "status": "failed", "best_accuracy": 0.99},
]
AXES = ["task.seq_len", "model.cell"]


@pytest.mark.parametrize("key, observed", [
    ("max(best_accuracy)", 1.0),
    ("min(best_accuracy)", 0.2),
    ("mean(best_accuracy[cell=rnn])", 0.45),            # cells 0.7 and 0.2
    ("max(best_accuracy[cell=lstm]) - max(best_accuracy[cell=rnn])", 0.3),
    ("max(best_accuracy[seq_len=12]) - best_accuracy[seq_len=5, cell=rnn]", -0.2),
])
def test_folds_make_one_figure_of_the_cells_a_term_selects(key, observed):
    spec, columns = spec_and_columns()
    found = expect.check(spec, columns, {key: {"min": 0}}, "s.toml")
    [verdict] = expect.verdicts(found, ROWS, AXES)
    assert verdict["observed"] == pytest.approx(observed)
    assert verdict["met"] is (observed >= 0)




def test_a_drawn_search_is_judged_by_folds_and_pins_only_its_listed_keys():
    cfg = parse_config({**SWEEP, "sweep": {"search": "random", "trials": 3, "space": {
        "train.lr": {"low": 0.001, "high": 0.1}, "model.cell": ["rnn", "lstm"]}}}, "s.toml")
    spec = parse_sweep(cfg, "s.toml")
    columns = columns_for(spec)
    found = expect.check(spec, columns, {"max(best_accuracy[cell=lstm])": {"min": 0.9}},
                         "s.toml")
    rows = [{"train.lr": lr, "model.cell": cell, "status": "completed", "best_accuracy": acc}
            for lr, cell, acc in ((0.01, "lstm", 0.95), (0.02, "lstm", 0.5),
                                  (0.03, "rnn", 0.99))]
    [verdict] = expect.verdicts(found, rows, spec.axes)
    assert verdict["observed"] == pytest.approx(0.95) and verdict["met"]
    with pytest.raises(ConfigError) as info:       # random: its draws are known up front
        expect.check(spec, columns, {"max(best_accuracy[lr=0.01])": {"min": 0}}, "s.toml")
    assert "train.lr takes" in info.value.message
    pytest.importorskip("optuna")
    tpe = parse_sweep(parse_config({**SWEEP, "sweep": {**cfg.sweep, "search": "tpe"}},
                                   "s.toml"), "s.toml")
    assert expect.check(tpe, columns_for(tpe), {"max(best_accuracy[cell=rnn])": {"min": 0}},
                        "s.toml")
    with pytest.raises(ConfigError) as info:       # tpe: drawn as it goes, nothing to pin
        expect.check(tpe, columns_for(tpe), {"max(best_accuracy[lr=0.01])": {"min": 0}},
                     "s.toml")
    assert "drawn from a range" in info.value.message
