"""Task figures for people: baselines, skill and the test block as table rows.

The headless result table and the TUI's run views show a run's model beside its
baselines from the same summary.json keys ("baselines", "test", "confusion"), through
these helpers, so both say the same thing in the same words.
"""

from __future__ import annotations

from lstm_tui.numbers import fmt
from lstm_tui.tasks.series import skill


def verdict(value: float | None, reference: str = "persistence") -> str:
    """'beats persistence (skill 0.31)' or, plainly, 'does NOT beat persistence ...'."""
    if value is None:
        return "-"
    word = "beats" if value > 0 else "does NOT beat"
    return f"{word} {reference} (skill {value:+.3f})"


def result_rows(figures: dict, metric: str, best: float | None) -> list[tuple[str, str]]:
    """(label, value) rows of a run's task figures; empty when the task reports none."""
    rows: list[tuple[str, str]] = []
    baselines = _table(figures.get("baselines"))     # a hand-edited file may hold anything
    test = _table(figures.get("test"))
    for name, values in baselines.items():
        if not isinstance(values, dict) or not _number(values.get(metric)):
            continue
        text = f"val {fmt(values[metric])}"
        if _number(_table(values.get("test")).get(metric)):
            text += f"  test {fmt(values['test'][metric])}"
        rows.append((f"{name} baseline {metric}", text))
    persistence = _table(baselines.get("persistence"))
    if _number(persistence.get(metric)) and _number(best):
        rows.append(("val skill", verdict(skill(best, persistence[metric]))))
    for key, value in test.items():
        if key == "skill" and _number(value):
            rows.append(("test skill", verdict(value)))
        elif _number(value):
            rows.append((f"test {key}", fmt(value)))
    return rows


def _table(value) -> dict:
    return value if isinstance(value, dict) else {}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def confusion_lines(figures: dict) -> list[str]:
    """The confusion matrix (rows: true class, columns: predicted) as aligned text."""
    confusion = _table(figures.get("confusion"))
    classes, matrix = confusion.get("classes"), confusion.get("matrix")
    if not isinstance(classes, list) or not isinstance(matrix, list) or not classes \
            or not all(isinstance(row, list) for row in matrix):
        return []
    labels = [str(c) for c in classes]
    width = max(5, *(len(s) for s in labels), *(len(str(v)) for row in matrix for v in row))
    title = f"confusion ({confusion.get('split', 'val')}; rows true, columns predicted)"
    lines = [title, " " * width + " " + " ".join(s.rjust(width) for s in labels)]
    for label, row in zip(labels, matrix):
        lines.append(label.rjust(width) + " " + " ".join(str(v).rjust(width) for v in row))
    return lines
