"""Cell plugins: the example package (JANET) installed with pip trains headless, is
inspected by its own gates, trains in the ensemble equal to its sequential twins and is
in the lab's cell list; a broken cell plugin is one line and the lab goes on."""

from __future__ import annotations

import csv
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Select

from lstm_tui.models.cells import registry
from lstm_tui.tui.app import make_app
from tests.conftest import REPO
from tests.tui.conftest import record_notifications
from tests.tui.fakes import FakeTrainer

EXAMPLE = REPO / "examples" / "lstm-lab-janet"
TINY = ["--set", "task.seq_len=6", "--set", "task.train_size=128", "--set", "task.val_size=32",
        "--set", "train.steps=12", "--set", "train.eval_every=6", "--set", "model.hidden=6"]
pytestmark = pytest.mark.slow

SWEEP = """name = "janet-lrs"
[task]
kind = "adding"
seq_len = 6
train_size = 128
val_size = 32
[model]
cell = "janet"
hidden = 6
forget_bias = 2.0
[train]
steps = 12
eval_every = 6
batch_size = 16
[sweep]
seeds = 2
[sweep.grid]
"train.lr" = [0.01, 0.03]
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The example plugin, installed with pip (offline: a local path, no index)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation",
                    "--no-deps", "--no-index", "--target", str(target), str(EXAMPLE)],
                   check=True, capture_output=True, text=True)
    return target


def lab(args: list[str], *paths: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in (*paths, REPO / "src"))}
    return subprocess.run([sys.executable, "-m", "lstm_tui", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=300)


def broken_cell_plugin(root: Path) -> Path:
    """A distribution whose cell entry point names a module that does not exist."""
    info = root / "broken_cell-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-cell\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[lstm_lab.cells]\nbroken = no_such_cell:SPEC\n")
    return root


def test_the_example_cell_trains_and_is_inspected_by_its_gates(installed, tmp_path):
    runs = tmp_path / "runs"
    result = lab(["headless", "adding_problem", "--runs-dir", str(runs), "--set",
                  "model.cell=janet", *TINY], installed)
    assert result.returncode == 0, result.stderr
    assert "janet_1 (JANET)" in result.stdout
    (run_dir,) = runs.iterdir()
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "completed"
    shown = lab(["inspect", str(run_dir), "--json", "--runs-dir", str(runs)], installed)
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["cell"] == "janet" and list(doc["gates"]) == ["forget", "input", "candidate",
                                                             "hidden"]
    refused = lab(["check", "adding_problem", "--set", "model.cell=janet", "--set",
                   "model.peepholes=true"], installed)
    assert refused.returncode == 2
    assert "model.peepholes: the janet cell does not take peepholes" in refused.stderr


def test_the_example_cell_trains_in_the_ensemble_as_its_sequential_twins(plugin_on_path,
                                                                         tmp_path):
    """In this process (the first test's `lstm-lab` finds the plugin in a fresh one):
    the sweep's two backends, one results.csv each."""
    from lstm_tui.config import load_preset
    from lstm_tui.sweeps.runner import run_points
    from lstm_tui.sweeps.spec import parse_sweep
    preset = tmp_path / "janet.toml"
    preset.write_text(SWEEP)
    cfg = load_preset(preset)
    spec = parse_sweep(cfg, str(preset))
    from lstm_tui.training.ensemble import group_key, unbatchable_reason
    points = spec.points()         # one batched model of four members, not four runs
    assert unbatchable_reason(points[0].config) is None
    assert len({group_key(p.config) for p in points}) == 1
    finals = {}
    for backend in ("ensemble", "sequential"):
        result = run_points(preset, cfg, spec, tmp_path / backend, backend=backend)
        assert result.complete
        with open(result.sweep_dir / "results.csv", newline="") as f:
            finals[backend] = {(r["train.lr"], r["seed"]): float(r["final_mad"])
                               for r in csv.DictReader(f)}
    assert len(finals["ensemble"]) == 4 and finals["ensemble"].keys() == finals["sequential"].keys()
    for key, value in finals["ensemble"].items():
        assert value == pytest.approx(finals["sequential"][key], rel=1e-4, abs=1e-6), key


def test_a_broken_cell_plugin_is_one_line_and_the_rest_goes_on(installed, tmp_path):
    result = lab(["presets"], installed, broken_cell_plugin(tmp_path / "site"))
    assert result.returncode == 0 and "sweep_lstm_odyssey" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1, warnings
    assert "cell plugin 'broken'" in warnings[0] and "no_such_cell" in warnings[0]
    checked = lab(["check", "adding_problem", "--set", "model.cell=janet"], installed,
                  tmp_path / "site")
    assert checked.returncode == 0, checked.stderr


@pytest.fixture
def plugin_on_path(installed, tmp_path, monkeypatch):
    """This process sees the installed plugin (and a broken one) from a fresh registry."""
    monkeypatch.syspath_prepend(str(installed))
    monkeypatch.syspath_prepend(str(broken_cell_plugin(tmp_path / "site")))
    importlib.invalidate_caches()
    monkeypatch.setattr(registry, "_SPECS", {})
    monkeypatch.setattr(registry, "_PLUGINS", {})
    monkeypatch.setattr(registry, "_PROBLEMS", [])
    monkeypatch.setattr(registry, "_loaded", False)
    yield
    registry._loaded = False     # monkeypatch restores the old table after this


async def test_the_plugin_cell_is_in_the_model_pane_and_the_broken_one_is_said(plugin_on_path,
                                                                               tmp_path):
    app = make_app(tmp_path / "runs", trainer=FakeTrainer())
    said = record_notifications(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.screen.action_pane("model")
        await pilot.pause()
        select = app.screen.query_one("#model-cell-input", Select)
        assert "janet" in [value for _, value in select._options]
        select.value = "janet"
        await pilot.pause()
        assert app.screen.config.model.cell == "janet"
        assert not app.screen.query_one("#model-peepholes-input").display
        assert app.screen.query_one("#model-forget_bias-input").display
        assert any("cell plugin 'broken'" in n for n in said)
