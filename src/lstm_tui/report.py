"""Rich tables and plotext charts for the command line: summaries, run lists, comparisons."""

from __future__ import annotations

import math
import os
from typing import Iterable, Sequence

from rich.markup import escape
from rich.table import Table

from lstm_tui.events import ModelSummary
from lstm_tui.runs.listing import flatten
from lstm_tui.runs.store import Run


def fmt(value: float | int | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}" if abs(value) < 1e5 else f"{value:.4e}"


def age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def summary_table(summary: ModelSummary) -> Table:
    """The Keras-style parameter table."""
    table = Table(title="Model summary", title_justify="left", show_lines=False)
    table.add_column("Layer (type)")
    table.add_column("Output Shape")
    table.add_column("Param #", justify="right")
    for row in summary.rows:
        table.add_row(f"{row.layer} ({row.kind})", row.output_shape, f"{row.params:,}")
    table.add_section()
    table.add_row("Total params", "", f"{summary.total:,}")
    table.add_row("Trainable params", "", f"{summary.trainable:,}")
    table.add_row("Non-trainable params", "", f"{summary.non_trainable:,}")
    return table


METRIC_ABBREV = {"accuracy": "acc", "perplexity": "ppl", "mad": "mad"}


def differing_keys(configs: Iterable[dict]) -> dict[str, list[object]]:
    """Only the config keys whose values differ between the runs (missing shown as None)."""
    flats = [flatten(c) for c in configs]
    keys = sorted(set().union(*flats)) if flats else []
    out = {}
    for key in keys:
        values = [f.get(key) for f in flats]
        if any(v != values[0] for v in values[1:]) and key not in ("name", "description"):
            out[key] = values
    return out


def compare_table(runs: Sequence[Run]) -> Table:
    table = Table(title="Comparison", title_justify="left")
    table.add_column("")
    for run in runs:
        table.add_column(run.info.name, overflow="fold")
    diff = differing_keys(r.config for r in runs)
    for key, values in diff.items():
        table.add_row(key, *(str(v) for v in values))
    if not diff:
        table.add_row("(configs)", *("identical" for _ in runs))
    table.add_section()
    table.add_row("status", *(r.info.status for r in runs))
    table.add_row("metric", *(r.info.metric or "-" for r in runs))
    table.add_row("best", *(fmt(r.info.best) for r in runs))
    table.add_row("final", *(fmt(r.info.final) for r in runs))
    table.add_row("steps", *(str(r.info.steps) for r in runs))
    table.add_row("seconds", *(fmt(r.info.seconds, 3) for r in runs))
    table.add_row("params", *(fmt(r.info.params) for r in runs))
    table.add_row("tags", *(" ".join(r.info.tags) or "-" for r in runs))
    table.add_row("note", *(r.info.note or "-" for r in runs))
    add_environment(table, runs)
    return table


def add_environment(table: Table, runs: Sequence[Run]) -> None:
    """Provenance side by side; rows whose environment differs are flagged."""
    from lstm_tui.runs.provenance import differing_env, display_rows, read_provenance
    provs = [read_provenance(r.info.path) for r in runs]
    shown = [dict(display_rows(p)) for p in provs]
    if not any(shown):
        return
    differ = differing_env(provs)
    table.add_section()
    table.add_row("environment", *(("[yellow]differs: " + ", ".join(differ) + "[/]")
                                   if differ else "same" for _ in runs))
    for label in dict.fromkeys(k for s in shown for k in s):
        mark = f"[yellow]≠ {label}[/]" if label in differ else label
        table.add_row(mark, *(escape(s.get(label, "not recorded")) for s in shown))


def curves_text(series: Sequence[tuple[str, list[float], list[float]]], title: str,
                width: int, height: int = 18, log_y: bool = False) -> str:
    """Overlaid line charts as text (plotext), one line per (label, xs, ys)."""
    import plotext as plt
    plt.clear_figure()
    plt.plotsize(max(40, width), height)
    if os.environ.get("NO_COLOR"):
        plt.theme("clear")
    else:
        plt.theme("pro")
    for label, xs, ys in series:
        if xs:
            plt.plot(xs, ys, label=label[-30:])
    if log_y and all(v > 0 for _, _, ys in series for v in ys):
        plt.yscale("log")
    plt.title(title)
    plt.xlabel("step")
    return plt.build()

