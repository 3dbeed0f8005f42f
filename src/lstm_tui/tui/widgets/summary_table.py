"""The model's parameter table next to the dataset size, with char-rnn's rule of thumb.

Everything is computed from the config (``tasks.shapes.describe_task`` and
``models.summary.summarize``): no torch, so it follows every keystroke.  The model's
summary (its modules, and the events' dataclasses it returns) is imported on first use:
the Dataset pane, on the first frame, shows the task's side alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from lstm_tui.config import ConfigError, ModelConfig
from lstm_tui.tasks import downloads
from lstm_tui.tasks.shapes import TaskShape, describe_task

if TYPE_CHECKING:
    from lstm_tui.events import ModelSummary


def rule_of_thumb(params: int, data: int) -> tuple[float, str]:
    """char-rnn's advice: parameters about the size of the data (same order of magnitude)."""
    ratio = params / max(1, data)
    if ratio > 10:
        return ratio, ("over: far more parameters than data; expect overfitting "
                       "(more data, dropout or a smaller model)")
    if ratio < 0.1:
        return ratio, ("under: far fewer parameters than data; likely underfitting "
                       "(a larger model can learn more)")
    return ratio, "about the size of the data, as char-rnn advises"


def data_unit(shape: TaskShape) -> str:
    return "characters" if shape.vocab_size is not None else "sequences"


def describe(task_cfg: object, model_cfg: ModelConfig) -> tuple[TaskShape, ModelSummary]:
    """The task's shape and the model's summary (ConfigError if the text cannot be read)."""
    from lstm_tui.models.summary import summarize
    shape = describe_task(task_cfg)
    return shape, summarize(model_cfg, shape.input_size, shape.output_size, shape.seq_len,
                            shape.readout)


def task_text(task_cfg: object, shape: TaskShape) -> Text:
    """What the task builds: sizes, read-out, metric (the Dataset pane's side panel)."""
    doc = " ".join((type(task_cfg).__doc__ or "").split())
    text = Text()
    text.append(f"{task_cfg.kind}\n", style="bold")
    text.append(f"{doc}\n\n")
    rows = [("training", f"{shape.train_size:,} {data_unit(shape)}"),
            ("validation", f"{shape.val_size:,} {data_unit(shape)}"),
            ("input size", f"{shape.input_size:,} per time step"),
            ("output size", f"{shape.output_size:,}"),
            ("time steps", f"{shape.seq_len:,}"),
            ("read-out", "last step" if shape.readout == "last" else "every step"),
            ("metric", f"{shape.metric} ({'higher' if shape.goal == 'max' else 'lower'} is better)")]
    if shape.vocab_size is not None:
        rows.append(("vocabulary", f"{shape.vocab_size} symbols"))
    for name, value in rows:
        text.append(f"{name:<12}", style="dim")
        text.append(f"{value}\n")
    return text


class SummaryPanel(Static):
    """Dataset size, parameter count, the rule of thumb and the Keras-style table."""

    def show_config(self, task_cfg: object | None, shape: TaskShape | str | list[str],
                    model_cfg: ModelConfig | None) -> None:
        """The summary of a task and a model config; without a task config, `shape` is the
        error to show, or (a list) the task's data files still being read."""
        if isinstance(shape, list):
            self.show(None, f"reading {', '.join(shape)}…")
        elif task_cfg is None:
            self.show(None, shape)
        else:
            try:   # describing never downloads (text8): a run fetches it, in its process
                with downloads.forbidden():
                    self.show(describe(task_cfg, model_cfg))
            except (ConfigError, ValueError) as exc:   # an unreadable text; a kind shapes lacks
                self.show(None, str(exc))

    def show(self, described: tuple[TaskShape, ModelSummary] | None, error: str = "") -> None:
        if described is None:
            self.update(Text(error or "fix the fields marked in red to see the summary",
                             style="red" if error else "dim"))
            return
        from rich import box
        from rich.console import Group

        from lstm_tui.render.model_summary import summary_table
        shape, summary = described
        ratio, verdict = rule_of_thumb(summary.total, shape.train_size)
        head = Text()
        head.append("parameters  ", style="dim")
        head.append(f"{summary.total:,}\n", style="bold")
        head.append("dataset     ", style="dim")
        head.append(f"{shape.train_size:,} training {data_unit(shape)}\n", style="bold")
        head.append("ratio       ", style="dim")
        head.append(f"{ratio:.3g}× ", style="bold")
        head.append(verdict + "\n", style="green" if verdict.startswith("about") else "yellow")
        table = summary_table(summary)
        table.title = None
        table.box = box.SIMPLE_HEAD
        notes = Text("\n".join(f"note: {n}" for n in summary.notes), style="dim")
        self.update(Group(head, table, notes))
