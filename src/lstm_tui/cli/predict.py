"""`lstm-lab predict`: a trained run used on new data (the core: lstm_tui.runs.predict;
the tables and CSV rows: lstm_tui.render.predictions).  Registered on the main app by
:func:`register`."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from lstm_tui.cli.common import RunsDir, bad_input, err, out
from lstm_tui.cli.complete import complete_run
from lstm_tui.config import ConfigError


@bad_input
def predict(
    ref: Annotated[str, typer.Argument(metavar="RUN", help="a run (folder, name, latest, "
                                       "latest~N)", autocompletion=complete_run)],
    input_file: Annotated[Path, typer.Option(
        "--input", help="the data: series: a table with the run's columns; "
        "sequence_classification: UCR rows (with or without the label) or .npz; char_lm: "
        "a text file", show_default=False)],
    checkpoint: Annotated[str, typer.Option(help="best | last")] = "best",
    rolling: Annotated[bool, typer.Option(
        "--rolling", help="series: a forecast for every window of the file, the truth "
        "beside it, the baselines and MAE/RMSE/skill")] = False,
    top: Annotated[int, typer.Option(help="char_lm: how many next characters")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document on stdout "
                                          "(fields: docs/predict.md)")] = False,
    output: Annotated[Optional[Path], typer.Option(
        "--output", help="also write the predictions to this .csv file",
        show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="replace an existing --output "
                                        "file")] = False,
    runs_dir: RunsDir = None,
) -> None:
    """Forecast, classify or continue new data with a trained run.

    series: the horizon after the file's last row (--rolling: every window, scored);
    sequence_classification: a label and class probabilities per sequence (with labels
    in the file: accuracy and the confusion matrix); char_lm: the next-character
    distribution after the text.
    """
    from lstm_tui.render.export import check_new_file
    from lstm_tui.runs.layout import runs_root
    from lstm_tui.runs.predict import PredictOptions, predict as run_predict
    from lstm_tui.runs.resolve import resolve_run
    from lstm_tui.runs.trained import open_trained

    run_dir = resolve_run(runs_root(runs_dir), ref)
    if output is not None:
        if output.suffix.lower() != ".csv":
            raise ConfigError(f"--output {output}", "", "must end in .csv (--json prints "
                              "the JSON document)")
        check_new_file(output, force, "--output")
    run = open_trained(run_dir, checkpoint)
    with ProgressBar() as bar:
        doc = run_predict(run, input_file, PredictOptions(rolling=rolling, top=top,
                                                          progress=bar))
    for note in run.notes:
        err.print(f"note: {escape(note)}", style="dim", highlight=False, soft_wrap=True)
    if output is not None:
        rows = write_csv(output, doc)
        # stdout stays one JSON document with --json
        (err if as_json else out).print(f"csv: {output} ({rows:,} rows)", highlight=False,
                                        markup=False, soft_wrap=True)
    if as_json:
        from lstm_tui.cli.output import print_json
        print_json(doc)
    else:
        from lstm_tui.render.predictions import view
        out.print(view(doc))


def write_csv(path: Path, doc: dict) -> int:
    """The document's CSV rows into `path` (atomically); returns how many."""
    from lstm_tui.render.export import write_output
    from lstm_tui.render.predictions import csv_rows
    header, rows = csv_rows(doc)

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(["" if v is None else v for v in row] for row in rows)
    write_output(path, write)
    return len(rows)


class ProgressBar:
    """A bar on stderr for long inputs (`progress(done, total)`), gone when done; nothing
    when stderr is not a terminal."""

    def __enter__(self) -> "ProgressBar":
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        self.progress = Progress(TextColumn("predicting"), BarColumn(), MofNCompleteColumn(),
                                 console=err, transient=True, disable=not err.is_terminal)
        self.progress.start()
        self.task = None
        return self

    def __call__(self, done: int, total: int) -> None:
        if self.task is None:
            self.task = self.progress.add_task("predict", total=total)
        self.progress.update(self.task, completed=done)

    def __exit__(self, *exc) -> None:
        self.progress.stop()


def register(app: typer.Typer) -> None:
    app.command("predict")(predict)
