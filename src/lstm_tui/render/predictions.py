"""Prediction documents (:mod:`lstm_tui.runs.predict`) for people and spreadsheets: rich
tables for a terminal, and the rows of ``lstm-lab predict --output x.csv``.

The document's keys say what it holds (``forecast`` and ``rolling``: series;
``predictions``: classification; ``next``: char_lm); another task's document is shown
as its plain figures.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lstm_tui.numbers import fmt
from lstm_tui.render.task_rows import confusion_lines, verdict

SHOWN_ROWS = 20      # rows of a long result shown in a terminal (all of them in CSV/JSON)


def header(doc: dict) -> str:
    return f"{doc.get('run')} ({doc.get('task')}, {doc.get('checkpoint')} checkpoint, " \
           f"step {fmt(doc.get('step'))})"


def view(doc: dict) -> RenderableType:
    """The document as rich tables and lines."""
    parts: list[RenderableType] = [Text(header(doc), style="bold")]
    if "forecast" in doc:
        parts += _series(doc)
    elif "predictions" in doc:
        parts += _classes(doc)
    elif "next" in doc:
        parts += _next(doc)
    else:
        parts.append(_pairs([(k, fmt(v)) for k, v in doc.items()
                             if isinstance(v, (int, float, str)) and k not in
                             ("run", "task", "checkpoint", "step")]))
    return Group(*parts)


def csv_rows(doc: dict) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) of the document's CSV: one row per forecast step (with --rolling:
    per window, step and target), per sequence, or per next character."""
    if "rolling" in doc:
        rows = [[r["window"], r["end"], h + 1, t, r["forecast"][t][h], r["truth"][t][h]]
                for r in doc["rolling"]["rows"] for t in doc["targets"]
                for h in range(len(r["forecast"][t]))]
        return ["window", "end", "step", "target", "forecast", "truth"], rows
    if "forecast" in doc:
        return (["step", "time", *doc["targets"]],
                [[f["step"], f["time"], *(f["values"][t] for t in doc["targets"])]
                 for f in doc["forecast"]])
    if "predictions" in doc:
        classes = [str(c) for c in doc["classes"]]
        labelled = doc.get("accuracy") is not None
        return (["index", "label", *(["true"] if labelled else []),
                 *(f"p_{c}" for c in classes)],
                [[p["index"], p["label"], *([p["true"]] if labelled else []),
                  *(p["probs"][c] for c in classes)] for p in doc["predictions"]])
    if "next" in doc:
        return ["char", "prob"], [[n["char"], n["prob"]] for n in doc["next"]]
    keys = [k for k, v in doc.items() if isinstance(v, (int, float, str))]
    return keys, [[doc[k] for k in keys]]


# ---------------------------------------------------------------- per task

def _series(doc: dict) -> list[RenderableType]:
    targets = doc["targets"]
    after = f" after {doc['last_time']}" if doc.get("last_time") is not None else ""
    table = Table()
    timed = any(f["time"] is not None for f in doc["forecast"])
    table.add_column("step", justify="right")
    if timed:
        table.add_column("time")
    for t in targets:
        table.add_column(t, justify="right")
    for f in doc["forecast"]:
        table.add_row(str(f["step"]), *([_label(f["time"])] if timed else []),
                      *(fmt(f["values"][t]) for t in targets))
    parts: list[RenderableType] = [Text(f"forecast{after}", style="bold"), table]
    rolling = doc.get("rolling")
    if rolling:
        parts += _rolling(rolling, targets)
    return parts


def _rolling(rolling: dict, targets: list[str]) -> list[RenderableType]:
    rows = rolling["rows"]
    title = Text(f"rolling: {fmt(rolling['windows'])} windows (step 1; the last "
                 f"{min(len(rows), SHOWN_ROWS)} shown)", style="bold")
    table = Table()
    table.add_column("window", justify="right")
    table.add_column("end")
    for t in targets:
        table.add_column(f"{t} forecast", justify="right")
        table.add_column(f"{t} truth", justify="right")
    for r in rows[-SHOWN_ROWS:]:
        table.add_row(str(r["window"]), _label(r["end"]),
                      *(fmt(v) for t in targets for v in (r["forecast"][t][0],
                                                          r["truth"][t][0])))
    pairs = [("model", f"MAE {fmt(rolling['mae'])}  RMSE {fmt(rolling['rmse'])}"),
             ("skill", verdict(rolling.get("skill")))]
    pairs += [(f"{name} baseline", f"MAE {fmt(b['mae'])}  RMSE {fmt(b['rmse'])}")
              for name, b in rolling["baselines"].items()]
    return [title, table, _pairs(pairs)]


def _classes(doc: dict) -> list[RenderableType]:
    predictions = doc["predictions"]
    labelled = doc.get("accuracy") is not None
    title = Text(f"{fmt(len(predictions))} sequences (the first "
                 f"{min(len(predictions), SHOWN_ROWS)} shown)", style="bold")
    table = Table()
    for name, right in (("index", True), ("label", False), ("prob", True)):
        table.add_column(name, justify="right" if right else "left")
    if labelled:
        table.add_column("true")
    for p in predictions[:SHOWN_ROWS]:
        true = [str(p["true"])] if labelled else []
        style = "red" if labelled and p["true"] != p["label"] else ""
        table.add_row(str(p["index"]), str(p["label"]), fmt(p["probs"][str(p["label"])]),
                      *true, style=style)
    parts: list[RenderableType] = [title, table]
    if labelled:
        parts.append(_pairs([("accuracy", fmt(doc["accuracy"]))]))
        lines = confusion_lines({"confusion": {**doc["confusion"], "split": "input"}})
        parts.append(Text("\n".join(lines)))
    return parts


def _next(doc: dict) -> list[RenderableType]:
    title = Text(f"next character after {fmt(doc.get('chars'))} characters", style="bold")
    table = Table()
    table.add_column("char")
    table.add_column("prob", justify="right")
    for n in doc["next"]:
        table.add_row(repr(n["char"]), fmt(n["prob"]))
    return [title, table]


def _label(value: Any) -> str:
    """A time label as the file wrote it (a year is 2009, not 2,009)."""
    return "-" if value is None else str(value)


def _pairs(pairs: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for label, value in pairs:
        table.add_row(label, value)
    return table
