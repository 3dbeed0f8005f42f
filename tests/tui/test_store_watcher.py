"""The store watcher (tui/store_watcher.py): after the first listing a scan reads only what
changed, however many runs there are, and still sees runs appear, change and go."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import lstm_tui.runs.index as run_index
import lstm_tui.runs.index_rows as index_rows
import lstm_tui.tui.store_watcher as watching
from lstm_tui.config import parse_config, to_toml
from lstm_tui.fsio import atomic_write_json
from lstm_tui.runs.reader import list_runs
from lstm_tui.runs.tags import change_tags, parse_tag_ops
from lstm_tui.tui.store_watcher import StoreWatcher
from tests.store_helpers import NOW, make_run


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path) -> Path:
    root = tmp_path / "runs"
    for n in range(6):
        make_run(root, f"run-{n}", created=NOW - 100 + n)
    make_run(root / "sweep-a", "p0", sweep="a", created=NOW - 50)
    for folder in [*root.iterdir(), root / "sweep-a" / "p0"]:    # written long ago
        os.utime(folder, (NOW - 1000, NOW - 1000))
    return root


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The folders whose files the index reads (any part)."""
    seen: list[str] = []
    for name in ("read_config_part", "read_summary_part", "read_notes_part"):
        real = getattr(index_rows, name)

        def spy(folder, real=real):
            seen.append(Path(folder).name)
            return real(folder)
        monkeypatch.setattr(index_rows, name, spy)
    return seen


def agrees(watcher: StoreWatcher) -> None:
    assert watcher.runs() == list_runs(watcher.root)


def test_an_idle_scan_reads_nothing(store, reads):
    watcher = StoreWatcher(store, clock=Clock())
    assert watcher.scan() is True
    agrees(watcher)
    reads.clear()
    for _ in range(3):
        assert watcher.scan() is False
    assert reads == []


def test_runs_appear_change_and_go(store, reads):
    watcher = StoreWatcher(store, clock=Clock())
    watcher.scan()
    make_run(store, "run-new", created=NOW)                       # a new run
    make_run(store / "sweep-b", "q0", created=NOW + 1)           # in a new sweep
    make_run(store / "sweep-a", "p1", created=NOW + 2)           # in a known sweep
    shutil.rmtree(store / "run-0")                               # removed by hand
    reads.clear()
    assert watcher.scan() is True
    agrees(watcher)
    assert set(reads) == {"run-new", "q0", "p1"}
    shutil.rmtree(store / "sweep-a")
    assert watcher.scan() is True
    agrees(watcher)


def test_a_run_folder_made_before_its_files_is_picked_up(store):
    watcher = StoreWatcher(store, clock=Clock())
    watcher.scan()
    (store / "made-first").mkdir()                # new_run_dir: the folder, then the files
    watcher.scan()
    cfg = parse_config({"task": {"kind": "nth_element"}})
    (store / "made-first" / "config.toml").write_text(to_toml(cfg))
    assert watcher.scan() is True
    assert "made-first" in [r.name for r in watcher.runs()]
    agrees(watcher)


def test_finished_runs_are_looked_at_in_turn(store, reads, monkeypatch):
    monkeypatch.setattr(watching, "ROUND", 2)
    watcher = StoreWatcher(store, clock=Clock())
    watcher.scan()
    change_tags(store / "run-3", parse_tag_ops(["+good"]))     # a new file: folder mtime
    reads.clear()
    scans = 0
    while "good" not in next(r for r in watcher.runs() if r.name == "run-3").tags:
        watcher.scan()
        scans += 1
        assert scans <= 4                       # 7 runs, 2 a scan
    assert set(reads) <= {"run-3"}            # (the tagger told the index already)


def test_what_this_process_changed_is_looked_at_next(store, monkeypatch):
    monkeypatch.setattr(watching, "ROUND", 1)
    watcher = StoreWatcher(store, clock=Clock())
    watcher.scan()
    change_tags(store / "run-5", parse_tag_ops(["+mine"]))
    watcher.look_at([store / "run-5"])
    watcher.scan()
    assert next(r for r in watcher.runs() if r.name == "run-5").tags == ("mine",)


def test_running_runs_are_followed_at_every_scan(store):
    path = make_run(store, "live", live=True, steps=10, created=NOW + 5)
    os.utime(path, (NOW - 1000, NOW - 1000))
    watcher = StoreWatcher(store, clock=Clock())
    watcher.scan()
    summary = json.loads((path / "summary.json").read_text())
    summary["steps"] = 20
    stat = os.stat(path)
    (path / "summary.json").write_text(json.dumps(summary))   # in place: no folder change
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert watcher.scan() is True
    assert next(r for r in watcher.runs() if r.name == "live").steps == 20


def test_an_edit_in_place_is_seen_by_the_whole_check(store, reads, monkeypatch):
    monkeypatch.setattr(watching, "ROUND", 100)
    clock = Clock()
    watcher = StoreWatcher(store, clock=clock)
    watcher.scan()
    path = store / "run-2"
    stat = os.stat(path)
    summary = json.loads((path / "summary.json").read_text())
    (path / "summary.json").write_text(json.dumps(dict(summary, steps=55)))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the folder looks untouched
    watcher.scan()
    assert next(r for r in watcher.runs() if r.name == "run-2").steps == 100
    clock.now += watching.FULL_SECONDS
    reads.clear()
    make_run(store / "sweep-a", "p9", created=NOW)       # in place too: seen, and only
    os.utime(store / "sweep-a", (NOW - 1000, NOW - 1000))   # these two are read
    assert watcher.scan() is True
    assert next(r for r in watcher.runs() if r.name == "run-2").steps == 55
    assert sorted(set(reads)) == ["p9", "run-2"]
    agrees(watcher)
    atomic_write_json(path / "summary.json", dict(summary, steps=66))
    assert watcher.scan(full=True) is True                   # reload asks for one too
    agrees(watcher)


def test_a_whole_check_keeps_the_runs_that_did_not_change(store):
    watcher = StoreWatcher(store, clock=Clock())
    watcher.scan()
    before = dict(watcher.infos)
    change_tags(store / "run-1", parse_tag_ops(["+x"]))
    assert watcher.scan(full=True) is True
    kept = [p for p, info in watcher.infos.items() if info is before.get(p)]
    assert len(kept) == len(before) - 1 and store / "run-1" not in kept
