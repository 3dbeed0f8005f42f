"""`run_sweep`, the one entry point for every kind of sweep: a grid or random table of
points known up front (sweeps.runner.run_points), or an adaptive search that draws
points as results come in (sweeps.tpe.run_tpe).

Its own module so that the search drivers can build on the runner without the runner
knowing them.  It also judges the preset's ``[expect]`` (expect.sweep): checked before
the first point trains, judged over what ran when the sweep ends, saved as
expectations.json and told to the listener as a last event,
:class:`~lstm_tui.expect.sweep.SweepJudged`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from lstm_tui.config import RunConfig
from lstm_tui.expect import sweep as expect
from lstm_tui.sweeps.runner import SweepResult, columns_for, run_points
from lstm_tui.sweeps.spec import SweepSpec
from lstm_tui.trackers import require


def run_sweep(preset_path: str | Path, cfg: RunConfig, spec: SweepSpec, root: Path,
              backend: str = "sequential", workers: int = 1,
              listener: Callable[[Any], None] | None = None,
              should_stop: Callable[[], bool] = lambda: False,
              options: Any = None) -> SweepResult:
    """Train the sweep's pending points under `root` on `backend` (with its `options`,
    from sweeps.backends.backend_options; None: those the sweep's table gives);
    resumable (see sweeps.runner).  The result's `verdicts` are the judged [expect]
    ([] without one)."""
    require(cfg.train.log_to)      # a tracker's missing extra: bad input before any point
    expected = expect.check(spec, columns_for(spec), cfg.expect, str(preset_path)) \
        if cfg.expect is not None else []
    if spec.search == "tpe":
        from lstm_tui.sweeps.tpe import run_tpe       # optuna: only when asked for
        result = run_tpe(preset_path, cfg, spec, root, backend, workers, listener, should_stop,
                         options)
    else:
        result = run_points(preset_path, cfg, spec, root, backend=backend, workers=workers,
                            listener=listener, should_stop=should_stop, options=options)
    if expected:       # judged over what ran (an interrupted sweep too)
        result.verdicts = expect.verdicts(expected, result.rows, result.axes)
        expect.save(result.sweep_dir, result.verdicts)
        if listener is not None:
            listener(expect.SweepJudged(result.verdicts))
    return result
