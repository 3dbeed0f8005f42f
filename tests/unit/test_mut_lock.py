"""The folder lock's retries and messages (mutation pass 3).  The OS locks (filelock's
flock / LockFileEx) belong to an open file, so a second FolderLock in this process
contends like another process; the holder lets go from inside the waiter's pause (no
timing)."""

from __future__ import annotations

import os

import pytest

from lstm_tui.runs import lock
from lstm_tui.runs.lock import TRIES, FolderLock, LockHeld, is_held


def test_the_message_names_the_holder_or_a_question_mark(tmp_path):
    assert str(LockHeld(tmp_path / "x", 0)).endswith("held by pid ?")
    assert str(LockHeld(tmp_path / "x", 42)).endswith("held by pid 42")


def test_a_new_lock_holds_nothing_and_releases_quietly(tmp_path):
    fl = FolderLock(tmp_path / "l")
    assert not fl.held
    fl.release()
    assert not fl.held and not is_held(tmp_path / "l")


def test_a_held_lock_is_refused_with_path_and_pid(tmp_path, monkeypatch):
    monkeypatch.setattr(lock.time, "sleep", lambda s: None)
    with FolderLock(tmp_path / "l"):
        assert is_held(tmp_path / "l")
        with pytest.raises(LockHeld) as err:
            FolderLock(tmp_path / "l").acquire()
    assert err.value.path == tmp_path / "l" and err.value.pid == os.getpid()
    assert not is_held(tmp_path / "l") and not (tmp_path / "l").exists()


@pytest.mark.parametrize("freed_after", [1, TRIES - 1])
def test_a_lock_let_go_during_the_retries_is_taken(tmp_path, monkeypatch, freed_after):
    holder = FolderLock(tmp_path / "l").acquire()
    pauses = []

    def pause(seconds):
        pauses.append(seconds)
        if len(pauses) == freed_after:
            holder.release()
    monkeypatch.setattr(lock.time, "sleep", pause)
    mine = FolderLock(tmp_path / "l").acquire()
    assert mine.held and len(pauses) == freed_after
    mine.release()


def test_a_file_removed_after_opening_is_locked_anew(tmp_path, monkeypatch):
    path, real = tmp_path / "l", lock.lock_descriptor
    removed = []

    def lock_descriptor(fd, **how):
        taken = real(fd, **how)
        if not removed:                  # the holder before us removes the file now
            removed.append(True)
            path.unlink()
        return taken
    monkeypatch.setattr(lock, "lock_descriptor", lock_descriptor)
    mine = FolderLock(path).acquire()
    assert removed and mine.held and path.exists()
    monkeypatch.undo()
    assert is_held(path)
    mine.release()


def test_no_file_is_not_held(tmp_path):
    assert not is_held(tmp_path / "missing")


def test_a_held_lock_is_refused_without_a_pause_after_the_last_try(tmp_path, monkeypatch):
    pauses = []
    monkeypatch.setattr(lock.time, "sleep", pauses.append)
    with FolderLock(tmp_path / "l"):
        with pytest.raises(LockHeld):
            FolderLock(tmp_path / "l").acquire()
    assert pauses == [lock.PAUSE] * (TRIES - 1)


def test_a_file_replaced_on_every_try_is_refused_naming_its_holder(tmp_path, monkeypatch):
    path = tmp_path / "l"
    path.write_text("4242 otherhost\n")
    real_stat = os.stat

    class Replaced:                      # each look finds a new file under the name
        st_ino = -1

    monkeypatch.setattr(lock.os, "stat", lambda p, *a, **k: Replaced if p == path
                        else real_stat(p, *a, **k))
    with pytest.raises(LockHeld) as err:
        FolderLock(path).acquire()
    assert err.value.pid == 4242


# ---------------------------------------------------------------- issue 27: filelock

def test_no_lock_uses_fcntl_so_windows_can_run_the_lab():
    """fcntl exists on POSIX only; the locks go through filelock's portable calls."""
    import ast
    from pathlib import Path

    import lstm_tui
    for path in Path(lstm_tui.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) else []
            assert "fcntl" not in names, path


def test_a_probe_that_meets_another_probe_looks_again(tmp_path, monkeypatch):
    """A reader's probe holds the lock for a moment; a second reader then is not told
    that a writer is alive."""
    path = tmp_path / "l"
    path.write_text("")
    other = os.open(path, os.O_RDONLY)
    assert lock.lock_descriptor(other, blocking=False)        # the other reader's probe
    pauses = []

    def pause(seconds):
        pauses.append(seconds)
        os.close(other)                                       # ... which lets go at once
    monkeypatch.setattr(lock.time, "sleep", pause)
    assert not is_held(path) and pauses == [lock.PROBE_PAUSE]


def test_a_writer_is_seen_by_every_probe(tmp_path, monkeypatch):
    pauses = []
    monkeypatch.setattr(lock.time, "sleep", pauses.append)
    with FolderLock(tmp_path / "l"):
        assert is_held(tmp_path / "l")
    assert pauses == [lock.PROBE_PAUSE] * (lock.PROBES - 1)
