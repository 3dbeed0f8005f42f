"""Checkpoints: model, optimizer, config, vocabulary, step, seed; saved atomically and
loaded with ``weights_only=True`` (plain tensors and Python values only)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from lstm_tui.errors import first_line


def save_checkpoint(path: Path, payload: dict) -> Path:
    """torch.save to a temporary file, then rename: a crash never leaves half a checkpoint."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:   # a full disk: no half-written temporary left behind
        tmp.unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """The payload of a checkpoint; raises ValueError naming the file when it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: missing checkpoint")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        if "weights only load failed" in str(exc).lower() or "weights_only" in str(exc):
            raise ValueError(f"{path}: refused: it holds Python objects besides tensors, and "
                             "loading those could run code; lstm-lab loads only plain "
                             "checkpoints (weights_only)") from None
        raise ValueError(f"{path}: corrupt checkpoint ({first_line(exc, 200)})") from None
    if not isinstance(payload, dict) or "model" not in payload or "config" not in payload:
        raise ValueError(f"{path}: not an lstm-lab checkpoint (no model or config)")
    return payload
