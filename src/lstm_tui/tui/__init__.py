"""The interactive lab: a Textual app on top of the core (``lstm-lab`` with no sub-command).

Layout: ``app.py`` (the App and its factory), ``screens/`` (one module a screen), ``sweep/``
(the Sweep screen's state, child process and views), ``widgets/`` (form, charts, tables,
heatmaps shared by screens), ``worker.py`` (training
processes), ``live.py`` (per-run state and bounded chart buffers), ``messages.py`` and
``inbox.py``, and the helpers several screens share: ``plotting.py``,
``store_watcher.py``, ``run_labels.py``, ``errors.py``.  Nothing here is imported by
the core; this package must not import torch at start-up.
"""

__all__ = ["app", "launch", "serve"]
