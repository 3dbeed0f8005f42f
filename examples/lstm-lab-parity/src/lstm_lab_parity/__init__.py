"""The parity task as an lstm-lab plugin: config, shape, checks (no torch here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lstm_tui.config import ConfigError, opt
from lstm_tui.tasks.registry import TaskSpec
from lstm_tui.tasks.shapes import TaskShape


@dataclass
class ParityTask:
    """Random bit strings; predict whether the number of ones is odd (accuracy)."""
    kind: Literal["parity"] = opt("parity", "task kind (see TASKS)")
    bits: int = opt(8, "bits per string (the sequence length)", min=1, max=10_000)
    train_size: int = opt(4000, "training strings", min=1, max=10_000_000)
    val_size: int = opt(500, "validation strings", min=1, max=10_000_000)


def shape(cfg: ParityTask) -> TaskShape:
    return TaskShape(1, 2, cfg.bits, "last", cfg.train_size, cfg.val_size)


def check(cfg, source: str) -> None:
    if cfg.model.bidirectional and cfg.task.bits > 64:
        raise ConfigError(source, "model.bidirectional", "keep it false above 64 bits")


SPECS = [TaskSpec("parity", ParityTask, "lstm_lab_parity.data:Parity", shape, "accuracy",
                  "max", member_fields=frozenset({"val_size"}), check=check,
                  summary="parity of a random bit string (example plugin)",
                  presets=(str(Path(__file__).parent / "presets" / "parity_lstm.toml"),))]
