"""Run references, as every command takes them: a folder, a folder name under the store,
a unique prefix of a name, or `latest` / `latest~N` (looked up in the store's index)."""

from __future__ import annotations

import re
from pathlib import Path

from lstm_tui.runs.layout import RunError, is_run_dir
from lstm_tui.runs.index import indexed_runs

LATEST = re.compile(r"latest(?:~(\d+))?")


def resolve_run(root: Path, ref: str) -> Path:
    """A run folder from a path, a folder name under `root`, a unique name prefix, or
    `latest` / `latest~N` (the newest run, the one before it, ...)."""
    latest = LATEST.fullmatch(ref)
    if latest:
        runs = indexed_runs(root)
        back = int(latest.group(1) or 0)
        if back >= len(runs):
            raise RunError(f"{ref}: there are only {len(runs)} runs under {root}/")
        return runs[-1 - back].path
    for direct in (Path(ref), Path(root) / ref):    # a path, or one relative to the store
        if is_run_dir(direct):
            return direct
    runs = indexed_runs(root)
    candidates = [r.path for r in runs if r.name == ref]
    if not candidates:
        candidates = [r.path for r in runs if r.name.startswith(ref)]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise RunError(f"{ref}: no such run (a run folder, or a run name under {root}/; "
                       "`lstm-lab runs` lists them)")
    names = ", ".join(p.name for p in candidates[:5])
    raise RunError(f"{ref}: matches {len(candidates)} runs ({names}...); give more of the name")
