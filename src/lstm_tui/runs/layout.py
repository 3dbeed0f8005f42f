"""The run store's layout: where it is, what its folders hold, and the one error a folder
that cannot be used raises.

The store is a folder (--runs-dir, else $LSTM_LAB_RUNS, else ./runs) of run folders,
each written by runs.writer while training goes and readable after a crash (runs.reader):

  config.toml        the resolved config (usable again as a preset), written once, atomically
  summary.json       status, best/final metric, steps, seconds, params; replaced atomically
                     (its fields: runs.summary)
  metrics.jsonl      one JSON object a line (split = train | val), appended and flushed
  diagnostics.jsonl  gradient norm per time step, one line per validation
  samples.jsonl      text samples of char_lm runs
  best.pt, last.pt   checkpoints (runs.checkpoint; opened whole by runs.trained)
  annotations.json   tags and a note added later (runs.tags); never the above
  provenance.json    software, machine and peak memory (runs.provenance)
  data.json          the data files trained on: path, size, SHA-256 (lstm_tui.runs.datarecord)
  resources.jsonl    CPU/memory (and GPU) samples while training
  .writer.lock       held (an OS lock) by the one process writing the folder (runs.lock)

A sweep is a folder of run folders plus sweep.toml (its definition), results.csv (one row
a point) and .sweep.lock (held by its driver), written by lstm_tui.sweeps.runner.
Removed runs and sweeps wait in <root>/.trash/ (runs.trash); no listing looks there.
<root>/.index/ holds the store's index (runs.index): a cache, rebuilt when deleted.
Pure Python: no torch, no Textual.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from lstm_tui.errors import first_line
from lstm_tui.tomlfile import RUN_CONFIG, RUN_SUMMARY

ENV_VAR = "LSTM_LAB_RUNS"
CONFIG, SUMMARY, METRICS = RUN_CONFIG, RUN_SUMMARY, "metrics.jsonl"
DIAGNOSTICS, SAMPLES = "diagnostics.jsonl", "samples.jsonl"
WRITER_LOCK = ".writer.lock"
ANNOTATIONS, TRASH = "annotations.json", ".trash"
SWEEP_FILE, RESULTS_FILE, SWEEP_LOCK = "sweep.toml", "results.csv", ".sweep.lock"


class RunError(Exception):
    """A run folder that cannot be used: the message names the file and what is wrong."""


def runs_root(explicit: str | os.PathLike | None = None) -> Path:
    """--runs-dir, else $LSTM_LAB_RUNS, else ./runs."""
    return Path(explicit or os.environ.get(ENV_VAR) or "runs")


def check_root(root: Path) -> Path:
    """The run store as a folder, or a RunError saying why it cannot be one."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise RunError(f"{root}: is a file, not a folder of runs (give --runs-dir a folder)")
    return root


def fs_error(path: Path, exc: OSError) -> RunError:
    """An OSError as one line naming the path: 'runs/x: permission denied'."""
    reason = (exc.strerror or first_line(exc)).lower() if isinstance(exc, OSError) else exc
    if getattr(exc, "errno", None) == errno.ENOSPC:
        reason = "no space left on the device"
    return RunError(f"{path}: {reason}")


def is_run_dir(folder: Path) -> bool:
    """Does `folder` hold a run: its config or its summary, even when the other is lost."""
    folder = Path(folder)
    return (folder / CONFIG).is_file() or (folder / SUMMARY).is_file()


def is_sweep_dir(folder: Path) -> bool:
    return (Path(folder) / SWEEP_FILE).is_file()
