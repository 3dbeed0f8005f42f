"""Trackers as listeners (lstm_tui.trackers): names checked, a missing extra is bad input,
what a tracker hears from a real run, and how a failing or slow tracker is contained.

This module is also the stand-in tracker "fake" (its `destination` and `open_sink`), so the
listener is tested on real runs without MLflow or W&B; tests/cli/test_trackers_cli.py
logs to the real ones.
"""

from __future__ import annotations

import threading
import time

import pytest

from lstm_tui import trackers
from lstm_tui.config import ConfigError, load_preset, parse_config
from lstm_tui.experiment import resume_run, start_run
from lstm_tui.runs.reader import read_jsonl
from lstm_tui.runs.tags import TagChange, change_tags
from lstm_tui.trackers import TrackerSpec
from lstm_tui.trackers import listen
from tests.unit.test_engine import tiny

# ---------------------------------------------------------------- the stand-in tracker

SINKS: list["FakeSink"] = []
BEHAVIOUR = {"fail_at": None, "hang": 0.0}


def destination() -> str:
    return "fake://here"


def open_sink(start: listen.Start) -> "FakeSink":
    if BEHAVIOUR["fail_at"] == "open":
        raise ConnectionError("tracker down\nsecond line never shown")
    sink = FakeSink(start)
    SINKS.append(sink)
    return sink


class FakeSink:
    def __init__(self, start):
        self.start, self.rows, self.end = start, [], None
        self.record = {"id": f"fake-{len(SINKS)}", "resumed_from": start.previous.get("id")}
        self.calls = 0

    def log(self, rows):
        self.calls += 1
        if BEHAVIOUR["fail_at"] == "log":
            raise RuntimeError("quota exceeded")
        self.rows.extend(rows)

    def close(self, end):
        if BEHAVIOUR["hang"]:
            time.sleep(BEHAVIOUR["hang"])
        self.end = end


@pytest.fixture(autouse=True)
def fake_tracker(monkeypatch):
    monkeypatch.setitem(trackers.TRACKERS, "fake",
                        TrackerSpec("fake", "tests.unit.test_trackers", "json"))
    SINKS.clear()
    BEHAVIOUR.update(fail_at=None, hang=0.0)
    listen.reset_failures()
    yield
    listen.reset_failures()


def _cfg(**train):
    return parse_config(tiny(train={"log_to": ["fake"], **train}))


# ---------------------------------------------------------------- names and extras

def test_log_to_names_are_checked_with_a_hint():
    with pytest.raises(ConfigError, match=r"train.log_to: must name trackers among mlflow, "
                       r"wandb.*got 'mlfow' \(did you mean 'mlflow'\?\)"):
        parse_config(tiny(train={"log_to": ["mlfow"]}), "p.toml")
    assert trackers.check_names(["wandb", "mlflow", "wandb"], "", "") == ["wandb", "mlflow"]
    assert trackers.merged(["wandb"], ["mlflow", "wandb"]) == ["wandb", "mlflow"]
    with pytest.raises(ConfigError, match=r"^--log-to: must name trackers.*'nope'"):
        trackers.merged([], ["nope"])


def test_a_bad_log_to_override_is_blamed_on_the_set(tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text('[task]\nkind = "nth_element"\n')
    with pytest.raises(ConfigError, match=r"^--set train.log_to=\['x'\]: train.log_to"):
        load_preset(preset, ["train.log_to=['x']"])


def test_a_missing_extra_is_bad_input_with_the_pip_command_and_no_folder(tmp_path,
                                                                        monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(ConfigError, match=r"logging to mlflow needs its extra: "
                       r"pip install 'lstm-lab\[mlflow\]'"):
        start_run(parse_config(tiny(train={"log_to": ["mlflow"]})), tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
    trackers.require(["fake"])        # its library (json) is there: no error


def test_logging_to_a_tracker_does_not_move_a_sweep_folder():
    from lstm_tui.sweeps.spec import parse_sweep
    plain = parse_config({**tiny(), "sweep": {"grid": {"model.hidden": [4, 8]}}})
    logged = parse_config({**tiny(train={"log_to": ["mlflow"]}),
                           "sweep": {"grid": {"model.hidden": [4, 8]}}})
    assert parse_sweep(plain, "s").fingerprint() == parse_sweep(logged, "s").fingerprint()


# ---------------------------------------------------------------- what a tracker hears

def test_a_tracker_hears_params_metrics_with_steps_the_end_tags_and_files(tmp_path):
    tagged = threading.Event()

    def tag_mid_run(event):          # `lstm-lab tag` while the run trains
        if type(event).__name__ == "ValMetrics" and not tagged.is_set():
            change_tags(run_dir_of[0], TagChange(("keeper",), ()))
            tagged.set()

    run_dir_of = []
    run_dir, last = start_run(_cfg(), tmp_path, [tag_mid_run],
                              on_created=run_dir_of.append)
    assert last.status == "completed" and len(SINKS) == 1
    sink = SINKS[0]
    start = sink.start
    assert start.run_name == run_dir.name and start.group is None and start.previous == {}
    assert start.params["model.hidden"] == 8 and start.params["task.kind"] == "nth_element"
    assert start.params["train.log_to"] == ["fake"]
    assert not any(k.startswith(("expect.", "sweep.", "description")) for k in start.params)
    records = read_jsonl(run_dir / "metrics.jsonl")
    train = {r["step"]: r for r in records if r["split"] == "train"}
    val = {r["step"]: r for r in records if r["split"] == "val"}
    sent_train = {s: m for s, m in sink.rows if "train/loss" in m}
    sent_val = {s: m for s, m in sink.rows if "val/loss" in m}
    assert list(sent_train) == list(train) == [5, 10, 15, 20, 25, 30, 35, 40]
    assert list(sent_val) == list(val) == [20, 40]
    assert sent_train[40]["train/loss"] == pytest.approx(train[40]["loss"])
    assert sent_val[40]["val/accuracy"] == pytest.approx(val[40]["accuracy"])
    end = sink.end
    assert end.status == "completed" and end.step == 40 and end.tags == ("keeper",)
    assert end.numbers["best"] == pytest.approx(end.summary["best"])
    assert end.numbers["steps"] == 40 and "pid" not in end.numbers
    assert [p.name for p in end.files] == ["config.toml", "summary.json", "best.pt"]
    assert (run_dir / "trackers.json").is_file()


def test_a_resumed_run_continues_its_tracker_run(tmp_path):
    calls = []
    run_dir, last = start_run(_cfg(steps=60, eval_every=10), tmp_path,
                              should_stop=lambda: calls.append(1) or len(calls) > 25)
    assert last.status == "interrupted" and SINKS[0].end.status == "interrupted"
    run_dir, last = resume_run(run_dir)
    assert last.status == "completed" and len(SINKS) == 2
    first, second = SINKS
    assert second.start.previous == first.record       # read back from trackers.json
    assert max(s for s, _ in first.rows) == 25 and min(s for s, _ in second.rows) > 20


def test_resume_can_add_a_tracker(tmp_path):
    calls = []
    cfg = parse_config(tiny(train={"steps": 60}))
    run_dir, _ = start_run(cfg, tmp_path, should_stop=lambda: calls.append(1) or len(calls) > 25)
    assert SINKS == []
    resume_run(run_dir, log_to=["fake"])
    assert len(SINKS) == 1 and SINKS[0].end.status == "completed"


# ---------------------------------------------------------------- failures are contained

def test_a_tracker_that_is_down_warns_once_and_is_not_called_again(tmp_path):
    BEHAVIOUR["fail_at"] = "open"
    lines = []
    start = time.monotonic()
    names = ["fake"]
    run_dir, last = start_run(parse_config(tiny()), tmp_path,
                              listen.tracker_listeners(names, tmp_path / "x", warn=lines.append))
    assert last.status == "completed"
    for _ in range(2):       # later runs in this process skip it without a word
        l2 = listen.tracker_listeners(names, tmp_path / "y", warn=lines.append)
        start_run(parse_config(tiny()), tmp_path, l2)
    assert time.monotonic() - start < 60
    assert lines == ["warning: fake: ConnectionError: tracker down; not logging to fake "
                     "again in this process (the run goes on, its own folder complete)"]


def test_a_tracker_failing_mid_run_leaves_the_run_and_its_folder_whole(tmp_path, capsys):
    BEHAVIOUR["fail_at"] = "log"
    run_dir, last = start_run(_cfg(), tmp_path)
    assert last.status == "completed"
    assert SINKS[0].calls == 1 and SINKS[0].end is None        # nothing after the failure
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["warning: fake: RuntimeError: quota exceeded; not logging to fake again "
                   "in this process (the run goes on, its own folder complete)"]
    summary = (run_dir / "summary.json").read_text()
    assert '"completed"' in summary and (run_dir / "best.pt").is_file()


def test_the_run_waits_a_bounded_time_for_a_slow_tracker(tmp_path):
    BEHAVIOUR["hang"] = 5.0
    lines = []
    listener = listen.TrackerListener("fake", tmp_path / "run", warn=lines.append,
                                      end_wait=0.5)
    began = time.monotonic()
    start_run(parse_config(tiny()), tmp_path, [listener], run_dir=tmp_path / "run")
    assert time.monotonic() - began < 5.0
    assert len(lines) == 1 and lines[0].startswith("warning: fake: still sending after ")
    assert lines[0].endswith(" s; the run ends without waiting (its own folder is complete)")


def test_a_listener_closed_without_an_end_ends_its_run_as_interrupted(tmp_path):
    from lstm_tui import events as ev
    from lstm_tui.config import config_to_dict
    from lstm_tui.models.summary import summarize
    listener = listen.TrackerListener("fake", tmp_path)
    cfg = parse_config(tiny())
    table = summarize(cfg.model, 4, 4, 4, "last")
    listener(ev.RunStarted("r", config_to_dict(cfg), table, "cpu", 40, 8, 256, "accuracy",
                           "max"))
    listener.close()
    assert SINKS[0].end.status == "interrupted" and SINKS[0].end.files == ()
