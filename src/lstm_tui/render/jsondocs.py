"""The `--json` documents of `compare`, `sweep-report`, `check` and `presets`.

Each command prints exactly one of these on stdout.  Their fields are documented in the
manual (docs/exports.md, "Machine-readable output") and are a stable interface: add
fields, never rename or remove one.  Numbers that are not finite (a diverged run's loss)
are written as null, so every document is strict JSON.  No rich, no torch: plain data
in, plain data out.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

from lstm_tui.runs.listing import differing_keys, field_value, flatten

VERSION = 1   # bumped only if a field ever has to change meaning


def clean(value: Any) -> Any:
    """Strict-JSON-able: non-finite floats to None, paths to str, tuples to lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def dumps(doc: dict) -> str:
    return json.dumps(clean({"version": VERSION, **doc}), indent=2, allow_nan=False)


# ---------------------------------------------------------------- presets, check

def presets_doc(presets) -> dict:
    return {"presets": [{"name": p.name, "path": p.path, "kind": "sweep" if p.is_sweep
                         else "run", "description": p.description} for p in presets]}


def check_doc(path: Path, cfg, shape, summary, sweep_spec=None) -> dict:
    from lstm_tui.config import config_to_dict
    return {
        "ok": True,
        "preset": path,
        "task": cfg.task.kind,
        "metric": shape.metric,
        "goal": shape.goal,
        "input_size": shape.input_size,
        "output_size": shape.output_size,
        "seq_len": shape.seq_len,
        "train_examples": shape.train_size,
        "val_examples": shape.val_size,
        "parameters": {"total": summary.total, "trainable": summary.trainable,
                       "non_trainable": summary.non_trainable},
        "layers": [{"layer": r.layer, "type": r.kind, "output_shape": r.output_shape,
                    "params": r.params} for r in summary.rows],
        "notes": list(summary.notes),
        "sweep": None if sweep_spec is None else {
            "name": sweep_spec.name, "points": sweep_spec.size,   # tpe: its trials
            "search": sweep_spec.search,
            "axes": list(sweep_spec.axes), "seeds": sweep_spec.seeds,
            "metric": sweep_spec.metric, "goal": sweep_spec.goal,
            "objectives": [{"metric": m, "goal": g} for m, g in sweep_spec.objectives]},
        "config": config_to_dict(cfg),
    }


# ---------------------------------------------------------------- compare

def run_doc(run) -> dict:
    i = run.info
    return {"name": i.name, "path": i.path, "status": field_value(i, "status"), "task": i.task,
            "cell": i.cell, "hidden": i.hidden, "metric": i.metric or None,
            "goal": i.goal or None, "best": i.best, "final": i.final, "steps": i.steps,
            "seconds": i.seconds, "params": i.params, "tags": list(i.tags), "note": i.note or None,
            "config": flatten(run.config)}


def compare_doc(runs: Sequence, split: str, metric: str,
                series: Sequence[tuple[str, list, list]]) -> dict:
    return {"split": split, "metric": metric,
            "runs": [run_doc(r) for r in runs],
            "differing": differing_keys(r.config for r in runs),
            "curves": [{"run": label, "steps": xs, "values": ys} for label, xs, ys in series]}


# ---------------------------------------------------------------- sweep-report

def _stat(stat) -> dict:
    if stat is None:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {"mean": stat.mean, "std": stat.std, "min": stat.min, "max": stat.max,
            "n": stat.n}


def group_doc(g) -> dict:
    return {"values": g.values, **_stat(g.stat), "runs": list(g.runs),
            "statuses": list(g.statuses)}


def surface_doc(s) -> dict:
    cells = []
    for yv in s.ys:
        for xv in s.xs:
            c = s.cell(xv, yv)
            if c is not None:
                cells.append({"x": xv, "y": yv, **_stat(c.group.stat), "covered": c.covered,
                              "point": c.group.values, "runs": list(c.group.runs),
                              "statuses": list(c.group.statuses)})
    return {"x": s.x, "y": s.y, "xs": s.xs, "ys": s.ys, "hidden": s.hidden, "cells": cells}


def lines_doc(lines, x: str, by: str | None) -> dict:
    return {"x": x, "by": by, "lines": [{"label": ln.label, "xs": ln.xs, "mean": ln.means,
                                         "std": ln.stds, "min": ln.lows, "max": ln.highs}
                                        for ln in lines]}


def sweep_doc(data, rows, column: str, where: dict, view) -> dict:
    """`view` is a :class:`lstm_tui.sweep_views.SweepView`."""
    from lstm_tui.expect import sweep as expect
    from lstm_tui.sweeps.surface import ranked
    doc = {"sweep": data.name, "path": data.path, "metric": data.metric, "goal": data.goal,
           "column": column, "axes": list(data.axes), "total": data.total,
           "rows": len(rows), "where": where, "view": view.kind,
           "points": [group_doc(g) for g in ranked(rows, data.axes, column, data.goal)],
           "expectations": expect.load(data.path),
           "search": data.search,
           "objectives": [{"metric": m, "goal": g}
                          for m, g in data.objectives or [(data.metric, data.goal)]]}
    if view.surface is not None:
        doc["heatmap"] = surface_doc(view.surface)
    if view.lines is not None:
        doc["lines"] = lines_doc(view.lines, view.x, view.by)
    if view.trials is not None:
        doc.update(trials_doc(view.trials))
    return doc


def trials_doc(t) -> dict:
    """A sweep of drawn points (:class:`lstm_tui.sweeps.trials.Trials`): its trials in
    order and, with several objectives, the trial numbers on the Pareto front."""
    best = t.best_trial()
    metrics = [m for m, _ in t.objectives]
    return {"trials": [{"trial": x.number, "run": x.run, "values": x.values,
                        "status": x.status, "counted": x.counted, "value": x.value,
                        "best_so_far": x.best, "improved": x.improved,
                        "scores": dict(zip(metrics, x.scores)), "pareto": t.on_front(x)}
                       for x in t.trials],
            "best": None if best is None else {"trial": best.number, "run": best.run,
                                               "value": best.value},
            "pareto_front": [x.number for x in t.front] if t.several else None}
