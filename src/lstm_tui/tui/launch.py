"""`lstm-lab [PRESET] [--runs-dir DIR]`: open the interactive lab.

Plain argparse (typer owns the sub-commands); torch is not imported here, so the first
frame comes quickly.  A bad preset is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lstm_tui.config import ConfigError, load_preset
from lstm_tui.runs.layout import runs_root
from lstm_tui.tui import collector

EXIT_BAD_INPUT = 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lstm-lab",
        description="A terminal lab for RNNs: configure, train and watch runs live.",
        epilog="Sub-commands (headless, check, runs, sweep, verify, ...): `lstm-lab --help`. "
               "The manual: docs/index.md; errors explained: docs/troubleshooting.md.")
    p.add_argument("preset", nargs="?", help="preset file or shipped preset name to open with")
    p.add_argument("--runs-dir", type=Path, default=None,
                   help="run store (default: $LSTM_LAB_RUNS or ./runs)")
    return p


def launch(argv: list[str]) -> int:
    """Run the app until it quits; returns the process exit code."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:       # --help, or bad arguments (argparse printed why)
        return int(exc.code or 0)
    collector.pause()      # until the first frame is painted (the app resumes it)
    try:
        return _launch(args)
    finally:
        collector.resume()


def _launch(args: argparse.Namespace) -> int:
    preset = None
    if args.preset:    # imported only here: the lab without a preset starts sooner
        from lstm_tui.presets import resolve_preset
        from lstm_tui.troubleshooting import with_help
        try:
            preset = resolve_preset(args.preset)
            load_preset(preset)
        except ConfigError as exc:
            print(f"error: {with_help(str(exc))}", file=sys.stderr)
            return EXIT_BAD_INPUT
    from lstm_tui.tui.app import make_app
    app = make_app(runs_root(args.runs_dir), preset=preset)
    try:
        app.run()
    finally:
        app.stop_all_blocking()     # whatever ended the app, no run is left orphaned
    return app.return_code or 0
