"""Run files written behind the training loop (runs.behind, RunWriter(behind=True)):
in order, a newer summary replacing a waiting one, a failure stopping what follows it
and failing the run, and a folder that never names a checkpoint not yet on disk."""

from __future__ import annotations

import errno
import json
import threading
from pathlib import Path

import pytest
import torch

from lstm_tui import events as ev
from lstm_tui.config import parse_config
from lstm_tui.experiment import start_run
from lstm_tui.runs import behind, writer as writer_module
from lstm_tui.runs.behind import WriteBehind
from lstm_tui.runs.layout import SUMMARY, WRITER_LOCK, RunError
from lstm_tui.runs.provenance import read_provenance


def blocked(queue: WriteBehind, done: list) -> threading.Event:
    """Start a write that waits for the returned event, so later ones stay pending."""
    gate, running = threading.Event(), threading.Event()
    queue.put(Path("gate"), lambda: (running.set(), gate.wait(10), done.append("gate")))
    assert running.wait(10)
    return gate


def test_writes_are_done_in_order_and_a_newer_summary_replaces_a_waiting_one():
    queue, done = WriteBehind(), []
    gate = blocked(queue, done)
    queue.put(Path("summary.json"), lambda: done.append("summary 1"), supersede=True)
    queue.put(Path("last.pt"), lambda: done.append("last"))
    queue.put(Path("summary.json"), lambda: done.append("summary 2"), supersede=True)
    gate.set()
    queue.drain()
    # summary 2 goes after last.pt, which it may name: never before it
    assert done == ["gate", "last", "summary 2"]


def test_a_dropped_write_is_not_done_but_one_already_started_is_waited_for():
    queue, done = WriteBehind(), []
    gate = blocked(queue, done)
    queue.put(Path("summary.json"), lambda: done.append("summary"), supersede=True)
    queue.drop(Path("summary.json"))   # the run's last summary is written on the spot
    queue.drop(Path("gate"))           # started: dropping it cannot stop it
    gate.set()
    queue.drain()
    assert done == ["gate"]


def test_a_failed_write_stops_the_ones_after_it_and_is_raised_by_the_next_call():
    queue, done = WriteBehind(), []
    gate = blocked(queue, done)

    def full():
        raise OSError(errno.ENOSPC, "No space left on device", "last.pt")
    queue.put(Path("last.pt"), full)
    queue.put(Path("summary.json"), lambda: done.append("summary"), supersede=True)
    gate.set()
    with pytest.raises(OSError, match="No space left"):
        queue.drain()
    assert done == ["gate"]            # the summary that would name last.pt: not written
    queue.check()                      # raised once
    queue.put(Path("other"), lambda: done.append("other"))
    queue.drain()
    assert done == ["gate", "other"]


def test_put_waits_while_LIMIT_writes_are_pending(monkeypatch):
    monkeypatch.setattr(behind, "LIMIT", 2)
    queue, done = WriteBehind(), []
    gate = blocked(queue, done)
    queue.put(Path("a"), lambda: done.append("a"))
    third = threading.Thread(target=queue.put, args=(Path("b"), lambda: done.append("b")))
    third.start()
    third.join(0.3)
    assert third.is_alive()            # a slow disk slows the caller, not the memory
    gate.set()
    third.join(10)
    queue.drain()
    assert done == ["gate", "a", "b"]


def cfg():
    return parse_config({"task": {"train_size": 64, "val_size": 32}, "model": {"hidden": 4},
                         "train": {"steps": 40, "eval_every": 10, "log_every": 5,
                                   "batch_size": 8}})


def test_the_folder_is_written_in_the_order_of_the_run(tmp_path, monkeypatch):
    # a summary never names a checkpoint not yet on disk, nor a validation whose line in
    # metrics.jsonl is not written yet: a crash at any moment leaves a consistent folder
    from lstm_tui.runs.writer import RunWriter
    log = []
    real_json, real_bytes = writer_module.atomic_write_json, writer_module.atomic_write_bytes
    real_link = writer_module.atomic_link
    real_line = RunWriter._write_line

    def summary(path, data):
        log.append(("summary", (dict(data.get("checkpoints", {})), data.get("steps"))))
        real_json(path, data)

    def checkpoint(path, data):
        real_bytes(path, data)
        log.append(("file", Path(path).name))

    def link(source, path):
        linked = real_link(source, path)
        log.append(("file", Path(path).name))
        return linked

    def line(self, name, text):
        real_line(self, name, text)
        record = json.loads(text)
        if record.get("split") == "val":
            log.append(("val", record["step"]))
    monkeypatch.setattr(writer_module, "atomic_write_json", summary)
    monkeypatch.setattr(writer_module, "atomic_write_bytes", checkpoint)
    monkeypatch.setattr(writer_module, "atomic_link", link)
    monkeypatch.setattr(RunWriter, "_write_line", line)
    run_dir, last = start_run(cfg(), tmp_path)
    assert isinstance(last, ev.Finished) and last.status == "completed"
    written, validated = set(), 0
    for kind, value in log:
        if kind == "file":
            written.add(value)
        elif kind == "val":
            validated = value
        elif value[1] is not None:
            checkpoints, steps = value
            assert set(checkpoints.values()) <= written and steps <= validated, log
    assert ("file", "last.pt") in log and ("val", 40) in log
    final = json.loads((run_dir / SUMMARY).read_text())
    assert final["status"] == "completed" and final["steps"] == 40
    assert final["checkpoints"] == {"best": "best.pt", "last": "last.pt"}
    prov = read_provenance(run_dir)         # its start written behind, its end after it
    assert prov["device"] == "cpu" and "resumes" not in prov and prov["ended"] >= prov["started"]


def test_a_checkpoint_that_fails_behind_fails_the_run_and_is_not_named(tmp_path, monkeypatch):
    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr(writer_module, "atomic_write_bytes", full)
    run_dir, last = start_run(cfg(), tmp_path)
    assert isinstance(last, ev.Failed) and "No space left" in last.error
    summary = json.loads((run_dir / SUMMARY).read_text())
    assert summary["status"] == "failed" and "No space left" in summary["message"]
    assert "checkpoints" not in summary            # no best.pt or last.pt was written
    assert not list(run_dir.glob("*.pt")) and not list(run_dir.glob(".*.tmp"))
    assert not (run_dir / WRITER_LOCK).exists()


def summary_puts(monkeypatch) -> list[bool]:
    """The `wake` of every summary.json write queued from now on, in order."""
    wakes: list[bool] = []
    real_put = WriteBehind.put

    def put(self, path, write, supersede=False, wake=True):
        if Path(path).name == SUMMARY:
            wakes.append(wake)
        real_put(self, path, write, supersede, wake)
    monkeypatch.setattr(WriteBehind, "put", put)
    return wakes


def test_a_validation_and_its_checkpoints_take_one_summary_write(tmp_path, monkeypatch):
    from lstm_tui.runs.writer import RunWriter
    wakes = summary_puts(monkeypatch)
    (tmp_path / "run").mkdir()
    writer = RunWriter(tmp_path / "run", cfg(), behind=True)
    wakes.clear()
    writer(ev.ValMetrics(step=10, epoch=1, loss=0.4, metric=0.8, best=0.8, is_best=True))
    writer(ev.TimestepGradients(step=10, norms=(0.1, 0.2)))
    writer(ev.CheckpointWritten(step=10, tag="best", path="best.pt"))
    assert wakes == []                      # news kept until the validation's last write
    writer(ev.CheckpointWritten(step=10, tag="last", path="last.pt"))
    assert len(wakes) == 1
    assert wakes[-1] is True       # it names best.pt and last.pt for the first time
    writer(ev.ValMetrics(step=20, epoch=2, loss=0.5, metric=0.7, best=0.8, is_best=False))
    writer(ev.StepMetrics(step=25, epoch=2, loss=0.5, metric=0.7, lr=0.1, grad_norm=1.0,
                          grad_norms={}, grad_means={}, mean_abs_grad=0.1, steps_per_sec=1.0,
                          seconds=1.0, examples_per_sec=1.0))
    assert len(wakes) == 2                  # at the latest, with the next record
    assert wakes[-1] is False      # a heartbeat: within behind.LATER, without a wake
    writer(ev.ValMetrics(step=30, epoch=3, loss=0.5, metric=0.7, best=0.8, is_best=False))
    writer(ev.CheckpointWritten(step=30, tag="last", path="last.pt"))
    assert len(wakes) == 3 and wakes[-1] is False
    writer._behind.drain()
    summary = json.loads((tmp_path / "run" / SUMMARY).read_text())
    assert (summary["steps"], summary["final"]) == (30, 0.7)
    assert summary["checkpoints"] == {"best": "best.pt", "last": "last.pt"}
    writer.close()


def test_without_checkpoints_the_first_heartbeat_still_wakes_the_writer(tmp_path, monkeypatch):
    # a run killed before its first summary with steps reached the disk lists as empty
    # (and `rm --empty` would take it): that one summary never waits
    from lstm_tui.runs.writer import RunWriter
    wakes = summary_puts(monkeypatch)
    (tmp_path / "run").mkdir()
    writer = RunWriter(tmp_path / "run", cfg(), behind=True)
    train = dict(epoch=1, loss=0.5, metric=0.7, lr=0.1, grad_norm=1.0, grad_norms={},
                 grad_means={}, mean_abs_grad=0.1, steps_per_sec=1.0, seconds=1.0,
                 examples_per_sec=1.0)
    for step in (10, 20):
        wakes.clear()
        writer(ev.ValMetrics(step=step, epoch=1, loss=0.4, metric=0.8, best=0.8, is_best=True))
        writer(ev.StepMetrics(step=step + 5, **train))
        assert wakes == [step == 10]
    writer._behind.drain()
    assert json.loads((tmp_path / "run" / SUMMARY).read_text())["steps"] == 20
    writer.close()


def test_a_checkpoint_waiting_behind_is_replaced_by_a_newer_one_unless_it_is_the_first(
        tmp_path, monkeypatch):
    from lstm_tui.runs.checkpoint import load_checkpoint
    from lstm_tui.runs.writer import RunWriter
    written = []
    real = writer_module.atomic_write_bytes
    monkeypatch.setattr(writer_module, "atomic_write_bytes",
                        lambda path, data: (real(path, data), written.append(1)))
    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 0.0)   # the queue's own rule
    (tmp_path / "run").mkdir()
    writer = RunWriter(tmp_path / "run", cfg(), behind=True)
    last = tmp_path / "run" / "last.pt"
    for steps, writes in (((1, 2, 3), 3), ((4, 5, 6), 1)):
        written.clear()
        gate = blocked(writer._behind, [])
        for step in steps:    # no last.pt yet: each is written; then only the newest
            writer.save_checkpoint("last", {"model": {}, "config": {}, "step": step})
        gate.set()
        writer._behind.drain()
        assert len(written) == writes and load_checkpoint(last)["step"] == steps[-1]
    writer.close()


def test_a_write_without_wake_waits_for_one_that_wakes_or_for_a_drain():
    import time
    queue, done = WriteBehind(), []
    queue.put(Path("x"), lambda: done.append("x"))
    queue.drain()
    time.sleep(0.05)                   # the writing thread is asleep again
    queue.put(Path("line"), lambda: done.append("line 1"), wake=False)
    queue.put(Path("last.pt"), lambda: done.append("last"), wake=False)
    time.sleep(0.2)
    assert done == ["x"]               # a validation's lines and checkpoints wait ...
    queue.put(Path("summary.json"), lambda: done.append("summary"))
    queue.drain()                      # ... for its summary, in order
    assert done == ["x", "line 1", "last", "summary"]
    queue.put(Path("line"), lambda: done.append("line 2"), wake=False)
    queue.drain()
    assert done[-1] == "line 2"


def test_best_and_last_of_one_payload_are_serialized_once_and_stored_as_one_file(
        tmp_path, monkeypatch):
    import os
    from lstm_tui.runs import checkpoint
    from lstm_tui.runs.checkpoint import load_checkpoint
    from lstm_tui.runs.writer import RunWriter
    serialized = []
    real = checkpoint.checkpoint_bytes
    monkeypatch.setattr(checkpoint, "checkpoint_bytes",
                        lambda payload, path: (serialized.append(path.name), real(payload, path))[1])
    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 0.0)   # every version queued
    run = tmp_path / "run"
    run.mkdir()
    writer = RunWriter(run, cfg(), behind=True)
    first = {"model": {"w": torch.ones(2)}, "config": {}, "step": 1}
    writer.save_checkpoint("best", first)
    writer.save_checkpoint("last", first)       # the same payload: a validation that improved
    writer._behind.drain()
    assert serialized == ["best.pt"]
    assert os.stat(run / "best.pt").st_ino == os.stat(run / "last.pt").st_ino
    writer.save_checkpoint("last", {"model": {"w": torch.zeros(2)}, "config": {}, "step": 2})
    writer._behind.drain()                      # replacing one name leaves the other
    assert load_checkpoint(run / "last.pt")["step"] == 2
    assert load_checkpoint(run / "best.pt")["model"]["w"].tolist() == [1.0, 1.0]
    # best's write dropped for a newer best before it ran: last writes its own copy
    gate = blocked(writer._behind, [])
    second, third = ({"model": {}, "config": {}, "step": s} for s in (3, 4))
    writer.save_checkpoint("best", second)
    writer.save_checkpoint("last", second)
    writer.save_checkpoint("best", third)
    gate.set()
    writer._behind.drain()
    assert load_checkpoint(run / "last.pt")["step"] == 3
    assert load_checkpoint(run / "best.pt")["step"] == 4
    writer.close()


def test_a_tag_reaches_the_disk_at_most_every_interval_and_its_newest_at_the_end(
        tmp_path, monkeypatch):
    from lstm_tui.runs.checkpoint import load_checkpoint
    from lstm_tui.runs.writer import RunWriter
    clock = [100.0]
    monkeypatch.setattr(writer_module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 1.0)
    written = []
    real = writer_module.atomic_write_bytes
    monkeypatch.setattr(writer_module, "atomic_write_bytes",
                        lambda path, data: (real(path, data), written.append(
                            (Path(path).name, load_checkpoint(path)["step"]))))
    run = tmp_path / "run"
    run.mkdir()
    writer = RunWriter(run, cfg(), behind=True)

    def save(step, *tags):
        payload = {"model": {"w": torch.full((2,), float(step))}, "config": {}, "step": step}
        for tag in tags:
            writer(ev.CheckpointWritten(step=step, tag=tag,
                                        path=writer.save_checkpoint(tag, payload)))
        writer._behind.drain()
    save(1, "best", "last")                  # the first versions: on disk at once
    clock[0] += 0.4
    save(2, "best", "last")                  # within the interval: held
    clock[0] += 0.4
    save(3, "last")                          # held, replacing step 2's
    assert written == [("best.pt", 1)] and load_checkpoint(run / "last.pt")["step"] == 1
    clock[0] += 0.4                          # 1.2 s after the first: step 4 goes
    save(4, "last")
    assert load_checkpoint(run / "last.pt")["step"] == 4
    assert load_checkpoint(run / "best.pt")["step"] == 1            # best still held
    clock[0] += 0.1
    save(5, "last")                          # held, then the run ends: the newest of each
    writer(ev.Finished(status="completed", step=5, best=0.9, final=0.9, seconds=1.0))
    assert load_checkpoint(run / "last.pt")["step"] == 5
    best = load_checkpoint(run / "best.pt")
    assert best["step"] == 2 and best["model"]["w"].tolist() == [2.0, 2.0]   # its copy then
    assert [step for name, step in written if name == "last.pt"] == [4, 5]
    summary = json.loads((run / SUMMARY).read_text())
    assert summary["checkpoints"] == {"best": "best.pt", "last": "last.pt"}


def test_without_hard_links_the_second_tag_is_a_copy(tmp_path, monkeypatch):
    import os
    from lstm_tui.runs.checkpoint import load_checkpoint
    from lstm_tui.runs.writer import RunWriter

    def refuse(source, target):
        raise OSError(errno.EPERM, "Operation not permitted", str(target))
    monkeypatch.setattr(os, "link", refuse)
    run = tmp_path / "run"
    run.mkdir()
    writer = RunWriter(run, cfg(), behind=True)
    payload = {"model": {}, "config": {}, "step": 7}
    writer.save_checkpoint("best", payload)
    writer.save_checkpoint("last", payload)
    writer.close()
    assert os.stat(run / "best.pt").st_ino != os.stat(run / "last.pt").st_ino
    assert (run / "best.pt").read_bytes() == (run / "last.pt").read_bytes()
    assert load_checkpoint(run / "last.pt")["step"] == 7
    assert not list(run.glob(".*.tmp"))


def test_the_start_files_go_behind_and_one_that_fails_fails_the_run(tmp_path, monkeypatch):
    # config.toml and the first summary go to the disk while the engine builds the run
    from lstm_tui.runs.layout import CONFIG
    from lstm_tui.runs.writer import RunWriter
    gate, real = threading.Event(), writer_module.atomic_write_text
    monkeypatch.setattr(writer_module, "atomic_write_text",
                        lambda path, text: (gate.wait(10), real(path, text)))
    run = tmp_path / "run"
    run.mkdir()
    writer = RunWriter(run, cfg(), behind=True)   # returned with config.toml still waiting
    assert not (run / CONFIG).exists() and not (run / SUMMARY).exists()
    gate.set()
    writer._behind.drain()
    assert (run / CONFIG).is_file()
    assert json.loads((run / SUMMARY).read_text())["status"] == "running"
    writer.close()

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr(writer_module, "atomic_write_text", full)
    try:
        run_dir, last = start_run(cfg(), tmp_path / "store")
    except RunError as exc:   # the failure came back before the writer was made: refused
        assert "no space left" in str(exc)
        [run_dir] = (tmp_path / "store").iterdir()
    else:                     # or after: the run fails at the writer's next call after
        # the failed write (step 0, or a log step soon after when the writer's thread
        # got the CPU late on a busy machine), never at its end (40 steps)
        assert isinstance(last, ev.Failed) and "No space left" in last.error
        assert last.step < 40
        summary = json.loads((run_dir / SUMMARY).read_text())
        assert summary["status"] == "failed" and "No space left" in summary["message"]
    assert not (run_dir / CONFIG).exists() and not (run_dir / WRITER_LOCK).exists()


def test_a_write_without_wake_is_done_within_later_seconds_when_nothing_wakes_the_thread(
        monkeypatch):
    import time
    monkeypatch.setattr(behind, "LATER", 0.3)
    queue, done = WriteBehind(), []
    queue.put(Path("x"), lambda: done.append("x"))
    queue.drain()
    time.sleep(0.05)
    asked = time.monotonic()
    queue.put(Path("summary.json"), lambda: done.append(time.monotonic()), wake=False)
    queue.put(Path("line"), lambda: done.append("line"), wake=False)
    time.sleep(0.1)
    assert done == ["x"]                        # not at once ...
    for _ in range(300):
        if len(done) == 3:
            break
        time.sleep(0.01)
    assert len(done) == 3 and done[2] == "line"           # ... but soon, in order
    assert 0.25 <= done[1] - asked < 2.0 and queue.pending == 0


def test_wake_starts_the_writes_that_wait_for_a_wake():
    # a run that ends wakes the thread (runs.resources) so its last checkpoints go to the
    # disk while provenance.json's end is written
    import time
    queue, done = WriteBehind(), []
    queue.put(Path("x"), lambda: done.append("x"))
    queue.drain()
    time.sleep(0.05)
    queue.put(Path("last.pt"), lambda: done.append("last"), wake=False)
    time.sleep(0.1)
    assert done == ["x"]
    behind.wake()
    for _ in range(100):
        if done[-1] == "last":
            break
        time.sleep(0.01)
    assert done == ["x", "last"] and queue.pending == 0


def test_a_checkpoint_copy_is_serialized_behind_to_the_same_bytes(tmp_path):
    """The engine hands the writer copies (training.record.copied: a view keeps sharing
    its storage, so the bytes are those of the state copied); the writer serializes
    them behind while training changes the originals."""
    from collections import OrderedDict
    from lstm_tui.runs.checkpoint import checkpoint_bytes, load_checkpoint
    from lstm_tui.runs.writer import RunWriter
    from lstm_tui.training.record import copied
    weights = torch.arange(6.0)
    model = OrderedDict(w=weights, head=weights[2:4])     # a view: one storage for both
    model._metadata = {"": {"version": 1}}
    payload = {"model": model, "optimizer": {"state": {0: {"step": torch.tensor(3.0)}},
                                             "param_groups": [{"lr": 0.1, "params": [0]}]},
               "config": {"train": {"lr": 0.1}}, "step": 5}
    copy, before = copied(payload), checkpoint_bytes(payload, Path("x.pt"))
    assert checkpoint_bytes(copy, Path("x.pt")) == before    # the very same file
    run = tmp_path / "run"
    run.mkdir()
    writer = RunWriter(run, cfg(), behind=True)
    gate = blocked(writer._behind, [])
    writer.save_checkpoint("last", copy)
    weights.add_(100.0)                      # training goes on before the write is done
    payload["optimizer"]["state"][0]["step"].add_(1.0)
    gate.set()
    writer.close()
    assert (run / "last.pt").read_bytes() == before
    assert load_checkpoint(run / "last.pt")["model"]["head"].tolist() == [2.0, 3.0]


def test_appended_lines_are_on_disk_after_each_write_and_their_files_close_with_the_run(
        tmp_path, monkeypatch):
    """Writing behind, diagnostics.jsonl is opened once and flushed after every line (a
    reader of the live run sees each one); the files close with the writer."""
    from lstm_tui.runs.writer import RunWriter
    run = tmp_path / "run"
    run.mkdir()
    opened = []
    real_open = open

    def counting_open(path, *args, **kwargs):
        if str(path).endswith("diagnostics.jsonl"):
            opened.append(path)
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr("builtins.open", counting_open)
    writer = RunWriter(run, cfg(), behind=True)
    for step in (1, 2, 3):
        writer(ev.TimestepGradients(step=step, norms=(0.5, 0.25)))
        writer._behind.drain()
        lines = (run / "diagnostics.jsonl").read_text().splitlines()
        assert [json.loads(line)["step"] for line in lines] == list(range(1, step + 1))
    assert len(opened) == 1
    files = list(writer._lines.values())
    writer.close()
    assert files and all(fh.closed for fh in files)
