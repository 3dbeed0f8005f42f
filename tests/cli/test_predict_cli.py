"""`lstm-lab predict`: tables, --json, --output CSV, --rolling, and bad input as one line."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from tests.predict_runs import TASKS, train

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One tiny run of each kind that predicts (and nth_element, which does not)."""
    folder = tmp_path_factory.mktemp("predict")
    root = folder / "runs"
    tasks = {kind: make(folder) for kind, make in TASKS.items()}
    runs = {kind: train(root, task) for kind, task in tasks.items()}
    return root, tasks, runs


def call(store, *args: str):
    root = store[0]
    return runner.invoke(app, ["predict", *args, "--runs-dir", str(root)])


def test_series_prints_the_forecast_and_writes_json_and_csv(store, tmp_path):
    _, tasks, runs = store
    name, data = runs["series"].name, tasks["series"]["path"]
    shown = call(store, name, "--input", data)
    assert shown.exit_code == 0, shown.output
    assert "forecast after 299" in shown.output and "300" in shown.output
    result = call(store, name, "--input", data, "--json")
    doc = json.loads(result.stdout)
    assert doc["run"] == name and doc["task"] == "series" and doc["targets"] == ["load"]
    assert [f["step"] for f in doc["forecast"]] == [1, 2]
    assert [f["time"] for f in doc["forecast"]] == [300, 301]
    assert set(doc["forecast"][0]["values"]) == {"load"}
    out = tmp_path / "f.csv"
    rolled = call(store, name, "--input", data, "--rolling", "--json", "--output", str(out))
    doc = json.loads(rolled.stdout)                    # the csv line went to stderr
    rolling = doc["rolling"]
    assert rolling["windows"] == 300 - 12 - 2 + 1 == len(rolling["rows"])
    assert set(rolling) >= {"mae", "rmse", "skill", "baselines", "rows"}
    assert set(rolling["baselines"]) == {"persistence", "mean", "seasonal"}
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["window", "end", "step", "target", "forecast", "truth"]
    assert len(rows) == 1 + rolling["windows"] * 2
    assert float(rows[1][4]) == pytest.approx(rolling["rows"][0]["forecast"]["load"][0])
    again = call(store, name, "--input", data, "--output", str(out))
    assert again.exit_code == 2 and "exists; pass --force" in again.output


def test_classification_and_char_lm_documents(store, tmp_path):
    _, tasks, runs = store
    test_file = tasks["sequence_classification"]["test_path"]
    result = call(store, runs["sequence_classification"].name, "--input", test_file, "--json")
    doc = json.loads(result.stdout)
    summary = json.loads((runs["sequence_classification"] / "summary.json").read_text())
    assert doc["accuracy"] == summary["test"]["accuracy"]
    assert doc["confusion"]["matrix"] == summary["confusion"]["matrix"]
    assert set(doc["predictions"][0]) == {"index", "label", "probs", "true"}
    shown = call(store, runs["sequence_classification"].name, "--input", test_file)
    assert "accuracy" in shown.output and "rows true, columns predicted" in shown.output
    text = tmp_path / "prime.txt"
    text.write_text("abcab")
    result = call(store, runs["char_lm"].name, "--input", str(text), "--json", "--top", "2")
    doc = json.loads(result.stdout)
    assert [set(n) for n in doc["next"]] == [{"char", "prob"}] * 2
    assert doc["next"][0]["prob"] >= doc["next"][1]["prob"]


@pytest.mark.parametrize("case", ["columns", "rows", "label", "width", "no-checkpoint",
                                  "no-hook", "rolling", "output", "missing-file"])
def test_bad_input_is_one_line_and_exit_2(store, tmp_path, case):
    root, tasks, runs = store
    bad = tmp_path / "bad.csv"
    if case == "columns":
        bad.write_text("hour,load\n" + "".join(f"{i},{i}\n" for i in range(30)))
        args, message = [runs["series"].name, "--input", str(bad)], "has no column 'temp'"
    elif case == "rows":
        bad.write_text("hour,load,temp\n1,2,3\n")
        args, message = [runs["series"].name, "--input", str(bad)], "has 1 rows; a forecast"
    elif case == "label":
        bad = tmp_path / "bad.tsv"
        bad.write_text("\t".join(["sideways"] + ["1"] * 16) + "\n")
        args = [runs["sequence_classification"].name, "--input", str(bad)]
        message = "row 1 has label 'sideways', not a class of the run"
    elif case == "width":
        bad.write_text(",".join(["1"] * 5) + "\n")
        args = [runs["sequence_classification"].name, "--input", str(bad)]
        message = "has 5 values per row; the run takes sequences of 16 steps"
    elif case == "no-checkpoint":
        empty = root / "empty-run"
        empty.mkdir(exist_ok=True)
        (empty / "config.toml").write_bytes((runs["series"] / "config.toml").read_bytes())
        args, message = [str(empty), "--input", str(bad)], "no checkpoint yet"
    elif case == "no-hook":
        args, message = [runs["nth_element"].name, "--input", str(bad)], \
            "nth_element runs cannot predict"
    elif case == "rolling":
        args = [runs["char_lm"].name, "--input", tasks["char_lm"]["text"], "--rolling"]
        message = "--rolling: is for series runs"
    elif case == "output":
        args = [runs["series"].name, "--input", tasks["series"]["path"], "--output",
                str(tmp_path / "x.txt")]
        message = "must end in .csv"
    else:
        args, message = [runs["series"].name, "--input", str(tmp_path / "nope.csv")], \
            "no such file"
    result = call(store, *args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert "Traceback" not in result.output


def test_the_installed_command_predicts(store):
    """A real process: the entry point knows the sub-command."""
    root, tasks, runs = store
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-m", "lstm_tui", "predict", runs["series"].name,
                           "--input", tasks["series"]["path"], "--json", "--runs-dir",
                           str(root)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["forecast"][0]["time"] == 300
