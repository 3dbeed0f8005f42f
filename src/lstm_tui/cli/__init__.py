"""The command line: typer commands, rich output and progress displays.

``main.py`` holds the typer app and the run commands (headless, check, presets, compare,
sample, sweep, sweep-report, serve); the other command groups register themselves on it:
``store.py`` (runs, tag, note, rm, restore), ``output.py`` (export and the ``--output``
figures; ``export_model.py`` writes the model files), ``inspect.py``, ``verify.py``,
``predict.py``.  ``common.py`` is what every command shares
(consoles, exit codes, one-line errors), ``progress.py`` the headless progress display,
``sweep_display.py`` a sweep's progress, ``complete.py`` shell completion, ``console.py``
consoles that never wrap in a file.  Submodules are imported by name; importing the package
loads nothing.
"""

__all__ = ["main", "common", "complete", "console", "export_model", "inspect", "output", "predict", "progress", "store", "sweep_display", "verify"]
