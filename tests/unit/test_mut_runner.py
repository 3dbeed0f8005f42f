"""sweeps/runner.py behaviour that mutation testing found unchecked (see TESTING.md):
row figures, resuming from results.csv alone, stale run folders, typed cells, slugs."""

from __future__ import annotations

import json
import shutil

from lstm_tui.config import parse_config
from lstm_tui.runs.store import read_jsonl, read_summary
from lstm_tui.sweeps.runner import PointFinished, SweepStarted, run_sweep, slug, typed
from lstm_tui.sweeps.spec import parse_sweep

TASK = {"kind": "nth_element", "seq_len": 4, "features": 5, "n": 1, "train_size": 64,
        "val_size": 32}


def _sweep(tmp_path, listener=None):
    data = {"name": "tiny", "task": TASK, "model": {"hidden": 4},
            "train": {"steps": 10, "eval_every": 5, "log_every": 5, "batch_size": 16},
            "sweep": {"grid": {"model.hidden": [3, 4]}}}
    cfg = parse_config(data, "tiny.toml")
    spec = parse_sweep(cfg, "tiny.toml")
    return run_sweep("tiny.toml", cfg, spec, tmp_path / "runs", listener=listener)


def test_a_row_holds_the_last_train_record_and_the_seconds_to_the_millisecond(tmp_path):
    result = _sweep(tmp_path)
    for row in result.rows:
        run_dir = result.sweep_dir / row["run"]
        train = [r for r in read_jsonl(run_dir / "metrics.jsonl") if r["split"] == "train"]
        assert row["train_loss"] == train[-1]["loss"] and row["train_loss"] is not None
        assert row["grad_norm"] == train[-1]["grad_norm"] and row["grad_norm"] is not None
    # rows rebuilt from the run folders (results.csv lost) keep the seconds to 1 ms
    (result.sweep_dir / "results.csv").unlink()
    path = result.sweep_dir / result.rows[0]["run"] / "summary.json"
    summary = json.loads(path.read_text())
    summary["seconds"] = 2.34567
    path.write_text(json.dumps(summary))
    assert _sweep(tmp_path).rows[0]["seconds"] == 2.346


def test_results_csv_alone_is_enough_to_resume(tmp_path):
    """A finished point whose run folder is gone stays finished: its row is the record."""
    first = _sweep(tmp_path)
    shutil.rmtree(first.sweep_dir / first.rows[0]["run"])
    heard = []
    again = _sweep(tmp_path, heard.append)
    started = [e for e in heard if isinstance(e, SweepStarted)]
    assert started[0].done == 2 and started[0].pending == 0
    assert not [e for e in heard if isinstance(e, PointFinished)]
    assert again.rows[0]["status"] == "completed" and again.rows[0]["key"] == first.rows[0]["key"]


def test_a_run_folder_of_another_point_is_not_taken_for_this_one(tmp_path):
    first = _sweep(tmp_path)
    (first.sweep_dir / "results.csv").unlink()
    stale = first.sweep_dir / first.rows[1]["run"] / "summary.json"
    summary = json.loads(stale.read_text())
    summary["sweep_point"] = "someone-else"
    stale.write_text(json.dumps(summary))
    heard = []
    _sweep(tmp_path, heard.append)
    assert [e.key for e in heard if isinstance(e, PointFinished)] == [first.rows[1]["key"]]


def test_typed_cells():
    assert typed("") is None and typed(None) is None
    assert typed("[1,2.5,a]") == [1, 2.5, "a"] and typed("[]") == []
    assert typed("[x") == "[x" and typed("true") is True and typed("3") == 3


def test_slug_joins_words_with_single_dashes():
    assert slug("my sweep: lr & seeds!") == "my-sweep-lr-seeds"
    assert slug("a=1.5_b") == "a=1.5_b" and slug("  ") == "sweep"
