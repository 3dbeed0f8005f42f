"""`run_sweep` for every kind of sweep: a grid or random table of points known up front
(sweeps.runner), or an adaptive search that draws points as results come in (sweeps.tpe).

Its own module so that the search drivers can build on the runner without the runner
knowing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from lstm_tui.config import RunConfig
from lstm_tui.sweeps.backends import make_backend
from lstm_tui.sweeps.runner import SweepResult
from lstm_tui.sweeps.runner import run_sweep as run_points
from lstm_tui.sweeps.spec import SweepSpec


def run_sweep(preset_path: str | Path, cfg: RunConfig, spec: SweepSpec, root: Path,
              backend: str = "sequential", workers: int = 1,
              listener: Callable[[Any], None] | None = None,
              should_stop: Callable[[], bool] = lambda: False) -> SweepResult:
    """Train the sweep's pending points under `root`; resumable (see sweeps.runner)."""
    if spec.search == "tpe":
        from lstm_tui.sweeps.tpe import run_tpe       # optuna: only when asked for
        make_backend(backend, workers, spec)     # an unknown backend is bad input first
        return run_tpe(preset_path, cfg, spec, root, backend, workers, listener, should_stop)
    return run_points(preset_path, cfg, spec, root, backend=backend, workers=workers,
                      listener=listener, should_stop=should_stop)
