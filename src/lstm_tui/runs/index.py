"""The index of a run store: every run's listing cached in ``<root>/.index/runs.sqlite``.

The run folders stay the truth; the index only saves reading them again.  Each run is a
row holding the three parts its listing is made of (runs.reader: config.toml,
summary.json, annotations.json), each with the stamp (mtime_ns, size, inode) of the file
it was read from (runs.index_rows).  A listing walks the store (one ``os.scandir`` of
the root and of each folder of runs, three ``stat`` calls a run) and rereads only the
files whose stamp changed; folders that appeared are read, rows of folders that went are
dropped.  So a folder copied in by hand or from another machine appears, and one
removed by hand goes.

It is a cache: deleting it loses nothing; a corrupt one, or one of another schema
version, is rebuilt; WAL mode, a busy timeout and short transactions let any number of
processes read and write it at once; and when it cannot be written (a read-only store,
a full disk, another process holding it too long) the listing is still right, read
from the files into memory.  A stamp is taken before its file is read, so a row is
never newer than its stamp says and a change between the two is read again next time.

The liveness of a `running` run is asked at every listing (runs.reader.assemble), never
kept.  Writers (runs.writer, runs.tags, runs.trash) tell the index about the folder
they changed (:func:`note_change`), which saves the next listing a read.
Pure Python (sqlite3 from the standard library): no torch, no Textual.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import quote

from lstm_tui.runs.index_rows import (COLUMNS, CONFIG_PART, FLAT, NOTES_PART,
                                      SUMMARY_LISTED, SUMMARY_PART, Stamps, folder_stamps,
                                      read_rows, walk)
from lstm_tui.runs.layout import check_root
from lstm_tui.runs.reader import RunInfo, assemble, read_config_part

# in a folder of its own: SQLite makes and removes -wal and -shm files beside it as
# processes come and go, which must not touch the mtime of the store (the lab watches it)
INDEX_DIR = ".index"
INDEX_FILE = f"{INDEX_DIR}/runs.sqlite"
SCHEMA = 1                 # PRAGMA user_version: bump when a part's shape or a reading rule changes
BUSY_SECONDS = 5.0         # how long a listing waits for another process's write
WRITER_BUSY_SECONDS = 0.2  # a run's writer never waits long: the next listing catches up
BATCH = 500                # rows per transaction: a killed build keeps what it wrote
PROGRESS_AFTER = 200       # fewer folders to read than this: no progress reports

Progress = Callable[[int, int], None]     # (folders read, folders to read)

# a row: its layout and how it is read, runs.index_rows
_TABLE = (f"CREATE TABLE runs (rel TEXT PRIMARY KEY, "
          f"{', '.join(COLUMNS[1:])})")
# rows are read without their config (1-2 kB a run; _Configs fetches those when asked),
# so a row stored again with its config unchanged (flat NULL) keeps the one it has
_SELECT = f"SELECT {', '.join(c if c != 'flat' else 'NULL' for c in COLUMNS)} FROM runs"
_INSERT = (f"INSERT INTO runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
           f"ON CONFLICT(rel) DO UPDATE SET "
           + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:] if c != "flat")
           + ", flat = coalesce(excluded.flat, runs.flat)")


@dataclass
class Entry:
    """One run as the index lists it: its listing, its folder relative to the store, and
    its config flattened to dotted keys (fetched and decoded on first use); `stamps`: of
    the files it was read from (what a watcher compares with a new walk)."""
    info: RunInfo
    rel: str
    _configs: "_Configs | None" = field(default=None, repr=False)
    stamps: Stamps = field(default=(None, None, None), repr=False)

    @property
    def config(self) -> dict[str, Any]:
        return self._configs.get(self) if self._configs is not None else {}

    def config_json(self) -> str:
        """The config as the JSON text the index keeps (`runs --json` writes it as is)."""
        return self._configs.text(self) if self._configs is not None else "{}"


class _Configs:
    """The flattened configs of one listing, fetched from the index in one query the
    first time any is asked for (most listings name no config key and never do)."""

    def __init__(self, root: Path, fresh: dict[str, str]):
        self.root = root
        self.fresh = fresh               # the configs this listing read from the files
        self.flat: dict[str, str] | None = None
        self.decoded: dict[str, dict] = {}

    def get(self, entry: Entry) -> dict[str, Any]:
        if entry.rel not in self.decoded:
            self.decoded[entry.rel] = json.loads(self.text(entry))
        return self.decoded[entry.rel]

    def text(self, entry: Entry) -> str:
        text = self.fresh.get(entry.rel)
        if text is None:
            if self.flat is None:
                self.flat = self._fetch()
            text = self.flat.get(entry.rel)
        if text is None:   # a row this process could not store (a read-only store)
            text = self.fresh[entry.rel] = json.dumps(
                read_config_part(entry.info.path)["flat"], default=str)
        return text

    def _fetch(self) -> dict[str, str]:
        opened = open_db(self.root, create=False)
        if opened is None:
            return {}
        db = opened[0]
        try:
            return dict(db.execute("SELECT rel, flat FROM runs WHERE flat IS NOT NULL"))
        except sqlite3.Error:
            return {}
        finally:
            db.close()


# ---------------------------------------------------------------- the database

def _errname(exc: sqlite3.Error) -> str:
    return getattr(exc, "sqlite_errorname", "") or ""


def _corrupt(exc: sqlite3.Error) -> bool:
    """A file that is not (or no longer) an index of this version: rebuild it."""
    name = _errname(exc)
    return name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or (
        name == "SQLITE_ERROR" and "no such" in str(exc)) or (
        not name and isinstance(exc, sqlite3.DatabaseError)
        and not isinstance(exc, sqlite3.OperationalError))


def _remove_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(f"{path}{suffix}")
        except OSError:
            pass


def _prepare(db: sqlite3.Connection) -> None:
    """The schema, created or replaced when its version is not ours."""
    if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:   # another did it
            db.execute("DROP TABLE IF EXISTS runs")
            db.execute(_TABLE)
            db.execute(f"PRAGMA user_version = {SCHEMA}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _connect(path: Path, busy: float) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=busy, isolation_level=None, check_same_thread=False)
    try:
        try:
            db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:   # busy: another process is switching it
            if _errname(exc) not in ("SQLITE_BUSY", "SQLITE_LOCKED"):
                raise
        db.execute("PRAGMA synchronous = NORMAL")
        _prepare(db)
        db.execute(f"{_SELECT} LIMIT 1").fetchall()     # the columns are ours
    except BaseException:
        db.close()
        raise
    return db


def _memory() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    _prepare(db)
    return db


def _read_only(path: Path) -> sqlite3.Connection | None:
    """The index of a store this process cannot write, to read from (or None)."""
    try:
        db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro&immutable=1", uri=True,
                             isolation_level=None, check_same_thread=False)
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:
            db.close()
            return None
        db.execute(f"{_SELECT} LIMIT 1").fetchall()
        return db
    except sqlite3.Error:
        return None


def open_db(root: Path, busy: float = BUSY_SECONDS,
            create: bool = True) -> tuple[sqlite3.Connection, str] | None:
    """(a connection, "file" | "read-only" | "memory") for the store's index.

    A corrupt index, or one of another version, is replaced; one that cannot be
    written is read where it can be, else the index lives in memory for this process.
    `create=False` (a run's writer): None when the store has no index yet."""
    path = Path(root) / INDEX_FILE
    if not create and not path.exists():
        return None
    if Path(root).is_dir():
        try:
            path.parent.mkdir(exist_ok=True)
        except OSError:
            pass                                   # read-only: _connect fails, see below
    for attempt in range(2):
        try:
            return _connect(path, busy), "file"
        except sqlite3.Error as exc:
            if attempt == 0 and _corrupt(exc):
                _remove_files(path)
                continue
            if not create:
                return None
            break
    readable = _read_only(path) if path.is_file() else None
    return (readable, "read-only") if readable is not None else (_memory(), "memory")


# ---------------------------------------------------------------- the index

class RunIndex:
    """The index of one store, open: `sync` brings it up to date and lists the runs."""

    def __init__(self, root: Path, busy: float = BUSY_SECONDS, create: bool = True):
        self.root = Path(root)
        opened = open_db(self.root, busy, create)
        self.db, self.kind = opened if opened is not None else (None, "none")
        self.writable = self.kind in ("file", "memory")

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    def __enter__(self) -> "RunIndex":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading
    def _rows(self, rels: Iterable[str] | None = None) -> dict[str, tuple]:
        if self.db is None:
            return {}
        try:
            if rels is None:
                return {row[0]: row for row in self.db.execute(_SELECT)}
            out = {}
            for rel in rels:
                row = self.db.execute(f"{_SELECT} WHERE rel = ?", (rel,)).fetchone()
                if row is not None:
                    out[rel] = row
            return out
        except sqlite3.Error as exc:
            self._failed(exc)
            return {}

    def _failed(self, exc: sqlite3.Error) -> None:
        """The file went bad under us: list from the files (into memory) from now on."""
        if self.kind == "file" and _corrupt(exc):
            _remove_files(self.root / INDEX_FILE)
        self.close()
        self.db, self.kind, self.writable = _memory(), "memory", True

    def _write(self, rows: list[tuple], gone: Iterable[str]) -> None:
        """Store rows and drop the gone ones, in short transactions; a failure leaves the
        listing right (it is built from `rows` too) and the index as it was."""
        if self.db is None or not self.writable:
            return
        gone = list(gone)
        try:
            for start in range(0, max(len(rows), len(gone)), BATCH):
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    self.db.executemany(_INSERT, rows[start:start + BATCH])
                    self.db.executemany("DELETE FROM runs WHERE rel = ?",
                                        [(r,) for r in gone[start:start + BATCH]])
                    self.db.execute("COMMIT")
                except BaseException:
                    self.db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            if _corrupt(exc):
                self._failed(exc)
            self.writable = False

    def _update(self, found: dict[str, Stamps], old: dict[str, tuple], gone: Iterable[str],
                progress: Progress | None) -> dict[str, tuple]:
        """Reread what changed, store it, and return every row of `found`."""
        todo = [(rel, stamps, old.get(rel)) for rel, stamps in found.items()
                if rel not in old or old[rel][1:4] != stamps]
        report = progress if progress is not None and len(todo) >= PROGRESS_AFTER else None
        fresh: list[tuple] = []
        rows = dict(old)
        if report is not None:          # at once: helper processes take seconds to start
            report(0, len(todo))
        for n, row in enumerate(read_rows(self.root, todo), 1):
            rows[row[0]] = row
            if report is not None and n % 50 == 0:
                report(n, len(todo))
            if row[1:4] == (None, None, None):      # unreadable: listed, and not kept
                continue
            fresh.append(row)
            if len(fresh) >= BATCH:
                self._write(fresh, ())
                fresh = []
        self._write(fresh, gone)
        if report is not None:
            report(len(todo), len(todo))
        return {rel: rows[rel] for rel in found}

    def _entry(self, row: tuple, stamps: Stamps, configs: _Configs) -> Entry:
        rel = row[0]
        path = self.root if rel == "." else self.root / rel
        task, cell, hidden, error, _ = row[CONFIG_PART]
        *listed, summary_note = row[SUMMARY_PART]
        tags, note = row[NOTES_PART]
        try:
            info = assemble(
                path, {"task": task, "cell": cell, "hidden": hidden, "error": error},
                {"summary": {k: v for k, v in zip(SUMMARY_LISTED, listed) if v is not None},
                 "note": summary_note},
                {"tags": json.loads(tags) if tags != "[]" else [], "note": note}, row[4])
        except (ValueError, KeyError, TypeError, AttributeError):   # a row tampered with
            row = next(read_rows(self.root, [(rel, stamps, None)]))
            self._write([row], ())
            configs.fresh[rel] = row[FLAT]
            return self._entry(row, stamps, configs)
        return Entry(info, rel, configs, tuple(row[1:4]))

    # -- the listing
    def sync(self, progress: Progress | None = None) -> list[Entry]:
        """Every run in the store, oldest first, the index brought up to date first."""
        with no_gc():
            return self._sync(progress)

    def _sync(self, progress: Progress | None) -> list[Entry]:
        found = walk(self.root) if self.root.is_dir() else {}
        old = self._rows()
        rows = self._update(found, old, set(old) - set(found), progress)
        configs = _Configs(self.root, {rel: row[FLAT] for rel, row in rows.items()
                                       if row[FLAT] is not None})
        entries = [self._entry(row, found[rel], configs) for rel, row in rows.items()]
        entries.sort(key=lambda e: (e.info.created, e.info.name, e.rel))
        return entries

    def sync_folders(self, folders: Iterable[Path]) -> dict[Path, Entry | None]:
        """Bring just these folders up to date (a writer's, or what a watcher saw change):
        each folder's entry, or None when it is no run (any more)."""
        rels = {}
        for folder in folders:
            rel = self._rel(folder)
            if rel is not None:
                rels[rel] = Path(folder)
        found = {}
        for rel in rels:
            stamps = folder_stamps(str(self.root if rel == "." else self.root / rel))
            if stamps[0] or stamps[1]:
                found[rel] = stamps
        old = self._rows(rels)
        rows = self._update(found, old, [r for r in rels if r not in found and r in old], None)
        configs = _Configs(self.root, {rel: row[FLAT] for rel, row in rows.items()
                                       if row[FLAT] is not None})
        return {folder: self._entry(rows[rel], found[rel], configs) if rel in rows else None
                for rel, folder in rels.items()}

    def forget(self, folder: Path) -> None:
        """Drop a folder's rows (a run, or every run of a sweep) after it was moved away."""
        rel = self._rel(folder)
        if rel is None or self.db is None or not self.writable:
            return
        try:
            self.db.execute("DELETE FROM runs WHERE rel = ? OR substr(rel, 1, ?) = ?",
                            (rel, len(rel) + 1, rel + "/"))
        except sqlite3.Error:
            self.writable = False

    def _rel(self, folder: Path) -> str | None:
        try:
            rel = Path(os.path.abspath(folder)).relative_to(os.path.abspath(self.root))
        except ValueError:
            return None
        return rel.as_posix() if rel.parts else "."


@contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused while a listing makes 10,000s of objects that
    hold no cycles: it would otherwise walk them again and again (a third of the time)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# ---------------------------------------------------------------- for every reader

_reporter: ContextVar[Progress | None] = ContextVar("index_progress", default=None)


@contextmanager
def reporting(progress: Progress) -> Iterator[None]:
    """Listings made inside report a long rebuild to `progress` (a front end's bar), so
    that commands which list runs deep down (resolving `latest`) need not pass it."""
    token = _reporter.set(progress)
    try:
        yield
    finally:
        _reporter.reset(token)


def indexed_entries(root: Path, progress: Progress | None = None) -> list[Entry]:
    """Every run under `root` with its config (what `lstm-lab runs` filters), oldest
    first, through the index (built first when there is none)."""
    root = check_root(Path(root))
    with RunIndex(root) as index:
        return index.sync(progress if progress is not None else _reporter.get())


def indexed_runs(root: Path, progress: Progress | None = None) -> list[RunInfo]:
    """Every run under `root`, oldest first: runs.reader.list_runs, through the index."""
    return [e.info for e in indexed_entries(root, progress)]


def note_change(folder: Path) -> None:
    """A writer changed `folder` (a run): update its row in the index of the store it is
    in (its parent, or its sweep's parent), if that store has an index.  Never raises and
    never waits long: the next listing catches up with anything missed here."""
    folder = Path(folder)
    for root in (folder.parent, folder.parent.parent):
        if (root / INDEX_FILE).exists():
            try:
                with RunIndex(root, WRITER_BUSY_SECONDS, create=False) as index:
                    index.sync_folders([folder])
            except (sqlite3.Error, OSError):
                pass


def note_removed(root: Path, folder: Path) -> None:
    """A run or sweep folder was moved out of the store (runs.trash)."""
    if not (Path(root) / INDEX_FILE).exists():
        return
    try:
        with RunIndex(root, WRITER_BUSY_SECONDS, create=False) as index:
            index.forget(folder)
    except (sqlite3.Error, OSError):
        pass
