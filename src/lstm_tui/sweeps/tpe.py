"""search = "tpe": points drawn by Optuna's TPE sampler as results come in.

    [sweep]
    search = "tpe"
    trials = 40
    metrics = ["accuracy", "params"]     # optional: several objectives, a Pareto front
    [sweep.space]
    "train.lr" = { low = 1e-4, high = 1e-1, log = true }
    "model.hidden" = [8, 16, 32, 64]

The sweep folder is the grid sweep's (sweep.toml, results.csv, one run folder per
trial, named by trial number) plus ``study.journal``: the study in Optuna's journal
file storage, a plain append-only file.  The driver is its only user (the sweep's OS
lock) and the only writer of results.csv; each trial trains as a normal point through
the backend, so `runs`, `compare` and `sweep-report` work as for a grid.

Parallel trials (``--backend processes --workers N``, ``--backend ray``): the backend
keeps N trials in flight and asks :func:`run_tpe`'s ``more`` for new ones whenever a
slot frees, after reporting the results that freed it: the study is told each result
as it comes, then asked for the next point (ask several, tell as they finish).  The
sampler's constant liar counts the trials still training as bad ones, so the workers
spread out.  With N > 1 the points drawn depend on which trials finish first, so two
runs of one preset may draw different points (inherent in parallel adaptive search;
with one worker the draws are reproducible).  The ensemble backends batch points known
up front and are refused.

Several objectives (``metrics = [...]``): the study has one direction per objective and
is told each trial's figures (``objectives.value``: best_<metric>, or the params
column); a trial missing one is told FAIL.

Pruning (``scheduler = "asha"|"median"``) works as for a grid; the pruning order is the
trial number order, each trial joining it when it is drawn, and a trial started after
every earlier one, so a verdict never waits on a trial that has not started.  What it
decides is fixed by the metrics given the points, but with parallel trials the points
themselves depend on timing (above).  A pruned trial is told PRUNED.  With several
objectives the scheduler prunes by the first one (``metric``), as for a grid: a point
pruned for a poor metric is then missing from the front even if it was small, so use
``scheduler = "none"`` when the cheap end of the front matters.

Resume: the same command reloads the study; a trial left running by a stop is
trained again (or told from its run folder when it had ended), never drawn anew.  The
study is checked against the trial folders first, and rebuilt from them when its journal
is damaged or disagrees with them (sweeps.study): a finished trial is never trained
again nor its number drawn twice, and no results.csv row is lost.
Optuna is imported here only: ``pip install 'lstm-lab[optuna]'``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

from lstm_tui.config import ConfigError, RunConfig
from lstm_tui.fsio import atomic_write_text
from lstm_tui.runs.layout import RESULTS_FILE
from lstm_tui.runs.liveness import clean_stale_tmp
from lstm_tui.runs.reader import read_jsonl
from lstm_tui.sweeps import objectives
from lstm_tui.sweeps.backends import PointTask, sweep_backend
from lstm_tui.sweeps.runner import (DONE, METRICS, SWEEP_FILE, PointFinished, SweepFinished,
                                    SweepResult, SweepStarted, _check_devices, _Lock,
                                    _number_or_none,
                                    _sweep_toml, _write_results, build_row, columns_for,
                                    elsewhere, ending_point, make_sweep_dir, read_results,
                                    run_dir_name, skip)
from lstm_tui.sweeps.scheduler import PointEnded
from lstm_tui.sweeps.spec import Point, SweepSpec, make_point
from lstm_tui.sweeps.study import STUDY_FILE, ended_state, open_study

__all__ = ["STUDY_FILE", "run_tpe"]
GOOD = objectives.GOOD      # told COMPLETE with the point's figures (one per objective)
PARALLEL = ("sequential", "processes", "ray")   # backends that take trials as they are drawn


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ConfigError("", "sweep.search", "tpe needs Optuna: pip install "
                          "'lstm-lab[optuna]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _study(optuna, sweep_dir: Path, spec: SweepSpec, columns: list[str], rows: list[dict]):
    """The study (its journal checked against the trial folders; sweeps.study) with its
    sampler."""
    opened = open_study(optuna, sweep_dir, spec, columns, rows)
    study = opened.study
    # TPESampler for one objective and several alike (Optuna >= 4 ranks a multi-objective
    # history by non-domination and hypervolume contribution): one sampler, one behaviour,
    # and it learns from the first trials on, where NSGA-II needs whole generations (tens of
    # trials) before its search differs from random — a sweep here has 20-50 trials.
    # constant_liar: trials still training count as bad ones, so parallel workers are not
    # all sent to the same spot (no effect when trials run one at a time).
    # Seeded by the trials so far: a resumed study does not draw its first points again.
    study.sampler = optuna.samplers.TPESampler(seed=spec.random_seed + len(study.trials),
                                               constant_liar=True)
    return opened


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
            should_stop: Callable[[], bool] = lambda: False,
            options: Any = None) -> SweepResult:
    """Draw and train `spec.trials` points (resumable; see the module doc); `options`
    as for sweeps.runner.run_points."""
    impl = sweep_backend(backend, workers, spec, options)
    if impl.name not in PARALLEL:
        raise ConfigError("--backend", "backend", f"search = \"tpe\" draws its trials one by "
                          f"one, and {impl.name} batches points known up front: use "
                          f"{', '.join(PARALLEL)} (or search = \"random\", which any "
                          f"backend runs)")
    if spec.scheduler != "none" and not hasattr(impl, "pruner"):
        raise ConfigError(spec.source, "sweep.scheduler", f"{spec.scheduler!r} needs a backend "
                          f"that stops points early; {impl.name} cannot yet (use scheduler = "
                          f"\"none\" or --backend processes)")
    if not getattr(impl, "remote", False):      # a device this machine lacks: bad input now
        _check_devices([SimpleNamespace(config=spec.base)], spec.source)
    optuna = _optuna()
    from optuna.trial import TrialState
    listen = listener or (lambda event: None)
    sweep_dir = make_sweep_dir(root, spec)
    columns = columns_for(spec)
    with _Lock(sweep_dir):
        clean_stale_tmp(sweep_dir)
        atomic_write_text(sweep_dir / SWEEP_FILE, _sweep_toml(preset_path, cfg, sweep_dir))
        old = {r["key"]: r for r in read_results(sweep_dir / RESULTS_FILE)}
        opened = _study(optuna, sweep_dir, spec, columns, list(old.values()))
        study = opened.study
        pruner = None
        if spec.scheduler != "none":
            from lstm_tui.sweeps.scheduler import Pruner
            pruner = Pruner(spec.scheduler, spec.grace, spec.reduction, spec.goal,
                            spec.metric, [])
            impl.pruner = pruner
        points: dict[int, Point] = {}
        by_key: dict[str, Point] = {}
        rows: dict[str, dict] = {}
        redo: list[int] = []

        def folder(point: Point) -> Path:
            """The trial's folder: the one it has (found by its values, whatever the
            axes' order in this preset), else named from its values."""
            return sweep_dir / (opened.folders.get(point.key) or
                                run_dir_name(point, spec.trials))

        def add(point: Point) -> None:
            """A trial joins the sweep, and the pruning order (trial number order: every
            trial starts after the ones before it, so a verdict never waits on a later one)."""
            points[point.index] = by_key[point.key] = point
            if pruner is not None:
                pruner.rank[point.key] = len(pruner.order)
                pruner.order.append(point.key)

        def tell(number: int, row: dict) -> None:
            state, values = ended_state(row, spec)
            if state == "COMPLETE":
                study.tell(number, values if len(values) > 1 else values[0])
            else:
                study.tell(number, state=TrialState[state])

        for t in sorted(study.trials, key=lambda t: t.number):
            if t.state == TrialState.WAITING:        # a number to draw anew (sweeps.study)
                continue
            point = make_point(spec, t.number, t.params)
            add(point)
            ended = opened.ended.get(point.key)       # the row of a folder that ended
            if t.state.is_finished() or ended is not None:
                # the folder's row; a trial whose folder is gone keeps its results.csv row
                rows[point.key] = ended or old.get(point.key) or \
                    build_row(point, folder(point), spec, columns)
                if not t.state.is_finished():         # ended, but the tell was lost
                    tell(t.number, rows[point.key])
                if pruner is not None:
                    pruner.history(point.key, [
                        _number_or_none(r.get(spec.metric))
                        for r in read_jsonl(folder(point) / METRICS) if r.get("split") == "val"])
            else:
                redo.append(t.number)     # left running by a stop: trained again, not redrawn
        ordered = lambda: [points[n] for n in sorted(points)]   # noqa: E731
        _write_results(sweep_dir, columns, rows, ordered())
        listen(SweepStarted(sweep_dir, spec.name, spec.trials, len(rows),
                            spec.trials - len(rows), tuple(spec.axes), spec.metric, spec.goal,
                            impl.name, getattr(impl, "workers", workers),
                            (opened.note,) if opened.note else ()))
        state = {"interrupted": False}

        def task(point: Point) -> PointTask:
            return PointTask(point.key, point.index, point.config, str(folder(point)),
                             spec.name)

        skipped: list[str] = []

        def more(free: int) -> list[PointTask]:
            """Up to `free` trials: those a stop left running first (but not one another
            process writes: skipped), then new ones asked of the study (which has been
            told every result reported so far)."""
            fed = []
            while len(fed) < free and not should_stop():
                if redo:
                    again = task(points[redo.pop(0)])
                    if not elsewhere(again, report):
                        fed.append(again)
                    elif pruner is not None:
                        pruner.offer(PointEnded(again.key))
                    continue
                if len(study.trials) >= spec.trials and not study.get_trials(
                        deepcopy=False, states=(TrialState.WAITING,)):
                    break
                trial = study.ask()             # a waiting number first (sweeps.study)
                try:
                    point = make_point(spec, trial.number, _suggest(trial, spec))
                except ConfigError:
                    study.tell(trial, state=TrialState.FAIL)
                    raise
                add(point)
                fed.append(task(point))
            return fed

        def report(msg) -> None:
            point = ending_point(msg, by_key, rows, listen)
            if point is None or skip(point, folder(point).name, msg, skipped, listen):
                return                     # a skipped trial stays RUNNING: taken up next time
            if msg.status not in DONE:     # interrupted: left RUNNING, trained again on resume
                state["interrupted"] = True
                return
            row = build_row(point, folder(point), spec, columns, msg.status, msg.message)
            rows[point.key] = row
            tell(point.index, row)
            _write_results(sweep_dir, columns, rows, ordered())
            listen(PointFinished(point.key, point.index, point.label(), row, len(rows),
                                 spec.trials))

        if not should_stop():
            impl.run([], report, should_stop, more=more)
        listen(SweepFinished(len(rows), spec.trials,
                             state["interrupted"] or len(rows) < spec.trials, tuple(skipped)))
    result_rows = [rows[p.key] for p in ordered() if p.key in rows]
    return SweepResult(sweep_dir, result_rows, columns, spec.trials, len(rows), spec.metric,
                       spec.goal, spec.axes, skipped=skipped)
