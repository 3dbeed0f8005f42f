"""The TPE study's journal (``study.journal``): used only when it agrees with the trial
folders, else rebuilt from them.

Optuna keeps a study as an append-only journal of operations.  Damaged (garbage
appended, a line cut short, an operation Optuna cannot apply, emptied, deleted), it
fails to load, or it loads as a study that forgot trials: asked for more, it would hand
out trial numbers whose folders exist, and the driver would train over finished trials.

The run folders are the truth.  Every trial that started has one, named by its number,
holding its values (config.toml) and how it ended (summary.json); results.csv keeps the
row of a trial whose folder is gone.  So before the study is used, :func:`open_study`
reads the journal line by line, replays it in memory and checks every trial the folders
and rows know against it.  If anything is wrong it writes a new journal from them:
ended trials told as they ended, unended ones left running (trained again, not drawn
anew), a number known to no folder nor row left waiting (drawn when asked).  The old
file is kept beside it as ``study.journal.damaged-STAMP`` and a one-line note says what
was found.  A trial folder that cannot be read stops a rebuild (one line naming it and
the fix), since its number could otherwise be handed out again.  The caller (sweeps.tpe)
imports Optuna.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstm_tui.config import ConfigError
from lstm_tui.errors import error_line
from lstm_tui.fsio import open_regular, temporary_for
from lstm_tui.runs.layout import CONFIG, SUMMARY, RunError, fs_error
from lstm_tui.runs.reader import read_run_config
from lstm_tui.runs.summary import read_summary
from lstm_tui.sweeps import objectives
from lstm_tui.sweeps.backends import DONE
from lstm_tui.sweeps.runner import build_row
from lstm_tui.sweeps.spec import SweepSpec, make_point

STUDY_FILE = "study.journal"
TRIAL_FOLDER = re.compile(r"p(\d+)-")


@dataclass(frozen=True)
class Known:
    """A trial as its folder (or its results.csv row) says it is."""
    number: int
    params: dict[str, Any]
    key: str                            # the point's key (values and trial number)
    state: str                          # COMPLETE | PRUNED | FAIL | RUNNING
    values: list[float] | None          # the objectives' figures of a COMPLETE trial
    where: str                          # the folder's name, or results.csv


@dataclass
class Opened:
    study: Any
    note: str                           # what was wrong and repaired, in one line; "" if none
    ended: dict[str, dict]              # point key -> the row of a trial its folder ended
    folders: dict[str, str]             # point key -> the name of the trial's folder


def ended_state(row: dict, spec: SweepSpec) -> tuple[str, list[float] | None]:
    """How a trial that ended is told to the study: COMPLETE with its figures (one per
    objective), PRUNED, or FAIL (diverged, failed, or a figure missing)."""
    values = [objectives.value(row, m) for m, _ in spec.objectives]
    if row.get("status") in objectives.GOOD and all(v is not None for v in values):
        return "COMPLETE", values
    return ("PRUNED" if row.get("status") == "pruned" else "FAIL"), None


def open_study(optuna, sweep_dir: Path, spec: SweepSpec, columns: list[str],
               rows: list[dict]) -> Opened:
    """The sweep's study, its journal checked against the trial folders and results.csv's
    `rows` (and rebuilt from them when it disagrees; see the module doc)."""
    path = Path(sweep_dir) / STUDY_FILE
    _drop_stale_lock(path)        # our sweep lock is held: no other user of the journal
    known, ended, unreadable = _trials_on_disk(Path(sweep_dir), spec, columns, rows)
    directions = ["maximize" if goal == "max" else "minimize" for _, goal in spec.objectives]
    logs, fault = read_journal(path)
    trials = None
    if not fault or logs:
        trials, replay_fault = _replay(optuna, logs, sweep_dir.name, directions)
        fault = fault or replay_fault
    if not fault and trials is not None:
        fault = _disagreement(trials, known, spec)
    if fault in ("missing", "empty") and not known:
        fault = ""                    # a new sweep: Optuna makes the study in the file
    note = ""
    if fault:
        if unreadable:
            folder, why = unreadable[0]
            raise RunError(f"{path}: {fault}, and the trial folder {folder.name} cannot be "
                           f"read ({why}): move that folder away (lstm-lab rm "
                           f"{folder}) and run the same command again to rebuild the study")
        aside = _rebuild(optuna, path, sweep_dir.name, directions, spec, known, trials or [])
        kept = f"; the old file is kept as {aside.name}" if aside else ""
        note = (f"{path}: {fault}; rebuilt from the {len(known)} trial folder(s) and "
                f"results.csv{kept}")
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    try:
        storage = JournalStorage(JournalFileBackend(str(path)))
        study = optuna.create_study(study_name=sweep_dir.name, storage=storage,
                                    load_if_exists=True, directions=directions)
    except OSError as exc:
        raise fs_error(path, exc) from None
    return Opened(study, note, ended,
                  {k.key: k.where for k in known.values() if k.where != "results.csv"})


# ---------------------------------------------------------------- what the folders say

def _trials_on_disk(sweep_dir: Path, spec: SweepSpec, columns: list[str], rows: list[dict]
                    ) -> tuple[dict[int, Known], dict[str, dict], list[tuple[Path, str]]]:
    """Every trial a folder (or, for a folder that is gone, a results.csv row) knows;
    the rows of the trials whose folders ended; the trial folders that cannot be read."""
    known: dict[int, Known] = {}
    ended: dict[str, dict] = {}
    unreadable: list[tuple[Path, str]] = []
    try:
        entries = sorted(sweep_dir.iterdir())
    except OSError as exc:
        raise fs_error(sweep_dir, exc) from None
    for folder in entries:
        match = TRIAL_FOLDER.match(folder.name)
        if not match or folder.is_symlink() or not folder.is_dir():
            continue
        if not (folder / CONFIG).exists() and not (folder / SUMMARY).exists():
            continue                  # made, never written: nothing to keep
        number = int(match.group(1))
        try:
            point = _folder_point(folder, number, spec)
        except (RunError, ConfigError) as exc:
            unreadable.append((folder, str(exc).split(": ", 1)[-1][:200]))
            continue
        summary = read_summary(folder / SUMMARY)[0]
        if summary.get("sweep_point") == point.key and summary.get("status") in DONE:
            row = build_row(point, folder, spec, columns)
            state, values = ended_state(row, spec)
            ended[point.key] = row
        elif number in known:
            continue                  # two folders of one number: the one that ended wins
        else:
            state, values = "RUNNING", None
        known[number] = Known(number, dict(point.values), point.key, state, values,
                              folder.name)
    for row in rows:
        number = row.get("point")
        if not isinstance(number, int) or isinstance(number, bool) or number in known \
                or row.get("status") not in DONE:
            continue
        try:
            point = make_point(spec, number, {k: row.get(k) for k in spec.random})
        except ConfigError:
            continue
        if point.key == row.get("key"):
            state, values = ended_state(row, spec)
            known[number] = Known(number, dict(point.values), point.key, state, values,
                                  "results.csv")
    return known, ended, unreadable


def _folder_point(folder: Path, number: int, spec: SweepSpec):
    """The point of trial `number` whose values the folder's config holds; RunError
    when the folder is not that trial's."""
    cfg = read_run_config(folder)
    values = {}
    for key in spec.random:
        section, leaf = key.split(".")
        values[key] = getattr(getattr(cfg, section), leaf)
    point = make_point(spec, number, values)
    # (its name is not compared: the axes' order, and so the name, may differ between
    # the preset and the sweep.toml written from it; the key holds the values)
    if read_summary(folder / SUMMARY)[0].get("sweep_point", point.key) != point.key:
        raise RunError(f"{folder}: not this sweep's trial {number} (another sweep point)")
    return point


# ---------------------------------------------------------------- the journal

def read_journal(path: Path) -> tuple[list[dict], str]:
    """The journal's operations, up to the first damaged line, and what is wrong ("" when
    nothing is; "missing" when there is no file)."""
    if not path.exists() and not path.is_symlink():
        return [], "missing"
    try:
        with open_regular(path) as fh:
            data = fh.read()
    except OSError as exc:
        return [], f"unreadable ({(exc.strerror or error_line(exc)).lower()})"
    if not data:
        return [], "empty"
    lines = data.split(b"\n")
    tail = lines.pop()                # b"" when the file ends with a line break
    logs: list[dict] = []
    for number, line in enumerate(lines, 1):
        try:
            log = json.loads(line)
        except (ValueError, RecursionError):
            return logs, f"line {number} is not JSON"
        op = log.get("op_code") if isinstance(log, dict) else None
        if not isinstance(op, int) or isinstance(op, bool):
            return logs, f"line {number} is not a journal operation"
        logs.append(log)
    if tail:
        return logs, f"line {len(lines) + 1} is cut short"
    return logs, ""


class _Memory:
    """A journal backend over a list of operations (Optuna's BaseJournalBackend): the
    journal is replayed here first, so a damaged one never touches the file."""

    def __init__(self, logs: list[dict]):
        self.logs = list(logs)

    def read_logs(self, log_number_from: int):
        return iter(self.logs[log_number_from:])

    def append_logs(self, logs: list[dict]) -> None:
        self.logs.extend(logs)


def _replay(optuna, logs: list[dict], name: str, directions: list[str]):
    """(the study's trials, "") as the operations give them, or (None, why Optuna cannot
    replay them)."""
    from optuna.storages import JournalStorage
    try:
        study = optuna.create_study(study_name=name, storage=JournalStorage(_Memory(logs)),
                                    load_if_exists=True, directions=directions)
        return study.get_trials(deepcopy=False), ""
    except Exception as exc:          # an operation Optuna cannot apply: any error type
        return None, f"Optuna cannot replay it ({error_line(exc, limit=120)})"


def _disagreement(trials: list, known: dict[int, Known], spec: SweepSpec) -> str:
    """Where the study contradicts the folders and rows ("" when it does not)."""
    by_number = {t.number: t for t in trials}
    for number, k in sorted(known.items()):
        trial = by_number.get(number)
        if trial is None:
            return f"it has no trial {number}, which {k.where} holds"
        try:
            key = make_point(spec, number, trial.params).key
        except (ConfigError, KeyError, ValueError):
            key = None
        if key != k.key:
            return f"its trial {number} has other values than {k.where}"
        state = trial.state.name
        if state != k.state and not (state == "RUNNING" and k.state != "RUNNING"):
            # (running in the study but ended in its folder: the tell was lost; told now)
            return f"its trial {number} is {state.lower()}, but {k.where} says " \
                   f"{k.state.lower()}"
    return ""


def distributions(spec: SweepSpec) -> dict[str, Any]:
    """Each searched key's Optuna distribution, as sweeps.tpe's suggestions make them."""
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)
    out = {}
    for key, axis in spec.random.items():
        if axis.choices:
            out[key] = CategoricalDistribution(list(axis.choices))
        elif axis.integer:
            out[key] = IntDistribution(int(axis.low), int(axis.high), log=axis.log)
        else:
            out[key] = FloatDistribution(float(axis.low), float(axis.high), log=axis.log)
    return out


def _rebuild(optuna, path: Path, name: str, directions: list[str], spec: SweepSpec,
             known: dict[int, Known], old: list) -> Path | None:
    """Write a new journal from `known` (and, for numbers it lacks, the trials replayed
    from the damaged file's good lines, `old`) in place of `path`; returns where the old
    file was kept (None when there was none)."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from optuna.trial import TrialState, create_trial
    tmp = temporary_for(path)
    for leftover in (tmp, Path(f"{tmp}.lock")):
        leftover.unlink(missing_ok=True)
    dists = distributions(spec)
    replayed = {t.number: t for t in old}
    try:
        study = optuna.create_study(study_name=name, directions=directions,
                                    storage=JournalStorage(JournalFileBackend(str(tmp))))
        for number in range(max([*known, *replayed], default=-1) + 1):
            k, trial = known.get(number), replayed.get(number)
            if k is not None:
                study.add_trial(create_trial(state=TrialState[k.state], params=k.params,
                                             distributions=dists, values=k.values))
            elif trial is not None and trial.state != TrialState.WAITING and \
                    set(trial.params) == set(dists):
                study.add_trial(create_trial(state=trial.state, params=trial.params,
                                             distributions=dists, values=trial.values))
            else:
                study.enqueue_trial({})     # a number nobody knows: drawn when asked
        _fsync(tmp)
        aside = None
        if path.exists() or path.is_symlink():
            aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            os.replace(path, aside)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise fs_error(path, exc) from None
    except ValueError as exc:           # a value outside the space: cannot be told
        tmp.unlink(missing_ok=True)
        raise RunError(f"{path}: cannot be rebuilt from the trial folders "
                       f"({error_line(exc, limit=160)})") from None
    return aside


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _drop_stale_lock(path: Path) -> None:
    """Optuna's own lock beside the journal (a link), left by a driver killed while it
    appended: it would stall the study for half a minute.  The sweep's OS lock, held by
    the caller, already keeps every other user out."""
    try:
        Path(f"{path}.lock").unlink()
    except OSError:
        pass
