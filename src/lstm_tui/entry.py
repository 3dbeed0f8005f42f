"""`lstm-lab`: a sub-command, or else the interactive lab (optionally with a preset).

The choice is made before typer and rich are imported, so the lab's first frame does
not pay for the command-line machinery (tests check this list against the real one).
"""

from __future__ import annotations

import os
import sys

SUBCOMMANDS = frozenset({"headless", "check", "presets", "runs", "compare", "sample", "sweep",
                         "sweep-report", "serve", "tag", "note", "rm", "restore",
                         "inspect", "export", "verify", "predict"})
CLI_OPTIONS = ("--help", "-h", "--version", "--install-completion", "--show-completion")
COMPLETE_VAR = "_LSTM_LAB_COMPLETE"      # set by the shell's completion script


def main() -> None:
    args = sys.argv[1:]
    if COMPLETE_VAR in os.environ or (args and (args[0] in SUBCOMMANDS
                                                 or args[0] in CLI_OPTIONS)):
        from lstm_tui.cli.main import app
        app(prog_name="lstm-lab")
        return
    from lstm_tui.tui.launch import launch
    sys.exit(launch(args))
