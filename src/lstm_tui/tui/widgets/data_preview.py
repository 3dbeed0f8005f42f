"""The Dataset pane's preview of a task's own data, drawn before training.

It draws a :class:`~lstm_tui.tasks.registry.Preview` (curves, split borders, notes) that
the task spec computes from the config, so it knows no task kind: a series shows its
target columns with the val and test borders and the row/window counts, labelled
sequences show examples of each class with the class counts.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from lstm_tui.tasks.registry import Preview
from lstm_tui.tui.plotting import series_color
from lstm_tui.tui.widgets.safe_plot import SafePlot


class DataPreview(Vertical):
    """A plotext chart of the task's data and the counts under it (hidden when the task
    has no data file to show)."""

    DEFAULT_CSS = """
    DataPreview { height: auto; display: none; }
    DataPreview.-shown { display: block; }
    DataPreview SafePlot { height: 16; }
    DataPreview Static { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.plot = SafePlot(id="preview-plot")   # mounted on first use: start-up stays light

    def compose(self) -> ComposeResult:
        yield Static(id="preview-notes")

    def show(self, preview: Preview | None) -> None:
        self.set_class(preview is not None, "-shown")
        if preview is None:
            return
        if not self.plot.is_attached:
            self.mount(self.plot, before=0)
        plt = self.plot.plt
        plt.clear_figure()
        plt.title(preview.title)
        colors: dict[str, tuple[int, int, int]] = {}
        for label, xs, ys in preview.curves:
            first = label not in colors
            color = colors.setdefault(label, series_color(len(colors)))
            plt.plot(list(xs), list(ys), color=color, label=label if first else None,
                     marker="braille")
        for label, x in preview.borders:
            plt.vertical_line(x, color="gray")
        if preview.xticks:
            plt.xticks([x for x, _ in preview.xticks], [t for _, t in preview.xticks])
        if preview.borders:
            plt.xlabel("  ".join(f"{label} from {x:g}" for label, x in preview.borders))
        self.plot.refresh()
        self.query_one("#preview-notes", Static).update(Text("\n".join(preview.notes)))
