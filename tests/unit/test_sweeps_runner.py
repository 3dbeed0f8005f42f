"""The sweep driver and its backends: folders, results.csv, failures, resume, equivalence."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lstm_tui.config import ConfigError, config_to_dict, load_preset, parse_config
from lstm_tui.runs.layout import SWEEP_LOCK as LOCK_FILE
from lstm_tui.runs.layout import RunError
from lstm_tui.runs.reader import list_runs, read_info
from lstm_tui.sweeps import backends
from lstm_tui.sweeps.backends import pool
from lstm_tui.sweeps.backends.point import ensemble_jobs
from lstm_tui.sweeps.runner import (PointFinished, PointSkipped, SweepFinished, SweepStarted,
                                    columns_for, read_results, run_dir_name, run_points,
                                    sweep_dir_for)
from lstm_tui.sweeps.spec import parse_sweep

TINY_TASK = {"kind": "nth_element", "seq_len": 4, "features": 5, "n": 1, "train_size": 64,
             "val_size": 32}


def _spec(grid: dict, task: dict | None = None, train: dict | None = None, seeds: int = 1,
          model: dict | None = None, **sweep):
    data = {"name": "tiny", "task": task or TINY_TASK, "model": {"hidden": 4, **(model or {})},
            "train": {"steps": 10, "eval_every": 5, "log_every": 5, "batch_size": 16,
                      **(train or {})},
            "sweep": {"grid": grid, "seeds": seeds, **sweep}}
    cfg = parse_config(data, "tiny.toml")
    return cfg, parse_sweep(cfg, "tiny.toml")


def _run(tmp_path, cfg, spec, **kwargs):
    return run_points("tiny.toml", cfg, spec, tmp_path / "runs", **kwargs)


def _csv(result) -> list[dict]:
    with open(result.sweep_dir / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_results_csv_has_a_row_per_point_and_every_run_is_in_the_store(tmp_path):
    cfg, spec = _spec({"task.seq_len": [3, 4], "model.cell": ["lstm", "gru"]}, seeds=2)
    events = []
    result = _run(tmp_path, cfg, spec, listener=events.append)
    assert result.complete and result.total == result.done == 8
    rows = _csv(result)
    assert list(rows[0]) == ["point", "run", "task.seq_len", "model.cell", "seed", "status",
                             "best_accuracy", "final_accuracy", "steps", "seconds", "params",
                             "val_loss", "train_loss", "mean_abs_grad", "grad_norm", "message",
                             "key"]
    assert [r["point"] for r in rows] == [str(i) for i in range(8)]
    assert [r["seed"] for r in rows] == ["0"] * 4 + ["1"] * 4
    assert {r["status"] for r in rows} == {"completed"}
    assert {r["key"] for r in rows} == {p.key for p in spec.points()}
    for row, point in zip(rows, spec.points()):
        assert row["task.seq_len"] == str(point.values["task.seq_len"])
        assert row["model.cell"] == point.values["model.cell"]
        assert row["steps"] == "10"
        info = read_info(result.sweep_dir / row["run"])
        assert float(row["best_accuracy"]) == info.best and info.status == "completed"
        assert float(row["mean_abs_grad"]) > 0 and float(row["val_loss"]) > 0
        assert int(row["params"]) == info.params
    # the sweep folder: sweep.toml, results.csv and one run folder per point, nothing else
    names = sorted(p.name for p in result.sweep_dir.iterdir())
    assert names == sorted(["sweep.toml", "results.csv"] + [r["run"] for r in rows])
    assert result.sweep_dir == sweep_dir_for(tmp_path / "runs", spec)
    assert result.sweep_dir.name.startswith("sweep-tiny-")
    # every point is a normal run marked with the sweep's name
    listed = list_runs(tmp_path / "runs")
    assert len(listed) == 8 and {r.sweep for r in listed} == {"tiny"}
    # the listener heard the whole story
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "SweepStarted" and kinds[-1] == "SweepFinished"
    assert kinds.count("PointFinished") == 8 and kinds.count("PointStarted") == 8
    finished = [e for e in events if isinstance(e, PointFinished)]
    assert [e.done for e in finished] == list(range(1, 9))
    assert not events[-1].interrupted


def test_sweep_toml_is_the_resolved_preset(tmp_path):
    cfg, spec = _spec({"task.seq_len": [3, 4]}, random={"train.lr": [0.1, 0.01], "samples": 2})
    result = _run(tmp_path, cfg, spec)
    again = load_preset(result.sweep_dir / "sweep.toml")
    assert again == cfg
    assert [p.key for p in parse_sweep(again, "x").points()] == [p.key for p in spec.points()]
    # another override is another sweep folder; the same one is the same folder
    other_cfg, other = _spec({"task.seq_len": [3, 4]}, train={"steps": 12})
    assert sweep_dir_for(tmp_path, other) != sweep_dir_for(tmp_path, spec)
    assert sweep_dir_for(tmp_path, _spec({"task.seq_len": [3, 4]}, random={
        "train.lr": [0.1, 0.01], "samples": 2})[1]) == sweep_dir_for(tmp_path, spec)
    reworded = parse_sweep(parse_config({**config_to_dict(cfg), "description": "new words"}),
                           "x")
    assert sweep_dir_for(tmp_path, reworded) == sweep_dir_for(tmp_path, spec)


def test_diverging_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    task = {"kind": "weighted_sum", "seq_len": 4, "train_size": 64, "val_size": 32,
            "standardize": False}
    cfg, spec = _spec({"train.lr": [1000.0, 0.001]}, task=task, train={"optimizer": "sgd"},
                      model={"cell": "rnn"})
    result = _run(tmp_path, cfg, spec)
    rows = _csv(result)
    assert [r["status"] for r in rows] == ["diverged", "completed"]
    assert "lower train.lr" in rows[0]["message"]    # grown 1000x or non-finite
    assert int(rows[0]["steps"]) < 10 and float(rows[1]["best_mad"]) > 0
    assert result.complete          # a diverged point is finished, not pending


def test_failing_point_is_recorded_and_not_retried(tmp_path, monkeypatch):
    from lstm_tui.training import engine
    real = engine._train

    def flaky(cfg, *args):
        if cfg.model.hidden == 3:
            raise RuntimeError("boom at hidden 3")
        return real(cfg, *args)
    monkeypatch.setattr(engine, "_train", flaky)
    cfg, spec = _spec({"model.hidden": [3, 4]})
    result = _run(tmp_path, cfg, spec)
    rows = _csv(result)
    assert [r["status"] for r in rows] == ["failed", "completed"]
    assert "boom at hidden 3" in rows[0]["message"]
    assert len(result.failed) == 1 and result.complete
    # resuming does not train a failed point again
    calls = []
    monkeypatch.setattr(engine, "_train", lambda cfg, *a: calls.append(cfg) or real(cfg, *a))
    again = _run(tmp_path, cfg, spec)
    assert calls == [] and [r["status"] for r in again.rows] == ["failed", "completed"]


def _mtimes(sweep_dir: Path) -> dict[str, float]:
    return {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("p*/summary.json")}


def test_stop_then_rerun_resumes_without_retraining(tmp_path):
    cfg, spec = _spec({"task.seq_len": [2, 3, 4], "model.hidden": [3, 4]})
    finished = []

    def listen(event):
        if isinstance(event, PointFinished):
            finished.append(event.key)
    first = _run(tmp_path, cfg, spec, listener=listen, should_stop=lambda: len(finished) >= 2)
    assert not first.complete and first.done == 2 and first.total == 6
    assert len(_csv(first)) == 2
    before = _mtimes(first.sweep_dir)
    assert len(before) == 2

    events = []
    second = _run(tmp_path, cfg, spec, listener=events.append)
    assert second.complete and second.done == 6
    started = events[0]
    assert isinstance(started, SweepStarted) and (started.done, started.pending) == (2, 4)
    after = _mtimes(second.sweep_dir)
    assert len(after) == 6
    assert {k: after[k] for k in before} == before       # finished points not trained again
    rows = _csv(second)
    assert [r["point"] for r in rows] == [str(i) for i in range(6)]
    assert sorted(r["key"] for r in rows) == sorted(p.key for p in spec.points())
    # a third run has nothing left to do
    third_events = []
    third = _run(tmp_path, cfg, spec, listener=third_events.append)
    assert third.complete and _mtimes(third.sweep_dir) == after
    assert [type(e) for e in third_events] == [SweepStarted, SweepFinished]


def test_interrupted_point_is_recorded_and_rerun_in_a_clean_folder(tmp_path):
    cfg, spec = _spec({"model.hidden": [3, 4]}, train={"steps": 40, "eval_every": 10})
    steps = []

    def listen(event):
        if isinstance(event, backends.PointProgress):
            steps.append(event.step)
    # stop in the middle of the first point
    calls = {"n": 0}

    def stop_soon():
        calls["n"] += 1
        return calls["n"] > 15
    first = _run(tmp_path, cfg, spec, listener=listen, should_stop=stop_soon)
    rows = _csv(first)
    assert [r["status"] for r in rows] == ["interrupted"]
    assert 0 < int(rows[0]["steps"]) < 40
    second = _run(tmp_path, cfg, spec)
    assert [r["status"] for r in second.rows] == ["completed", "completed"]
    assert [r["steps"] for r in second.rows] == [40, 40]
    run = second.sweep_dir / second.rows[0]["run"]
    steps_logged = [json.loads(line)["step"] for line in (run / "metrics.jsonl").open()]
    assert steps_logged == sorted(steps_logged)     # one clean run, not two runs appended


def test_a_point_finished_after_the_last_csv_write_is_recovered(tmp_path):
    cfg, spec = _spec({"model.hidden": [3, 4]})
    result = _run(tmp_path, cfg, spec)
    path = result.sweep_dir / "results.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n")        # the driver died before writing row 2
    before = _mtimes(result.sweep_dir)
    events = []
    again = _run(tmp_path, cfg, spec, listener=events.append)
    assert events[0].done == 2 and again.complete
    assert _mtimes(again.sweep_dir) == before
    assert [r["status"] for r in _csv(again)] == ["completed", "completed"]


def test_a_live_driver_holds_the_sweep(tmp_path):
    cfg, spec = _spec({"model.hidden": [3]})
    folder = sweep_dir_for(tmp_path / "runs", spec)
    folder.mkdir(parents=True)
    from lstm_tui.runs.lock import FolderLock
    other = FolderLock(folder / LOCK_FILE).acquire()     # another driver's OS lock
    with pytest.raises(RunError, match=f"already running \\(pid {os.getpid()}\\)"):
        _run(tmp_path, cfg, spec)
    os.close(other._fd)                                  # that driver dies: lock file left
    other._fd = None
    assert (folder / LOCK_FILE).exists()
    assert _run(tmp_path, cfg, spec).complete
    assert not (folder / LOCK_FILE).exists()


def test_unknown_backend_or_workers_is_bad_input(tmp_path):
    cfg, spec = _spec({"model.hidden": [3]})
    with pytest.raises(ConfigError, match="did you mean 'processes'"):
        _run(tmp_path, cfg, spec, backend="proceses")
    with pytest.raises(ConfigError, match="integer >= 1"):
        _run(tmp_path, cfg, spec, backend="processes", workers=0)
    with pytest.raises(ConfigError, match="use --backend processes"):
        _run(tmp_path, cfg, spec, workers=2)
    assert backends.backend_names() == ["sequential", "processes", "ensemble", "ray"]
    assert not (tmp_path / "runs").exists()


def test_missing_device_is_bad_input_before_any_point(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    cfg, spec = _spec({"model.hidden": [3]}, train={"device": "cuda"})
    with pytest.raises(ConfigError, match="cuda"):
        _run(tmp_path, cfg, spec)
    assert not (tmp_path / "runs").exists()


METRIC_COLUMNS = ("status", "best_accuracy", "final_accuracy", "steps", "val_loss",
                  "train_loss", "mean_abs_grad")


@pytest.mark.slow
def test_processes_backend_gives_the_same_results_as_sequential(tmp_path):
    cfg, spec = _spec({"task.seq_len": [3, 4], "model.cell": ["lstm", "gru"]})
    seq = run_points("tiny.toml", cfg, spec, tmp_path / "seq")
    events = []
    par = run_points("tiny.toml", cfg, spec, tmp_path / "par", backend="processes", workers=2,
                     listener=events.append)
    assert par.complete
    for a, b in zip(_csv(seq), _csv(par)):
        assert {k: a[k] for k in METRIC_COLUMNS} == {k: b[k] for k in METRIC_COLUMNS}
        assert a["run"] == b["run"] and a["key"] == b["key"]
    assert events[0].workers == 2 and events[0].backend == "processes"
    started = [e for e in events if isinstance(e, backends.PointStarted)]
    assert len(started) == 4
    # progress is throttled: never a message per step
    progress = [e for e in events if isinstance(e, backends.PointProgress)]
    assert len(progress) <= 4 * 3
    assert {r.sweep for r in list_runs(tmp_path / "par")} == {"tiny"}


# ---------------------------------------------------------------- the ensemble backend

def test_ensemble_jobs_group_and_split(monkeypatch):
    ensemble = pytest.importorskip("lstm_tui.training.ensemble")
    cfg, spec = _spec({"train.lr": [0.1, 0.01, 0.001], "model.cell": ["lstm", "gru"]})
    tasks = [backends.PointTask(p.key, p.index, p.config, f"/x/{p.index}", "tiny")
             for p in spec.points()]
    jobs = ensemble_jobs(tasks, workers=1)
    assert sorted(len(j) for j in jobs) == [3, 3]
    for job in jobs:
        assert len({ensemble.group_key(t.config) for t in job}) == 1
    split = ensemble_jobs(tasks, workers=4)
    assert sorted(len(j) for j in split) == [1, 1, 2, 2]
    assert sorted(t.index for j in split for t in j) == list(range(6))


def test_ensemble_backend_matches_sequential(tmp_path):
    pytest.importorskip("lstm_tui.training.ensemble")
    cfg, spec = _spec({"train.lr": [0.03, 0.01], "model.cell": ["lstm", "gru"]}, seeds=2)
    seq = run_points("tiny.toml", cfg, spec, tmp_path / "seq")
    ens = run_points("tiny.toml", cfg, spec, tmp_path / "ens", backend="ensemble")
    assert ens.complete
    for a, b in zip(_csv(seq), _csv(ens)):
        assert a["key"] == b["key"] and a["status"] == b["status"] == "completed"
        assert float(a["val_loss"]) == pytest.approx(float(b["val_loss"]), rel=1e-3)
    assert {r.sweep for r in list_runs(tmp_path / "ens")} == {"tiny"}
    assert len(list_runs(tmp_path / "ens")) == 8


def test_a_broken_ensemble_group_fails_its_points_only(tmp_path, monkeypatch):
    ensemble = pytest.importorskip("lstm_tui.training.ensemble")
    real = ensemble.train_ensemble

    def broken(configs, *args, **kwargs):
        if configs[0].model.cell == "gru":
            raise RuntimeError("ensemble exploded")
        return real(configs, *args, **kwargs)
    monkeypatch.setattr(ensemble, "train_ensemble", broken)
    cfg, spec = _spec({"train.lr": [0.03, 0.01], "model.cell": ["gru", "lstm"]})
    result = run_points("tiny.toml", cfg, spec, tmp_path / "runs", backend="ensemble")
    statuses = {(r["model.cell"], r["status"]) for r in result.rows}
    assert statuses == {("gru", "failed"), ("lstm", "completed")}
    assert all("ensemble exploded" in r["message"] for r in result.rows if r["status"] == "failed")
    for r in result.rows:
        assert read_info(result.sweep_dir / r["run"]).status == r["status"]


def test_read_results_types_values_back(tmp_path):
    cfg, spec = _spec({"train.lr": [0.5, 0.01], "model.bidirectional": [True]})
    result = _run(tmp_path, cfg, spec)
    rows = read_results(result.sweep_dir / "results.csv")
    assert rows == result.rows
    assert rows[0]["train.lr"] == 0.5 and rows[0]["model.bidirectional"] is True
    assert isinstance(rows[0]["steps"], int) and isinstance(rows[0]["best_accuracy"], float)
    assert columns_for(spec) == list(rows[0])


def _crashing_job(tasks):
    """A pool job whose first point kills its worker outright (as the OOM killer would)."""
    task = tasks[0]
    if task.index == 0:
        pool._QUEUE.put(backends.PointStarted(task.key, task.run_dir, 10))
        import time
        time.sleep(0.5)                     # let the message reach the driver
        os._exit(1)
    return [backends.PointDone(t.key, "completed", "fake", 0.0) for t in tasks]


@pytest.mark.slow
def test_a_dead_worker_fails_its_point_and_the_rest_still_run():
    cfg, spec = _spec({"model.hidden": [3, 4, 5]})
    tasks = [backends.PointTask(p.key, p.index, p.config, f"/nonexistent/{p.index}", "tiny")
             for p in spec.points()]
    got = []
    pool.run_pool([[t] for t in tasks], _crashing_job, 1, got.append, lambda: False)
    done = {m.key: m for m in got if isinstance(m, backends.PointDone)}
    assert set(done) == {t.key for t in tasks}                  # every point accounted for
    assert done[tasks[0].key].status == "failed"
    assert "worker process died" in done[tasks[0].key].message
    assert [done[t.key].status for t in tasks[1:]] == ["completed", "completed"]


# ---------------------------------------------------------------- a point written elsewhere

def hold_writer_lock(run_dir: Path) -> subprocess.Popen:
    """A real second process holding a run folder's writer lock (as `headless --resume`
    of that point does) until its stdin closes."""
    code = ("import sys; from lstm_tui.runs.lock import FolderLock; "
            "FolderLock(sys.argv[1]).acquire(); print('held', flush=True); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(run_dir / ".writer.lock")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=30)


def _digest(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("backend", ["sequential", "processes"])
def test_a_point_written_by_another_process_is_skipped_untouched(tmp_path, backend):
    """Issue 27/6: after a killed sweep, `headless SWEEP/p001 --resume` and a re-run of
    the sweep both wanted p001; the driver deleted and retrained it under the live writer.
    Now the point is left to its writer, reported, and the rest of the sweep trains."""
    cfg, spec = _spec({"model.hidden": [3, 4, 5]}, train={"steps": 40, "eval_every": 10})
    calls = {"n": 0}

    def stop_in_the_second_point():
        calls["n"] += 1
        return calls["n"] > 60
    first = _run(tmp_path, cfg, spec, should_stop=stop_in_the_second_point)
    assert [r["status"] for r in first.rows] == ["completed", "interrupted"]
    point = first.sweep_dir / first.rows[1]["run"]
    holder = hold_writer_lock(point)              # the hand-started resume of that point
    try:
        before = _digest(point)
        events = []
        second = _run(tmp_path, cfg, spec, listener=events.append, backend=backend,
                      workers=2 if backend == "processes" else 1)
        assert _digest(point) == before              # not deleted, not retrained
        assert second.skipped == [point.name] and not second.complete
        skipped = [e for e in events if isinstance(e, PointSkipped)]
        assert [e.run for e in skipped] == [point.name]
        assert f"pid {holder.pid}" in skipped[0].message
        assert events[-1].skipped == (point.name,)
        statuses = {r["run"]: r["status"] for r in second.rows}
        assert statuses[point.name] == "interrupted"  # its row as it was: not rewritten
        assert [r["status"] for r in second.rows if r["run"] != point.name] == \
            ["completed", "completed"]                # the rest of the sweep trained
    finally:
        release(holder)
    third = _run(tmp_path, cfg, spec)                 # its writer gone: trained now
    assert third.complete and not third.skipped
    assert [r["status"] for r in third.rows] == ["completed"] * 3


def test_a_point_locked_after_the_driver_looked_is_not_touched(tmp_path):
    """The lock is taken where the folder is touched (open_point), not only looked at by
    the driver: a writer that starts in between keeps the folder."""
    from lstm_tui.sweeps.backends.base import PointTask
    from lstm_tui.sweeps.backends.point import train_point
    _, spec = _spec({"model.hidden": [3]})
    point = spec.points()[0]
    run_dir = tmp_path / "p0"
    run_dir.mkdir()
    (run_dir / "metrics.jsonl").write_text('{"step": 1, "split": "train", "loss": 1.0}\n')
    holder = hold_writer_lock(run_dir)
    try:
        done = train_point(PointTask(point.key, 0, point.config, str(run_dir), "tiny"),
                           lambda msg: None, lambda: False)
        assert done.status == backends.BUSY and f"pid {holder.pid}" in done.message
        assert (run_dir / "metrics.jsonl").read_text().startswith('{"step": 1')
        assert sorted(p.name for p in run_dir.iterdir()) == [".writer.lock", "metrics.jsonl"]
    finally:
        release(holder)


def test_the_cli_names_a_skipped_point_and_exits_1(tmp_path):
    from typer.testing import CliRunner

    from lstm_tui.cli.main import app
    cfg, spec = _spec({"model.hidden": [3, 4]})
    preset = tmp_path / "tiny.toml"
    from lstm_tui.config import to_toml
    preset.write_text(to_toml(cfg))
    point = sweep_dir_for(tmp_path / "runs", spec) / run_dir_name(spec.points()[0], 2)
    point.mkdir(parents=True)
    holder = hold_writer_lock(point)
    try:
        result = CliRunner().invoke(app, ["sweep", str(preset), "--runs-dir",
                                          str(tmp_path / "runs")])
    finally:
        release(holder)
    assert result.exit_code == 1, result.output
    assert f"skipped hidden=3 seed=0: {point.name}: being written by another process" in \
        " ".join(result.stdout.split())
    assert "1 point(s) skipped" in result.stderr and point.name in result.stderr
    assert "1 of 2 points done" in result.stderr


def test_an_ensemble_group_trains_without_a_member_written_elsewhere(tmp_path):
    """A member whose folder another process writes stays out of its batched group;
    the others train (train_group, the ensemble backend's path)."""
    from lstm_tui.sweeps.backends.base import PointTask
    from lstm_tui.sweeps.backends.point import train_group
    _, spec = _spec({"train.lr": [0.1, 0.01]})
    tasks = [PointTask(p.key, p.index, p.config, str(tmp_path / f"p{p.index}"), "tiny")
             for p in spec.points()]
    (tmp_path / "p1").mkdir()
    holder = hold_writer_lock(tmp_path / "p1")
    try:
        done = {d.key: d for d in train_group(tasks, lambda msg: None, lambda: False)}
    finally:
        release(holder)
    assert done[tasks[0].key].status == "completed"
    assert done[tasks[1].key].status == backends.BUSY
    assert sorted(p.name for p in (tmp_path / "p1").iterdir()) == [".writer.lock"]  # its own
