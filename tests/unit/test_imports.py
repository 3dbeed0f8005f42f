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
              "lstm_tui.render.report", "lstm_tui.render.model_summary", "lstm_tui.presets",
              "lstm_tui.runs.sampler", "lstm_tui.cli.main",
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


def test_start_up_modules_do_not_import_torch():
    loaded = loaded_after(TORCH_FREE)
    assert "lstm_tui.config" in loaded and "torch" not in loaded


def test_the_inspection_core_imports_neither_textual_nor_rich():
    loaded = loaded_after(["lstm_tui.inspection.record", "lstm_tui.inspection.source",
                           "lstm_tui.inspection.analysis"])
    assert "torch" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("textual", "rich")}


def test_the_inspect_screen_does_not_import_torch_until_it_loads():
    loaded = loaded_after(["lstm_tui.tui.screens.inspect", "lstm_tui.tui.screens.sample"])
    assert "lstm_tui.tui.screens.inspect" in loaded and "torch" not in loaded


# What the core, the command line and the UI load, read in one process (importing torch
# costs seconds each time): first the core and the commands, with the optional extras'
# modules imported and used up to the point where a run would need the library, then the
# UI's modules on top.
CORE_AND_EXTRAS = CORE + [
    "lstm_tui.sweeps.spec", "lstm_tui.sweeps.backends", "lstm_tui.sweeps.runner",
    "lstm_tui.training.ensemble.engine", "lstm_tui.cli.sweep_display", "lstm_tui.sweeps.surface",
    "lstm_tui.sweeps.backends.ray", "lstm_tui.trackers", "lstm_tui.trackers.listen",
    "lstm_tui.trackers.mlflow", "lstm_tui.trackers.wandb", "lstm_tui.cli.predict",
    "lstm_tui.cli.export_model", "lstm_tui.render.predictions"]
UI = ["lstm_tui.tui.app", "lstm_tui.tui.launch", "lstm_tui.tui.worker"]
SNAPSHOT = "print('\\n'.join(sys.modules))\nprint('--')\n"


def loaded_by_core_then_ui() -> tuple[set[str], set[str]]:
    code = ("import sys\n" + "".join(f"import {m}\n" for m in CORE_AND_EXTRAS)
            # choosing the ray backend, checking `train.log_to` and that its extras are
            # installed, and making the trackers' listeners
            + "from lstm_tui.sweeps.backends import make_backend\n"
            + "make_backend('ray', 2)\n"
            + "from lstm_tui.config import parse_config\n"
            + "cfg = parse_config({'train': {'log_to': ['mlflow', 'wandb']}})\n"
            + "from lstm_tui.trackers import require\n"
            + "from lstm_tui.trackers.listen import tracker_listeners\n"
            + "require(cfg.train.log_to)\n"
            + "tracker_listeners(cfg.train.log_to, 'runs/x')\n"
            + SNAPSHOT + "".join(f"import {m}\n" for m in UI) + SNAPSHOT)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    core, ui, _ = out.stdout.split("--\n")
    return set(core.split()), set(ui.split())


def top(loaded: set[str]) -> set[str]:
    return {m.split(".")[0] for m in loaded}


def test_core_and_commands_load_no_ui_and_no_extra_until_used():
    """The core never loads Textual. Ray, MLflow, W&B, ONNX and safetensors are optional
    extras: importing the core, the commands and the modules that use them, choosing the
    ray backend, checking `train.log_to` and making the trackers' listeners, load none of
    them; only running the ray backend, a run's start or writing that format does. The UI
    adds Textual and still none of the extras."""
    core, ui = loaded_by_core_then_ui()
    assert "torch" in core     # the check itself works: the engine does load torch
    assert {"lstm_tui.sweeps.backends.ray", "lstm_tui.trackers.mlflow",
            "lstm_tui.trackers.wandb", "lstm_tui.runs.export"} <= core
    assert "textual" not in top(core)
    extras = {"ray", "mlflow", "wandb", "onnx", "onnxruntime", "safetensors"}
    assert not top(core) & extras
    assert "lstm_tui.tui.app" in ui and "textual" in top(ui)
    assert not top(ui) & extras

