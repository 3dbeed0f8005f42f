"""One writer per folder, enforced by the OS: an exclusive lock on a lock file.

A run folder's writer (a training run, or a resume) and a sweep's driver hold
such a lock for as long as they write.  The OS drops it when the holder dies, however it
dies, so a lock file left by a killed process is free again at once; its text (``pid
host``) only names the holder in the message.  The holder removes the file when it ends,
so its presence plus :func:`is_held` tells a reader that a writer is alive.

The lock itself is filelock's (``flock`` on POSIX, ``LockFileEx`` on Windows), taken on
a descriptor opened here, so the same rules hold on every OS.  Pure Python; no torch.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from filelock import lock_descriptor, unlock_descriptor

TRIES, PAUSE = 5, 0.04   # a reader's probe holds the lock for microseconds: try a few times
PROBES, PROBE_PAUSE = 3, 0.005   # and a probe that meets another probe looks again
_BINARY = getattr(os, "O_BINARY", 0)    # Windows: no newline translation on the descriptor


class LockHeld(Exception):
    """The lock belongs to a live process (``pid``, 0 when unknown)."""

    def __init__(self, path: Path, pid: int):
        self.path, self.pid = path, pid
        super().__init__(f"{path}: held by pid {pid or '?'}")


class FolderLock:
    """An exclusive lock on ``path``; ``acquire`` raises LockHeld when another has it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> "FolderLock":
        for attempt in range(TRIES):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _BINARY, 0o644)
            try:
                taken = lock_descriptor(fd, blocking=False)
            except BaseException:
                os.close(fd)
                raise
            if not taken:
                os.close(fd)
                if attempt == TRIES - 1:
                    raise LockHeld(self.path, holder_pid(self.path))
                time.sleep(PAUSE)
                continue
            # the holder before us may have removed the file after we opened it: then
            # our lock is on a name nobody else sees, so start again on the new file
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
            except OSError:       # the name of the holder is a courtesy, the lock is not
                pass
            self._fd = fd
            return self
        raise LockHeld(self.path, holder_pid(self.path))

    def release(self) -> None:
        """Remove the file, then let go (in this order, see acquire)."""
        if self._fd is None:
            return
        try:
            self.path.unlink()
            removed = True
        except OSError:     # Windows keeps an open file's name: removed after closing
            removed = False
        try:
            unlock_descriptor(self._fd)
        except OSError:     # closing lets go in any case
            pass
        os.close(self._fd)
        self._fd = None
        if not removed:     # (never after a removal: the name may be a new writer's now)
            try:
                self.path.unlink()
            except OSError:     # a new writer has it open already
                pass

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def holder_pid(path: Path) -> int:
    """The pid written in a lock file (0 when unreadable)."""
    from lstm_tui.fsio import open_regular
    try:
        with open_regular(path) as fh:
            return int(fh.read(200).split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def is_held(path: Path) -> bool:
    """Does a live process hold the lock at ``path``?  (False when there is no file.)

    The probe takes the lock for a moment (filelock's locks are exclusive), so a probe
    that finds it taken looks again a few times: another reader's probe lets go at once,
    a writer does not."""
    for attempt in range(PROBES):
        try:
            # never waits: a named pipe in the lock's place is no lock
            fd = os.open(path, os.O_RDONLY | _BINARY | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return False
        try:
            if lock_descriptor(fd, blocking=False):
                return False            # closing drops the probe's lock
        except OSError:
            return False
        finally:
            os.close(fd)
        if attempt < PROBES - 1:
            time.sleep(PROBE_PAUSE)
    return True
