"""The `lstm-lab` command: the interactive lab by default, and headless sub-commands.

Commands are thin: they parse options, call the core and turn its errors into one line
on stderr with exit code 2 (bad input), never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.text import Text

from lstm_tui.cli.complete import complete_preset, complete_run
from lstm_tui.config import ConfigError, load_preset
from lstm_tui.cli.console import colorful
from lstm_tui.runs.layout import runs_root
from lstm_tui.runs.reader import load_run
from lstm_tui.runs.resolve import resolve_run


def _plain_help_types() -> None:
    """typer 0.29's --help prints Python types (``<list[str]>``, and ``<bool>`` on flags that
    take no value): show click's words instead (TEXT, INTEGER, PATH; nothing on a flag)."""
    from typer import core
    base = getattr(core, "_TyperParameter", None)
    if base is None or getattr(base, "_lstm_lab_plain", False):
        return
    words = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "bool": "BOOLEAN",
             "path": "PATH", "file": "FILE", "directory": "DIRECTORY"}
    original = base.display_type

    def display_type(self, ctx):
        if getattr(self, "is_flag", False):
            return None
        label = original(self, ctx)
        if not (isinstance(label, str) and label.startswith("<") and label.endswith(">")):
            return label
        label = label[1:-1].removesuffix(" range")
        many = label.startswith("list[") and label.endswith("]")
        label = label[5:-1] if many else label
        # a list is a repeatable option (or an argument typer already marks with ...)
        return "|".join(words.get(part, part.upper()) for part in label.split("|"))
    base.display_type = display_type
    base._lstm_lab_plain = True


def _plain_help_prose() -> None:
    """Help prose is plain text whose brackets name TOML tables ([expect], [quick],
    [sweep]); typer 0.29 reads it as rich markup, which swallows them: escape it first."""
    from typer import rich_utils
    make = rich_utils._make_rich_text
    if getattr(make, "_lstm_lab_plain", False):
        return

    def plain(*, text: str, style: str = "", markup_mode):
        if markup_mode == "rich":
            text = escape(text)
        return make(text=text, style=style, markup_mode=markup_mode)
    plain._lstm_lab_plain = True
    rich_utils._make_rich_text = plain


_plain_help_types()
_plain_help_prose()
app = typer.Typer(add_completion=True, pretty_exceptions_enable=False, no_args_is_help=False,
                  help="lstm-lab: a terminal experiment lab for LSTMs, GRUs and RNNs.\n\n"
                  "With no command, `lstm-lab [PRESET]` opens the interactive lab (with the "
                  "preset, a file or a shipped name, loaded). RUN arguments take a run "
                  "folder, its name, or latest / latest~1 / ...",
                  epilog="The manual: docs/index.md (commands: docs/commands.md). An error "
                  "line that ends with (see docs/troubleshooting.md#...) is explained there: "
                  "what it means and the fix.")
from lstm_tui.cli.common import (EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED,  # noqa: F401
                                 EXIT_MISSED,
                                 RunsDir, Sets, StopFlag, bad_input, err, out,
                                 plugin_warnings)
from lstm_tui.troubleshooting import with_help
from lstm_tui.trackers import merged  # noqa: E402  (light: names only)

LogTo = Annotated[Optional[list[str]], typer.Option(
    "--log-to", metavar="TRACKER", help="also log the run live to mlflow or wandb "
    "(repeatable; adds to the preset's train.log_to; needs that extra)", show_default=False)]


@app.command()
@bad_input
def headless(
    source: Annotated[str, typer.Argument(help="preset file or shipped preset name; with "
                                          "--resume, a run", autocompletion=complete_preset)],
    sets: Sets = None,
    runs_dir: RunsDir = None,
    device: Annotated[Optional[str], typer.Option(help="auto | cpu | cuda | cuda:N | mps")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the run folder SOURCE "
                                         "from its last checkpoint")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="exit 3 when the run misses an "
                                         "expectation of the preset's [expect]")] = False,
    log_to: LogTo = None,
) -> None:
    """Train one preset without the TUI: progress bar, summary table, run folder."""
    from lstm_tui import events as ev
    from lstm_tui.experiment import resume_run, start_run
    from lstm_tui.cli.progress import HeadlessDisplay
    from lstm_tui.presets import resolve_preset

    stop = StopFlag()
    display = HeadlessDisplay(out)
    if resume:
        run_dir = resolve_run(runs_root(runs_dir), source)
        if device is not None:
            _check_device(device)
        stop.install()
        run_dir, last = resume_run(run_dir, [display], stop, device=device,
                                   log_to=log_to or ())
    else:
        path = resolve_preset(source)
        overrides = list(sets or []) + ([f"train.device={device}"] if device else [])
        cfg = load_preset(path, overrides)
        cfg.train.log_to = merged(cfg.train.log_to, log_to)
        if cfg.sweep is not None:
            err.print(escape(f"{path}: has a [sweep] table; training its base config once "
                             "(`lstm-lab sweep` runs the grid)"), style="dim")
        stop.install()
        run_dir, last = start_run(cfg, runs_root(runs_dir), [display], stop)
    from lstm_tui.runs.layout import SUMMARY
    from lstm_tui.runs.summary import read_summary
    summary = read_summary(Path(run_dir) / SUMMARY)[0]
    total = summary.get("seconds")
    out.print(display.final_table(last, total_seconds=total if resume else None,
                                  summary=summary))
    # on a line of its own, never cut: people copy it into `compare` and `sample`
    out.print(f"run folder: {run_dir}", soft_wrap=True, highlight=False, markup=False)
    if isinstance(last, ev.Failed):
        err.print(f"[red]run failed:[/] {escape(with_help(last.error))}", highlight=False)
        raise typer.Exit(EXIT_FAILED)
    if last.status == "interrupted":
        raise typer.Exit(EXIT_INTERRUPTED)
    if last.status == "diverged":
        err.print(f"[red]diverged:[/] {escape(with_help(last.message, 'diverged'))}",
                  highlight=False)
        raise typer.Exit(EXIT_FAILED)
    from lstm_tui.expect.verdicts import missed
    if strict and missed(summary):
        keys = ", ".join(v["key"] for v in missed(summary))
        err.print(escape(with_help(f"missed expectations (--strict): {keys}",
                                   "missed-expectation")),
                  highlight=False)
        raise typer.Exit(EXIT_MISSED)


def _check_device(device: str) -> None:
    from lstm_tui.config import TrainConfig, check_value, field_specs
    spec = next(s for s in field_specs(TrainConfig) if s.name == "device")
    check_value(spec, device, "--device", "train.device")


@app.command()
@bad_input
def check(preset: Annotated[str, typer.Argument(help="preset file or shipped preset name",
                                                autocompletion=complete_preset)],
          sets: Sets = None,
          as_json: Annotated[bool, typer.Option("--json", help="print one JSON document "
                                                "(fields: docs/exports.md)")] = False) -> None:
    """Validate a preset (and overrides) without training."""
    from lstm_tui.models.summary import summarize
    from lstm_tui.presets import resolve_preset
    from lstm_tui.render.model_summary import summary_table
    from lstm_tui.tasks.shapes import describe_task

    path = resolve_preset(preset)
    cfg = load_preset(path, sets or [])
    shape = describe_task(cfg.task)
    summary = summarize(cfg.model, shape.input_size, shape.output_size, shape.seq_len,
                        shape.readout)
    spec = None
    if cfg.sweep is not None:      # every check before the first word: no "ok", then an error
        from lstm_tui.sweeps.spec import parse_sweep
        spec = parse_sweep(cfg, str(path))
    if as_json:
        from lstm_tui.cli.output import print_json
        from lstm_tui.render.jsondocs import check_doc
        print_json(check_doc(path, cfg, shape, summary, spec))
        return
    out.print(f"[green]ok[/] {escape(str(path))}: task {cfg.task.kind}, {cfg.model.cell} "
              f"{cfg.model.hidden}x{cfg.model.layers}, {summary.total:,} parameters, "
              f"{shape.train_size:,} training examples")
    if spec is not None:
        out.print(f"sweep: {spec.size} points")
    out.print(summary_table(summary))


@app.command("presets")
def list_presets(as_json: Annotated[bool, typer.Option("--json", help="print one JSON "
                                                       "document (fields: docs/exports.md)")]
                 = False) -> None:
    """List the presets shipped with lstm-lab."""
    from rich.table import Table

    from lstm_tui.presets import shipped_presets
    plugin_warnings(run_cells=True)
    if as_json:
        from lstm_tui.cli.output import print_json
        from lstm_tui.render.jsondocs import presets_doc
        print_json(presets_doc(shipped_presets()))
        return
    table = Table(title="Shipped presets (use the name or the path)", title_justify="left")
    table.add_column("name")
    table.add_column("kind")
    table.add_column("what it should show", overflow="fold")
    for p in shipped_presets():
        table.add_row(p.name, "sweep" if p.is_sweep else "run", p.description)
    out.print(table)


@app.command()
@bad_input
def compare(
    refs: Annotated[list[str], typer.Argument(help="two or more runs (folder, name, latest, "
                                              "latest~N)", autocompletion=complete_run)],
    metric: Annotated[Optional[str], typer.Option(help="metric to plot (default: the task's; "
                                                  "or loss, grad_norm, mean_abs_grad)")] = None,
    split: Annotated[str, typer.Option(help="val | train")] = "val",
    log: Annotated[bool, typer.Option("--log", help="log-scale y axis")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document instead "
                                          "(fields: docs/exports.md)")] = False,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="also write the curves to a figure: .png, .svg, .pdf "
        "(the plots extra) or .html (interactive, self-contained)", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="replace an existing --output "
                                        "file")] = False,
    runs_dir: RunsDir = None,
) -> None:
    """Config keys that differ, best/final metrics side by side, overlaid curves."""
    from lstm_tui.cli.output import compare_figure, figure_target, print_json
    from lstm_tui.render.report import compare_series, compare_table, curves_text
    if split not in ("val", "train"):
        raise ConfigError("--split", "", f"must be one of val, train, got {split!r}")
    target = figure_target(output, force)
    root = runs_root(runs_dir)
    loaded = [load_run(resolve_run(root, ref)) for ref in refs]
    key = metric or loaded[0].info.metric or "loss"
    series = compare_series(loaded, split, key)
    if target:
        compare_figure(target, loaded, series, split, key, log)
    if as_json:
        from lstm_tui.render.jsondocs import compare_doc
        print_json(compare_doc(loaded, split, key, series))
        return
    out.print(compare_table(loaded))
    out.print(curves_text(series, f"{split} {key}", width=min(out.width, 120) - 1, log_y=log,
                          color=colorful(out)), highlight=False)
    for run in loaded:             # as `runs` says it: what is damaged, on stderr
        if run.info.error:
            err.print(f"corrupt: {run.info.error}", highlight=False, markup=False,
                      soft_wrap=True)


@app.command()
@bad_input
def sample(
    ref: Annotated[str, typer.Argument(help="a char_lm run (folder, name, latest, latest~N)",
                                       autocompletion=complete_run)],
    temperature: Annotated[float, typer.Option(min=0.0, help="softmax temperature; "
                                               "near 0 = argmax")] = 1.0,
    prime: Annotated[str, typer.Option(help="text fed through the model first")] = "",
    length: Annotated[int, typer.Option(min=1, max=1_000_000)] = 300,
    seed: Annotated[Optional[int], typer.Option(min=0, max=2 ** 64 - 1,
                                                help="seed for reproducible samples")] = None,
    checkpoint: Annotated[str, typer.Option(help="best | last")] = "best",
    top_k: Annotated[Optional[int], typer.Option(min=1, help="draw only from the K most "
                                                 "likely characters", show_default=False)]
    = None,
    show_probs: Annotated[bool, typer.Option("--show-probs", help="colour each character "
                                             "by the probability the model gave it")]
    = False,
    runs_dir: RunsDir = None,
) -> None:
    """Generate text from a char_lm run."""
    from lstm_tui.runs.sampler import Sampler
    sampler = Sampler(resolve_run(runs_root(runs_dir), ref), checkpoint)
    seen = sampler.decode(sampler.encode(prime))   # what the model is fed, echoed as such
    if seen != prime:
        dropped = len(prime) - len(seen)
        err.print(escape(f"note: the prime as the model saw it ({sampler.normalize} "
                         f"normalization): {seen!r}" + (f"; {dropped} character(s) outside "
                         "its vocabulary dropped" if dropped else "")),
                  highlight=False, soft_wrap=True)
    if show_probs:
        from lstm_tui.cli.inspect import print_scored
        print_scored(seen, sampler.scored(prime, length, temperature, seed, top_k))
        return
    out.print(seen, end="", highlight=False, markup=False)
    for ch in sampler.stream(prime, length, temperature, seed, top_k):
        out.print(ch, end="", highlight=False, markup=False)
    out.print()


@app.command()
@bad_input
def sweep(
    preset: Annotated[str, typer.Argument(help="a preset with a sweep table (file or "
                                          "shipped name)", autocompletion=complete_preset)],
    backend: Annotated[str, typer.Option(help="sequential | processes | ensemble | ray")]
    = "sequential",
    workers: Annotated[int, typer.Option(min=1, help="processes for the processes backend "
                                         "(and for ensemble groups); points at once on "
                                         "a local Ray instance")] = 1,
    address: Annotated[Optional[str], typer.Option(
        help="ray: join the cluster at HEAD:PORT (or auto, the one this node is in); "
             "default: a local instance for this sweep", show_default=False)] = None,
    cpus: Annotated[Optional[float], typer.Option(
        help="ray: CPUs per point (default: the sweep table's cpus, else 1)",
        show_default=False)] = None,
    gpus: Annotated[Optional[float], typer.Option(
        help="ray: GPUs per point; a fraction shares one, e.g. 0.25 (default: the "
             "sweep table's gpus, else 0)", show_default=False)] = None,
    retries: Annotated[Optional[int], typer.Option(
        help="ray: tries again after a lost worker or node (default: the sweep "
             "table's retries, else 2)", show_default=False)] = None,
    ensemble: Annotated[bool, typer.Option(
        "--ensemble", help="ray: one task per ensemble group (points of equal shapes "
        "trained together) instead of one per point")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="allow more than 10,000 points")] = False,
    devices: Annotated[Optional[str], typer.Option(
        help="processes/ensemble: the GPUs the workers use, in turn (e.g. 0,1; default: "
        "every GPU)")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="exit 3 when the sweep misses an "
                                         "expectation of the preset's [expect]")] = False,
    log_to: LogTo = None,
    sets: Sets = None,
    runs_dir: RunsDir = None,
) -> None:
    """Train every point of a sweep; Ctrl-C, then the same command again, resumes.

    Each point is a normal run in <runs-dir>/sweep-<name>-<hash>/, with sweep.toml
    and results.csv (a row per point: swept values, seed, status, best and final
    metric, steps, seconds, mean_abs_grad, ...). The points are printed sorted by
    the metric at the end, then the [expect] verdicts (--strict: exit 3 on a miss);
    `lstm-lab sweep-report` draws heatmaps and curves.
    --backend ray runs each point as a Ray task: on a local instance started for
    the sweep, or on a cluster with --address (needs the ray extra of lstm-lab).
    """
    from lstm_tui.presets import resolve_preset
    from lstm_tui.cli.sweep_display import SweepDisplay
    from lstm_tui.sweeps.backends import backend_options
    from lstm_tui.sweeps.drive import run_sweep
    from lstm_tui.sweeps.spec import parse_sweep
    from lstm_tui.render.sweep_tables import results_table

    path = resolve_preset(preset)
    cfg = load_preset(path, sets or [])
    cfg.train.log_to = merged(cfg.train.log_to, log_to)
    if cfg.sweep is None:
        raise ConfigError(str(path), "sweep", "missing: this preset has no sweep table "
                          "(train it with `lstm-lab headless`)")
    spec = parse_sweep(cfg, str(path), yes=yes)
    # each backend declares the options it takes (sweeps.backends.base): one it does not
    # take is bad input naming the backends that do
    options = backend_options(backend, spec, address=address, cpus=cpus, gpus=gpus,
                              retries=retries, ensemble=ensemble or None, devices=devices)
    display = SweepDisplay(out)
    stop = StopFlag()
    stop.install()
    try:
        result = run_sweep(path, cfg, spec, runs_root(runs_dir), backend=backend,
                           workers=workers, listener=display, should_stop=stop,
                           options=options)
    except KeyboardInterrupt:
        display.progress.stop()
        err.print("[yellow]forced stop[/]: finished points are kept; run the same command "
                  "again to resume")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    out.print(results_table(result.rows, result.axes, result.metric, result.goal))
    _print_verdicts(result.verdicts)     # judged by the driver, saved beside results.csv
    out.print(display.folder_hint(result.sweep_dir, spec.search), highlight=False)
    if result.failed:
        err.print(f"[red]{len(result.failed)} point(s) failed[/] (see the message column of "
                  "results.csv)", highlight=False)
    if not result.complete and result.skipped and not stop():
        shown = ", ".join(escape(s) for s in result.skipped[:3])
        more = f" and {len(result.skipped) - 3} more" if len(result.skipped) > 3 else ""
        err.print(f"[yellow]{len(result.skipped)} point(s) skipped[/]: {shown}{more} "
                  f"{'is' if len(result.skipped) == 1 else 'are'} being written by another "
                  f"process (left as is); {result.done} of {result.total} points done; run "
                  "the same command again when it has ended", highlight=False)
        raise typer.Exit(EXIT_FAILED)
    if not result.complete:
        err.print(f"[yellow]interrupted[/]: {result.done} of {result.total} points done; run "
                  "the same command again to resume", highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED)
    missed = [v["key"] for v in result.verdicts if not v["met"]]
    if strict and missed:
        err.print(escape(with_help(f"missed expectations (--strict): {', '.join(missed)}",
                                   "missed-expectation")),
                  highlight=False)
        raise typer.Exit(EXIT_MISSED)


def _print_verdicts(verdicts: list[dict]) -> None:
    """A sweep's [expect] verdicts, one line each, like a run's in its result table."""
    from lstm_tui.expect.verdicts import verdict_rows
    for label, text in verdict_rows({"expectations": verdicts}):
        style = "green" if text.endswith(" met") else "bold red"
        out.print(Text.assemble(f"{label}: ", (text, style)), soft_wrap=True)


@app.command("sweep-report")
@bad_input
def sweep_report(
    sweep_ref: Annotated[str, typer.Argument(metavar="SWEEP", help="a sweep folder, or the "
                                             "sweep's preset (found under --runs-dir)")],
    x: Annotated[Optional[str], typer.Option("--x", help="axis across (with --y: heatmap; "
                                             "alone: line chart)")] = None,
    y: Annotated[Optional[str], typer.Option("--y", help="axis down the heatmap")] = None,
    by: Annotated[Optional[str], typer.Option("--by", help="one line per value of this "
                                              "axis (line chart)")] = None,
    epochs: Annotated[Optional[str], typer.Option("--epochs", help="metric by epoch, one "
                                                  "line per value of this axis")] = None,
    where: Annotated[Optional[list[str]], typer.Option("--where", metavar="AXIS=VALUE",
                     help="keep rows with "
                     "AXIS=VALUE (repeatable)", show_default=False)] = None,
    final: Annotated[bool, typer.Option("--final", help="use the final metric instead of "
                                        "the best")] = False,
    log_x: Annotated[bool, typer.Option("--log-x", help="log-scale x axis (charts)")] = False,
    limit: Annotated[int, typer.Option(min=1, help="rows of the result (or trials) "
                                       "table")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document instead "
                                          "(fields: docs/exports.md)")] = False,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="also write the view to a figure: .png, .svg, .pdf "
        "(the plots extra) or .html (interactive, with a 3-D surface of two axes)",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="replace an existing --output "
                                        "file")] = False,
    sets: Sets = None,
    runs_dir: RunsDir = None,
) -> None:
    """Views of a sweep's results; name axes by key (task.seq_len) or last part.

    no option: the result table and a heatmap of two axes (one axis: a line).
    --x A --y B: heatmap of the metric over A × B, mean ±std over seeds; each
      cell is the best over the axes not shown, unless pinned with --where.
      A heatmap wider than the terminal is transposed, or split into parts.
    --x A [--by B]: the metric along A with a min-max band over seeds, a line
      per value of B (RNN vs LSTM over sequence length: --x seq_len --by cell).
    --epochs A: validation metric by epoch for each value of A (mean of runs).
    A tpe or random search, no option: its trials in order with the best so far
      (several objectives: the Pareto front too); a key drawn from a range cannot
      be --y, --by or --epochs.
    """
    from lstm_tui.cli.output import figure_target, print_json, sweep_figure
    from lstm_tui.render import sweep_tables
    from lstm_tui.sweeps import surface as sf
    from lstm_tui.sweeps.views import sweep_view

    target = figure_target(output, force)
    data = _load_sweep(sweep_ref, sets or [], runs_dir)
    pinned = sf.parse_where(where or [], data.axes)
    rows = sf.filter_rows(data.rows, pinned)
    column = f"{'final' if final else 'best'}_{data.metric}"
    width = min(out.width, 120)
    if not rows:
        if target:
            raise ConfigError(str(data.path), "", f"no results yet to draw ({data.total} "
                              "points; run `lstm-lab sweep`)")
        if as_json:
            from lstm_tui.render.jsondocs import sweep_doc
            from lstm_tui.sweeps.trials import drawn
            from lstm_tui.sweeps.views import SweepView, trials_view
            empty = trials_view(data, rows, column) if drawn(data.search) else \
                SweepView("table")
            print_json(sweep_doc(data, rows, column, pinned, empty))
            return
        out.print(f"no results yet in {data.path} ({data.total} points; run `lstm-lab sweep`)")
        return
    view = sweep_view(data, rows, pinned, column, x=x, y=y, by=by, epochs=epochs, log_x=log_x)
    if target:
        sweep_figure(target, view, data, rows, pinned, column)
    if as_json:
        from lstm_tui.render.jsondocs import sweep_doc
        print_json(sweep_doc(data, rows, column, pinned, view))
        return
    from lstm_tui.expect import sweep as expect
    verdicts = expect.load(data.path)   # as the sweep judged them (all rows, no --where)
    if view.show_table:
        out.print(sweep_tables.results_table(rows, data.axes, data.metric, data.goal, limit, column))
    if view.surface is not None:
        # fitted to the terminal; in a file or a pipe, to 120 columns any editor shows
        for table in sweep_tables.heatmap_tables(view.surface, out.width if out.is_terminal else width):
            out.print(table)
    elif view.lines is not None:
        color = colorful(out)   # without colour, dotted bands would bury the lines
        title = view.title.replace("band:", "dotted:") if color else \
            view.title.replace("; band: min-max", "")
        out.print(Text.from_ansi(sweep_tables.lines_text(view.lines, title, view.xlabel, width - 1,
                                                         log_x=view.log_x, band=color, color=color)))
    elif view.trials is not None:      # drawn points (tpe, random): lstm_tui.sweeps.trials
        from lstm_tui.render.trials import renderables
        for part in renderables(view.trials, width, limit, colorful(out)):
            out.print(part)
    _print_verdicts(verdicts)


def _load_sweep(ref: str, sets: list[str], runs_dir: Optional[Path]):
    """A sweep folder from its path, or from its preset (the folder `sweep` would use)."""
    from lstm_tui.presets import resolve_preset
    from lstm_tui.runs.layout import SWEEP_FILE
    from lstm_tui.sweeps.runner import sweep_dir_for
    from lstm_tui.sweeps.spec import parse_sweep
    from lstm_tui.sweeps.surface import load_sweep
    if (Path(ref) / SWEEP_FILE).is_file():
        return load_sweep(Path(ref))
    path = resolve_preset(ref)
    cfg = load_preset(path, sets)
    folder = sweep_dir_for(runs_root(runs_dir), parse_sweep(cfg, str(path), yes=True,
                                                            reading=True))
    if not (folder / SWEEP_FILE).is_file():
        raise ConfigError(ref, "", f"no results of this sweep under {runs_root(runs_dir)}/ "
                          f"(expected {folder.name}; run `lstm-lab sweep {ref}` first)")
    return load_sweep(folder)


@app.command()
@bad_input
def serve(
    preset: Annotated[Optional[str], typer.Argument(help="preset file or shipped preset "
                                                    "name to open the lab with",
                                                    autocompletion=complete_preset)] = None,
    host: Annotated[str, typer.Option(help="address to listen on; keep loopback and use an "
                                      "SSH port forward to reach a remote box")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8000,
    allow_remote: Annotated[bool, typer.Option(
        "--allow-remote", help="listen on a non-loopback --host: anyone who reaches it can "
        "train and write files as you, so a token printed at start is then required")] = False,
    runs_dir: RunsDir = None,
) -> None:
    """Serve the interactive lab in a web browser (textual-serve)."""
    from lstm_tui.presets import resolve_preset
    from lstm_tui.tui.serve import bind_problem, is_loopback, new_token
    from lstm_tui.tui.serve import serve as serve_lab
    token = None
    if (problem := bind_problem(host)) is not None:
        raise ConfigError("--host", "host", problem)
    if not is_loopback(host):
        if not allow_remote:
            raise ConfigError("--host", "host", f"{host} is not a loopback address: the "
                              "served lab can train and write files as you, so it listens "
                              "beyond this machine only with --allow-remote (then behind a "
                              "token); or keep 127.0.0.1 and use an SSH port forward")
        token = new_token()
    path = None
    if preset is not None:
        path = resolve_preset(preset)
        load_preset(path)     # a bad preset fails here, not in every browser tab
    if token:
        err.print(f"[yellow]listening on {escape(host)}:{port} beyond loopback[/]; access "
                  f"token: [bold]{token}[/] (the page asks for it; or open "
                  f"http://HOST:{port}/?token={token})", highlight=False, soft_wrap=True)
    serve_lab(host, port, path, runs_root(runs_dir), token=token)


# Each command group's module registers its commands on the app (they use the helpers above).
from lstm_tui.cli import inspect as _inspect_cmds, store as _store_cmds, verify as _verify_cmds  # noqa: E402
from lstm_tui.cli import predict as _predict_cmds  # noqa: E402
for _group in (_store_cmds, _verify_cmds, _inspect_cmds, _predict_cmds):
    _group.register(app)


def command_names() -> set[str]:
    return {c.name or (c.callback.__name__ if c.callback else "") for c in
            app.registered_commands}


from lstm_tui.cli.output import register as _register_output  # noqa: E402  (needs app)
_register_output(app)
