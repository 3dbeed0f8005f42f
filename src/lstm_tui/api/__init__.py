"""The Python API for notebooks and scripts: ``import lstm_tui as lab``.

    lab.runs(where=..., tag=...)      the run store as a pandas DataFrame (runs --json)
    lab.open_run("latest")            a Run: config, summary, metrics(), model(), predict()
    lab.train(preset, **overrides)    train in this process; the Run
    lab.sweep(preset, **overrides)    train a sweep's points; results.csv as a DataFrame

These four (and :class:`Run`) are what the package promises to keep; ``lstm_tui``'s
``__all__`` names them and loads this package on first use, so ``import lstm_tui``
stays light (no torch, no pandas).
"""

from __future__ import annotations

from lstm_tui.api.functions import open_run, runs, sweep, train
from lstm_tui.api.run import Run

__all__ = ["runs", "open_run", "train", "sweep", "Run"]
