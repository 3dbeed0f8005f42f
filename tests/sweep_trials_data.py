"""A sweep folder of drawn points (search = "random" or "tpe") with fixed numbers, written
directly (no training): for the trials views of sweep-report and the Sweep screen."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

from tests.cli.output_data import SWEEP_BASE

# (point, lr, hidden, status, best_accuracy, params), written out of trial order.
# best so far: .40 .55 .55 .60 .60 .60 (improved at 0, 1, 3); counted: 0 1 3 5; on the
# Pareto front of accuracy (max) and params (min): 3 (.60, 500) and 5 (.50, 200).
TRIALS = [
    (3, 0.05, 8, "completed", 0.60, 500),
    (0, 0.01, 4, "completed", 0.40, 200),
    (1, 0.1, 16, "completed", 0.55, 1500),
    (2, 0.001, 8, "pruned", 0.30, 500),
    (5, 0.02, 4, "completed", 0.50, 200),
    (4, 0.2, 4, "failed", None, 200),
]
BEST_SO_FAR = [0.40, 0.55, 0.55, 0.60, 0.60, 0.60]
IMPROVED = [0, 1, 3]
FRONT = [3, 5]


def trials_sweep(root: Path, search: str = "random", metrics: bool = True,
                 rows: list | None = None, name: str = "sweep-drawn") -> Path:
    """sweep.toml (a [sweep.space] of lr from a range and hidden from a list) and
    results.csv with TRIALS (or `rows`), and a run folder name per trial."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    objectives = 'metrics = ["accuracy", "params"]\n' if metrics else ""
    (folder / "sweep.toml").write_text(SWEEP_BASE + textwrap.dedent(f"""
        [sweep]
        search = "{search}"
        trials = 6
        """) + objectives + textwrap.dedent("""
        [sweep.space]
        "train.lr" = { low = 0.001, high = 0.3, log = true }
        "model.hidden" = [4, 8, 16]
        """))
    keys = {}
    if search == "random":      # the screen knows a random search's points by their keys
        from lstm_tui.config import load_preset
        from lstm_tui.sweeps.spec import parse_sweep
        spec = parse_sweep(load_preset(folder / "sweep.toml"), "sweep.toml")
        keys = {p.index: p.key for p in spec.points()}
    fields = ["point", "run", "train.lr", "model.hidden", "seed", "status", "best_accuracy",
              "final_accuracy", "steps", "seconds", "params", "message", "key"]
    with open(folder / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for point, lr, hidden, status, acc, params in (TRIALS if rows is None else rows):
            run = f"p{point:03d}-lr{lr}-hidden{hidden}-s0"
            writer.writerow({"point": point, "run": run, "train.lr": lr,
                             "model.hidden": hidden, "seed": 0, "status": status,
                             "best_accuracy": "" if acc is None else acc,
                             "final_accuracy": "" if acc is None else round(acc - 0.05, 4),
                             "steps": 10, "seconds": 0.1, "params": params,
                             "message": "", "key": keys.get(point, f"k{point}")})
    return folder
