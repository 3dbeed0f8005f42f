"""Keeping the store tidy: tags and notes, the trash, `latest~N`, and who may be removed."""

from __future__ import annotations

import json
import os
import socket
import threading

import pytest

from lstm_tui.runs import layout, liveness, tags, trash
from lstm_tui.runs.layout import CONFIG, METRICS, SUMMARY, RunError
from lstm_tui.runs.reader import list_runs, read_info
from lstm_tui.runs.resolve import resolve_run
from tests.store_helpers import NOW, make_run


@pytest.fixture
def root(tmp_path):
    root = tmp_path / "runs"
    make_run(root, "a-lstm", created=NOW - 300)
    make_run(root, "b-gru", cell="gru", created=NOW - 200)
    make_run(root, "c-rnn", cell="rnn", created=NOW - 100)
    return root


# ---------------------------------------------------------------- tags and notes

def test_tag_ops_parse_and_the_last_word_about_a_tag_wins():
    change = tags.parse_tag_ops(["+good", "-bad", "+keep", "-good", "+v1.2"])
    assert change.add == ("keep", "v1.2") and change.remove == ("bad", "good")


@pytest.mark.parametrize("op", ["good", "+", "-", "+a b", "+bad@", "+-x", "++x", "+" + "x" * 41])
def test_unknown_tag_syntax_is_refused(op):
    with pytest.raises(RunError, match="not a tag change"):
        tags.parse_tag_ops([op])


def test_tags_and_note_live_in_their_own_file_and_never_touch_the_run(root):
    run = root / "a-lstm"
    before = {n: (run / n).read_bytes() for n in (CONFIG, SUMMARY, METRICS)}
    assert tags.change_tags(run, tags.parse_tag_ops(["+good", "+baseline"])) == \
        ("good", "baseline")
    assert tags.change_tags(run, tags.parse_tag_ops(["-good", "+final"])) == \
        ("baseline", "final")
    tags.set_note(run, "  lr too high?  ")
    assert {n: (run / n).read_bytes() for n in before} == before
    info = read_info(run)
    assert info.tags == ("baseline", "final") and info.note == "lr too high?"
    tags.set_note(run, "")
    assert read_info(run).note == ""
    assert not list(run.glob(".*.tmp"))       # written atomically, no leftovers


def test_a_damaged_annotations_file_is_ignored_and_then_replaced(root):
    run = root / "a-lstm"
    (run / "annotations.json").write_text('{"tags": ["ok", 3, null], "note": 7}')
    assert read_info(run).tags == ("ok",) and read_info(run).note == ""
    (run / "annotations.json").write_text("{not json")
    assert read_info(run).tags == () and read_info(run).status == "completed"
    assert tags.change_tags(run, tags.parse_tag_ops(["+new"])) == ("new",)


def test_a_too_long_note_is_refused_and_the_old_one_kept(root):
    run = root / "a-lstm"
    tags.set_note(run, "keep me")
    with pytest.raises(RunError, match="at most"):
        tags.set_note(run, "x" * (tags.MAX_NOTE + 1))
    assert read_info(run).note == "keep me"


def test_concurrent_taggers_both_land(root):
    run = root / "a-lstm"
    names = [f"t{i}" for i in range(16)]
    threads = [threading.Thread(target=tags.change_tags,
                                args=(run, tags.parse_tag_ops([f"+{n}"]))) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(read_info(run).tags) == sorted(names)


# ---------------------------------------------------------------- latest~N

def test_latest_names_the_newest_runs(root):
    assert resolve_run(root, "latest").name == "c-rnn"
    assert resolve_run(root, "latest~0").name == "c-rnn"
    assert resolve_run(root, "latest~2").name == "a-lstm"
    with pytest.raises(RunError, match="only 3 runs"):
        resolve_run(root, "latest~3")
    assert resolve_run(root, "b-gru").name == "b-gru"


def test_a_path_relative_to_the_store_resolves(root):
    make_run(root / "sweep-x-123", "p000-cellgru-s0")
    assert resolve_run(root, "sweep-x-123/p000-cellgru-s0") == root / "sweep-x-123" / \
        "p000-cellgru-s0"


# ---------------------------------------------------------------- the trash

def test_rm_moves_to_the_trash_which_no_listing_sees_and_restore_brings_it_back(root):
    entry = trash.move_to_trash(root, root / "b-gru")
    assert not (root / "b-gru").exists() and entry.folder.is_dir()
    assert [r.name for r in list_runs(root)] == ["a-lstm", "c-rnn"]
    assert resolve_run(root, "latest~1").name == "a-lstm"
    with pytest.raises(RunError, match="no such run"):
        resolve_run(root, "b-gru")
    assert [e.origin for e in trash.list_trash(root)] == ["b-gru"]
    back = trash.restore(root, trash.find_in_trash(root, "b-gru"))
    assert back == root / "b-gru" and read_info(back).status == "completed"
    assert trash.list_trash(root) == [] and [r.name for r in list_runs(root)] == \
        ["a-lstm", "b-gru", "c-rnn"]


def test_same_name_twice_in_the_trash_and_latest_restores_the_last_removed(root):
    trash.move_to_trash(root, root / "b-gru")
    make_run(root, "b-gru", cell="gru", hidden=64)
    second = trash.move_to_trash(root, root / "b-gru")
    assert second.name == "b-gru~2"
    assert trash.find_in_trash(root, "latest") == second
    with pytest.raises(RunError, match="matches 2"):
        trash.find_in_trash(root, "b-")
    make_run(root, "b-gru")
    with pytest.raises(RunError, match="exists already"):
        trash.restore(root, second)
    assert second.folder.is_dir()               # nothing lost


def test_a_running_run_is_refused_and_nothing_moves(root):
    live = make_run(root, "d-live", live=True, steps=0, created=NOW)
    assert liveness.writer_alive(live)
    with pytest.raises(RunError, match="still running"):
        trash.check_removable(root, live)
    with pytest.raises(RunError, match="still running"):
        trash.move_to_trash(root, live)
    assert live.is_dir() and not trash.list_trash(root)
    assert live not in trash.empty_runs(root)


def test_a_run_whose_writer_died_can_go(root):
    dead = make_run(root, "d-dead", status="running", steps=5)   # pid 999999999: gone
    assert read_info(dead).status == "interrupted"
    trash.move_to_trash(root, dead)
    assert not dead.exists()


def test_whole_sweeps_go_and_a_running_sweep_is_refused(root):
    sweep = root / "sweep-lr-abc123"
    make_run(sweep, "p000-lr0.1-s0")
    make_run(sweep, "p001-lr0.01-s0")
    (sweep / layout.SWEEP_FILE).write_text("[sweep]\n")
    assert trash.resolve_target(root, "sweep-lr") == sweep
    from lstm_tui.runs.lock import FolderLock
    driver = FolderLock(sweep / layout.SWEEP_LOCK).acquire()   # a live driver's OS lock
    with pytest.raises(RunError, match="sweep is still running"):
        trash.check_removable(root, sweep)
    with pytest.raises(RunError, match="still running"):       # nor one of its points
        trash.check_removable(root, sweep / "p000-lr0.1-s0")
    driver.release()
    # a stale lock file whose pid names this very process no longer counts: nobody holds it
    (sweep / layout.SWEEP_LOCK).write_text(f"{os.getpid()} {socket.gethostname()}\n")
    entry = trash.move_to_trash(root, sweep)
    assert entry.kind == "sweep" and not sweep.exists()
    assert [r.name for r in list_runs(root)] == ["a-lstm", "b-gru", "c-rnn"]
    trash.restore(root, entry)
    assert len(list_runs(root)) == 5


def test_folders_outside_the_store_or_in_the_trash_are_refused(root, tmp_path):
    other = make_run(tmp_path / "elsewhere", "x")
    with pytest.raises(RunError, match="not under the run store"):
        trash.move_to_trash(root, other)
    entry = trash.move_to_trash(root, root / "a-lstm")
    with pytest.raises(RunError, match="not a run or sweep folder"):
        trash.move_to_trash(root, entry.folder)


def test_empty_runs_are_those_that_never_reached_a_step(root):
    make_run(root, "e-empty", status="interrupted", steps=0, records=False)
    started = make_run(root, "f-started", status="interrupted", steps=0, records=False)
    (started / METRICS).write_text('{"step": 5, "split": "train", "loss": 1}\n')
    assert [p.name for p in trash.empty_runs(root)] == ["e-empty"]


def test_purge_empties_the_trash_and_a_half_moved_entry_is_skipped(root):
    trash.move_to_trash(root, root / "a-lstm")
    (trash.trash_dir(root) / "half").mkdir()
    (trash.trash_dir(root) / "half" / "origin.json").write_text(json.dumps({"path": "zz"}))
    assert [e.origin for e in trash.list_trash(root)] == ["a-lstm"]
    assert trash.purge(root) == 2
    assert trash.list_trash(root) == [] and not any(trash.trash_dir(root).iterdir())


def test_the_store_keeping_modules_load_neither_torch_nor_a_front_end():
    import subprocess
    import sys
    modules = ["lstm_tui.runs.listing", "lstm_tui.runs.tags", "lstm_tui.runs.trash",
               "lstm_tui.runs.liveness", "lstm_tui.runs.provenance", "lstm_tui.runs.resources",
               "lstm_tui.render.text_table"]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print('\\n'.join(sys.modules))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())
    assert "lstm_tui.runs.resources" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("torch", "rich", "textual", "typer",
                                                         "psutil", "pynvml")}
