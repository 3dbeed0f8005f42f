"""kind = "series": reading, splits, normalization, baselines, and every bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from lstm_tui.config import ConfigError, parse_config
from lstm_tui.tasks import build_task, describe_task
from lstm_tui.tasks.series import SeriesTask, baselines, prepare

runner = CliRunner()


def write_csv(path, rows: int = 300, sep: str = ",", extra: str = "") -> str:
    t = np.arange(rows)
    load = 10 + np.sin(2 * np.pi * t / 12) + 0.01 * t
    temp = 20 + np.cos(2 * np.pi * t / 12)
    lines = [sep.join(["hour", "load", "temp", "site"])]
    lines += [sep.join([str(i), f"{a:.6f}", f"{b:.6f}", "north"]) for i, a, b in zip(t, load, temp)]
    path.write_text("\n".join(lines) + "\n" + extra)
    return str(path)


def preset(tmp_path, task: dict, name: str = "p.toml") -> str:
    body = {"kind": "series", "window": 12, "horizon": 2, **task}
    lines = ["[task]"] + [f"{k} = {json.dumps(v)}" for k, v in body.items()]
    lines += ["[model]", "hidden = 8", "[train]", "steps = 6", "eval_every = 3",
              "batch_size = 16", "log_every = 3"]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def csv(tmp_path):
    return write_csv(tmp_path / "load.csv")


def test_windows_stay_inside_their_split_and_stats_come_from_train(csv):
    cfg = SeriesTask(path=csv, target=["load"], window=12, horizon=2, time="hour")
    prep = prepare(cfg)
    assert prep.bounds == (0, 210, 255, 300) and prep.features == ("load", "temp")
    train = np.array([10 + np.sin(2 * np.pi * t / 12) + 0.01 * t for t in range(210)])
    assert prep.offset[0] == pytest.approx(train.mean(), rel=1e-5)   # not the whole file's
    task = build_task(cfg, seed=0)
    for split in ("train", "val", "test"):
        start, end = prep.span(split)
        starts = task.starts[split]
        assert starts.min() >= start and starts.max() + 12 + 2 <= end
        assert len(starts) == end - start - 13
    x, y = next(iter(task.val_batches(4)))
    assert x.shape == (4, 12, 2) and y.shape == (4, 2)
    assert describe_task(cfg).train_size == task.train_size == 210 - 13


def test_mae_is_in_original_units(csv):
    cfg = SeriesTask(path=csv, target=["load"], window=12, horizon=2)
    task = build_task(cfg, seed=0)
    x, y = next(iter(task.val_batches(8)))
    total, count = task.metric_sum(y + 0.5, y)     # off by 0.5 normalized units
    assert total / count == pytest.approx(0.5 * task.prep.scale[0], rel=1e-5)


def test_the_forecast_view_reads_the_validations_first_batch_not_a_forward_of_its_own(csv):
    import torch
    from lstm_tui.config import ModelConfig
    from lstm_tui.models.network import build_model
    from lstm_tui.training.validation import evaluate
    task = build_task(SeriesTask(path=csv, target=["load"], window=12, horizon=2), seed=0)
    torch.manual_seed(0)
    model = build_model(ModelConfig(hidden=6), task.input_size, task.output_size, task.readout)
    computed = task.val_forecast(model)
    assert len(computed["rows"]) == 255 - 210 - 13 and computed["rows"][0] == 210 + 12
    load = lambda t: 10 + np.sin(2 * np.pi * t / 12) + 0.01 * t    # write_csv's column
    assert computed["truth"] == pytest.approx([load(r) for r in computed["rows"]], abs=1e-4)
    first: list = []
    evaluate(model, task, 16, first.append)
    forwards: list = []
    model.register_forward_hook(lambda *a: forwards.append(1))
    kept = task.val_forecast(model, first[0])
    assert forwards == []
    assert kept["rows"] == computed["rows"] and kept["truth"] == computed["truth"]
    assert kept["forecast"] == pytest.approx(computed["forecast"], rel=1e-5, abs=1e-5)
    short = task.val_forecast(model, first[0][:5])    # does not cover the stretch: computed
    assert forwards and short["forecast"] == pytest.approx(computed["forecast"], abs=1e-5)


def test_baselines_on_a_hand_made_series(tmp_path):
    values = np.arange(100, dtype=float)           # a ramp: persistence is off by h
    np.save(tmp_path / "ramp.npy", values[:, None])
    cfg = SeriesTask(path=str(tmp_path / "ramp.npy"), target=["0"], window=5, horizon=2,
                     val_fraction=0.3, test_fraction=0.3, season=4, normalize="none")
    b = baselines(prepare(cfg), cfg)
    assert b["persistence"]["mae"] == pytest.approx(1.5)      # mean of h = 1, 2
    assert b["seasonal"]["mae"] == pytest.approx(4.0)         # always one season back
    assert b["mean"]["test"]["mae"] > b["mean"]["mae"]        # the ramp runs away from it


def test_a_series_run_writes_baselines_and_a_test_block(tmp_path, csv):
    root = tmp_path / "runs"
    result = runner.invoke(app, ["headless", preset(tmp_path, {"path": csv, "target": ["load"],
                                                               "season": 12}),
                                 "--runs-dir", str(root)])
    assert result.exit_code == 0, result.output
    assert "persistence baseline mae" in result.output and "test skill" in result.output
    (run_dir,) = root.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["baselines"]) == {"persistence", "seasonal", "mean"}
    assert set(summary["baselines"]["persistence"]) == {"mae", "rmse", "test"}
    assert summary["test"]["mae"] > 0 and summary["metric"] == "mae"


def test_tsv_and_npy_files_read(tmp_path):
    tsv = write_csv(tmp_path / "load.tsv", sep="\t")
    assert prepare(SeriesTask(path=tsv, target=["temp"], window=5)).features == ("hour", "load",
                                                                                  "temp")
    np.save(tmp_path / "a.npy", np.random.default_rng(0).normal(size=(200, 3)))
    prep = prepare(SeriesTask(path=str(tmp_path / "a.npy"), target=["2"], window=5))
    assert prep.features == ("0", "1", "2")


def test_missing_cells_drop_and_ffill(tmp_path):
    path = write_csv(tmp_path / "gaps.csv")
    text = (tmp_path / "gaps.csv").read_text().splitlines()
    text[5] = "4,,20.0,north"
    (tmp_path / "gaps.csv").write_text("\n".join(text) + "\n")
    dropped = prepare(SeriesTask(path=path, target=["load"], window=5, missing="drop"))
    filled = prepare(SeriesTask(path=path, target=["load"], window=5, missing="ffill"))
    assert dropped.dropped == 1 and dropped.bounds[-1] == 299
    assert filled.dropped == 0 and filled.raw_targets[4, 0] == filled.raw_targets[3, 0]


def bad(tmp_path, csv):
    """(case, task table, what the one line must say)"""
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    text = tmp_path / "notes.md"
    text.write_text("hello")
    gaps = tmp_path / "gaps.csv"
    lines = (tmp_path / "load.csv").read_text().splitlines()
    lines[17] = "16,,20,north"
    gaps.write_text("\n".join(lines) + "\n")
    binary = tmp_path / "blob.npy"
    binary.write_bytes(b"\x00\x01garbage")
    return [
        ("missing file", {"path": str(tmp_path / "nope.csv"), "target": ["load"]},
         ["task.path", "no such file", "nope.csv"]),
        ("not csv", {"path": str(text), "target": ["load"]}, ["task.path", "not a CSV/TSV/NPY"]),
        ("bad npy", {"path": str(binary), "target": ["0"]}, ["task.path", "cannot read"]),
        ("empty", {"path": str(empty), "target": ["load"]}, ["task.path", "is empty"]),
        ("unknown column", {"path": csv, "target": ["lod"]},
         ["task.target", "no column 'lod'", "did you mean 'load'?", "load.csv"]),
        ("unknown feature", {"path": csv, "target": ["load"], "features": ["tmp"]},
         ["task.features", "did you mean 'temp'?"]),
        ("non-numeric", {"path": csv, "target": ["site"]},
         ["task.target", "'site'", "not numeric", "row 1"]),
        ("nan cell", {"path": str(gaps), "target": ["load"]},
         ["task.missing", "'load'", "gaps.csv", "row 17"]),
        ("window too long", {"path": csv, "target": ["load"], "window": 60},
         ["task.window", "longer than the val split"]),
        ("few windows", {"path": csv, "target": ["load"], "window": 35},
         ["task.window", "only", "windows", ">= 10"]),
        ("nothing to train", {"path": csv, "target": ["load"], "val_fraction": 0.5,
                              "test_fraction": 0.5}, ["task.val_fraction", "nothing to train"]),
        ("no target", {"path": csv}, ["task.target", "is required"]),
    ]


@pytest.mark.parametrize("case", range(12))
def test_every_bad_input_is_one_line_exit_2_and_no_run_folder(tmp_path, csv, case):
    name, task, words = bad(tmp_path, csv)[case]
    path = preset(tmp_path, task, f"{name.replace(' ', '_')}.toml")
    root = tmp_path / "runs"
    for command in ("check", "headless"):
        result = runner.invoke(app, [command, path, "--runs-dir", str(root)]
                               if command == "headless" else [command, path])
        assert result.exit_code == 2, (name, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), lines
        assert path in lines[0] and all(w in lines[0] for w in words), lines[0]
        assert "Traceback" not in result.output
    assert not root.exists() or not any(root.iterdir())


def test_a_bad_config_is_a_config_error_from_parse(csv):
    with pytest.raises(ConfigError, match="task.target"):
        parse_config({"task": {"kind": "series", "path": csv, "target": ["x"]}}, "s.toml")


def test_ensemble_members_of_a_series_equal_their_runs(csv):
    from lstm_tui.training.ensemble import group_key, train_ensemble
    from lstm_tui.training.engine import train
    configs = [parse_config({"task": {"kind": "series", "path": csv, "target": ["load"],
                                      "window": 8},
                             "model": {"hidden": 6},
                             "train": {"steps": 8, "eval_every": 4, "log_every": 4,
                                       "batch_size": 16, "lr": lr, "seed": seed}})
               for lr, seed in ((0.01, 0), (0.003, 1))]
    assert group_key(configs[0]) == group_key(configs[1])
    events = [[], []]
    train_ensemble(configs, [events[0].append, events[1].append])
    for cfg, got in zip(configs, events):
        alone = []
        train(cfg, alone.append)
        vals = lambda evs: [e.metric for e in evs if type(e).__name__ == "ValMetrics"]
        assert vals(got) == pytest.approx(vals(alone), rel=1e-4)
        reports = lambda evs: [e.figures for e in evs if type(e).__name__ == "TaskReport"]
        assert reports(got)[0] == reports(alone)[0]                  # the baselines
        assert reports(got)[1]["test"]["mae"] == pytest.approx(reports(alone)[1]["test"]["mae"],
                                                               rel=1e-4)
        forecasts = lambda evs: [e for e in evs if type(e).__name__ == "Forecast"]
        assert len(forecasts(got)) == len(forecasts(alone)) == 2          # one per validation
        mine, theirs = forecasts(got)[-1], forecasts(alone)[-1]
        assert mine.rows == theirs.rows and len(mine.rows) == 45 - 8      # the val windows
        assert mine.forecast == pytest.approx(theirs.forecast, rel=1e-4, abs=1e-4)


def test_a_series_sweep_on_the_ensemble_backend(tmp_path, csv):
    path = tmp_path / "sweep.toml"
    path.write_text(f"""name = "s"
[task]
kind = "series"
path = "{csv}"
target = ["load"]
window = 8
[model]
hidden = 6
[train]
steps = 6
eval_every = 3
batch_size = 16
[sweep]
grid = {{ "train.lr" = [0.01, 0.003] }}
metric = "mae"
""")
    root = tmp_path / "runs"
    result = runner.invoke(app, ["sweep", str(path), "--runs-dir", str(root),
                                 "--backend", "ensemble"])
    assert result.exit_code == 0, result.output
    assert "by best mae (lower is better)" in result.stdout
    (folder,) = root.glob("sweep-s-*")
    runs = [p for p in folder.iterdir() if p.is_dir()]
    assert len(runs) == 2
    for run in runs:
        summary = json.loads((run / "summary.json").read_text())
        assert summary["status"] == "completed" and "persistence" in summary["baselines"]
        assert "test" in summary
