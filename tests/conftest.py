"""Shared fixtures: a temporary run store and small configs that train in seconds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "presets"
BAD_PRESETS = Path(__file__).parent / "data" / "bad_presets"

# Small models train fastest on one thread, and tests run side by side with other work.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def runs_dir(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    monkeypatch.setenv("LSTM_LAB_RUNS", str(root))
    return root


@pytest.fixture(autouse=True)
def _one_thread():
    import sys
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    yield
