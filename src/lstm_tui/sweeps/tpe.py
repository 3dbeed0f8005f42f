"""search = "tpe": points drawn one after another by Optuna's TPE sampler.

    [sweep]
    search = "tpe"
    trials = 40
    [sweep.space]
    "train.lr" = { low = 1e-4, high = 1e-1, log = true }
    "model.hidden" = [8, 16, 32, 64]

The sweep folder is the grid sweep's (sweep.toml, results.csv, one run folder per
trial, named by trial number) plus ``study.journal``: the study in Optuna's journal
file storage, a plain append-only file.  The driver is its only user (the sweep's OS
lock) and the only writer of the run folders and results.csv; each trial trains as a
normal point (``backends.train_point``), so `runs`, `compare`, `sweep-report` and the
scheduler (``scheduler = "asha"|"median"``: a pruned trial is told PRUNED) work as for a
grid.  Resume: the same command reloads the study; a trial left running by a stop is
trained again (or told from its run folder when it had ended), never drawn anew.
Optuna is imported here only: ``pip install 'lstm-lab[optuna]'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from lstm_tui.config import ConfigError, RunConfig
from lstm_tui.runs.store import (SUMMARY, atomic_write_text, clean_stale_tmp, read_jsonl,
                                 read_summary)
from lstm_tui.sweeps.backends import PointDone, PointTask, train_point
from lstm_tui.sweeps.runner import (DONE, METRICS, SWEEP_FILE, PointFinished, SweepFinished,
                                    SweepResult, SweepStarted, _Lock, _number_or_none,
                                    _sweep_toml, _write_results, build_row, columns_for,
                                    make_sweep_dir, run_dir_name)
from lstm_tui.sweeps.spec import Point, SweepSpec, make_point

STUDY_FILE = "study.journal"
GOOD = ("completed", "stopped_early")      # told COMPLETE with the point's best metric


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ConfigError("", "sweep.search", "tpe needs Optuna: pip install "
                          "'lstm-lab[optuna]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _study(optuna, sweep_dir: Path, spec: SweepSpec):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    storage = JournalStorage(JournalFileBackend(str(sweep_dir / STUDY_FILE)))
    study = optuna.create_study(
        study_name=sweep_dir.name, storage=storage, load_if_exists=True,
        direction="maximize" if spec.goal == "max" else "minimize")
    # seeded by the trials so far: a resumed study does not draw its first points again
    study.sampler = optuna.samplers.TPESampler(seed=spec.random_seed + len(study.trials))
    return study


def _suggest(trial, spec: SweepSpec) -> dict[str, Any]:
    values = {}
    for key, axis in spec.random.items():
        if axis.choices:
            values[key] = trial.suggest_categorical(key, list(axis.choices))
        elif axis.integer:
            values[key] = trial.suggest_int(key, int(axis.low), int(axis.high), log=axis.log)
        else:
            values[key] = trial.suggest_float(key, float(axis.low), float(axis.high),
                                              log=axis.log)
    return values


def run_tpe(preset_path: str | Path, cfg: RunConfig, spec: SweepSpec, root: Path,
            backend: str = "sequential", workers: int = 1,
            listener: Callable[[Any], None] | None = None,
            should_stop: Callable[[], bool] = lambda: False) -> SweepResult:
    """Draw and train `spec.trials` points (resumable; see the module doc)."""
    if backend != "sequential" or workers != 1:
        raise ConfigError("--backend", "backend", "search = \"tpe\" trains its trials one "
                          "after another: use the sequential backend (one worker)")
    optuna = _optuna()
    from optuna.trial import TrialState
    listen = listener or (lambda event: None)
    sweep_dir = make_sweep_dir(root, spec)
    columns = columns_for(spec)
    with _Lock(sweep_dir):
        clean_stale_tmp(sweep_dir)
        atomic_write_text(sweep_dir / SWEEP_FILE, _sweep_toml(preset_path, cfg, sweep_dir))
        study = _study(optuna, sweep_dir, spec)
        pruner = None
        if spec.scheduler != "none":
            from lstm_tui.sweeps.scheduler import LocalLink, Pruner
            pruner = Pruner(spec.scheduler, spec.grace, spec.reduction, spec.goal,
                            spec.metric, [])
        points: dict[int, Point] = {}
        rows: dict[str, dict] = {}
        redo: list[int] = []

        def folder(point: Point) -> Path:
            return sweep_dir / run_dir_name(point, spec.trials)

        def add(point: Point) -> None:
            points[point.index] = point
            if pruner is not None:
                pruner.rank[point.key] = len(pruner.order)
                pruner.order.append(point.key)

        def tell(number: int, row: dict) -> None:
            value = row.get(f"best_{spec.metric}")
            if row["status"] in GOOD and isinstance(value, (int, float)):
                study.tell(number, float(value))
            elif row["status"] == "pruned":
                study.tell(number, state=TrialState.PRUNED)
            else:
                study.tell(number, state=TrialState.FAIL)

        for t in sorted(study.trials, key=lambda t: t.number):
            point = make_point(spec, t.number, t.params)
            add(point)
            summary = read_summary(folder(point) / SUMMARY)[0]
            ended = summary.get("sweep_point") == point.key and summary.get("status") in DONE
            if t.state.is_finished() or ended:
                rows[point.key] = build_row(point, folder(point), spec, columns)
                if not t.state.is_finished():         # ended, but the tell was lost
                    tell(t.number, rows[point.key])
                if pruner is not None:
                    pruner.history(point.key, [
                        _number_or_none(r.get(spec.metric))
                        for r in read_jsonl(folder(point) / METRICS) if r.get("split") == "val"])
            else:
                redo.append(t.number)
        ordered = lambda: [points[n] for n in sorted(points)]   # noqa: E731
        _write_results(sweep_dir, columns, rows, ordered())
        listen(SweepStarted(sweep_dir, spec.name, spec.trials, len(rows),
                            spec.trials - len(rows), tuple(spec.axes), spec.metric, spec.goal,
                            "sequential", 1))
        link = LocalLink(pruner) if pruner is not None else None
        interrupted = False
        while not should_stop():
            if redo:
                point = points[redo.pop(0)]
            elif len(study.trials) < spec.trials:
                trial = study.ask()
                try:
                    point = make_point(spec, trial.number, _suggest(trial, spec))
                except ConfigError:
                    study.tell(trial, state=TrialState.FAIL)
                    raise
                add(point)
            else:
                break
            task = PointTask(point.key, point.index, point.config, str(folder(point)),
                             spec.name)
            done: PointDone = train_point(task, _progress(listen), should_stop, link)
            if done.status not in DONE:           # interrupted: trained again on resume
                interrupted = True
                break
            row = build_row(point, folder(point), spec, columns, done.status, done.message)
            rows[point.key] = row
            tell(point.index, row)
            _write_results(sweep_dir, columns, rows, ordered())
            listen(PointFinished(point.key, point.index, point.label(), row, len(rows),
                                 spec.trials))
        listen(SweepFinished(len(rows), spec.trials, interrupted or len(rows) < spec.trials))
    result_rows = [rows[p.key] for p in ordered() if p.key in rows]
    return SweepResult(sweep_dir, result_rows, columns, spec.trials, len(rows), spec.metric,
                       spec.goal, spec.axes)


def _progress(listen: Callable[[Any], None]) -> Callable[[Any], None]:
    return lambda msg: None if isinstance(msg, PointDone) else listen(msg)
