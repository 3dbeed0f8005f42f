"""How the points of a sweep get trained: one module per backend, found by name.

  base.py      the messages, the Backend protocol, the registry and backend options
  point.py     one point (or ensemble group) trained into its run folder, anywhere
  local.py     sequential; ensemble (batched groups, in a pool with workers > 1)
  pool.py      processes: the pool, its workers and their options (--devices)
  ray.py       ray: points as Ray tasks, locally or on a cluster (ray imported on run)
  ray_cluster.py  where they run: the ray backend's options and the cluster connection
  ray_task.py  what runs inside such a task

Other packages import what :mod:`.base` defines from here (the names below); a
backend's own modules only for what is theirs alone (RayOptions, PoolOptions).
"""

from lstm_tui.sweeps.backends.base import (BACKENDS, BUSY, DONE, Backend, Message, More,
                                           NoOptions, PointDone, PointProgress, PointStarted,
                                           PointTask, Report, StopCheck, backend_names,
                                           backend_options, make_backend, sweep_backend)

__all__ = ["BACKENDS", "BUSY", "DONE", "Backend", "Message", "More", "NoOptions", "PointDone",
           "PointProgress", "PointStarted", "PointTask", "Report", "StopCheck",
           "backend_names", "backend_options", "make_backend", "sweep_backend"]
