"""Issue 27's security items on the command line: a results.csv run cell never leads out
of its sweep folder."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from lstm_tui.cli.main import app
from lstm_tui.config import load_preset
from lstm_tui.sweeps.runner import is_run_name, sweep_dir_for
from lstm_tui.sweeps.spec import parse_sweep
from lstm_tui.sweeps.surface import load_records, load_sweep

DATA = Path(__file__).parents[1] / "data"
runner = CliRunner()


def escaping_sweep(tmp_path: Path) -> tuple[Path, Path]:
    """The good sweep whose first row's run cell points at a folder beside the sweep."""
    src = DATA / "broken_sweeps" / "good-sweep"
    folder = sweep_dir_for(tmp_path / "runs",
                           parse_sweep(load_preset(src / "sweep.toml"), "x"))
    shutil.copytree(src, folder)
    outside = tmp_path / "runs" / "outside"
    outside.mkdir()
    (outside / "metrics.jsonl").write_text(json.dumps(
        {"split": "val", "epoch": 7, "step": 1, "perplexity": 12345.0}) + "\n")
    rows = list(csv.DictReader(open(folder / "results.csv")))
    rows[0]["run"] = "../outside"
    rows[1]["run"] = str(outside)
    with open(folder / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return folder, outside


def test_a_run_cell_is_a_name_never_a_path():
    assert is_run_name("p000-hidden3-s0")
    for bad in ("", ".", "..", "../x", "/etc", "a/b", "..\\x", "x\0y", None, 3):
        assert not is_run_name(bad), bad


def test_sweep_report_never_reads_a_run_outside_the_sweep(tmp_path):
    folder, outside = escaping_sweep(tmp_path)
    data = load_sweep(folder)
    assert data.rows == []                          # neither row names a folder in it
    assert load_records(folder, data.rows) == {}
    result = runner.invoke(app, ["sweep-report", str(folder), "--epochs", "hidden", "--json"])
    assert result.exit_code == 0, result.output
    assert "12345" not in result.stdout and "outside" not in result.stdout


def test_a_resumed_sweep_rebuilds_the_rows_from_its_folders(tmp_path):
    folder, _ = escaping_sweep(tmp_path)
    result = runner.invoke(app, ["sweep", str(folder / "sweep.toml"),
                                 "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    runs = [r["run"] for r in csv.DictReader(open(folder / "results.csv"))]
    assert runs == ["p000-hidden3-s0", "p001-hidden4-s0"]
