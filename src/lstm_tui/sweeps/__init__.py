"""Sweeps: grids, random and TPE searches of runs, their backends, and their results.

  spec.py        the preset's [sweep] table checked (SweepConfig) and expanded into
                 points (no torch)
  drive.py       run_sweep: any sweep trained, resumable, its [expect] judged
  runner.py      run_points: the sweep folder, resume and results.csv (its only writer)
                 for points known up front (grid, random)
  tpe.py         run_tpe: points drawn by Optuna as results come in
  backends/      how points are trained: sequential, processes, ensemble, ray (one
                 module per backend, each declaring its options)
  scheduler.py   early stopping of points (asha, median)
  objectives.py  what points are ranked by: one metric or several (a Pareto front)
  surface.py     results.csv aggregated into heatmaps, lines and epoch curves (no torch)
  trials.py      a drawn search (tpe, random) as trials: best so far, Pareto front
  views.py       what `sweep-report` shows, for the CLI, --json and figures alike

Other packages import the modules in ``__all__``; the rest serve these.  Nothing here
imports Textual or rich: the front ends (cli/, render/, tui/) draw what it computes.
"""

__all__ = ["backends", "drive", "runner", "spec", "surface", "trials", "views"]
