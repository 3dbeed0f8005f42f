"""Results out of the lab, from the command line: `lstm-lab export` (a model export is
handed to cli/export_model.py), the `--output`
figures of `compare` and `sweep-report`, and the `--json` printer.

Every output is checked before any work is done (extension, an existing file without
--force, a missing extra) and written atomically, so bad input is one line, exit 2, and
nothing already on disk is lost.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from lstm_tui.cli.common import RunsDir, bad_input, err, out
from lstm_tui.config import ConfigError
from lstm_tui.render.export import check_new_file, write_output

FIGURE_FORMATS = ("png", "svg", "pdf", "html")


def print_json(doc: dict) -> None:
    from lstm_tui.render.jsondocs import dumps
    sys.stdout.write(dumps(doc) + "\n")
    sys.stdout.flush()


def figure_target(path: Optional[Path], force: bool) -> Optional[tuple[Path, str]]:
    """(path, format) of an --output figure, checked before any work: extension, folder,
    an existing file, and that the library it needs is installed."""
    if path is None:
        return None
    kind = path.suffix.lower().lstrip(".")
    if kind not in FIGURE_FORMATS:
        raise ConfigError(f"--output {path}", "", f"unknown extension {path.suffix or '(none)'!r}"
                          f"; use one of {', '.join('.' + k for k in FIGURE_FORMATS)}")
    check_new_file(path, force, "--output")
    if kind == "html":
        from lstm_tui.render.figures_html import plotly_js
        plotly_js()
    else:
        from lstm_tui.render.figures import import_matplotlib
        import_matplotlib()
    return path, kind


def _written(path: Path) -> None:
    err.print(f"figure: {path}", highlight=False, markup=False, soft_wrap=True)


def compare_figure(target: tuple[Path, str], runs, series, split: str, key: str,
                   log_y: bool) -> None:
    path, kind = target
    title = f"{split} {key}"
    if kind == "html":
        from lstm_tui.render import figures_html as fh
        from lstm_tui.render.report import RESULT_ROWS
        from lstm_tui.runs.listing import differing_keys
        diff = differing_keys(r.config for r in runs)
        rows = [[k, *(str(v) for v in vals)] for k, vals in diff.items()]
        rows += [[label, *(value(r) for r in runs)] for label, value in RESULT_ROWS]
        page = fh.Page(f"lstm-lab compare: {title}",
                       [fh.curves_chart(series, title, key, log_y)],
                       [("Config keys that differ, and results", ["", *(r.info.name for r in
                                                                         runs)], rows)])
        write_output(path, lambda tmp: fh.write(tmp, page))
    else:
        from lstm_tui.render import figures
        write_output(path, lambda tmp: figures.curves(tmp, kind, series, title=title,
                                                      ylabel=key, log_y=log_y))
    _written(path)


def sweep_figure(target: tuple[Path, str], view, data, rows, pinned: dict[str, Any],
                 column: str) -> None:
    from lstm_tui.sweeps.views import surface_3d
    path, kind = target
    if view.trials is not None:
        trials_figure(target, view.trials, data, rows)
        return
    if view.kind == "table":
        raise ConfigError(f"--output {path}", "", "nothing to draw: every axis is pinned "
                          "by --where")
    if kind == "html":
        from lstm_tui.render import figures_html as fh
        from lstm_tui.numbers import fmt
        from lstm_tui.sweeps.surface import ranked
        charts = [fh.heatmap_chart(view.surface) if view.surface is not None else
                  fh.lines_chart(view.lines, view.title, view.xlabel, view.ylabel, view.log_x)]
        s3 = surface_3d(view, data, rows, pinned, column)
        if s3 is not None:
            charts.append(fh.surface_chart(s3))
        header = ["#", *(a.rsplit(".", 1)[-1] for a in data.axes), column.replace("_", " "),
                  "±std", "seeds", "status"]
        table = [[str(i), *(fmt(g.values[a]) for a in data.axes),
                  fmt(g.stat.mean) if g.stat else "-",
                  fmt(g.stat.std, 2) if g.stat and g.stat.n > 1 else "-", str(len(g.runs)),
                  ", ".join(sorted(set(g.statuses)))]
                 for i, g in enumerate(ranked(rows, data.axes, column, data.goal), 1)]
        notes = [f"{data.path}: {len(rows)} of {data.total} runs"
                 + (f"; where {', '.join(f'{k}={v}' for k, v in pinned.items())}"
                    if pinned else "")]
        page = fh.Page(f"lstm-lab sweep-report: {data.name}", charts,
                       [(f"Points by {column.replace('_', ' ')} "
                         f"({'higher' if data.goal == 'max' else 'lower'} is better)",
                         header, table)], notes)
        write_output(path, lambda tmp: fh.write(tmp, page))
    else:
        from lstm_tui.render import figures
        if view.surface is not None:
            write_output(path, lambda tmp: figures.heatmap(tmp, kind, view.surface))
        else:
            write_output(path, lambda tmp: figures.lines(
                tmp, kind, view.lines, title=view.title, xlabel=view.xlabel,
                ylabel=view.ylabel, log_x=view.log_x))
    _written(path)


def trials_figure(target: tuple[Path, str], t, data, rows) -> None:
    """The trials of a tpe or random search (and their Pareto front) as a figure."""
    path, kind = target
    if kind == "html":
        from lstm_tui.render import figures_html as fh
        from lstm_tui.numbers import fmt
        from lstm_tui.sweeps.trials import NEW_BEST, ON_FRONT, objectives_text
        charts = [fh.trials_chart(t)] + ([fh.pareto_chart(t)] if t.several else [])
        extra = [m for m, _ in t.objectives[1:]]
        header = ["trial", *(a.rsplit(".", 1)[-1] for a in t.axes), "status", t.label,
                  *extra, "best so far", ""]
        table = [[str(x.number), *(fmt(x.values.get(a)) for a in t.axes), x.status,
                  fmt(x.value), *(fmt(s) for s in x.scores[1:]), fmt(x.best),
                  (NEW_BEST if x.improved else "") + (ON_FRONT if t.on_front(x) else "")]
                 for x in t.trials]
        tables = [(f"Trials in order ({NEW_BEST} the best so far improved"
                   + (f"; {ON_FRONT} on the Pareto front" if t.several else "") + ")",
                   header, table)]
        if t.several:
            tables.append((f"Pareto front ({objectives_text(t.objectives)})",
                           ["trial", *(a.rsplit(".", 1)[-1] for a in t.axes),
                            *(m for m, _ in t.objectives), "run"],
                           [[str(x.number), *(fmt(x.values.get(a)) for a in t.axes),
                             *(fmt(s) for s in x.scores), x.run] for x in t.front]))
        notes = [f"{data.path}: {len(rows)} of {data.total} trials ({data.search} search)"]
        page = fh.Page(f"lstm-lab sweep-report: {data.name}", charts, tables, notes)
        write_output(path, lambda tmp: fh.write(tmp, page))
    else:
        from lstm_tui.render import figures
        write_output(path, lambda tmp: figures.trials(tmp, kind, t))
    _written(path)


@bad_input
def export(
    refs: Annotated[list[str], typer.Argument(metavar="RUN", help="runs (folder or name)")],
    csv_file: Annotated[Optional[Path], typer.Option(
        "--csv", help="one long table: run, step, split, metric, value, epoch, time, then "
        "the config columns (- : standard output)", show_default=False)] = None,
    tensorboard: Annotated[Optional[Path], typer.Option(
        "--tensorboard", help="a folder of TensorBoard event files per run (scalars and "
        "hparams; the tensorboard extra)", show_default=False)] = None,
    onnx: Annotated[Optional[Path], typer.Option(
        "--onnx", help="the run's model as ONNX (batch and time free; checked with "
        "onnxruntime; the onnx extra), model.json beside it", show_default=False)] = None,
    torchscript: Annotated[Optional[Path], typer.Option(
        "--torchscript", help="the run's model as TorchScript (torch.jit.load), "
        "model.json beside it", show_default=False)] = None,
    safetensors: Annotated[Optional[Path], typer.Option(
        "--safetensors", help="the run's weights under the model's parameter names (the "
        "safetensors extra), model.json beside them", show_default=False)] = None,
    checkpoint: Annotated[str, typer.Option(help="the model's checkpoint: best | last")]
    = "best",
    force: Annotated[bool, typer.Option("--force", help="replace an existing CSV file, "
                                        "exported run folders or model files")] = False,
    runs_dir: RunsDir = None,
) -> None:
    """Export runs' metrics to a CSV table or TensorBoard event files, or a run's model
    to ONNX, TorchScript or safetensors (with model.json: docs/export.md)."""
    from lstm_tui.render.export import check_tensorboard_dir, import_writer, write_csv, \
        write_csv_to, write_tensorboard
    from lstm_tui.runs.layout import runs_root
    from lstm_tui.runs.reader import load_run
    from lstm_tui.runs.resolve import resolve_run
    models = {"onnx": onnx, "torchscript": torchscript, "safetensors": safetensors}
    if any(path is not None for path in models.values()):
        if csv_file is not None or tensorboard is not None:
            raise ConfigError("export", "", "a model (--onnx, --torchscript, --safetensors) "
                              "and metrics (--csv, --tensorboard) are exported by separate "
                              "commands")
        from lstm_tui.cli.export_model import export_model
        export_model(refs, models, checkpoint, force, runs_dir)
        return
    if csv_file is None and tensorboard is None:
        raise ConfigError("export", "", "say where: --csv FILE and/or --tensorboard DIR "
                          "(metrics), or --onnx, --torchscript or --safetensors FILE (a "
                          "run's model)")
    root = runs_root(runs_dir)
    paths: list[Path] = []
    for ref in refs:
        path = resolve_run(root, ref)
        if path.resolve() not in [p.resolve() for p in paths]:
            paths.append(path)
    runs = [load_run(p) for p in paths]
    to_stdout = csv_file == Path("-")        # as Unix tools read it
    said = err if to_stdout else out         # standard output holds only the table then
    # every check before the first byte is written
    if csv_file is not None and not to_stdout:
        check_new_file(csv_file, force, "--csv")
    if tensorboard is not None:
        import_writer()
        check_tensorboard_dir(tensorboard, runs, force)
    if to_stdout:
        write_csv_to(sys.stdout, runs)
        sys.stdout.flush()
    elif csv_file is not None:
        n = write_csv(csv_file, runs)
        out.print(f"csv: {csv_file} ({n:,} rows, {len(runs)} run{'s' * (len(runs) != 1)})",
                  highlight=False, markup=False, soft_wrap=True)
    if tensorboard is not None:
        folders = write_tensorboard(tensorboard, runs, force)
        said.print(f"tensorboard: {tensorboard} ({len(folders)} run"
                  f"{'s' * (len(folders) != 1)}); open with: tensorboard --logdir "
                  f"{tensorboard}", highlight=False, markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("export")(export)
