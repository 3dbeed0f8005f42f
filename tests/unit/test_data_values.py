"""What a series or classification data file may hold and how big it may be (issue 27,
items 13 and 14): non-finite values and values that overflow float32 training are refused
when the file is read, with the column and the row; summary.json is strict JSON; a file
past the size limit (settable) or a special file is refused before it is read, by
`check` too.  Limits are tested with a small limit, never a big file."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from lstm_tui.config import ConfigError, parse_config
from lstm_tui.tasks import datafiles
from lstm_tui.tasks.sequence_classification import SequenceClassificationTask, load
from lstm_tui.tasks.series import SeriesTask, prepare

runner = CliRunner()


def series_csv(path, cell: str | None = None, at: int = 100, rows: int = 300,
               scale: float = 1.0) -> str:
    lines = ["hour,load"]
    for i in range(rows):
        value = cell if cell is not None and i == at else f"{scale * (10 + np.sin(i / 3)):.6g}"
        lines.append(f"{i},{value}")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def ucr_npz(path, x) -> str:
    y = np.array(["a", "b"] * (len(x) // 2))
    np.savez(path, X=x, y=y)
    return str(path)


@pytest.mark.parametrize("cell,shown", [("inf", "inf"), ("-inf", "-inf"), ("1e400", "inf"),
                                        ("2e30", "2e+30"), ("-1e305", "-1e+305")])
def test_series_values_out_of_range_are_refused_with_column_and_row(tmp_path, cell, shown):
    path = series_csv(tmp_path / "s.csv", cell, at=100)
    with pytest.raises(ConfigError) as info:
        prepare(SeriesTask(path=path, target=["load"], window=4))
    assert info.value.key == "task.path"
    assert f"column 'load' of {path} holds {shown} at row 101" in info.value.message
    assert "finite numbers within ±1e+30" in info.value.message


def test_series_values_near_the_limit_train_with_finite_figures(tmp_path):
    """1e28 in original units is fine: normalized, float32 and the MAE sums stay finite."""
    from lstm_tui.experiment import start_run
    path = series_csv(tmp_path / "s.csv", scale=1e28)
    cfg = parse_config({"task": {"kind": "series", "path": path, "target": ["load"],
                                 "window": 4, "normalize": "standard"},
                        "model": {"hidden": 2},
                        "train": {"steps": 2, "eval_every": 1, "batch_size": 8,
                                  "device": "cpu", "threads": 1}})
    run_dir, last = start_run(cfg, tmp_path / "runs")
    assert last.status == "completed" and np.isfinite(last.final)
    json.loads((run_dir / "summary.json").read_text(),
               parse_constant=lambda c: pytest.fail(f"summary.json holds {c}"))


def test_series_values_overflowing_after_normalization_are_refused(tmp_path):
    """In range as read, out of range normalized: a train part spread over 1e-11 (minmax)
    and a value of 9e29 later."""
    lines = ["hour,load"] + [f"{i},{1e-11 * (i % 2)}" for i in range(250)] + \
        [f"{i},{9e29}" for i in range(250, 300)]
    path = tmp_path / "s.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as info:
        prepare(SeriesTask(path=str(path), target=["load"], window=4, normalize="minmax",
                           val_fraction=0.1, test_fraction=0.1))
    assert info.value.key == "task.normalize" and "after minmax normalization" in \
        info.value.message and "'load'" in info.value.message


@pytest.mark.parametrize("value", [np.inf, -np.inf, 5e30])
def test_classification_values_out_of_range_are_refused(tmp_path, value):
    x = np.random.default_rng(0).normal(size=(60, 8))
    x[7, 3] = value
    path = ucr_npz(tmp_path / "c.npz", x)
    with pytest.raises(ConfigError) as info:
        load(SequenceClassificationTask(path=path))
    assert info.value.key == "task.path"
    assert "row 8, value 4 is" in info.value.message and "±1e+30" in info.value.message


def test_classification_check_refuses_inf_before_training(tmp_path):
    x = np.random.default_rng(0).normal(size=(60, 8))
    x[0, 0] = np.inf
    path = ucr_npz(tmp_path / "c.npz", x)
    preset = tmp_path / "c.toml"
    preset.write_text(f'[task]\nkind = "sequence_classification"\npath = "{path}"\n')
    result = runner.invoke(app, ["check", str(preset)])
    assert result.exit_code == 2 and "row 1, value 1 is inf" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_classification_values_overflowing_after_normalization_are_refused(tmp_path):
    """A training file spread over 5e-12 (standard) and a test file holding 1e29."""
    x = np.zeros((60, 8))
    x[::2, 1] = 1e-11
    test = np.zeros((20, 8))
    test[3, 1] = 1e29
    cfg = SequenceClassificationTask(path=ucr_npz(tmp_path / "c.npz", x),
                                     test_path=ucr_npz(tmp_path / "t.npz", test))
    with pytest.raises(ConfigError) as info:
        load(cfg)
    assert info.value.key == "task.normalize" and "after standard normalization" in \
        info.value.message and "t.npz" in info.value.message


def test_summary_json_is_strict_json_whatever_a_report_holds(tmp_path):
    from lstm_tui import events as ev
    from lstm_tui.runs.summary import read_summary
    from lstm_tui.runs.writer import RunWriter
    writer = RunWriter(tmp_path, parse_config({}))
    writer(ev.TaskReport(figures={"test": {"mae": float("inf"), "rmse": float("nan")},
                                  "curve": [1.0, float("-inf")]}))
    writer(ev.Finished(status="completed", step=3, seconds=1.0, best=float("nan"),
                       final=2.0))
    text = (tmp_path / "summary.json").read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict {c}"))
    assert data["test"] == {"mae": None, "rmse": None} and data["curve"] == [1.0, None]
    assert data["best"] is None and read_summary(tmp_path / "summary.json")[1] == ""


# ---------------------------------------------------------------- sizes and special files

@pytest.mark.parametrize("kind", ["series", "sequence_classification"])
def test_a_file_past_the_size_limit_is_refused_by_check(tmp_path, monkeypatch, kind):
    if kind == "series":
        path = series_csv(tmp_path / "s.csv")
        task = f'kind = "series"\npath = "{path}"\ntarget = ["load"]\nwindow = 4\n'
    else:
        path = ucr_npz(tmp_path / "c.npz", np.zeros((60, 8)))
        task = f'kind = "sequence_classification"\npath = "{path}"\n'
    preset = tmp_path / "p.toml"
    preset.write_text(f"[task]\n{task}")
    size = os.path.getsize(path)
    monkeypatch.setenv(datafiles.LIMIT_VAR, str(size / 2e6))      # half the file
    result = runner.invoke(app, ["check", str(preset)])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "task.path" in line and "past the" in line and datafiles.LIMIT_VAR in line
    monkeypatch.setenv(datafiles.LIMIT_VAR, str(size / 1e6))      # exactly the file
    assert runner.invoke(app, ["check", str(preset)]).exit_code == 0


def test_the_default_limit_and_a_bad_setting(monkeypatch):
    monkeypatch.delenv(datafiles.LIMIT_VAR, raising=False)
    assert datafiles.max_bytes() == datafiles.MAX_DATA_MB * 1_000_000
    for bad in ("lots", "0", "-5", "nan", "1e99"):
        monkeypatch.setenv(datafiles.LIMIT_VAR, bad)
        with pytest.raises(ConfigError) as info:
            datafiles.max_bytes()
        assert info.value.key == datafiles.LIMIT_VAR


def test_a_sparse_file_past_the_limit_is_never_read(tmp_path, monkeypatch):
    """The size comes from stat: a 300 MB sparse file (no disk used) is refused at once."""
    path = tmp_path / "big.csv"
    with open(path, "wb") as fh:
        fh.truncate(300_000_000)
    monkeypatch.delenv(datafiles.LIMIT_VAR, raising=False)
    with pytest.raises(ConfigError) as info:
        prepare(SeriesTask(path=str(path), target=["load"]))
    assert "300 MB, past the 256 MB" in info.value.message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_as_data_is_refused_instead_of_hanging(tmp_path):
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError) as info:
        prepare(SeriesTask(path=str(fifo), target=["load"]))
    assert "not a regular file" in info.value.message
