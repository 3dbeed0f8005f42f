"""Recurrent cells: one module per cell kind, found through :mod:`.registry`.

The contract a cell fulfils is :mod:`.base`; the shipped cells are the modules named in
``registry.BUILTIN``; third-party cells come through the entry-point group
``lstm_lab.cells``.  Importing this package does not import torch.
"""

from __future__ import annotations

from lstm_tui.models.cells.base import CellSpec, Param
from lstm_tui.models.cells.registry import get, names, spec_of

__all__ = ["CellSpec", "Param", "get", "names", "spec_of"]
