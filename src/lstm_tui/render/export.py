"""Runs out of the lab: one long CSV table, or TensorBoard event files (no rich).

CSV: a row per recorded value, `run, step, split, metric, value, epoch, time`, then the
run's flattened config (`model.hidden`, `train.lr`, ...), so a notebook can filter and
pivot it (`pandas.read_csv(...).pivot_table(...)`).  Nested records (per-parameter
gradient norms) become metrics named `grad_norms/<parameter>`; a value that was not
finite (written as null in metrics.jsonl) is an empty cell.

TensorBoard: a folder per run under DIR, scalars tagged `<split>/<metric>` at their
steps, plus the run's config as hparams with `hparam/best_<metric>` and
`hparam/final_<metric>`, written with torch.utils.tensorboard (needs the `tensorboard`
package: the extra `lstm-lab[tensorboard]`).
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import stat
from pathlib import Path
from typing import Iterator, Sequence, TextIO

from lstm_tui.config import ConfigError
from lstm_tui.fsio import atomic_write
from lstm_tui.runs.listing import flatten
from lstm_tui.runs.reader import Run

FIXED = ["run", "step", "split", "metric", "value", "epoch", "time"]
BOOKKEEPING = {"step", "epoch", "split", "time"}
SKIPPED_CONFIG = {"description"}   # prose, the same on every row
TB_INSTALL = "pip install 'lstm-lab[tensorboard]'"


def config_columns(runs: Sequence[Run]) -> list[str]:
    keys: set[str] = set()
    for r in runs:
        keys.update(flatten(r.config))
    return sorted(keys - SKIPPED_CONFIG)


MAX_STEP = 2 ** 63 - 1     # TensorBoard's int64; a step past it is garbage, not a record


def _cell(value) -> str | int | float:
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return encodable(value)
    return "" if value is None else value


def encodable(text: str) -> str:
    """`text` that UTF-8 can write: a lone surrogate (a "\\ud800" key in metrics.jsonl, an
    undecodable folder name) becomes its escape instead of failing the whole export."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def record_step(record: dict) -> int | None:
    """A record's step if it can be placed (an int from 0 to MAX_STEP), else None."""
    step = record.get("step")
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= MAX_STEP:
        return None
    return step


def values(record: dict) -> Iterator[tuple[str, float | None]]:
    """(metric name, value) of one metrics.jsonl record; None where it was not finite."""
    for key, value in record.items():
        if key in BOOKKEEPING:
            continue
        if isinstance(value, dict):
            for sub, v in value.items():
                if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)):
                    yield encodable(f"{key}/{sub}"), v
        elif value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            yield encodable(key), value


def long_rows(runs: Sequence[Run], names: Sequence[str]) -> Iterator[list]:
    columns = config_columns(runs)
    for run, name in zip(runs, names):
        flat = flatten(run.config)
        config = [_cell(flat.get(c)) for c in columns]
        for rec in run.metrics:
            step = record_step(rec)
            if step is None:
                continue   # a record without a step cannot be placed
            for metric, value in values(rec):
                if isinstance(value, float) and not math.isfinite(value):
                    value = None
                yield [_cell(name), step, _cell(rec.get("split", "")), metric, _cell(value),
                       _cell(rec.get("epoch")), _cell(rec.get("time")), *config]


def unique_names(runs: Sequence[Run]) -> list[str]:
    """Run names, made unique (two sweeps may hold runs of the same name)."""
    seen: dict[str, int] = {}
    names = []
    for r in runs:
        n = seen.get(r.info.name, 0) + 1
        seen[r.info.name] = n
        names.append(r.info.name if n == 1 else f"{r.info.name}-{n}")
    return names


def check_new_file(path: Path, force: bool, option: str) -> None:
    """Bad input before anything is written: a folder, a missing parent, an existing
    file without --force, and anything but a regular file even with it (--force must
    not replace /dev/null, a pipe or a socket)."""
    if path.is_dir():
        raise ConfigError(f"{option} {path}", "", "is a folder; give a file name")
    if not path.parent.is_dir():
        raise ConfigError(f"{option} {path}", "", f"folder {path.parent} does not exist")
    if path.exists():
        if not stat.S_ISREG(path.stat().st_mode):
            raise ConfigError(f"{option} {path}", "", "exists and is not a regular file (a "
                              "device, a pipe or a socket); --force replaces regular files "
                              "only: give another name")
        if not force:
            raise ConfigError(f"{option} {path}", "", "exists; pass --force to replace it "
                              "(nothing was written)")


def write_output(path: Path, write) -> None:
    """Atomically (lstm_tui.fsio) write a file the user named: a read-only folder or a
    full disk is one line of bad input naming it, and the old file stays as it was."""
    try:
        atomic_write(path, write)
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot write it ({exc.strerror or exc})") from None


def write_csv(path: Path, runs: Sequence[Run]) -> int:
    """The long table of `runs` into `path` (atomically); returns the number of rows."""
    count = 0

    def write(tmp: Path) -> None:
        nonlocal count
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            count = write_csv_to(fh, runs)

    write_output(path, write)
    return count


def write_csv_to(fh: TextIO, runs: Sequence[Run]) -> int:
    """The long table of `runs` into an open text file (`--csv -`: standard output)."""
    w = csv.writer(fh)
    w.writerow(FIXED + config_columns(runs))
    count = 0
    for row in long_rows(runs, unique_names(runs)):
        w.writerow(row)
        count += 1
    return count


# ---------------------------------------------------------------- tensorboard

def _event_files_only(folder: Path) -> bool:
    return all(p.is_file() and p.name.startswith("events.out.tfevents.")
               for p in folder.iterdir())


def check_tensorboard_dir(root: Path, runs: Sequence[Run], force: bool) -> None:
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--tensorboard {root}", "", "is a file; give a folder")
    for name in unique_names(runs):
        folder = root / name
        if folder.exists() and any(folder.iterdir()):
            if not force:
                raise ConfigError(f"--tensorboard {root}", "", f"{name}/ exists; pass --force "
                                  "to replace it (nothing was written)")
            if not folder.is_dir() or not _event_files_only(folder):
                raise ConfigError(f"--tensorboard {root}", "", f"{name}/ holds files that are "
                                  "not TensorBoard event files; not replacing it")


def import_writer():
    try:
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams
    except ImportError:
        raise ConfigError("--tensorboard", "", "TensorBoard export needs the tensorboard "
                          f"package; install it with: {TB_INSTALL}") from None
    return SummaryWriter, hparams


def hparam_values(run: Run) -> dict[str, int | float | str | bool]:
    out: dict[str, int | float | str | bool] = {}
    for key, value in flatten(run.config).items():
        if key in SKIPPED_CONFIG or value is None:
            continue
        if isinstance(value, bool):   # the writer would store it as the number 0 or 1
            out[key] = "true" if value else "false"
        else:
            out[key] = value if isinstance(value, (int, float, str)) else json.dumps(value)
    return out


def write_tensorboard(root: Path, runs: Sequence[Run], force: bool = False) -> list[Path]:
    """A folder of event files per run under `root`; returns the folders."""
    SummaryWriter, hparams = import_writer()
    check_tensorboard_dir(root, runs, force)
    try:
        return _write_tensorboard(root, runs, SummaryWriter, hparams)
    except OSError as exc:   # a read-only folder, a full disk: one line, old exports kept
        raise ConfigError(f"--tensorboard {root}", "", f"cannot write it "
                          f"({exc.strerror or exc})") from None


def _write_tensorboard(root: Path, runs: Sequence[Run], SummaryWriter, hparams) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    written = []
    for run, name in zip(runs, unique_names(runs)):
        tmp = root / f".{name}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            writer = SummaryWriter(log_dir=str(tmp))
            last = 0
            for rec in run.metrics:
                step = record_step(rec)
                if step is None:
                    continue
                last = max(last, step)
                split = encodable(str(rec.get("split", "other")))
                for metric, value in values(rec):
                    if value is not None and math.isfinite(value):
                        writer.add_scalar(f"{split}/{metric}", value, step)
            metric = run.info.metric or "loss"
            results = {f"hparam/{kind}_{metric}": float(v) for kind, v in
                       (("best", run.info.best), ("final", run.info.final))
                       if isinstance(v, (int, float)) and math.isfinite(v)}
            for summary in hparams(hparam_values(run), results):
                writer.file_writer.add_summary(summary)
            for tag, value in results.items():
                writer.add_scalar(tag, value, last)
            writer.close()
            folder = root / name
            if folder.exists():
                shutil.rmtree(folder)   # checked above: only event files of an old export
            os.replace(tmp, folder)
            written.append(folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return written
