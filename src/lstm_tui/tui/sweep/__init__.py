"""The Sweep screen's feature in one place: ``state.py`` (what a sweep shows, without
Textual), ``process.py`` (the sweep's child process), and its widgets: ``define.py`` (the
axes form), ``grid.py`` (the heatmap grid), ``lines.py`` and ``epochs.py`` (the line views),
``status.py``, ``trials.py`` (drawn points),
``expect_table.py`` (the verdicts).  The screen itself is ``tui/screens/sweep.py``.
"""

__all__ = ["define", "expect_table", "epochs", "grid", "lines", "process", "state", "status", "trials"]
