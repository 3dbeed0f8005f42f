"""runs.predict and the tasks' predict hooks: a trained run used on new data."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from lstm_tui.config import ConfigError
from lstm_tui.runs.layout import RunError
from lstm_tui.runs.predict import PredictOptions, predict
from lstm_tui.runs.trained import open_trained
from lstm_tui.tasks import registry
from lstm_tui.tasks.series_predict import next_times
from tests.predict_runs import char_lm_task, classification_task, nth_task, series_task, train

ROLLING = PredictOptions(rolling=True)


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


# ---------------------------------------------------------------- series

@pytest.fixture(scope="module")
def series_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("series")
    task = series_task(root)
    return train(root / "runs", task), task["path"]


def test_rolling_on_the_run_s_own_test_rows_gives_its_test_block(series_run, tmp_path):
    run_dir, csv = series_run
    lines = Path(csv).read_text().splitlines()
    rows = lines[1:]
    n_test = int(round(len(rows) * 0.15))
    test = tmp_path / "test.csv"
    test.write_text("\n".join([lines[0], *rows[-n_test:]]) + "\n")
    doc = predict(open_trained(run_dir), test, ROLLING)
    rolling, expected = doc["rolling"], summary(run_dir)
    assert {k: rolling[k] for k in ("mae", "rmse", "skill")} == expected["test"]
    assert rolling["baselines"]["persistence"] == \
        expected["baselines"]["persistence"]["test"]
    assert rolling["windows"] == n_test - 12 - 2 + 1 == len(rolling["rows"])
    first = rolling["rows"][0]
    assert first["end"] == len(rows) - n_test + 11          # the hour of its last input row
    assert first["truth"]["load"] == pytest.approx(
        [float(rows[-n_test + 12].split(",")[1]), float(rows[-n_test + 13].split(",")[1])])


def test_a_forecast_is_the_model_on_the_last_window_in_original_units(series_run):
    run_dir, csv = series_run
    run = open_trained(run_dir)
    doc = predict(run, Path(csv))
    info = run.inference()
    assert doc["targets"] == ["load"] and doc["last_time"] == 299
    assert [f["step"] for f in doc["forecast"]] == [1, 2]
    assert [f["time"] for f in doc["forecast"]] == [300, 301]
    data = np.loadtxt(csv, delimiter=",", skiprows=1, usecols=(1, 2))[-12:]
    x = (data - info["feature_offset"]) / info["feature_scale"]
    with torch.no_grad():
        out = run.model(torch.tensor(x, dtype=torch.float32)[None])[0][0].numpy()
    expected = out * info["target_scale"][0] + info["target_offset"][0]
    assert [f["values"]["load"] for f in doc["forecast"]] == pytest.approx(expected, rel=1e-5)
    # an array of the feature columns gives the same forecast (no time labels)
    same = predict(run, np.loadtxt(csv, delimiter=",", skiprows=1, usecols=(1, 2)))
    assert [f["values"] for f in same["forecast"]] == [f["values"] for f in doc["forecast"]]
    assert same["forecast"][0]["time"] is None


def test_the_statistics_are_saved_and_recomputed_for_older_checkpoints(series_run, tmp_path):
    run_dir, csv = series_run
    saved = open_trained(run_dir).inference()
    assert saved["features"] == ["load", "temp"] and saved["target"] == ["load"]
    assert saved["missing"] == "error" and len(saved["feature_scale"]) == 2
    old = tmp_path / "old"
    old.mkdir()
    for name in ("config.toml", "summary.json"):
        (old / name).write_bytes((run_dir / name).read_bytes())
    payload = torch.load(run_dir / "best.pt", weights_only=True)
    torch.save({k: v for k, v in payload.items() if k != "inference"}, old / "best.pt")
    run = open_trained(old)
    assert run.inference() == saved
    assert len(run.notes) == 1 and "recomputed them from the run's data file" in run.notes[0]
    moved = Path(csv).with_name("moved.csv")
    Path(csv).rename(moved)
    try:
        assert open_trained(run_dir).inference() == saved      # saved: no data needed
        with pytest.raises(RunError, match=r"best.pt: saved without the statistics of its "
                           r"training data .*, and they cannot be recomputed: .*no such file"):
            open_trained(old).inference()
        torch.save({k: v for k, v in payload.items() if k not in ("inference", "sizes")},
                   old / "best.pt")
        with pytest.raises(RunError, match=r"config.toml: task.path: no such file"):
            open_trained(old)          # older still: even its sizes come from the data
    finally:
        moved.rename(csv)


def test_bad_series_input_is_one_line_naming_the_file_and_what_the_run_needs(series_run,
                                                                             tmp_path):
    run = open_trained(series_run[0])
    cases = {
        "hour,load\n" + "".join(f"{i},{i}\n" for i in range(30)):
            "has no column 'temp'; the run reads load, temp .columns of .*: hour, load.",
        "hour,x\n" + "".join(f"{i},{i}\n" for i in range(30)):
            "has no columns 'load', 'temp'; the run reads load, temp",
        "hour,load,temp\n" + "".join(f"{i},{i},1\n" for i in range(5)):
            "has 5 rows; a forecast needs window = 12 rows",
        "hour,load,temp\n" + "".join(f"{i},{i},{'' if i == 3 else 1}\n" for i in range(30)):
            "column 'temp' of .* has an empty or NaN cell at row 4 .*task.missing is \"error\"",
        "hour,load,temp\n" + "".join(f"{i},{i},north\n" for i in range(30)):
            "column 'temp' of .* is not numeric",
    }
    for n, (text, message) in enumerate(cases.items()):
        path = tmp_path / f"bad{n}.csv"
        path.write_text(text)
        with pytest.raises(ConfigError, match=message) as info:
            predict(run, path)
        assert "\n" not in str(info.value) and str(info.value).startswith("--input: ")
    short = tmp_path / "short.csv"
    short.write_text("hour,load,temp\n" + "".join(f"{i},{i},1\n" for i in range(13)))
    with pytest.raises(ConfigError, match="one window and its horizon need window \\+ horizon"
                       " = 14 rows"):
        predict(run, short, ROLLING)
    with pytest.raises(ConfigError, match=r"the array must be \(rows, 2\): the columns load, "
                       r"temp; got shape \(30, 3\)"):
        predict(run, np.zeros((30, 3)))


def test_next_times_follow_regular_numbers_and_dates_only():
    assert next_times(np.array([2000, 2001, 2002]), 2) == [2003, 2004]
    assert next_times(np.array([0.0, 0.5, 1.0]), 1) == [1.5]
    assert next_times(np.array([1, 2, 4]), 1) is None
    assert next_times(np.array(["2020-10", "2020-11", "2020-12"], dtype=object), 2) == \
        ["2021-01", "2021-02"]
    assert next_times(np.array(["2021-02-27", "2021-02-28", "2021-03-01"], dtype=object),
                      1) == ["2021-03-02"]
    assert next_times(np.array(["a", "b", "c"], dtype=object), 1) is None


# ---------------------------------------------------------------- classification

@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    root = tmp_path_factory.mktemp("classify")
    task = classification_task(root)
    return train(root / "runs", task), task["test_path"]


def test_the_run_s_own_test_file_gives_its_accuracy_and_confusion(classifier):
    run_dir, test_file = classifier
    doc = predict(open_trained(run_dir), Path(test_file))
    expected = summary(run_dir)
    assert doc["accuracy"] == expected["test"]["accuracy"]
    assert doc["confusion"]["matrix"] == expected["confusion"]["matrix"]
    assert doc["classes"] == ["down", "flat", "up"] and len(doc["predictions"]) == 30
    first = doc["predictions"][0]
    assert first["true"] == "up" and sum(first["probs"].values()) == pytest.approx(1)
    assert first["label"] == max(first["probs"], key=first["probs"].get)


def test_sequences_without_labels_from_a_file_an_npz_or_an_array(classifier, tmp_path):
    run_dir, test_file = classifier
    run = open_trained(run_dir)
    labelled = predict(run, Path(test_file))
    rows = [line.split("\t")[1:] for line in Path(test_file).read_text().splitlines()]
    bare = tmp_path / "bare.csv"
    bare.write_text("\n".join(",".join(r) for r in rows) + "\n")
    values = np.array(rows, dtype=float)
    np.savez(tmp_path / "x.npz", X=values)
    for data in (bare, tmp_path / "x.npz", values):
        doc = predict(run, data)
        assert doc["accuracy"] is None and "confusion" not in doc
        assert [p["label"] for p in doc["predictions"]] == \
            [p["label"] for p in labelled["predictions"]]


def test_bad_classification_input_is_one_line(classifier, tmp_path):
    run = open_trained(classifier[0])
    unknown = tmp_path / "u.tsv"
    unknown.write_text("\t".join(["sideways"] + ["0.5"] * 16) + "\n")
    wide = tmp_path / "w.tsv"
    wide.write_text("\t".join(["up"] + ["0.5"] * 20) + "\n")
    np.savez(tmp_path / "f.npz", X=np.zeros((4, 16, 2)))
    for path, message in ((unknown, "row 1 has label 'sideways', not a class of the run "
                                    r"\(down, flat, up\)"),
                          (wide, "has 21 values per row; the run takes sequences of 16 steps"),
                          (tmp_path / "f.npz", "has 2 feature.s. per step; the run was "
                                               "trained on 1")):
        with pytest.raises(ConfigError, match=message):
            predict(run, path)
    with pytest.raises(ConfigError, match="--rolling: is for series runs"):
        predict(run, unknown, ROLLING)


# ---------------------------------------------------------------- char_lm and plugins

def test_char_lm_gives_the_next_character_distribution(tmp_path):
    run_dir = train(tmp_path / "runs", char_lm_task(tmp_path))
    run = open_trained(run_dir)
    doc = predict(run, "xxabcab", PredictOptions(top=3))
    assert doc["chars"] == 5 and len(doc["next"]) == 3         # x is not in the vocabulary
    codes = [run.vocab.index(c) for c in "abcab"]
    x = torch.nn.functional.one_hot(torch.tensor(codes), len(run.vocab)).float()[None]
    with torch.no_grad():
        probs = torch.softmax(run.model(x)[0][0, -1], -1)
    best = probs.topk(3)
    assert [n["char"] for n in doc["next"]] == [run.vocab[int(i)] for i in best.indices]
    assert [n["prob"] for n in doc["next"]] == pytest.approx(best.values.tolist())
    with pytest.raises(ConfigError, match="holds no character of the run's vocabulary"):
        predict(run, "xyz")
    with pytest.raises(ConfigError, match="no such file"):
        predict(run, tmp_path / "missing.txt")


def test_a_kind_without_a_predict_hook_says_so_in_one_line(tmp_path):
    run_dir = train(tmp_path / "runs", nth_task(tmp_path))
    with pytest.raises(RunError, match="nth_element runs cannot predict: the task declares "
                       "no predict hook"):
        predict(open_trained(run_dir), np.zeros((1, 5)))
    spec = registry.get("series")
    assert replace(spec, predict=None).predictor() is None
    assert spec.predictor().__module__ == "lstm_tui.tasks.series_predict"
