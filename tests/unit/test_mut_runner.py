"""sweeps/runner.py behaviour that mutation testing found unchecked (see TESTING.md):
row figures, resuming from results.csv alone, stale run folders, typed cells, slugs."""

from __future__ import annotations

import json
import shutil

import pytest

from lstm_tui.config import parse_config
from lstm_tui.runs.reader import read_jsonl
from lstm_tui.runs.summary import read_summary
from lstm_tui.sweeps.backends import PointDone
from lstm_tui.sweeps.runner import PointFinished, SweepStarted, run_points, slug, typed
from lstm_tui.sweeps.spec import parse_sweep

TASK = {"kind": "nth_element", "seq_len": 4, "features": 5, "n": 1, "train_size": 64,
        "val_size": 32}


def _sweep(tmp_path, listener=None):
    data = {"name": "tiny", "task": TASK, "model": {"hidden": 4},
            "train": {"steps": 10, "eval_every": 5, "log_every": 5, "batch_size": 16},
            "sweep": {"grid": {"model.hidden": [3, 4]}}}
    cfg = parse_config(data, "tiny.toml")
    spec = parse_sweep(cfg, "tiny.toml")
    return run_points("tiny.toml", cfg, spec, tmp_path / "runs", listener=listener)


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


def _spec(**sweep):
    data = {"name": "tiny", "task": TASK, "model": {"hidden": 4},
            "train": {"steps": 10, "eval_every": 5, "log_every": 5, "batch_size": 16},
            "sweep": {"grid": {"model.hidden": [3, 4]}, **sweep}}
    cfg = parse_config(data, "tiny.toml")
    return cfg, parse_sweep(cfg, "tiny.toml")


def test_the_listener_hears_names_rows_and_counts(tmp_path):
    from lstm_tui.sweeps.runner import SweepFinished
    heard = []
    result = _sweep(tmp_path, heard.append)
    started = heard[0]
    assert isinstance(started, SweepStarted) and started.name == "tiny"
    finished = [e for e in heard if isinstance(e, PointFinished)]
    assert [e.row for e in finished] == result.rows
    assert [e.done for e in finished] == [1, 2]
    assert heard[-1] == SweepFinished(done=2, total=2, interrupted=False)


def test_a_missing_device_is_blamed_on_the_preset(tmp_path):
    import pytest
    import torch
    from lstm_tui.config import ConfigError
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    data = {"name": "tiny", "task": TASK, "model": {"hidden": 4},
            "train": {"steps": 10, "device": "cuda:3"},
            "sweep": {"grid": {"model.hidden": [3, 4]}}}
    cfg = parse_config(data, "tiny.toml")
    with pytest.raises(ConfigError) as info:
        run_points("tiny.toml", cfg, parse_sweep(cfg, "tiny.toml"), tmp_path / "runs")
    assert info.value.source == "tiny.toml" and info.value.key == "train.device"


def test_a_sweep_lock_that_cannot_be_taken_is_one_line(tmp_path):
    import pytest
    from lstm_tui.runs.layout import RunError
    from lstm_tui.runs.layout import SWEEP_LOCK as LOCK_FILE
    from lstm_tui.sweeps.runner import sweep_dir_for
    cfg, spec = _spec()
    sweep_dir = sweep_dir_for(tmp_path / "runs", spec)
    (sweep_dir / LOCK_FILE).mkdir(parents=True)     # the lock's place is taken
    with pytest.raises(RunError) as info:
        run_points("tiny.toml", cfg, spec, tmp_path / "runs")
    assert str(info.value) == f"{sweep_dir}: is a directory"


def test_an_adaptive_search_is_sent_to_its_own_driver(tmp_path):
    import pytest
    data = {"name": "t", "task": TASK,
            "sweep": {"search": "tpe", "trials": 2,
                      "space": {"train.lr": {"low": 0.001, "high": 0.1, "log": True}}}}
    cfg = parse_config(data, "t.toml")
    with pytest.raises(ValueError) as info:
        run_points("t.toml", cfg, parse_sweep(cfg, "t.toml"), tmp_path / "runs")
    assert str(info.value) == "an adaptive search is run by lstm_tui.sweeps.drive.run_sweep"
    assert not (tmp_path / "runs").exists()


def test_without_a_scheduler_points_run_in_point_order(tmp_path):
    """Only a scheduler reorders the points (ensemble groups first); without one they
    run as listed even when groups interleave."""
    from lstm_tui.sweeps.scheduler import pruning_order
    data = {"name": "tiny", "task": TASK, "model": {"hidden": 4},
            "train": {"steps": 4, "eval_every": 2, "log_every": 2, "batch_size": 16},
            "sweep": {"grid": {"train.lr": [0.01, 0.02], "model.hidden": [3, 4]}}}
    cfg = parse_config(data, "tiny.toml")
    spec = parse_sweep(cfg, "tiny.toml")
    points = spec.points()
    assert pruning_order([(p.key, p.config) for p in points]) != [p.key for p in points]
    heard = []
    run_points("tiny.toml", cfg, spec, tmp_path / "runs", listener=heard.append)
    assert [e.index for e in heard if isinstance(e, PointFinished)] == [0, 1, 2, 3]


def test_the_sequential_backend_prunes_with_asha(tmp_path):
    lrs = [0.0001, 0.001, 0.03, 0.1, 0.3, 0.00003]
    data = {"name": "prune", "task": TASK, "model": {"hidden": 4},
            "train": {"steps": 24, "eval_every": 3, "log_every": 3, "batch_size": 16},
            "sweep": {"grid": {"train.lr": lrs}, "scheduler": "asha", "grace": 1,
                      "reduction": 2}}
    cfg = parse_config(data, "p.toml")
    result = run_points("p.toml", cfg, parse_sweep(cfg, "p.toml"), tmp_path / "runs")
    statuses = [r["status"] for r in result.rows]
    assert "pruned" in statuses and "completed" in statuses
    assert set(statuses) == {"pruned", "completed"}


# ---------------------------------------------------------------- mutation pass 4

class FakeBackend:
    """A backend that trains nothing: it reports what `plan` says for each task (and
    records every call), so the driver's side of the messages can be checked alone."""
    name = "fake"
    remote = False
    calls: list = []
    plan = staticmethod(lambda task: [PointDone(task.key, "failed", "worker: boom")])

    def __init__(self, workers: int = 1, spec=None):
        self.workers = 7                        # what the backend really uses
        self.pruner = None

    def run(self, tasks, report, should_stop, more=None):
        FakeBackend.calls.append([t.key for t in tasks])
        for task in tasks:
            for msg in FakeBackend.plan(task):
                report(msg)


class CannotPrune(FakeBackend):
    def __init__(self, workers: int = 1, spec=None):
        self.workers = 1                        # and no pruner: it cannot stop points


@pytest.fixture
def fake(monkeypatch):
    from lstm_tui.sweeps import backends
    monkeypatch.setitem(backends.BACKENDS, "fake", f"{__name__}:FakeBackend")
    monkeypatch.setattr(FakeBackend, "calls", [])
    return FakeBackend


def _fake_sweep(tmp_path, listener=None, should_stop=lambda: False, **sweep):
    cfg, spec = _spec(**sweep)
    return run_points("tiny.toml", cfg, spec, tmp_path / "runs", backend="fake",
                      listener=listener, should_stop=should_stop)


def test_the_sweep_started_event_says_where_what_and_the_backends_own_workers(tmp_path, fake):
    heard = []
    result = _fake_sweep(tmp_path, heard.append)
    started = heard[0]
    assert (started.sweep_dir, started.axes, started.backend, started.workers) == \
        (result.sweep_dir, ("model.hidden",), "fake", 7)
    assert (started.total, started.done, started.pending) == (2, 0, 2)
    assert tuple(result.axes) == ("model.hidden",)


def test_a_backends_message_is_the_rows_and_late_messages_are_dropped(tmp_path, fake,
                                                                     monkeypatch):
    monkeypatch.setattr(FakeBackend, "plan", staticmethod(lambda task: [
        PointDone(task.key, "failed", "worker: boom"),
        PointDone(task.key, "completed", "late"),             # after the point finished
        PointDone("no-such-point", "completed", "stray")]))
    heard = []
    result = _fake_sweep(tmp_path, heard.append)
    assert [(r["status"], r["message"]) for r in result.rows] == [("failed", "worker: boom")] * 2
    assert len([e for e in heard if isinstance(e, PointFinished)]) == 2


def test_nothing_pending_or_a_stop_before_the_start_asks_the_backend_for_nothing(tmp_path,
                                                                                fake):
    from lstm_tui.sweeps.runner import SweepFinished
    heard = []
    _fake_sweep(tmp_path, heard.append, should_stop=lambda: True)
    assert FakeBackend.calls == [] and heard[-1] == SweepFinished(0, 2, True)
    _fake_sweep(tmp_path)                                     # trains (fails) both
    _fake_sweep(tmp_path)                                     # nothing left to do
    assert len(FakeBackend.calls) == 1


def test_a_remote_backends_devices_are_not_this_machines(tmp_path, fake, monkeypatch):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    monkeypatch.setattr(FakeBackend, "remote", True)
    data = {"name": "tiny", "task": TASK, "model": {"hidden": 4},
            "train": {"steps": 10, "device": "cuda:3"},
            "sweep": {"grid": {"model.hidden": [3, 4]}}}
    cfg = parse_config(data, "tiny.toml")
    result = run_points("tiny.toml", cfg, parse_sweep(cfg, "tiny.toml"), tmp_path / "runs",
                        backend="fake")
    assert len(result.rows) == 2


def test_a_scheduler_on_a_backend_that_cannot_prune_names_the_preset(tmp_path, fake,
                                                                    monkeypatch):
    from lstm_tui.config import ConfigError
    from lstm_tui.sweeps import backends
    monkeypatch.setitem(backends.BACKENDS, "fake", f"{__name__}:CannotPrune")
    with pytest.raises(ConfigError) as info:
        _fake_sweep(tmp_path, scheduler="asha")
    assert str(info.value) == ("tiny.toml: sweep.scheduler: 'asha' needs a backend that stops "
                               "points early; fake cannot (use scheduler = \"none\")")


def test_sweep_toml_names_the_preset_it_came_from(tmp_path, fake):
    result = _fake_sweep(tmp_path)
    first = (result.sweep_dir / "sweep.toml").read_text().splitlines()[0]
    assert first == "# the sweep of tiny.toml, as resolved (overrides applied)"


def test_a_rows_message_and_status_come_from_the_run_folder_when_not_given(tmp_path):
    from lstm_tui.sweeps.runner import build_row, columns_for
    result = _sweep(tmp_path)
    cfg, spec = _spec()
    point, columns = spec.points()[0], columns_for(spec)
    run_dir = result.sweep_dir / result.rows[0]["run"]
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["message"] = "no improvement in 3 evaluations"
    (run_dir / "summary.json").write_text(json.dumps(summary))
    assert build_row(point, run_dir, spec, columns)["message"] == \
        "no improvement in 3 evaluations"
    assert build_row(point, run_dir, spec, columns, message="given")["message"] == "given"
    gone = build_row(point, tmp_path / "nowhere", spec, columns)
    assert (gone["status"], gone["message"], gone["steps"]) == ("failed", "", 0)


def test_the_task_metric_is_the_runs_own_other_metrics_come_from_its_records(tmp_path):
    from lstm_tui.sweeps.runner import build_row, columns_for
    result = _sweep(tmp_path)
    run_dir = result.sweep_dir / result.rows[0]["run"]
    summary = json.loads((run_dir / "summary.json").read_text())
    summary.update(best=0.99, final=0.98)                     # e.g. records cut by a crash
    (run_dir / "summary.json").write_text(json.dumps(summary))
    (run_dir / "metrics.jsonl").write_text("".join(
        json.dumps({"step": s, "split": "val", "loss": loss, "accuracy": 0.5}) + "\n"
        for s, loss in ((5, 0.5), (10, 0.3), (15, 0.4))))
    _, spec = _spec()
    point = spec.points()[0]
    row = build_row(point, run_dir, spec, columns_for(spec))
    assert (row["best_accuracy"], row["final_accuracy"]) == (0.99, 0.98)
    del summary["metric"]                                     # a summary without its metric
    (run_dir / "summary.json").write_text(json.dumps(summary))
    _, by_loss = _spec(metric="loss")
    row = build_row(point, run_dir, by_loss, columns_for(by_loss))
    assert (row["best_loss"], row["final_loss"]) == (0.3, 0.4)
    row = build_row(point, run_dir, spec, columns_for(spec))    # still the run's own figures
    assert (row["best_accuracy"], row["final_accuracy"]) == (0.99, 0.98)


def test_results_csv_that_is_a_folder_is_one_line_and_nul_bytes_are_read_past(tmp_path):
    from lstm_tui.runs.layout import RunError
    from lstm_tui.sweeps.runner import read_results
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(RunError) as info:
        read_results(tmp_path / "dir.csv")
    assert str(info.value) == f"{tmp_path / 'dir.csv'}: is a directory"
    path = tmp_path / "results.csv"
    path.write_bytes(b"point,run,status,message,key\n0,p0,completed,a\0b,k0\n"
                     b"1,p1,failed,x,k1\n")
    assert [(r["run"], r["message"]) for r in read_results(path)] == [("p0", "ab"), ("p1", "x")]


def test_a_sweep_folder_that_cannot_be_made_is_one_line_naming_it(tmp_path):
    from lstm_tui.runs.layout import RunError
    from lstm_tui.sweeps.runner import make_sweep_dir, sweep_dir_for
    _, spec = _spec()
    target = sweep_dir_for(tmp_path / "runs", spec)
    target.parent.mkdir(parents=True)
    target.write_text("a file where the folder goes")
    with pytest.raises(RunError) as info:
        make_sweep_dir(tmp_path / "runs", spec)
    assert str(info.value) == f"{target}: file exists"


def test_run_folder_names_keep_sixty_characters_of_values_and_single_dashes():
    from lstm_tui.sweeps.runner import run_dir_name
    cfg = parse_config({"task": {"kind": "nth_element"}, "sweep": {"grid": {
        "model.cell": ["lstm", "gru"], "train.optimizer": ["adam"], "train.lr": [0.00123456],
        "model.hidden": [12345], "train.batch_size": [1], "model.init": ["orthogonal"]}}},
        "t.toml")
    points = parse_sweep(cfg, "t.toml").points()
    assert [run_dir_name(p, len(points)) for p in points] == [
        "p000-celllstm-optimizeradam-lr0.00123456-hidden12345-batch_size1-s0",  # cut at a '-'
        "p001-cellgru-optimizeradam-lr0.00123456-hidden12345-batch_size1-i-s0"]


def test_a_resumed_asha_sweep_reads_past_validations_without_a_figure(tmp_path, fake,
                                                                     monkeypatch):
    def plan(task):                 # a finished point whose validations hold a null metric
        from pathlib import Path
        run_dir = Path(task.run_dir)
        run_dir.mkdir(parents=True)
        (run_dir / "metrics.jsonl").write_text(
            json.dumps({"step": 5, "split": "val", "loss": 0.1, "accuracy": None}) + "\n"
            + json.dumps({"step": 10, "split": "val", "loss": 0.1, "accuracy": 0.5}) + "\n")
        return [PointDone(task.key, "completed", "")]

    monkeypatch.setattr(FakeBackend, "plan", staticmethod(plan))
    first = _fake_sweep(tmp_path, scheduler="asha")
    heard = []
    again = _fake_sweep(tmp_path, heard.append, scheduler="asha")     # reads their history
    assert again.sweep_dir == first.sweep_dir and heard[0].done == 2
