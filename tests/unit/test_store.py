"""The run store: atomic files, tolerant reading, live-vs-dead runs, resolving names."""

from __future__ import annotations

import json
import os

import pytest

from lstm_tui import events as ev
from lstm_tui.config import parse_config
from lstm_tui.fsio import atomic_write_json
from lstm_tui.runs.layout import WRITER_LOCK, RunError
from lstm_tui.runs.reader import list_runs, load_run, read_info, read_jsonl
from lstm_tui.runs.resolve import resolve_run
from lstm_tui.runs.writer import RunWriter, new_run_dir, truncate_metrics

SUMMARY = ev.ModelSummary(rows=(), total=123, trainable=123)


def _started(step: int = 0) -> ev.RunStarted:
    return ev.RunStarted(run_id="r", config={}, summary=SUMMARY, device="cpu", total_steps=100,
                         steps_per_epoch=10, dataset_size=320, metric="accuracy", goal="max",
                         start_step=step)


def _step(step: int) -> ev.StepMetrics:
    return ev.StepMetrics(step=step, epoch=step // 10, loss=0.5, metric=0.75, lr=0.01,
                          grad_norm=1.0, grad_norms={"w": 1.0}, grad_means={"w": 0.1},
                          mean_abs_grad=0.1, steps_per_sec=100.0, seconds=1.0)


def _val(step: int, metric: float) -> ev.ValMetrics:
    return ev.ValMetrics(step=step, epoch=step // 10, loss=0.4, metric=metric, best=metric,
                         is_best=True)


def test_writer_records_every_event_kind(tmp_path):
    cfg = parse_config({"name": "t"})
    run_dir = new_run_dir(tmp_path, cfg)
    writer = RunWriter(run_dir, cfg)
    writer(_started())
    writer(_step(10))
    writer(_val(10, 0.8))
    writer(ev.TimestepGradients(step=10, norms=(0.1, 0.2, float("nan"))))
    writer(ev.TextSample(step=10, temperature=0.5, text="abc"))
    writer(ev.Finished(status="completed", step=10, seconds=2.0, best=0.8, final=0.8))
    run = load_run(run_dir)
    assert run.info.status == "completed" and run.info.best == 0.8 and run.info.params == 123
    train, val = run.metrics
    assert train == {**train, "step": 10, "epoch": 1, "split": "train", "loss": 0.5,
                     "accuracy": 0.75, "grad_norms": {"w": 1.0}}
    assert val["split"] == "val" and val["accuracy"] == 0.8
    assert read_jsonl(run_dir / "diagnostics.jsonl")[0]["timestep_grad_norms"] == [0.1, 0.2, None]
    assert read_jsonl(run_dir / "samples.jsonl")[0]["text"] == "abc"
    assert run.run_config() == cfg
    assert run.series("val", "accuracy") == ([10], [0.8])


def test_truncated_last_line_is_skipped(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"step": 3, "lo')
    assert [r["step"] for r in read_jsonl(path)] == [1, 2]


def test_dead_writer_is_listed_interrupted_and_live_one_running(tmp_path):
    cfg = parse_config({})
    run_dir = new_run_dir(tmp_path, cfg)
    writer = RunWriter(run_dir, cfg)
    writer(_started())
    assert read_info(run_dir).status == "running"   # its writer lock is held
    os.close(writer.lock._fd)                        # the writer dies: the OS drops the lock
    writer.lock._fd = None
    assert (run_dir / WRITER_LOCK).exists()
    assert read_info(run_dir).status == "interrupted"


def test_a_folder_without_a_writer_lock_falls_back_to_the_pid(tmp_path):
    cfg = parse_config({})
    run_dir = new_run_dir(tmp_path, cfg)
    writer = RunWriter(run_dir, cfg)
    writer(_started())
    writer.lock.release()                            # as written by an older version
    assert read_info(run_dir).status == "running"   # this process is alive
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["pid"] = 2 ** 22 + 12345                  # no such process
    atomic_write_json(run_dir / "summary.json", summary)
    assert read_info(run_dir).status == "interrupted"


def test_missing_or_corrupt_files_never_break_listing(tmp_path):
    cfg = parse_config({})
    ok = new_run_dir(tmp_path, cfg)
    RunWriter(ok, cfg)
    no_summary = new_run_dir(tmp_path, cfg)
    (no_summary / "config.toml").write_text("[model]\ncell = 'gru'\n")
    broken = new_run_dir(tmp_path, cfg)
    (broken / "config.toml").write_text("[model\n")
    (broken / "summary.json").write_text("{not json")
    runs = {r.path: r for r in list_runs(tmp_path)}
    assert len(runs) == 3
    assert runs[no_summary].status == "interrupted" and runs[no_summary].cell == "gru"
    assert "unreadable" in runs[broken].error
    with pytest.raises(RunError, match="config.toml: corrupt"):
        load_run(broken)


def test_resolve_by_path_name_and_prefix(tmp_path):
    cfg = parse_config({"name": "alpha"})
    a = new_run_dir(tmp_path, cfg)
    RunWriter(a, cfg)
    assert resolve_run(tmp_path, str(a)) == a
    assert resolve_run(tmp_path, a.name) == a
    assert resolve_run(tmp_path, a.name[:10]) == a
    with pytest.raises(RunError, match="no such run"):
        resolve_run(tmp_path, "zzz")


def test_run_folders_are_unique(tmp_path):
    cfg = parse_config({})
    names = {new_run_dir(tmp_path, cfg).name for _ in range(3)}
    assert len(names) == 3


def test_truncate_metrics_keeps_records_up_to_checkpoint(tmp_path):
    (tmp_path / "metrics.jsonl").write_text("".join(
        json.dumps({"step": s, "split": "train"}) + "\n" for s in (10, 20, 30)) + '{"ste')
    truncate_metrics(tmp_path, 20)
    assert [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [10, 20]


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    atomic_write_json(tmp_path / "s.json", {"a": 1})
    assert os.listdir(tmp_path) == ["s.json"]
