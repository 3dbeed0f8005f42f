"""Shared fixtures: a temporary run store and small configs that train in seconds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "presets"
BAD_PRESETS = Path(__file__).parent / "data" / "bad_presets"

# Small models train fastest on one thread, and tests run side by side with other work.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Never download in tests: text8 (task.text = "text8") is fetched from a dead loopback port
# unless a test serves it itself (tests/unit/test_text8.py).
os.environ["LSTM_LAB_TEXT8_URL"] = "http://127.0.0.1:9/text8.zip"
# Output is a file in tests, whoever runs them: pytest-xdist's workers inherit a COLUMNS of
# 80 from its terminal machinery, which would narrow every "not a terminal" console.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)
# Ray starts its workers at nice 15, for a cluster whose other processes are its own.  Here
# they run beside the suite's other workers at nice 0 and starve: a 4-s Ray test took 54 s
# beside two busy processes (7 s at nice 0).  Ray's job manager sets 0 for its jobs too.
os.environ.setdefault("RAY_worker_niceness", "0")
# Bytecode caches (git-ignored __pycache__), whatever the environment says: with
# PYTHONDONTWRITEBYTECODE set, every worker rewrites and compiles every test module again
# on each run (collection 9.4 s instead of 4.7 s per worker) and each of the ~130
# processes the tests start (CLI runs, spawned workers, Ray workers) compiles lstm_tui
# again (about 0.1 s each).
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
# No animations in tests: Textual's scroll and fade animations redraw for frames no test
# looks at (tests/tui and tests/snapshots: about 7% less CPU; the snapshots are unchanged).
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")


def pytest_configure(config):
    """The tests that assert exact equality run on the CPU: on a GPU box the default run
    hides the GPUs (from this process and the ones it spawns).  The `cuda`-marked set
    is run on its own, with the GPUs visible: ``pytest -m cuda``."""
    if "cuda" not in (config.getoption("markexpr", "") or ""):
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


def pytest_collection_modifyitems(config, items):
    # `own_ray` tests first: the worker that runs one starts its local Ray instance (5 s,
    # ~8 CPU-s of Ray's processes) after it, once, instead of again for the Ray tests
    # that follow (xdist gives each worker a run of consecutive tests)
    items.sort(key=lambda item: "own_ray" not in item.keywords)
    if "cuda" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="a CUDA check: run with `pytest -m cuda` on a GPU box")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


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


@pytest.fixture
def one_thread():
    """One torch thread for this test (the C time loops run only on one), then the count
    it had."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def ray_session():
    """Ray, limited to loopback, shut down when this test process ends."""
    ray = pytest.importorskip("ray")
    from lstm_tui.sweeps.backends.ray_cluster import loopback_only
    loopback_only()
    yield ray
    ray.shutdown()


@pytest.fixture
def local_ray(ray_session):
    """One local Ray instance of 2 CPUs per test process, shared by the tests that sweep on
    Ray in-process: starting one costs seconds of several processes' CPU. The backend uses
    a connection it finds and leaves it up; starting and stopping its own is the CLI's
    test (tests/cli/test_sweep_ray_cli.py)."""
    if not ray_session.is_initialized():
        ray_session.init(address="local", num_cpus=2, include_dashboard=False,
                         logging_level="ERROR", log_to_driver=False)
    return ray_session


def pytest_collection_finish(session):
    """The garbage collector, tuned for a test process: what collection imported (torch,
    Textual, every test module) lives to the end, so it is frozen out of the full passes,
    and a young generation of 20,000 objects instead of 700 spares the passes that Pilot's
    widgets and torch's tensors set off every few milliseconds (the suite's CPU -15-20%,
    docs/testing.md)."""
    import gc
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker more than the cores this process may use.  Many tests wait
    (a child process, Ray's daemons, a timer), and a spare worker keeps the cores busy
    meanwhile (2 cores: 270 s with 2 workers, 252 s with 3, 254 s with 4)."""
    return len(os.sched_getaffinity(0)) + 1 if hasattr(os, "sched_getaffinity") else None
