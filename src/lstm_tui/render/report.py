"""Rich tables and plotext charts for the command line: summaries, run lists, comparisons."""

from __future__ import annotations

from typing import Callable, Sequence

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from lstm_tui.config import ConfigError
from lstm_tui.events import ModelSummary
from lstm_tui.numbers import fmt
from lstm_tui.runs.listing import differing_keys, field_value
from lstm_tui.render.sweep_tables import PLAIN_MARKERS
from lstm_tui.runs.reader import Run
from lstm_tui.textsafe import printable



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



# The rows under the config keys, one value per run; a new row is one more entry here.
RESULT_ROWS: list[tuple[str, Callable[[Run], str]]] = [
    ("status", lambda r: field_value(r.info, "status")),     # a damaged folder: corrupt
    ("metric", lambda r: r.info.metric or "-"),
    ("best", lambda r: fmt(r.info.best)),
    ("final", lambda r: fmt(r.info.final)),
    ("steps", lambda r: fmt(r.info.steps)),
    ("seconds", lambda r: fmt(r.info.seconds, 3)),
    ("params", lambda r: fmt(r.info.params)),
    ("tags", lambda r: " ".join(r.info.tags) or "-"),
    ("note", lambda r: r.info.note or "-"),
]


def plain(text: str) -> Text:
    """A table cell of the user's text: never read as markup, no control characters."""
    return Text(printable(text))


def compare_table(runs: Sequence[Run]) -> Table:
    """Config keys that differ, then RESULT_ROWS, a column per run.  Names, notes and
    config values are the user's text: plain (never markup), control characters escaped."""
    table = Table(title="Comparison", title_justify="left")
    table.add_column("")
    for run in runs:
        table.add_column(plain(run.info.name), overflow="fold")
    diff = differing_keys(r.config for r in runs)
    for key, values in diff.items():
        table.add_row(plain(key), *(plain(str(v)) for v in values))
    if not diff:
        table.add_row("(configs)", *("identical" for _ in runs))
    table.add_section()
    for label, value in RESULT_ROWS:
        table.add_row(label, *(plain(value(r)) for r in runs))
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


def short_label(label: str, room: int) -> str:
    """A legend label that fits `room` characters: run names differ at both ends (the
    date in front, the model at the back), so the middle goes."""
    if len(label) <= room:
        return label
    keep = max(room - 1, 2)
    return label[:(keep + 1) // 2] + "…" + label[len(label) - keep // 2:]


def plottable(runs: Sequence[Run], split: str) -> list[str]:
    """The numeric series recorded for `split` in these runs (bookkeeping left out)."""
    return sorted({k for r in runs for rec in r.metrics if rec.get("split") == split
                   for k, v in rec.items() if isinstance(v, (int, float))
                   and not isinstance(v, bool)} - {"step", "epoch", "time"})


def compare_series(runs: Sequence[Run], split: str, key: str
                   ) -> list[tuple[str, list[float], list[float]]]:
    """(run name, steps, values) of `key` for every run; ConfigError when no run has it."""
    series = [(r.info.name, *r.series(split, key)) for r in runs]
    if not any(xs for _, xs, _ in series):
        known = plottable(runs, split)
        raise ConfigError(f"--metric {key}", "", f"no {split} records of it in these runs "
                          f"({split} records have: {', '.join(known) or 'nothing yet'})")
    return series


# Without colour, lines are told apart by their marker (rich drops colour in a file).


def curves_text(series: Sequence[tuple[str, list[float], list[float]]], title: str,
                width: int, height: int = 18, log_y: bool = False, color: bool = True) -> Text:
    """Overlaid line charts (plotext), one line per (label, xs, ys), as rich Text: rich
    measures it right (no split rows) and drops its colours in a file or under NO_COLOR;
    with `color` off each line has its own marker instead."""
    import plotext as plt
    plt.clear_figure()
    plt.limitsize(False, False)   # plotext would clip to its own idea of the terminal
    plt.plotsize(max(40, width), height)
    plt.theme("pro" if color else "clear")
    for i, (label, xs, ys) in enumerate(series):
        if xs:
            plt.plot(xs, ys, label=short_label(label, max(20, width - 20)),
                     marker="hd" if color else PLAIN_MARKERS[i % len(PLAIN_MARKERS)])
    if log_y and all(v > 0 for _, _, ys in series for v in ys):
        plt.yscale("log")
    plt.title(title)
    plt.xlabel("step")
    return Text.from_ansi(plt.build())
