"""Import contracts: the core never loads Textual; the UI's start-up modules never load torch."""

from __future__ import annotations

import subprocess
import sys

CORE = ["lstm_tui.config", "lstm_tui.events", "lstm_tui.tasks", "lstm_tui.models",
        "lstm_tui.training.engine", "lstm_tui.runs.writer", "lstm_tui.runs.reader",
        "lstm_tui.runs.trained", "lstm_tui.runs.checkpoint", "lstm_tui.fsio",
        "lstm_tui.experiment", "lstm_tui.runs.sampler", "lstm_tui.cli.progress", "lstm_tui.cli.main",
        "lstm_tui.inspection.record", "lstm_tui.inspection.source", "lstm_tui.cli.inspect",
        "lstm_tui.render.inspection_view", "lstm_tui.runs.predict", "lstm_tui.runs.export",
        "lstm_tui.tasks.series_predict", "lstm_tui.tasks.sequence_classification_predict",
        "lstm_tui.tasks.char_lm_predict", "lstm_tui.models.portable"]
TORCH_FREE = ["lstm_tui.config", "lstm_tui.events", "lstm_tui.tasks", "lstm_tui.tasks.shapes",
              "lstm_tui.models", "lstm_tui.models.summary", "lstm_tui.runs.writer",
              "lstm_tui.runs.reader", "lstm_tui.runs.resolve", "lstm_tui.runs.trained",
              "lstm_tui.fsio",
              "lstm_tui.render.report", "lstm_tui.presets", "lstm_tui.runs.sampler", "lstm_tui.cli.main",
              "lstm_tui.inspection", "lstm_tui.inspection.analysis",
              "lstm_tui.inspection.schema", "lstm_tui.render.inspection_view",
              "lstm_tui.runs.predict", "lstm_tui.runs.export", "lstm_tui.cli.predict",
              "lstm_tui.cli.export_model",
              # the sweep driver groups points by ensemble.group_key before anything trains
              "lstm_tui.training.ensemble", "lstm_tui.training.ensemble.grouping",
              "lstm_tui.sweeps.scheduler"]


def loaded_after(modules: list[str]) -> set[str]:
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print('\\n'.join(sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_core_does_not_import_textual():
    loaded = loaded_after(CORE)
    assert "torch" in loaded  # the check itself works: the engine does load torch
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}
    assert "ray" not in loaded


def test_start_up_modules_do_not_import_torch():
    loaded = loaded_after(TORCH_FREE)
    assert "lstm_tui.config" in loaded and "torch" not in loaded


NO_RAY = CORE + ["lstm_tui.sweeps.spec", "lstm_tui.sweeps.backends", "lstm_tui.sweeps.runner",
                 "lstm_tui.training.ensemble.engine", "lstm_tui.cli.sweep_display", "lstm_tui.sweeps.surface",
                 "lstm_tui.sweeps.backends.ray", "lstm_tui.tui.app", "lstm_tui.tui.launch",
                 "lstm_tui.tui.worker"]


def test_nothing_imports_ray_until_the_ray_backend_runs():
    """Ray is an optional extra: only running the ray backend imports it (lazily, in
    lstm_tui.sweeps.backends.ray) — not the core, not the TUI, not choosing the backend."""
    code = ("import sys\n" + "".join(f"import {m}\n" for m in NO_RAY)
            + "from lstm_tui.sweeps.backends import make_backend\n"
            + "make_backend('ray', 2)\n"
            + "print('\\n'.join(sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "lstm_tui.sweeps.backends.ray" in loaded and "lstm_tui.tui.app" in loaded
    assert not {m for m in loaded if m == "ray" or m.startswith("ray.")}


def test_the_inspection_core_imports_neither_textual_nor_rich():
    loaded = loaded_after(["lstm_tui.inspection.record", "lstm_tui.inspection.source",
                           "lstm_tui.inspection.analysis"])
    assert "torch" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("textual", "rich")}


def test_the_inspect_screen_does_not_import_torch_until_it_loads():
    loaded = loaded_after(["lstm_tui.tui.screens.inspect", "lstm_tui.tui.screens.sample"])
    assert "lstm_tui.tui.screens.inspect" in loaded and "torch" not in loaded


NO_TRACKER_LIBRARIES = CORE + ["lstm_tui.trackers", "lstm_tui.trackers.listen",
                               "lstm_tui.trackers.mlflow", "lstm_tui.trackers.wandb",
                               "lstm_tui.sweeps.backends", "lstm_tui.tui.app",
                               "lstm_tui.tui.worker"]


def test_nothing_imports_mlflow_or_wandb_until_a_run_logs_to_them():
    """The trackers are optional extras: checking `train.log_to`, checking that an extra is
    installed and making the listeners import neither library; only a run's start does."""
    code = ("import sys\n" + "".join(f"import {m}\n" for m in NO_TRACKER_LIBRARIES)
            + "from lstm_tui.config import parse_config\n"
            + "cfg = parse_config({'train': {'log_to': ['mlflow', 'wandb']}})\n"
            + "from lstm_tui.trackers import require\n"
            + "from lstm_tui.trackers.listen import tracker_listeners\n"
            + "require(cfg.train.log_to)\n"
            + "tracker_listeners(cfg.train.log_to, 'runs/x')\n"
            + "print('\\n'.join(sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "lstm_tui.trackers.mlflow" in loaded and "lstm_tui.trackers.wandb" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("mlflow", "wandb")}


def test_nothing_imports_onnx_or_safetensors_until_a_model_is_exported():
    """The onnx and safetensors extras: predicting, and importing the export modules and
    commands, load neither library; only writing that format does."""
    loaded = loaded_after(CORE + ["lstm_tui.cli.predict", "lstm_tui.cli.export_model",
                                  "lstm_tui.render.predictions"])
    assert "lstm_tui.runs.export" in loaded and "torch" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("onnx", "onnxruntime", "safetensors")}
