"""Sweeps: grids (and random samples) of runs, their backends, and their result surfaces.

  spec.py      the preset's [sweep] table checked and expanded into points (no torch)
  runner.py    the driver: sweep folder, resume, results.csv (the only writer of it)
  backends.py  how points are trained: sequential, processes, ensemble (a new one = one module)
  surface.py   results.csv aggregated into heatmaps, lines and epoch curves (no torch)
  display.py   the live progress display and result table of `lstm-lab sweep` (rich)
"""
