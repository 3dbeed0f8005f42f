"""`lstm-lab verify`: train presets and print one table of their expectations, met or
missed (the judging lives in lstm_tui/expect/verify.py and lstm_tui/expect/run.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from lstm_tui.cli.common import (EXIT_INTERRUPTED, EXIT_MISSED, RunsDir, StopFlag, bad_input,
                                 err, out)
from lstm_tui.cli.complete import complete_preset
from lstm_tui.config import ConfigError
from lstm_tui.troubleshooting import with_help


def verify(
    presets: Annotated[Optional[list[str]], typer.Argument(
        help="presets to verify (default: every shipped run preset with [expect])",
        autocompletion=complete_preset, show_default=False)] = None,
    quick: Annotated[bool, typer.Option("--quick", help="the presets' [quick] forms: "
                                        "shortened runs with their own bands (~1 minute)")]
    = False,
    backend: Annotated[str, typer.Option(help="sweeps: sequential | processes | ensemble")]
    = "sequential",
    workers: Annotated[int, typer.Option(min=1, help="sweeps: processes at once")] = 1,
    runs_dir: RunsDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="the table as JSON lines")] = False,
) -> None:
    """Train presets (and sweep presets, without --quick) and check each against its
    [expect]: one table of preset, expectation, observed value, band, met/missed and
    seconds.  Exit 3 when one is missed (or a run fails); runs are kept only with
    --runs-dir."""
    from lstm_tui.presets import preset_files, resolve_preset
    from lstm_tui.expect.verify import plan, rows, run

    named = bool(presets)
    paths = [resolve_preset(p) for p in presets] if named else preset_files()
    if backend not in ("sequential", "processes", "ensemble"):
        raise ConfigError("--backend", "backend", f"must be one of sequential, processes, "
                          f"ensemble, got {backend!r}")
    planned, skipped = plan(paths, quick, named)
    if not planned:
        err.print("nothing to verify" + (f" (skipped: {', '.join(skipped)})" if skipped
                                         else ""))
        raise typer.Exit(EXIT_MISSED)
    stop = StopFlag()
    stop.install()
    outcomes = run(planned, Path(runs_dir) if runs_dir else None, backend, workers,
                   on_start=lambda p: err.print(f"[dim]verifying {escape(p.name)} ...[/]",
                                                highlight=False),
                   should_stop=stop)
    table = rows(outcomes)
    if as_json:
        for row in table:
            out.print(json.dumps(row), highlight=False, soft_wrap=True, markup=False)
    else:
        out.print(_table(table, quick))
    if stop.requested:
        raise typer.Exit(EXIT_INTERRUPTED)
    if not all(o.ok for o in outcomes):
        missed = sum(r["verdict"] != "met" for r in table)
        err.print(escape(with_help(f"missed expectations: {missed} of {len(table)}",
                                   "missed-expectation")), highlight=False)
        raise typer.Exit(EXIT_MISSED)


def _table(table: list[dict], quick: bool) -> Table:
    view = Table(title="verify" + (" --quick" if quick else ""), title_justify="left")
    for name, justify in (("preset", "left"), ("expectation", "left"), ("observed", "right"),
                          ("band", "right"), ("verdict", "left"), ("seconds", "right")):
        view.add_column(name, justify=justify, overflow="fold", no_wrap=name == "preset")
    for row in table:
        observed = "-" if row["observed"] is None else f"{row['observed']:.4g}"
        verdict = row["verdict"] + (f" ({row['note']})" if row["note"] else "")
        style = "green" if row["verdict"] == "met" else "bold red"
        view.add_row(escape(row["preset"]), escape(row["expectation"]), observed, row["band"],
                     f"[{style}]{escape(verdict)}[/]", f"{row['seconds']:.1f}")
    return view


def register(app: typer.Typer) -> None:
    app.command()(bad_input(verify))
