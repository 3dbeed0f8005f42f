"""lstm-lab: a terminal experiment lab for recurrent neural networks.

``import lstm_tui as lab`` gives the Python API (:mod:`lstm_tui.api`): ``lab.runs``,
``lab.open_run``, ``lab.train`` and ``lab.sweep``, loaded on first use so that importing
the package stays light.  ``lab.runs`` is also the name of the run store's package
(``lstm_tui.runs``); calling that package is calling the API's ``runs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"
__all__ = ["runs", "open_run", "train", "sweep"]

if TYPE_CHECKING:
    from lstm_tui.api import open_run, sweep, train


def __getattr__(name: str) -> Any:
    if name == "runs":      # the run store's package, callable as the API's runs()
        import importlib
        return importlib.import_module("lstm_tui.runs")
    if name in __all__:
        from lstm_tui import api
        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
