"""Checkpoints: model, optimizer, config, vocabulary, step, seed; saved atomically and
loaded with ``weights_only=True`` (plain tensors and Python values only)."""

from __future__ import annotations

import io
from pathlib import Path

import torch

from lstm_tui.errors import first_line
from lstm_tui.fsio import atomic_write, open_regular, os_error_beneath


def save_checkpoint(path: Path, payload: dict) -> Path:
    """torch.save, atomically (lstm_tui.fsio): a crash never leaves half a checkpoint."""
    path = Path(path)
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return path


def checkpoint_bytes(payload: dict, path: Path) -> bytes:
    """What save_checkpoint writes to `path`, as bytes: a copy of the payload as it is now."""
    buffer = io.BytesIO()
    try:
        torch.save(payload, buffer)
    except Exception as exc:
        hidden = os_error_beneath(exc, path)
        if hidden is not None:
            raise hidden from None
        raise
    return buffer.getvalue()


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """The payload of a checkpoint; raises ValueError naming the file when it is unusable."""
    path = Path(path)
    if not path.is_file():
        what = "not a regular file" if path.exists() else "missing checkpoint"
        raise ValueError(f"{path}: {what}")
    try:
        with open_regular(path) as fh:      # a named pipe swapped in since: never waits
            payload = torch.load(fh, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        text = str(exc)
        if "Unsupported global" in text:   # a pickled class or function: torch refused it
            name = text.split("GLOBAL ", 1)[-1].split(" ", 1)[0] if "GLOBAL " in text else ""
            raise ValueError(f"{path}: refused: it holds Python objects besides tensors"
                             f"{f' ({name})' if name else ''}, and loading those could run "
                             "code; lstm-lab loads only plain checkpoints") from None
        if "WeightsUnpickler error:" in text:   # torch's advice hides the real fault
            text = text.split("WeightsUnpickler error:", 1)[1]
        raise ValueError(f"{path}: corrupt checkpoint ({first_line(text, 200)})") from None
    if not isinstance(payload, dict) or "model" not in payload or "config" not in payload:
        raise ValueError(f"{path}: not an lstm-lab checkpoint (no model or config)")
    return payload
