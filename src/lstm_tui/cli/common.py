"""What every `lstm-lab` command module shares: the consoles, the exit codes, the common
options and the one way a domain error becomes a line on stderr (`bad_input`).

Its own module so that cli/main.py and the command modules it registers (store, output,
inspect) import it, and not each other.
"""

from __future__ import annotations

import functools
import signal
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from lstm_tui.config import ConfigError
from lstm_tui.cli.console import console
from lstm_tui.errors import first_line
from lstm_tui.runs.layout import RunError
from lstm_tui.troubleshooting import with_help

out = console()              # never wrapped at 80 columns in a file or a pipe
err = console(stderr=True)

EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED = 2, 1, 130
EXIT_MISSED = 3        # --strict: the run ended but missed an expectation of its preset

RunsDir = Annotated[Optional[Path], typer.Option("--runs-dir", help="run store "
                    "(default: $LSTM_LAB_RUNS or ./runs)", show_default=False)]
Sets = Annotated[Optional[list[str]], typer.Option("--set", metavar="KEY=VALUE",
                 help="override a key, e.g. --set task.seq_len=30 (repeatable)",
                 show_default=False)]


def bad_input(fn):
    """Domain errors become one line on stderr and exit code 2; a file-system error the
    core did not expect (a disk that filled, a folder made read-only) exit code 1.  A line
    the manual explains ends with a pointer to its entry (docs/troubleshooting.md#...)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from lstm_tui.cli.store_bar import StoreBar
        from lstm_tui.runs.index import reporting
        plugin_warnings()
        bar = StoreBar(err)       # a listing that rebuilds the store's index shows it
        try:
            with reporting(bar):
                return fn(*args, **kwargs)
        except (ConfigError, RunError) as exc:
            err.print(f"[red]error:[/] {escape(with_help(first_line(exc)))}",
                      highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except OSError as exc:
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            line = with_help(where + (exc.strerror or first_line(exc)))
            err.print(f"[red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_FAILED) from None
        finally:
            bar.close()
    return wrapper


def plugin_warnings(run_cells: bool = False) -> None:
    """A broken task or cell plugin is one line on stderr; the command goes on without it.
    `run_cells`: also run each plugin cell once (torch) and say which ones do not work."""
    from lstm_tui.models.cells import registry as cells
    from lstm_tui.tasks import registry as tasks
    global _warned
    if not _warned:
        _warned = True
        lines = tasks.problems() + cells.problems()
        if run_cells:
            from lstm_tui.config import ModelConfig
            lines += cells.broken_plugins(lambda name: ModelConfig(cell=name))
        for line in lines:
            err.print(f"[yellow]warning:[/] {escape(with_help(line))}", highlight=False,
                      soft_wrap=True)


_warned = False


class StopFlag:
    """Ctrl-C (or SIGTERM) asks the engine to stop between steps; a second Ctrl-C forces."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    def install(self) -> None:
        def handler(signum, frame):
            if self.requested and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.requested = True
            # through the live console in a terminal: a line above the bar, not into it
            (out if out.is_terminal else err).print(
                "[yellow]stopping after this step (Ctrl-C again to force)...[/]")
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
