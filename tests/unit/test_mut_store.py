"""Run store behaviour (runs/writer, reader, summary, resolve, liveness; once runs/store.py)
that mutation testing found unchecked (see TESTING.md): what the writer records field by
field, error lines, tolerant reading and resolving."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lstm_tui import events as ev
from lstm_tui.config import parse_config
from lstm_tui.runs import liveness, reader
from lstm_tui.runs import writer as run_writer
from lstm_tui.fsio import atomic_write_json
from lstm_tui.runs.layout import RunError, fs_error
from lstm_tui.runs.liveness import clean_stale_tmp, pid_alive
from lstm_tui.runs.reader import list_runs, read_info, read_jsonl
from lstm_tui.runs.resolve import resolve_run
from lstm_tui.runs.summary import read_summary
from lstm_tui.runs.writer import RunWriter, new_run_dir

MODEL = ev.ModelSummary(rows=(), total=123, trainable=123)


def started(**kw) -> ev.RunStarted:
    return ev.RunStarted(**{"run_id": "r", "config": {}, "summary": MODEL, "device": "cpu:x",
                            "total_steps": 10, "steps_per_epoch": 5, "dataset_size": 40,
                            "metric": "accuracy", "goal": "max"} | kw)


def step_event(step: int) -> ev.StepMetrics:
    return ev.StepMetrics(step=step, epoch=0, loss=0.5, metric=0.75, lr=0.01, grad_norm=1.0,
                          grad_norms={"w": 1.0}, grad_means={"w": 0.1}, mean_abs_grad=0.1,
                          steps_per_sec=12.34567, seconds=1.23456)


def summary_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def writer_at(tmp_path, **cfg) -> tuple[RunWriter, Path]:
    config = parse_config({"name": "t", **cfg})
    run_dir = new_run_dir(tmp_path, config)
    return RunWriter(run_dir, config), run_dir


def test_the_writer_records_each_field_where_it_belongs(tmp_path):
    writer, run_dir = writer_at(tmp_path)
    writer(started())
    s = summary_of(run_dir)
    assert (s["metric"], s["goal"], s["device"], s["params"], s["total_steps"],
            s["dataset_size"]) == ("accuracy", "max", "cpu:x", 123, 10, 40)
    writer(step_event(5))
    writer(ev.ValMetrics(step=5, epoch=1, loss=0.4, metric=0.7, best=0.72, is_best=True,
                         seconds=2.5))
    s = summary_of(run_dir)                            # the heartbeat of a live run
    assert (s["steps"], s["best"], s["final"], s["seconds"]) == (5, 0.72, 0.7, 2.5)
    writer(ev.CheckpointWritten(step=6, tag="best", path=str(run_dir / "best.pt")))
    s = summary_of(run_dir)
    assert s["checkpoints"] == {"best": "best.pt"} and s["steps"] == 6
    writer(ev.Finished(status="completed", step=10, seconds=3.0, best=0.8, final=0.79,
                       message="done"))
    s = summary_of(run_dir)
    assert (s["status"], s["steps"], s["seconds"], s["best"], s["final"], s["message"]) == \
        ("completed", 10, 3.0, 0.8, 0.79, "done")
    assert "empty" not in s
    train, val = read_jsonl(run_dir / "metrics.jsonl")
    assert (train["loss"], train["accuracy"], train["steps_per_sec"], train["time"]) == \
        (0.5, 0.75, 12.346, 1.235)
    assert (val["loss"], val["accuracy"], val["time"]) == (0.4, 0.7, 2.5)


def test_a_failure_records_its_step_and_error(tmp_path):
    writer, run_dir = writer_at(tmp_path)
    writer(started())
    writer(step_event(3))
    writer(ev.Failed(error="RuntimeError: boom", step=3, traceback=""))
    s = summary_of(run_dir)
    assert (s["status"], s["steps"], s["message"]) == ("failed", 3, "RuntimeError: boom")


def test_a_resumed_run_adds_the_earlier_seconds(tmp_path):
    writer, run_dir = writer_at(tmp_path)
    writer(started())
    writer(ev.Finished(status="interrupted", step=4, seconds=2.0, best=None, final=None))
    config = parse_config({"name": "t"})
    again = RunWriter(run_dir, config, resume=True)
    again(started(start_step=4))
    again(ev.Finished(status="completed", step=10, seconds=1.5, best=None, final=None))
    assert summary_of(run_dir)["seconds"] == 3.5


def test_a_full_disk_at_the_end_overwrites_the_summary_in_place(tmp_path, monkeypatch):
    """The last summary cannot be written as a new file: the old file's bytes take it,
    the whole summary if it fits, else its core with the reason cut to 300 characters."""
    writer, run_dir = writer_at(tmp_path)
    writer(started())
    writer(ev.ValMetrics(step=5, epoch=1, loss=0.4, metric=0.7, best=0.7, is_best=True))
    writer(ev.TaskReport(figures={"classes": ["c" * 40] * 20}))    # room for the core
    size = (run_dir / "summary.json").stat().st_size

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(run_writer, "atomic_write_json", full)
    writer(ev.Finished(status="completed", step=10, seconds=3.0, best=0.8, final=0.79,
                       message="m" * 5000))
    raw = (run_dir / "summary.json").read_bytes()
    assert len(raw) == size and raw.endswith(b"\n")
    s = json.loads(raw)
    assert set(s) == {"status", "steps", "metric", "goal", "best", "final", "seconds",
                      "message"}
    assert (s["status"], s["steps"], s["metric"], s["message"]) == \
        ("completed", 10, "accuracy", "m" * 300)
    assert writer.write_error == f"{run_dir / 'summary.json'}: no space left on the device"


def test_a_run_without_steps_is_marked_empty(tmp_path):
    writer, run_dir = writer_at(tmp_path)
    writer(ev.Finished(status="interrupted", step=0, seconds=0.1, best=None, final=None))
    assert summary_of(run_dir)["empty"] is True


def test_fs_error_lines():
    assert str(fs_error(Path("runs/x"), PermissionError(errno.EACCES, "Permission denied"))) \
        == "runs/x: permission denied"
    assert str(fs_error(Path("runs/x"), OSError(errno.ENOSPC, "No space left on device"))) \
        == "runs/x: no space left on the device"


def test_new_run_dir_makes_missing_parents_and_names_a_blocked_root(tmp_path):
    config = parse_config({"name": "t"})
    assert new_run_dir(tmp_path / "a" / "b", config).parent == tmp_path / "a" / "b"
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunError) as info:
        new_run_dir(tmp_path / "file" / "sub", config)
    assert str(info.value) == f"{tmp_path / 'file' / 'sub'}: not a directory"


def test_a_writer_that_cannot_write_its_config_names_the_folder(tmp_path):
    config = parse_config({"name": "t"})
    run_dir = new_run_dir(tmp_path, config)
    (run_dir / "config.toml").mkdir()              # the config's place is taken
    with pytest.raises(RunError) as info:
        RunWriter(run_dir, config)
    assert str(info.value) == f"{run_dir}: is a directory"


def _dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


def test_stale_temporaries_of_dead_writers_go_and_our_own_stay(tmp_path):
    dead = _dead_pid()
    ours = tmp_path / f".summary.json.{os.getpid()}.tmp"
    stale = tmp_path / f".summary.json.{dead}.tmp"
    ours.write_text("x")
    stale.write_text("x")
    assert clean_stale_tmp(tmp_path) == [stale]
    assert ours.exists() and not stale.exists()


def test_json_files_are_strict_json_with_non_finite_numbers_as_null(tmp_path):
    """Issue 27 item 13: summary.json and the other JSON files parse anywhere."""
    atomic_write_json(tmp_path / "a.json", {"x": float("nan"), "y": [float("inf"), 1.5],
                                            "z": {"w": float("-inf")}})
    text = (tmp_path / "a.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"x": None, "y": [None, 1.5], "z": {"w": None}}


def test_read_jsonl_skips_bad_bytes_and_keeps_fields_after_a_boolean(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"step": 1, "flag": true, "loss": 0.5}\n\xff\xfe{"step": 2}\n'
                     b'{"step": 3, "loss": 0.25}\n')
    assert read_jsonl(path) == [{"step": 1, "loss": 0.5}, {"step": 3, "loss": 0.25}]


def test_read_summary_passes_unknown_fields_and_counts_bad_ones(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"mine": [1], "steps": "x", "pid": -1, "goal": "up",
                                "status": "completed"}))
    clean, note = read_summary(path)
    assert clean == {"mine": [1], "status": "completed"}
    assert note == f'{path}: steps must be a whole number >= 0, got "x" (and 2 more)'


def test_pid_alive_when_the_process_belongs_to_another_user(monkeypatch):
    def denied(pid, sig):
        raise PermissionError(errno.EPERM, "Operation not permitted")
    monkeypatch.setattr(liveness.os, "kill", denied)
    assert pid_alive(12345) is True


def _folder(root: Path, name: str, config: str | None, summary: dict | None) -> Path:
    path = root / name
    path.mkdir(parents=True)
    if config is not None:
        (path / "config.toml").write_text(config)
    if summary is not None:
        (path / "summary.json").write_text(json.dumps(summary))
    return path


def test_read_info_defaults_and_summary_fields(tmp_path):
    missing = read_info(tmp_path / "gone")
    assert missing.created == 0.0 and missing.updated == 0.0
    bare = _folder(tmp_path, "bare", "[task]\nseq_len = 3\n[model]\n[train]\nthreads = 0\n",
                   {"status": "completed", "steps": 4})
    info = read_info(bare)
    from lstm_tui.tasks.registry import DEFAULT_KIND
    assert (info.task, info.goal, info.sweep, info.seconds) == (DEFAULT_KIND, "", "", 0.0)
    full = _folder(tmp_path, "full", None, {"status": "completed", "steps": 4, "seconds": 7.5,
                                            "created": 100.0, "updated": 160.0,
                                            "sweep": "s1", "goal": "min"})
    info = read_info(full)
    assert (info.seconds, info.created, info.updated, info.sweep, info.goal) == \
        (7.5, 100.0, 160.0, "s1", "min")


def test_a_summary_only_folder_is_listed(tmp_path):
    _folder(tmp_path, "lonely", None, {"status": "completed", "steps": 1})
    assert [r.name for r in list_runs(tmp_path)] == ["lonely"]


def test_latest_counts_back_from_the_newest(tmp_path):
    for k, name in enumerate(["a", "b", "c"]):
        _folder(tmp_path, name, None, {"status": "completed", "steps": 1,
                                       "created": 100.0 + k})
    assert [resolve_run(tmp_path, ref).name for ref in ("latest", "latest~1", "latest~2")] \
        == ["c", "b", "a"]


def test_an_exact_name_wins_over_a_longer_one_in_a_group(tmp_path):
    _folder(tmp_path / "grp", "run-a", None, {"status": "completed", "steps": 1})
    _folder(tmp_path / "grp", "run-ab", None, {"status": "completed", "steps": 1})
    assert resolve_run(tmp_path, "run-a") == tmp_path / "grp" / "run-a"


def test_a_resumed_run_judges_expectations_on_the_earlier_records_too(tmp_path):
    data = {"name": "t", "task": {"kind": "nth_element"}, "train": {"steps": 10},
            "expect": {"val.accuracy@step5": {"min": 0.5}}}
    config = parse_config(data, "p.toml")
    run_dir = new_run_dir(tmp_path, config)
    writer = RunWriter(run_dir, config)
    writer(started())
    writer(ev.ValMetrics(step=5, epoch=1, loss=0.4, metric=0.8, best=0.8, is_best=True))
    writer(ev.Finished(status="interrupted", step=5, seconds=1.0, best=0.8, final=0.8))
    again = RunWriter(run_dir, config, resume=True)
    again(started(start_step=5))
    again(ev.ValMetrics(step=10, epoch=2, loss=0.9, metric=0.2, best=0.8, is_best=False))
    again(ev.Finished(status="completed", step=10, seconds=1.0, best=0.8, final=0.2))
    (verdict,) = summary_of(run_dir)["expectations"]
    assert verdict == {"key": "val.accuracy@step5", "observed": 0.8, "min": 0.5, "max": None,
                       "met": True}


# ---------------------------------------------------------------- a held-out sample (seed 17)

def test_read_info_takes_kind_and_size_from_the_config_and_metric_and_empty_from_the_summary(
        tmp_path):
    path = _folder(tmp_path, "ws", "[task]\nkind = 'weighted_sum'\n[model]\nhidden = 64\n"
                                    "[train]\nthreads = 0\n",
                   {"status": "completed", "steps": 4, "metric": "mad", "empty": True})
    info = read_info(path)
    assert (info.task, info.hidden, info.metric, info.empty) == ("weighted_sum", 64, "mad", True)


def test_a_config_that_breaks_a_rule_is_a_run_error_naming_the_file_and_key(tmp_path):
    path = _folder(tmp_path, "bad", "[task]\nkind = 'nth_element'\nseq_len = -3\n[model]\n"
                                     "hidden = 8\n[train]\nthreads = 0\n", {"status": "completed"})
    with pytest.raises(RunError) as info:
        reader.check_run_config(path / "config.toml")
    assert str(info.value).startswith(f"{path / 'config.toml'}: task.seq_len: ")
    assert read_info(path).error == str(info.value)


def test_a_second_writer_of_a_run_is_refused_in_one_line(tmp_path):
    held = run_writer.lock_run(tmp_path)
    try:
        with pytest.raises(RunError) as info:
            run_writer.lock_run(tmp_path)
    finally:
        held.release()
    assert str(info.value) == (f"{tmp_path}: this run is still being written by pid "
                               f"{os.getpid()} (its writer is alive); wait for it or stop "
                               "it first")


def test_summary_json_is_indented_for_people_and_dated_when_the_run_starts(tmp_path):
    writer, run_dir = writer_at(tmp_path)
    writer(started())
    text = (run_dir / "summary.json").read_text()
    assert text.startswith('{\n  "') and text.endswith("}\n")
    s = summary_of(run_dir)
    assert s["created"] == pytest.approx(writer.started) and s["created"] <= s["updated"]
