"""Checkpoints: model, optimizer, config, vocabulary, step, seed; saved atomically and
loaded with ``weights_only=True`` (plain tensors and Python values only)."""

from __future__ import annotations

import os
from pathlib import Path

import torch


def save_checkpoint(path: Path, payload: dict) -> Path:
    """torch.save to a temporary file, then rename: a crash never leaves half a checkpoint."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        torch.save(payload, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """The payload of a checkpoint; raises ValueError naming the file when it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: missing checkpoint")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path}: corrupt checkpoint ({first[:200]})") from None
    if not isinstance(payload, dict) or "model" not in payload or "config" not in payload:
        raise ValueError(f"{path}: not an lstm-lab checkpoint (no model or config)")
    return payload
