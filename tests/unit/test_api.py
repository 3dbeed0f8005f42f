"""The Python API: ``import lstm_tui as lab`` and its four promised names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import lstm_tui as lab
from lstm_tui.config import ConfigError
from lstm_tui.runs.tags import change_tags, parse_tag_ops
from tests.predict_runs import TASKS

TINY = {"train.steps": 12, "train.eval_every": 6, "train.log_every": 6,
        "train.batch_size": 16, "model.hidden": 8}


def test_the_package_promises_four_names_and_imports_light():
    assert lab.__all__ == ["runs", "open_run", "train", "sweep"]
    code = ("import sys, lstm_tui as lab\n"
            "assert callable(lab.open_run) and callable(lab.train)\n"
            "print(sorted(m for m in ('torch', 'pandas', 'numpy', 'textual', 'rich') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"           # touching a name loads nothing heavy
    with pytest.raises(AttributeError):
        lab.no_such_name   # noqa: B018


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two runs: a series run (tagged "keep") and a classifier."""
    folder = tmp_path_factory.mktemp("api")
    root = folder / "runs"
    series = lab.train({"task": TASKS["series"](folder)}, runs_dir=root, **TINY)
    change_tags(series.path, parse_tag_ops(["+keep"]))
    classify = lab.train({"task": TASKS["sequence_classification"](folder)}, runs_dir=root,
                         train__steps=12, train__eval_every=6, model__hidden=8)
    return root, series, classify


def test_runs_is_the_listing_as_a_dataframe_filtered_like_the_command(store):
    root, series, classify = store
    frame = lab.runs(runs_dir=root)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 2
    assert frame["path"].tolist() == [str(series.path), str(classify.path)]
    assert frame["task"].tolist() == ["series", "sequence_classification"]
    assert frame["model.hidden"].tolist() == [8, 8] and "status" in frame
    assert lab.runs(runs_dir=root, tag="keep")["path"].tolist() == [str(series.path)]
    assert lab.runs("task = sequence_classification", runs_dir=root)["path"].tolist() == \
        [str(classify.path)]
    assert lab.runs(["task.window > 100"], runs_dir=root).empty
    # lab.runs stays the function after the run store's package is imported
    import lstm_tui.runs.reader
    assert lab.runs.reader is lstm_tui.runs.reader and len(lab.runs(runs_dir=root)) == 2


def test_open_run_gives_config_summary_metrics_model_and_predict(store):
    root, series, _ = store
    run = lab.open_run("latest~1", runs_dir=root)
    assert run.path == series.path and run.status == "completed"
    assert run.config["task"]["kind"] == "series" and run.config["model"]["hidden"] == 8
    assert run.summary["test"]["mae"] > 0
    metrics = run.metrics()
    assert set(metrics["split"]) == {"train", "val"} and metrics["step"].max() == 12
    model = run.model()
    assert not model.training
    x = torch.randn(3, 12, 2)
    with torch.no_grad():
        assert torch.equal(model(x), run.trained().model(x)[0])
    csv = run.config["task"]["path"]
    doc = run.predict(csv)
    assert doc["forecast"][0]["time"] == 300 and doc["run"] == series.name
    array = np.loadtxt(csv, delimiter=",", skiprows=1, usecols=(1, 2))
    assert run.predict(array)["forecast"][0]["values"] == doc["forecast"][0]["values"]
    with pytest.raises(ConfigError, match=r"data: the array must be \(rows, 2\)"):
        run.predict(np.zeros((30, 5)))


def test_the_model_takes_what_the_exported_model_takes(store, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from lstm_tui.runs.export import export
    run = lab.open_run(store[2].path)
    export(run.trained(), "onnx", tmp_path / "m.onnx")
    x = np.random.default_rng(0).normal(size=(4, 16, 1)).astype(np.float32)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    with torch.no_grad():
        want = run.model()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(session.run(None, {"input": x})[0], want, rtol=1e-4,
                               atol=1e-5)


def test_train_takes_presets_dicts_and_overrides_and_says_what_is_wrong(tmp_path):
    run = lab.train("nth_element_lstm", runs_dir=tmp_path, **TINY, task__train_size=64,
                    task__val_size=32)
    assert run.status == "completed" and run.config["train"]["steps"] == 12
    assert run.config["task"]["train_size"] == 64
    with pytest.raises(ConfigError, match=r"--set: train.stpes: unknown key; did you mean "
                                          r"'steps'"):
        lab.train("nth_element_lstm", runs_dir=tmp_path, train__stpes=3)
    with pytest.raises(ConfigError, match="model.hidden"):
        lab.train({"model": {"hidden": 0}}, runs_dir=tmp_path)
    with pytest.raises(TypeError, match="takes a preset name or path, a dict or a RunConfig"):
        lab.train(42, runs_dir=tmp_path)
    seen = []
    again = lab.train(lab.open_run(run.path).trained().config, runs_dir=tmp_path,
                      on_event=seen.append, train__steps=6)
    assert again.config["train"]["steps"] == 6 and type(seen[-1]).__name__ == "Finished"


def test_sweep_trains_every_point_and_returns_the_results(tmp_path):
    preset = tmp_path / "s.toml"
    preset.write_text("\n".join([
        'name = "tiny-sweep"', "[task]", 'kind = "nth_element"', "train_size = 64",
        "val_size = 32", "[model]", "hidden = 4", "[train]", "steps = 4", "eval_every = 4",
        "[sweep.grid]", '"model.hidden" = [4, 6]']) + "\n")
    frame = lab.sweep(preset, runs_dir=tmp_path / "runs", train__steps=2, train__eval_every=2)
    assert len(frame) == 2 and frame["model.hidden"].tolist() == [4, 6]
    assert set(frame["status"]) == {"completed"} and frame.attrs["complete"]
    assert frame.attrs["metric"] == "accuracy"
    sweep_dir = Path(frame.attrs["sweep_dir"])
    assert (sweep_dir / "results.csv").is_file()
    points = lab.runs(runs_dir=tmp_path / "runs", sweep=sweep_dir.name)
    assert len(points) == 2 and set(points["train.steps"]) == {2}
    with pytest.raises(ConfigError, match="sweep: missing: this preset has no sweep table"):
        lab.sweep("nth_element_lstm", runs_dir=tmp_path)
    assert json.loads(json.dumps(frame.attrs))["complete"] is True
