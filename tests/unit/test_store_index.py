"""The run store's index (runs/index.py): a cache of every run's listing that is always
the same as reading the folders, rereads only what changed, and survives being deleted,
corrupted, outdated, unwritable and written by two processes at once."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lstm_tui.config import parse_config
from lstm_tui.fsio import atomic_write_json
from lstm_tui.runs import index as run_index
from lstm_tui.runs import index_rows
from lstm_tui.runs import listing
from lstm_tui.runs.index import INDEX_FILE, SCHEMA, RunIndex, indexed_entries, indexed_runs
from lstm_tui.runs.reader import list_runs
from lstm_tui.runs.tags import change_tags, parse_tag_ops
from lstm_tui.runs.trash import move_to_trash
from lstm_tui.runs.writer import RunWriter
from tests.store_helpers import NOW, make_run


@pytest.fixture
def store(tmp_path) -> Path:
    root = tmp_path / "runs"
    make_run(root, "a-lstm", created=NOW - 500)
    make_run(root, "b-gru", cell="gru", lr=0.003, created=NOW - 400)
    make_run(root, "c-failed", status="failed", best=None, created=NOW - 300)
    make_run(root / "sweep-lr-abc", "p000-lr0.1-s0", sweep="lr", created=NOW - 100)
    make_run(root / "sweep-lr-abc", "p001-lr0.2-s0", sweep="lr", created=NOW - 90)
    broken = root / "d-broken"
    broken.mkdir()
    (broken / "config.toml").write_text("[task\nkind = 1", encoding="utf-8")
    (broken / "summary.json").write_text("{not json", encoding="utf-8")
    change_tags(root / "b-gru", parse_tag_ops(["+good"]))
    (root / ".trash").mkdir()
    make_run(root / ".trash", "gone-run")          # never listed
    return root


def same_as_the_folders(root: Path) -> list:
    """The index's listing, checked against reading every folder directly."""
    entries = indexed_entries(root)
    direct = list_runs(root)
    assert [e.info for e in entries] == direct
    assert [e.config for e in entries] == \
        [r.config for r in listing.rows_of(direct, root)]
    return entries


def count_reads(monkeypatch) -> dict[str, list]:
    """Record which folders each part of a listing is read from."""
    reads: dict[str, list] = {"config": [], "summary": [], "notes": []}
    for part in reads:
        name = f"read_{part}_part"
        real = getattr(index_rows, name)

        def spy(folder, real=real, part=part):
            reads[part].append(Path(folder).name)
            return real(folder)
        monkeypatch.setattr(index_rows, name, spy)
    return reads


def test_the_index_lists_what_the_folders_hold(store):
    entries = same_as_the_folders(store)
    assert (store / INDEX_FILE).is_file()
    names = [e.rel for e in entries]
    assert "sweep-lr-abc/p001-lr0.2-s0" in names and "gone-run" not in str(names)
    broken = next(e for e in entries if e.rel == "d-broken")
    assert "corrupt" in broken.info.error and broken.config == {}
    assert next(e for e in entries if e.rel == "b-gru").info.tags == ("good",)
    again = same_as_the_folders(store)                  # warm: the same again
    assert [(e.rel, e.info, e.config) for e in again] == \
        [(e.rel, e.info, e.config) for e in entries]


def test_a_warm_listing_rereads_only_the_file_that_changed(store, monkeypatch):
    indexed_entries(store)
    reads = count_reads(monkeypatch)
    indexed_entries(store)
    assert reads == {"config": [], "summary": [], "notes": []}
    summary = json.loads((store / "a-lstm" / "summary.json").read_text())
    atomic_write_json(store / "a-lstm" / "summary.json", dict(summary, steps=7))
    notes = store / "c-failed" / "annotations.json"
    notes.write_text(json.dumps({"tags": ["look"], "note": ""}))    # by hand, in place
    reads = count_reads(monkeypatch)
    entries = {e.rel: e for e in same_as_the_folders(store)}
    assert reads == {"config": [], "summary": ["a-lstm"], "notes": ["c-failed"]}
    assert entries["a-lstm"].info.steps == 7 and entries["c-failed"].info.tags == ("look",)
    assert entries["a-lstm"].config["train.lr"] == 0.01     # kept, not reread


def test_a_replaced_file_is_seen_even_with_the_same_size_and_mtime(store):
    indexed_entries(store)
    path = store / "a-lstm" / "summary.json"
    before = os.stat(path)
    text = path.read_text().replace('"steps": 100', '"steps": 200')
    assert len(text) == before.st_size
    atomic_write_json_text = path.with_name(".tmp-summary")
    atomic_write_json_text.write_text(text)
    os.utime(atomic_write_json_text, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(atomic_write_json_text, path)           # a new inode, nothing else differs
    info = next(r for r in indexed_runs(store) if r.name == "a-lstm")
    assert info.steps == 200


def test_folders_copied_in_or_removed_by_hand_appear_and_go(store, tmp_path):
    indexed_entries(store)
    elsewhere = tmp_path / "other-machine"
    make_run(elsewhere, "e-copied", created=NOW - 50)
    shutil.copytree(elsewhere / "e-copied", store / "e-copied")
    shutil.copytree(store / "sweep-lr-abc", store / "sweep-copy")
    shutil.rmtree(store / "a-lstm")
    names = [e.rel for e in same_as_the_folders(store)]
    assert "e-copied" in names and "sweep-copy/p000-lr0.1-s0" in names
    assert "a-lstm" not in names
    with sqlite3.connect(store / INDEX_FILE) as db:
        rows = {r for (r,) in db.execute("SELECT rel FROM runs")}
    assert "a-lstm" not in rows and "e-copied" in rows


def test_deleting_the_index_loses_nothing(store):
    first = indexed_entries(store)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store / INDEX_FILE}{suffix}").unlink(missing_ok=True)
    assert [e.info for e in same_as_the_folders(store)] == [e.info for e in first]


@pytest.mark.parametrize("damage", ["garbage", "half", "schema", "columns", "row"])
def test_a_corrupt_or_outdated_index_is_rebuilt(store, damage):
    indexed_entries(store)
    path = store / INDEX_FILE
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if damage == "garbage":
        path.write_bytes(b"this is not a database at all" * 100)
    elif damage == "half":
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2] + b"\0" * 100 + data[len(data) // 2 + 100:])
    elif damage == "schema":
        with sqlite3.connect(path) as db:
            db.execute(f"PRAGMA user_version = {SCHEMA + 41}")
    elif damage == "columns":
        with sqlite3.connect(path) as db:
            db.execute("DROP TABLE runs")
            db.execute("CREATE TABLE runs (rel TEXT PRIMARY KEY, other TEXT)")
    else:
        with sqlite3.connect(path) as db:
            db.execute("UPDATE runs SET tags = '[not json' WHERE rel = 'b-gru'")
    same_as_the_folders(store)
    same_as_the_folders(store)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA


def test_a_store_whose_index_cannot_be_written_still_lists(store):
    (store / INDEX_FILE).mkdir(parents=True)    # no file can be made there (nor by root)
    same_as_the_folders(store)
    with RunIndex(store) as index:
        assert index.kind == "memory"


def test_a_read_only_index_is_read_and_not_written(store, monkeypatch):
    indexed_entries(store)
    with sqlite3.connect(store / INDEX_FILE) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    summary = json.loads((store / "a-lstm" / "summary.json").read_text())
    atomic_write_json(store / "a-lstm" / "summary.json", dict(summary, steps=9))

    def cannot(path, busy):
        raise sqlite3.OperationalError("attempt to write a readonly database")
    monkeypatch.setattr(run_index, "_connect", cannot)
    reads = count_reads(monkeypatch)
    with RunIndex(store) as index:
        assert index.kind == "read-only"
        entries = {e.rel: e for e in index.sync()}
    assert entries["a-lstm"].info.steps == 9 and reads["summary"] == ["a-lstm"]
    assert reads["config"] == []                   # what the index held was used
    assert entries["a-lstm"].config["model.cell"] == "lstm"


def test_an_unreadable_folder_is_listed_with_its_error_and_read_again(store, monkeypatch):
    real = index_rows.read_summary_part

    def flaky(folder):
        if Path(folder).name == "b-gru":
            raise PermissionError("[Errno 13] Permission denied")
        return real(folder)
    monkeypatch.setattr(index_rows, "read_summary_part", flaky)
    info = {r.name: r for r in indexed_runs(store)}["b-gru"]
    assert "Permission denied" in info.error
    monkeypatch.setattr(index_rows, "read_summary_part", real)
    assert {r.name: r for r in indexed_runs(store)}["b-gru"].error == ""


def test_a_running_runs_liveness_is_asked_at_every_listing(tmp_path):
    root = tmp_path / "runs"
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        path = make_run(root, "live", status="running")
        summary = json.loads((path / "summary.json").read_text())
        summary.update(status="running", pid=child.pid, host=socket.gethostname())
        (path / "summary.json").write_text(json.dumps(summary))
        assert indexed_runs(root)[0].status == "running"
    finally:
        child.kill()
        child.wait()
    assert indexed_runs(root)[0].status == "interrupted"    # no file changed


def test_progress_is_reported_while_many_folders_are_read(store, monkeypatch):
    monkeypatch.setattr(run_index, "PROGRESS_AFTER", 3)
    reads = count_reads(monkeypatch)
    seen = []
    indexed_entries(store, progress=lambda done, total: seen.append(
        (done, total, len(reads["config"]))))
    assert seen[0] == (0, 6, 0)                  # said before the first folder is read
    assert seen[-1][:2] == (6, 6)
    seen.clear()
    with run_index.reporting(lambda done, total: seen.append((done, total))):
        indexed_runs(store)                          # warm: nothing to report
    assert seen == []


def test_writers_keep_the_index_current(store, monkeypatch):
    indexed_entries(store)
    cfg = parse_config({"task": {"kind": "nth_element"}, "train": {"steps": 1}})
    folder = store / "f-new"
    folder.mkdir()
    writer = RunWriter(folder, cfg)
    with sqlite3.connect(store / INDEX_FILE) as db:
        assert db.execute("SELECT status FROM runs WHERE rel = 'f-new'").fetchone() == \
            ("running",)
    writer.summary.update(status="completed", steps=1)
    writer._end()
    with sqlite3.connect(store / INDEX_FILE) as db:
        assert db.execute("SELECT status FROM runs WHERE rel = 'f-new'").fetchone() == \
            ("completed",)
    reads = count_reads(monkeypatch)
    entries = {e.rel: e.info for e in indexed_entries(store)}
    assert entries["f-new"].status == "completed" and reads["summary"] == []
    change_tags(store / "a-lstm", parse_tag_ops(["+kept"]))      # tags: the index hears
    with sqlite3.connect(store / INDEX_FILE) as db:
        assert db.execute("SELECT tags FROM runs WHERE rel = 'a-lstm'").fetchone() == \
            ('["kept"]',)
    move_to_trash(store, store / "sweep-lr-abc")
    with sqlite3.connect(store / INDEX_FILE) as db:
        assert db.execute("SELECT count(*) FROM runs WHERE rel LIKE 'sweep-lr-abc/%'"
                          ).fetchone() == (0,)


def _hammer(root: str, worker: int, rounds: int) -> None:
    """One of two processes: rewrite summaries, tag runs and list, over and over."""
    root_path = Path(root)
    for n in range(rounds):
        folder = root_path / f"run-{(n + worker) % 6}"
        summary = json.loads((folder / "summary.json").read_text())
        atomic_write_json(folder / "summary.json", dict(summary, steps=n + 1))
        run_index.note_change(folder)
        if n % 3 == worker:
            change_tags(folder, parse_tag_ops([f"+w{worker}"]))
        indexed_entries(root_path)


def test_two_processes_writing_at_once_cannot_corrupt_it(tmp_path):
    root = tmp_path / "runs"
    for n in range(6):
        make_run(root, f"run-{n}", created=NOW - 100 + n)
    indexed_entries(root)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(str(root), w, 40)) for w in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with sqlite3.connect(root / INDEX_FILE) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    same_as_the_folders(root)


def test_the_json_document_is_one_run_a_line_and_the_same_data(store):
    rows = listing.store_rows(store)
    text = "".join(listing.document_lines(rows, store))
    assert json.loads(text) == json.loads(json.dumps(listing.document(rows, store)))
    assert len(text.splitlines()) == len(rows) + 2
    # a NaN in a config is written as null, as before
    path = store / "a-lstm" / "config.toml"
    path.write_text(path.read_text().replace("lr = 0.01", "lr = nan"))
    rows = listing.store_rows(store)
    doc = json.loads("".join(listing.document_lines(rows, store)))
    assert next(r for r in doc["runs"] if r["name"] == "a-lstm")["config"]["train.lr"] is None


def test_a_records_listing_fields_are_field_values_in_field_order(store):
    rows = listing.store_rows(store)
    rows[0].info.best = float("nan")                 # written as null
    for row in rows:
        want = {k: listing.field_value(row.info, k, row.rel) for k in listing.FIELDS
                if k != "age"}
        want.update(sweep=want["sweep"] or None, best=listing._finite(want["best"]),
                    final=listing._finite(want["final"]))
        got = listing._listed(row)
        assert got == want and list(got) == list(want)
    assert listing._listed(rows[0])["best"] is None
    assert {r.rel: listing._listed(r)["status"] for r in rows}["d-broken"] == "corrupt"


def test_a_listing_naming_no_config_key_decodes_no_config(store, monkeypatch):
    rows = listing.store_rows(store)
    decoded = []
    real = json.loads
    monkeypatch.setattr(run_index.json, "loads", lambda t: decoded.append(t) or real(t))
    listing.select(rows, listing.Query(status=["completed"], sort="best", limit=2))
    assert decoded == []
    listing.select(rows, listing.Query(where=["model.cell=gru"]))
    assert decoded


def test_an_empty_or_missing_store(tmp_path):
    assert indexed_runs(tmp_path / "nowhere") == []
    assert not (tmp_path / "nowhere").exists()
    (tmp_path / "empty").mkdir()
    assert indexed_runs(tmp_path / "empty") == []
    time.sleep(0)


def test_a_cold_build_read_by_helper_processes_is_the_same(store, monkeypatch):
    monkeypatch.setattr(index_rows, "PARALLEL_AFTER", 2)
    monkeypatch.setattr(index_rows, "helpers", lambda: 2)
    helped = []
    real = index_rows._helped

    def spy(root, shares):
        for row in real(root, shares):
            helped.append(row[0])
            yield row
    monkeypatch.setattr(index_rows, "_helped", spy)
    seen = []
    monkeypatch.setattr(run_index, "PROGRESS_AFTER", 2)
    entries = indexed_entries(store, progress=lambda done, total: seen.append(done))
    assert seen[-1] == 6 and len(helped) == 6
    monkeypatch.setattr(index_rows, "PARALLEL_AFTER", 10**9)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store / INDEX_FILE}{suffix}").unlink(missing_ok=True)
    assert [(e.rel, e.info, e.config) for e in entries] == \
        [(e.rel, e.info, e.config) for e in same_as_the_folders(store)]


def test_what_a_failed_helper_left_is_read_here(store, monkeypatch):
    monkeypatch.setattr(index_rows, "PARALLEL_AFTER", 2)
    monkeypatch.setattr(index_rows, "helpers", lambda: 2)

    def dies(root, shares):
        yield from index_rows._read_all(root, shares[0][:1])
        raise OSError("helper died")
    monkeypatch.setattr(index_rows, "_helped", dies)
    same_as_the_folders(store)


def test_using_the_index_leaves_the_stores_mtime_alone(store):
    """The lab watches the store's mtime for runs that come and go: SQLite's -wal and
    -shm files, made and removed as processes open and close the index, live apart."""
    indexed_entries(store)
    os.utime(store, (NOW - 1000, NOW - 1000))
    indexed_entries(store)
    run_index.note_change(store / "a-lstm")
    with RunIndex(store) as index:
        index.sync_folders([store / "b-gru"])
    assert os.stat(store).st_mtime == NOW - 1000
