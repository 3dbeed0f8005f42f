"""The text8 corpus (``task.text = "text8"``): downloaded once, checked, cached.

text8 is the first 10^8 bytes of an English Wikipedia dump reduced to a-z and space, the
corpus of the Udacity assignment whose validation perplexity (4.25 after 7,001 steps) the
`char_lm_udacity_text8` preset compares with.  On first use the archive is fetched from its
canonical location (``LSTM_LAB_TEXT8_URL`` overrides it: tests serve a small zip on
127.0.0.1), checked against the archive's SHA-256 (``LSTM_LAB_TEXT8_ZIP_SHA256`` overrides
it; empty skips it, for a mirror that repacks the zip), the text inside is checked against
its own SHA-256 (``LSTM_LAB_TEXT8_SHA256``) and written to the user's cache folder; later
runs read the cache.  No network is a one-line ConfigError naming where to put the file by
hand.  One process downloads at a time (``.text8.lock`` in the cache; another waits for
it), and a download killed half-way leaves a ``.text8-*`` folder that the next one
removes.  Both digests are the ones several independent public sources give for Mahoney's
text8.zip (31,344,016 bytes) and the text8 inside it, in agreement.

Progress goes to whoever runs the task (lstm_tui.tasks.downloads): the lab's training
processes send it as events; otherwise a bar on stderr.  Where downloads are forbidden (the
lab's own process, which only describes configs) an uncached text8 is a ConfigError saying
that a run will fetch it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable

from lstm_tui.errors import ConfigError
from lstm_tui.runs.lock import FolderLock, LockHeld
from lstm_tui.tasks import downloads

NAME = "text8"                                   # the task.text value that asks for it
URL = "http://mattmahoney.net/dc/text8.zip"
SHA256 = "6e890197040d37d85beb962ae1f041ff1d9a9ca8d20c7d99c85027eebf51dca7"   # of `text8`
ZIP_SHA256 = "a6640522afe85d1963ad56c05b0ede0a0c000dddc9671758a6cc09b7a38e5232"  # text8.zip
ZIP_SIZE = 31_344_016
MAX_ARCHIVE = 64 << 20                           # the real zip is ZIP_SIZE bytes
MAX_TEXT = 100_000_000                           # the text inside: 10^8 bytes
CHUNK = 1 << 16
TIMEOUT = 30.0
LOCK = ".text8.lock"          # held while one process downloads into the cache
PARTIAL = ".text8-"           # prefix of a download's temporary folder
WAIT = 1.0                    # seconds between looks at another process's download


def cache_dir() -> Path:
    """$LSTM_LAB_CACHE, else $XDG_CACHE_HOME/lstm-lab, else ~/.cache/lstm-lab."""
    if os.environ.get("LSTM_LAB_CACHE"):
        return Path(os.environ["LSTM_LAB_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "lstm-lab"


def cached_path() -> Path:
    return cache_dir() / NAME


def path(progress: Callable[[int, int], None] | None = None) -> Path:
    """The cached text8 file, downloading and checking it first when it is not there."""
    target = cached_path()
    if target.is_file():
        return target
    if not downloads.allowed():
        raise ConfigError("", "task.text", f"text8 is not downloaded yet: the first run "
                          f"fetches it (about {ZIP_SIZE / 1e6:.0f} MB) and caches it at {target}")
    url = os.environ.get("LSTM_LAB_TEXT8_URL", URL)
    expected = os.environ.get("LSTM_LAB_TEXT8_SHA256", SHA256).lower()
    zip_expected = os.environ.get("LSTM_LAB_TEXT8_ZIP_SHA256", ZIP_SHA256).lower()
    if progress is None and (report := downloads.reporter()) is not None:
        progress = lambda done, total: report(NAME, done, total)  # noqa: E731
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError("", "task.text", f"cannot create the cache folder "
                          f"{target.parent}: {exc.strerror}") from None
    lock = _download_lock(target.parent)
    try:
        if target.is_file():           # fetched by the process we waited for
            return target
        _remove_partials(target.parent)
        _fetch(url, target, expected, zip_expected, progress)
    finally:
        lock.release()
    return target


def _download_lock(folder: Path) -> FolderLock:
    """One download into the cache at a time: another process's is waited for."""
    lock = FolderLock(folder / LOCK)
    while True:
        downloads.check_stop(NAME)
        try:
            return lock.acquire()
        except LockHeld:
            time.sleep(WAIT)
        except OSError as exc:
            raise ConfigError("", "task.text", f"cannot lock the cache folder {folder}: "
                              f"{exc.strerror or exc}") from None


def _remove_partials(folder: Path) -> None:
    """Temporary folders of downloads killed before they could clean up (a partial
    archive each); with the lock held, no live download owns one."""
    for leftover in folder.glob(f"{PARTIAL}*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _fetch(url: str, target: Path, expected: str, zip_expected: str,
           progress: Callable[[int, int], None] | None) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=PARTIAL) as tmp:
        archive = Path(tmp) / "text8.zip"
        _download(url, archive, progress or _stderr_bar)
        if zip_expected:                 # a damaged or truncated download stops here
            _check_archive(archive, zip_expected, url)
        text = Path(tmp) / NAME
        _extract(archive, text)
        digest = _sha256(text)
        if digest != expected:
            raise ConfigError("", "task.text", f"the text8 from {url} has SHA-256 {digest[:16]}"
                              f"..., expected {expected[:16]}...; not cached (a damaged "
                              "download? try again)")
        os.replace(text, target)       # atomic: a reader never sees half a corpus


def _check_archive(archive: Path, expected: str, url: str) -> None:
    digest = _sha256(archive)
    if digest != expected:
        size = archive.stat().st_size
        raise ConfigError("", "task.text", f"the archive from {url} has SHA-256 {digest[:16]}"
                          f"... ({size:,} bytes), expected {expected[:16]}..."
                          + (f" ({ZIP_SIZE:,} bytes)" if expected == ZIP_SHA256 else "")
                          + "; not cached (a damaged download? try again)")


def _offline(url: str, why: str) -> ConfigError:
    return ConfigError("", "task.text", f"cannot download text8 from {url} ({why}); put the "
                       f"unzipped file 'text8' at {cached_path()} by hand, or set task.text "
                       "to a file")


def _download(url: str, dest: Path, progress: Callable[[int, int], None]) -> None:
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response, open(dest, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while chunk := response.read(CHUNK):
                downloads.check_stop(NAME)    # the first Ctrl-C ends it here
                done += len(chunk)
                if done > MAX_ARCHIVE:
                    raise ConfigError("", "task.text", f"{url} sends more than "
                                      f"{MAX_ARCHIVE >> 20} MiB; not the text8 archive")
                out.write(chunk)
                progress(done, total)
    except urllib.error.HTTPError as exc:
        raise _offline(url, f"HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise _offline(url, str(exc.reason)) from None
    except (OSError, ValueError) as exc:
        raise _offline(url, str(exc) or type(exc).__name__) from None
    finally:
        progress(-1, 0)


def _extract(archive: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as z:
            info = next((i for i in z.infolist() if Path(i.filename).name == NAME), None)
            if info is None:
                raise ConfigError("", "task.text", "the downloaded archive holds no 'text8'")
            if info.file_size > MAX_TEXT:
                raise ConfigError("", "task.text", f"'text8' in the archive is "
                                  f"{info.file_size:,} bytes, more than text8's {MAX_TEXT:,}")
            with z.open(info) as src, open(dest, "wb") as out:
                while chunk := src.read(CHUNK):
                    downloads.check_stop(NAME)
                    out.write(chunk)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConfigError("", "task.text", f"the downloaded text8 archive is unreadable "
                          f"({exc}); try again") from None


def _sha256(file: Path) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _stderr_bar(done: int, total: int) -> None:
    """A one-line progress bar on stderr (plain text: the core does not use rich)."""
    if done < 0:
        sys.stderr.write("\n")
        return
    if total:
        width = 30
        filled = int(width * done / total)
        line = f"downloading text8 [{'#' * filled}{'.' * (width - filled)}] " \
               f"{done / 1e6:5.1f}/{total / 1e6:.1f} MB"
    else:
        line = f"downloading text8 {done / 1e6:5.1f} MB"
    sys.stderr.write("\r" + line)
    sys.stderr.flush()
