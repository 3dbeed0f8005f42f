"""`lstm-lab serve`: the same app in a web browser, via textual-serve.

Each browser tab gets its own `python -m lstm_tui` process (the lab, with the same preset
and run store).  It listens on loopback by default: reach a GPU box through an SSH port
forward (`ssh -L 8000:127.0.0.1:8000 gpu-box`), not an open port.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def lab_command(preset: Path | None, runs_root: Path) -> str:
    """The shell command textual-serve runs for each browser session."""
    argv = [sys.executable, "-m", "lstm_tui"]
    if preset is not None:
        argv.append(str(Path(preset).resolve()))
    argv += ["--runs-dir", str(Path(runs_root).resolve())]
    return shlex.join(argv)


def serve(host: str, port: int, preset: Path | None, runs_root: Path) -> None:
    """Serve the lab until Ctrl-C."""
    from textual_serve.server import Server
    Server(lab_command(preset, runs_root), host=host, port=port, title="lstm-lab").serve()
