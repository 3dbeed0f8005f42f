"""Rich tables and plotext charts for the command line: summaries, run lists, comparisons."""

from __future__ import annotations

import math
import os
from typing import Iterable, Sequence

from rich import box
from rich.table import Table

from lstm_tui.events import ModelSummary
from lstm_tui.runs.store import Run, RunInfo


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


def runs_table(runs: Sequence[RunInfo]) -> Table:
    table = Table(title=f"{len(runs)} runs", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    # the name and task fold; the short columns never wrap, so 80 columns stay legible
    table.add_column("name", overflow="fold", min_width=20)
    table.add_column("task", overflow="fold")
    for name in ("cell", "hidden", "status", "best", "age"):
        if name == "status":
            table.add_column(name, overflow="fold")  # a damaged folder's error may be long
            continue
        table.add_column(name, no_wrap=True, justify="right" if name in ("hidden", "best",
                                                                          "age") else "left")
    for r in runs:
        status = r.status + (" (empty)" if r.empty else "")
        status = status if not r.error else f"{status}: {r.error}"
        best = f"{fmt(r.best)} {METRIC_ABBREV.get(r.metric, r.metric)}" if r.best is not None \
            else "-"
        table.add_row(r.name, r.task, r.cell, str(r.hidden or "-"), status, best, age(r.age))
    return table


def flatten(config: dict, prefix: str = "") -> dict[str, object]:
    """{"model": {"hidden": 32}} -> {"model.hidden": 32}"""
    flat: dict[str, object] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


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
    return table


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

