"""The `lstm-lab` command: the interactive lab by default, and headless sub-commands.

Commands are thin: they parse options, call the core and turn its errors into one line
on stderr with exit code 2 (bad input), never a traceback.
"""

from __future__ import annotations

import functools
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from lstm_tui.config import ConfigError, load_preset
from lstm_tui.runs.store import RunError, list_runs, load_run, resolve_run, runs_root

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=False,
                  help="lstm-lab: a terminal experiment lab for LSTMs, GRUs and RNNs.")
out = Console()
err = Console(stderr=True)

EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED = 2, 1, 130

RunsDir = Annotated[Optional[Path], typer.Option("--runs-dir", help="run store "
                    "(default: $LSTM_LAB_RUNS or ./runs)", show_default=False)]
Sets = Annotated[Optional[list[str]], typer.Option("--set", help="override a key, e.g. "
                 "--set task.seq_len=30 (repeatable)", show_default=False)]


def bad_input(fn):
    """Domain errors become one line on stderr and exit code 2."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ConfigError, RunError) as exc:
            err.print(f"[red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
    return wrapper


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
            err.print("[yellow]stopping after this step (Ctrl-C again to force)...[/]")
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)


@app.command()
@bad_input
def headless(
    source: Annotated[str, typer.Argument(help="preset file or shipped preset name; with "
                                          "--resume, a run folder")],
    sets: Sets = None,
    runs_dir: RunsDir = None,
    device: Annotated[Optional[str], typer.Option(help="auto | cpu | cuda | mps")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run folder SOURCE "
                                         "from its last checkpoint")] = False,
) -> None:
    """Train one preset without the TUI: progress bar, summary table, run folder."""
    from lstm_tui import events as ev
    from lstm_tui.experiment import is_run_dir, resume_run, start_run
    from lstm_tui.headless import HeadlessDisplay
    from lstm_tui.presets import resolve_preset

    stop = StopFlag()
    display = HeadlessDisplay(out)
    if resume:
        run_dir = Path(source) if is_run_dir(Path(source)) else resolve_run(runs_root(runs_dir),
                                                                            source)
        if device is not None:
            _check_device(device)
        stop.install()
        run_dir, last = resume_run(run_dir, [display], stop, device=device)
    else:
        path = resolve_preset(source)
        overrides = list(sets or []) + ([f"train.device={device}"] if device else [])
        cfg = load_preset(path, overrides)
        if cfg.sweep is not None:
            err.print(f"[dim]{path}: has a [sweep] table; training its base config once "
                      "(`lstm-lab sweep` runs the grid)[/]")
        stop.install()
        run_dir, last = start_run(cfg, runs_root(runs_dir), [display], stop)
    out.print(display.final_table(last))
    # on a line of its own, never cut: people copy it into `compare` and `sample`
    out.print(f"run folder: {run_dir}", soft_wrap=True, highlight=False, markup=False)
    if isinstance(last, ev.Failed):
        err.print(f"[red]run failed:[/] {last.error}", highlight=False)
        raise typer.Exit(EXIT_FAILED)
    if last.status == "interrupted":
        raise typer.Exit(EXIT_INTERRUPTED)
    if last.status == "diverged":
        err.print(f"[red]diverged:[/] {last.message}", highlight=False)
        raise typer.Exit(EXIT_FAILED)


def _check_device(device: str) -> None:
    if device not in ("auto", "cpu", "cuda", "mps"):
        raise ConfigError("--device", "train.device",
                          f"must be one of auto, cpu, cuda, mps, got {device!r}")


@app.command()
@bad_input
def check(preset: Annotated[str, typer.Argument(help="preset file or shipped preset name")],
          sets: Sets = None) -> None:
    """Validate a preset (and overrides) without training."""
    from lstm_tui.models.summary import summarize
    from lstm_tui.presets import resolve_preset
    from lstm_tui.report import summary_table
    from lstm_tui.tasks.shapes import describe_task

    path = resolve_preset(preset)
    cfg = load_preset(path, sets or [])
    shape = describe_task(cfg.task)
    summary = summarize(cfg.model, shape.input_size, shape.output_size, shape.seq_len,
                        shape.readout)
    out.print(f"[green]ok[/] {path}: task {cfg.task.kind}, {cfg.model.cell} "
              f"{cfg.model.hidden}x{cfg.model.layers}, {summary.total:,} parameters, "
              f"{shape.train_size:,} training examples")
    if cfg.sweep is not None:
        from lstm_tui.sweeps.spec import parse_sweep
        spec = parse_sweep(cfg, str(path))
        out.print(f"sweep: {len(spec.points())} points")
    out.print(summary_table(summary))


@app.command("presets")
def list_presets() -> None:
    """List the presets shipped with lstm-lab."""
    from rich.table import Table

    from lstm_tui.presets import shipped_presets
    table = Table(title="Shipped presets (use the name or the path)", title_justify="left")
    table.add_column("name")
    table.add_column("kind")
    table.add_column("what it should show", overflow="fold")
    for p in shipped_presets():
        table.add_row(p.name, "sweep" if p.is_sweep else "run", p.description)
    out.print(table)


@app.command()
@bad_input
def runs(runs_dir: RunsDir = None) -> None:
    """List the runs in the run store."""
    from lstm_tui.report import runs_table
    root = runs_root(runs_dir)
    found = list_runs(root)
    if not found:
        out.print(f"no runs in {root}/")
        return
    out.print(runs_table(found))


@app.command()
@bad_input
def compare(
    refs: Annotated[list[str], typer.Argument(help="two or more runs (folder or name)")],
    metric: Annotated[Optional[str], typer.Option(help="metric to plot (default: the task's; "
                                                  "or loss, grad_norm, mean_abs_grad)")] = None,
    split: Annotated[str, typer.Option(help="val | train")] = "val",
    log: Annotated[bool, typer.Option("--log", help="log-scale y axis")] = False,
    runs_dir: RunsDir = None,
) -> None:
    """Config keys that differ, best/final metrics side by side, overlaid curves."""
    from lstm_tui.report import compare_table, curves_text
    if split not in ("val", "train"):
        raise ConfigError("--split", "split", f"must be one of val, train, got {split!r}")
    root = runs_root(runs_dir)
    loaded = [load_run(resolve_run(root, ref)) for ref in refs]
    out.print(compare_table(loaded))
    key = metric or loaded[0].info.metric or "loss"
    series = [(r.info.name, *r.series(split, key)) for r in loaded]
    if not any(xs for _, xs, _ in series):
        known = sorted({k for r in loaded for rec in r.metrics if rec.get("split") == split
                        for k, v in rec.items() if isinstance(v, (int, float))} - {"step"})
        raise ConfigError("--metric", "metric", f"no {split} records of {key!r} in these runs "
                          f"(recorded: {', '.join(known) or 'none yet'})")
    out.print(curves_text(series, f"{split} {key}", width=min(out.width, 120), log_y=log),
              highlight=False, markup=False)


@app.command()
@bad_input
def sample(
    ref: Annotated[str, typer.Argument(help="a char_lm run (folder or name)")],
    temperature: Annotated[float, typer.Option(min=0.0, help="softmax temperature; "
                                               "near 0 = argmax")] = 1.0,
    prime: Annotated[str, typer.Option(help="text fed through the model first")] = "",
    length: Annotated[int, typer.Option(min=1, max=1_000_000)] = 300,
    seed: Annotated[Optional[int], typer.Option(help="seed for reproducible samples")] = None,
    checkpoint: Annotated[str, typer.Option(help="best | last")] = "best",
    runs_dir: RunsDir = None,
) -> None:
    """Generate text from a char_lm run."""
    from lstm_tui.sampler import CHECKPOINTS, Sampler
    if checkpoint not in CHECKPOINTS:
        raise ConfigError("--checkpoint", "checkpoint",
                          f"must be one of best, last, got {checkpoint!r}")
    sampler = Sampler(resolve_run(runs_root(runs_dir), ref), checkpoint)
    out.print(prime, end="", highlight=False, markup=False)
    for ch in sampler.stream(prime, length, temperature, seed):
        out.print(ch, end="", highlight=False, markup=False)
    out.print()


def main() -> None:
    """Entry point: a sub-command, or the interactive lab (optionally with a preset)."""
    args = sys.argv[1:]
    commands = {c.name or (c.callback.__name__ if c.callback else "") for c in
                app.registered_commands}
    if args and (args[0] in commands or args[0] in ("--help", "-h")):
        app(prog_name="lstm-lab")
        return
    from lstm_tui.tui.launch import launch
    sys.exit(launch(args))


if __name__ == "__main__":
    main()
