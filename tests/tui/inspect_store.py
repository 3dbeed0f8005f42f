"""Run folders with a checkpoint made without training: weights drawn from a fixed seed,
so pictures of them are the same on every machine (the Inspect screen's tests)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from lstm_tui.config import config_to_dict, load_preset, to_toml
from lstm_tui.models.network import build_model
from lstm_tui.runs.checkpoint import save_checkpoint
from lstm_tui.tasks import build_task
from tests.conftest import PRESETS

TEXT = ('She said "hello" to the cat.\nThe cat said nothing at all, as cats do.\n'
        'Then "goodbye", and the day went on.\n') * 20


def make_run(root: Path, name: str, preset: str, sets: list[str], seed: int = 0,
             created: float = 1_700_000_000.0) -> Path:
    cfg = load_preset(PRESETS / f"{preset}.toml", sets + [f"name={name}"])
    task = build_task(cfg.task, cfg.train.seed)
    torch.manual_seed(seed)
    model = build_model(cfg.model, task.input_size, task.output_size, task.readout)
    run = Path(root) / f"20240101-000000-{name}"
    run.mkdir(parents=True)
    (run / "config.toml").write_text(to_toml(cfg), encoding="utf-8")
    (run / "summary.json").write_text(json.dumps({
        "status": "completed", "name": run.name, "created": created, "updated": created,
        "steps": 100, "metric": task.metric, "goal": task.goal}), encoding="utf-8")
    save_checkpoint(run / "best.pt", {"model": model.state_dict(), "config":
                                      config_to_dict(cfg), "vocab": task.vocab, "step": 100})
    return run


def inspect_store(root: Path, text_file: Path) -> dict[str, Path]:
    text_file.write_text(TEXT, encoding="utf-8")
    return {
        "nth": make_run(root, "nth", "nth_element_lstm", ["model.hidden=12"]),
        "lm": make_run(root, "lm", "char_lm_udacity", [
            f"task.text={text_file}", "task.normalize=none", "task.seq_len=40",
            "model.hidden=10"], created=1_700_000_100.0),
        "gru": make_run(root, "gru", "adding_problem", [
            "model.cell=gru", "model.layers=2", "model.bidirectional=true", "model.hidden=6",
            "task.seq_len=12"], created=1_700_000_200.0),
    }
