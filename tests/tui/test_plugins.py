"""Task plugins: the example package installed with pip trains headless and shows in the
lab; a broken plugin is one line and the lab goes on."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Select

from lstm_tui.tasks import registry
from lstm_tui.tui.app import make_app
from tests.conftest import REPO
from tests.tui.conftest import record_notifications
from tests.tui.fakes import FakeTrainer

EXAMPLE = REPO / "examples" / "lstm-lab-parity"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The example plugin, installed with pip (offline: a local path, no index)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation",
                    "--no-deps", "--no-index", "--target", str(target), str(EXAMPLE)],
                   check=True, capture_output=True, text=True)
    return target


def lab(args: list[str], *paths: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in paths)}
    return subprocess.run([sys.executable, "-m", "lstm_tui", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=300)


def broken_plugin(root: Path) -> Path:
    """A distribution whose entry point names a module that does not exist."""
    info = root / "broken_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[lstm_lab.tasks]\nbroken = no_such_module:SPECS\n")
    return root


def test_the_example_plugin_trains_headless(installed, tmp_path):
    listed = lab(["presets"], installed)
    assert listed.returncode == 0 and "parity_lstm" in listed.stdout, listed.stderr
    runs = tmp_path / "runs"
    result = lab(["headless", "parity_lstm", "--runs-dir", str(runs), "--set", "train.epochs=1",
                  "--set", "task.train_size=128", "--set", "task.val_size=32"], installed)
    assert result.returncode == 0, result.stderr
    (run_dir,) = runs.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["metric"] == "accuracy"
    assert 'kind = "parity"' in (run_dir / "config.toml").read_text()
    checked = lab(["check", "parity_lstm", "--set", "task.bits=0"], installed)
    assert checked.returncode == 2 and "task.bits: must be an integer >= 1" in checked.stderr


def test_a_broken_plugin_is_one_line_and_the_rest_goes_on(installed, tmp_path):
    result = lab(["presets"], installed, broken_plugin(tmp_path / "site"))
    assert result.returncode == 0 and "parity_lstm" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1
    assert "task plugin 'broken'" in warnings[0] and "no_such_module" in warnings[0]


@pytest.fixture
def plugin_on_path(installed, tmp_path, monkeypatch):
    """This process sees the installed plugin (and a broken one) from a fresh registry."""
    monkeypatch.syspath_prepend(str(installed))
    monkeypatch.syspath_prepend(str(broken_plugin(tmp_path / "site")))
    importlib.invalidate_caches()
    monkeypatch.setattr(registry, "_SPECS", {})
    monkeypatch.setattr(registry, "_PROBLEMS", [])
    monkeypatch.setattr(registry, "_loaded", False)
    yield
    registry._loaded = False     # monkeypatch restores the old table after this


async def test_the_plugin_kind_is_in_the_lab_and_the_broken_one_is_said(plugin_on_path,
                                                                        tmp_path):
    app = make_app(tmp_path / "runs", trainer=FakeTrainer())
    said = record_notifications(app)    # from the start
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        select = app.screen.query_one("#task-kind", Select)
        for _ in range(200):   # the scan runs in a thread once the first frame is painted
            if "parity" in [value for _, value in select._options]:
                break
            await pilot.pause(0.05)
        assert "parity" in [value for _, value in select._options]
        select.value = "parity"
        for _ in range(100):              # a loaded machine takes a while to rebuild the form
            await pilot.pause(0.05)
            if app.screen.config.task.kind == "parity":
                break
        assert app.screen.config.task.kind == "parity" and app.screen.config.task.bits == 8
        assert any("task plugin 'broken'" in n for n in said)
