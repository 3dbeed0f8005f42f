"""Shell completion of run names and preset names (`lstm-lab --install-completion`).

Typer calls these while the shell asks; they must be quick and must never raise: the
run names come from the store's index (runs.index).
"""

from __future__ import annotations

from pathlib import Path

import typer

from lstm_tui.runs.layout import RunError, runs_root

LATEST = ("latest", "latest~1", "latest~2")


def _root(ctx: typer.Context | None) -> Path:
    explicit = ctx.params.get("runs_dir") if ctx is not None else None
    return runs_root(explicit)


def run_names(root: Path) -> list[str]:
    """Newest first: what `RUN` accepts (the folder relative to the store)."""
    from lstm_tui.runs.index import indexed_runs      # (sqlite3: when completing only)
    names = []
    for info in reversed(indexed_runs(root)):
        try:
            names.append(info.path.relative_to(root).as_posix())
        except ValueError:
            names.append(info.name)
    return names


def complete_run(ctx: typer.Context, incomplete: str) -> list[str]:
    try:
        names = run_names(_root(ctx))
    except (OSError, RunError):
        names = []
    return [n for n in (*LATEST, *names) if n.startswith(incomplete)]


def complete_sweep_or_run(ctx: typer.Context, incomplete: str) -> list[str]:
    """Runs, and the sweep folders (`rm` takes whole sweeps)."""
    root = _root(ctx)
    try:
        sweeps = sorted(p.name for p in root.iterdir()
                        if (p / "sweep.toml").is_file()) if root.is_dir() else []
    except OSError:
        sweeps = []
    return [n for n in sweeps if n.startswith(incomplete)] + complete_run(ctx, incomplete)


def complete_preset(incomplete: str) -> list[str]:
    from lstm_tui.presets import shipped_presets
    try:
        names = [p.name for p in shipped_presets()]
    except OSError:
        names = []
    local = sorted(str(p) for p in Path(".").glob(f"{incomplete}*.toml")) \
        if "/" not in incomplete else []
    return [n for n in names if n.startswith(incomplete)] + local
