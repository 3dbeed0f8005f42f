"""The Keras-style parameter table of a model summary (``models.summary.summarize``).

A module of its own: the Lab's Model pane draws it before the first frame, so it must not
pull in the run store and sweep tables that ``report.py`` needs.
"""

from __future__ import annotations

from rich.table import Table

from lstm_tui.events import ModelSummary


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
