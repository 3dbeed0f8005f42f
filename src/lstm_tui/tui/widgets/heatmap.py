"""A sweep's surface as a heatmap: a coloured grid of cells with their values.

Rows are the values of the surface's y axis, columns those of its x axis; each cell
shows the mean over seeds (and ``±std`` when the spread is asked for) on a viridis
ramp from the worst value (dark) to the best (bright), whatever the goal.  A cell not
run yet shows ``·``, a running one ``▶`` and its progress, a cell with diverged or
failed seeds ``!`` (``✗`` when no seed gave a number).  Without colour (NO_COLOR) each
value carries a shade character ``░▒▓█`` on the same scale, so nothing is lost.

The cursor (arrows, or a click) picks a cell; Enter (or a second click) chooses it.
When the grid is larger than the widget it scrolls with the cursor.  The widget draws
what it is given — a :class:`~lstm_tui.sweeps.surface.Surface` — and computes nothing.
Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from lstm_tui.numbers import fmt
from lstm_tui.sweeps.surface import Cell, Surface
from lstm_tui.tui.plotting import RAMP, SHADES, ramp_color, shade
PENDING, RUNNING, TROUBLED, FAILED = "·", "▶", "!", "✗"
MAX_CELL_WIDTH = 20
MAX_CELL_HEIGHT = 4        # lines per row of cells (the last one a gap when > 1)


def hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def leaf(axis: str) -> str:
    return axis.rsplit(".", 1)[-1]


def goodness(surface: Surface, mean: float) -> float:
    """0 for the worst mean of the surface, 1 for the best (0.5 when all are equal)."""
    span = surface.range()
    if span is None or span[1] == span[0]:
        return 0.5
    frac = (mean - span[0]) / (span[1] - span[0])
    return frac if surface.goal == "max" else 1 - frac


def value_text(cell: Cell | None, spread: bool) -> str:
    """What a finished cell says: '0.953', '0.953 ±0.012', '0.9!', '✗' ('' when empty)."""
    if cell is None:
        return ""
    stat = cell.group.stat
    mark = TROUBLED if cell.group.troubled else ""
    if stat is None:
        return FAILED
    text = f"{stat.mean:.3g}"
    if spread and stat.n > 1:
        text += f" ±{stat.std:.2g}"
    return text + mark


@dataclass(frozen=True)
class GridLayout:
    """Where the cells are: the widget's content is label column + visible cells."""
    label_width: int
    cell_width: int
    cell_height: int          # lines per row of cells, gap included
    cols: range               # indices of the x values shown
    rows: range               # indices of the y values shown
    top: int = 1              # lines above the first row of cells (the x labels)

    def cell_at(self, x: int, y: int) -> tuple[int, int] | None:
        """The (column, row) index under a content offset, if any."""
        if x < self.label_width or y < self.top:
            return None
        col = self.cols.start + (x - self.label_width) // self.cell_width
        row = self.rows.start + (y - self.top) // self.cell_height
        if col in self.cols and row in self.rows:
            return col, row
        return None


class Heatmap(Widget, can_focus=True):
    """A surface as a grid of coloured cells with axis labels, values and a legend."""

    DEFAULT_CSS = """
    Heatmap {
        height: 1fr;
        min-height: 5;
        border-top: solid $panel-lighten-2;
        border-title-align: left;
        border-title-color: $text;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    Heatmap:focus {
        border-top: solid $accent;
    }
    """

    BINDINGS = [
        Binding("left", "move(-1, 0)", "Cell", show=False),
        Binding("right", "move(1, 0)", "Cell", show=False),
        Binding("up", "move(0, -1)", "Cell", show=False),
        Binding("down", "move(0, 1)", "Cell", show=False),
        Binding("home", "jump('home')", "First cell", show=False),
        Binding("end", "jump('end')", "Last cell", show=False),
        Binding("enter", "choose", "Open run"),
    ]

    class _CellMessage(Message):
        def __init__(self, heatmap: Heatmap, x: Any, y: Any) -> None:
            super().__init__()
            self.heatmap, self.x, self.y = heatmap, x, y

        @property
        def control(self) -> Heatmap:
            return self.heatmap

    class CursorMoved(_CellMessage):
        """The cursor is on the cell (x value, y value)."""

    class CellChosen(_CellMessage):
        """Enter (or a click on the cursor's cell) on the cell (x value, y value)."""

    def __init__(self, *, empty_message: str = "nothing to show yet", name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.empty_message = empty_message
        self.surface: Surface | None = None
        self.running: dict[tuple, float | None] = {}
        self.spread = False
        self.message = ""
        self.cursor = (0, 0)               # (column, row) indices into xs, ys
        self.layout_shown: GridLayout | None = None
        self._col_start = 0
        self._row_start = 0

    # ------------------------------------------------------------ data in

    def show(self, surface: Surface | None, *, running: Mapping[tuple, float | None] = {},
             spread: bool = False, message: str = "") -> None:
        """Draw `surface`; `running` maps (x, y) values of running cells to their progress
        (0..1, or None when unknown).  The cursor stays on the same values if it can."""
        old = self.cursor_values()
        self.surface = surface
        self.running = {(hashable(x), hashable(y)): p for (x, y), p in running.items()}
        self.spread = spread
        self.message = message
        if surface is not None:
            self.border_title = self._title(surface)
            if old is not None:
                self.cursor = self._index_of(old, surface)
            self.cursor = (min(self.cursor[0], max(0, len(surface.xs) - 1)),
                           min(self.cursor[1], max(0, len(surface.ys) - 1)))
        else:
            self.border_title = ""
        self.refresh()
        if surface is not None and self.cursor_values() != old:
            self._announce()

    def _title(self, s: Surface) -> str:
        better = "higher" if s.goal == "max" else "lower"
        what = "mean ±std over seeds" if self.spread else "mean over seeds"
        return f"[b]{s.metric}[/b] · {what} · {better} is better"

    @staticmethod
    def _index_of(values: tuple[Any, Any], s: Surface) -> tuple[int, int]:
        x, y = hashable(values[0]), hashable(values[1])
        col = next((i for i, v in enumerate(s.xs) if hashable(v) == x), 0)
        row = next((i for i, v in enumerate(s.ys) if hashable(v) == y), 0)
        return col, row

    # ------------------------------------------------------------ what is under the cursor

    def cursor_values(self) -> tuple[Any, Any] | None:
        s = self.surface
        if s is None or not s.xs or not s.ys:
            return None
        col, row = self.cursor
        if col >= len(s.xs) or row >= len(s.ys):
            return None
        return s.xs[col], s.ys[row]

    def cursor_cell(self) -> Cell | None:
        values = self.cursor_values()
        return self.surface.cell(*values) if values is not None else None

    def is_running(self, x: Any, y: Any) -> bool:
        return (hashable(x), hashable(y)) in self.running

    # ------------------------------------------------------------ keys and mouse

    def move_to(self, col: int, row: int) -> None:
        s = self.surface
        if s is None or not s.xs or not s.ys:
            return
        cursor = (max(0, min(len(s.xs) - 1, col)), max(0, min(len(s.ys) - 1, row)))
        if cursor != self.cursor:
            self.cursor = cursor
            self.refresh()
            self._announce()

    def action_move(self, dx: int, dy: int) -> None:
        self.move_to(self.cursor[0] + dx, self.cursor[1] + dy)

    def action_jump(self, where: str) -> None:
        s = self.surface
        if s is None:
            return
        if where == "home":
            self.move_to(0, 0)
        else:
            self.move_to(len(s.xs) - 1, len(s.ys) - 1)

    def action_choose(self) -> None:
        values = self.cursor_values()
        if values is not None:
            self.post_message(self.CellChosen(self, *values))

    def _announce(self) -> None:
        values = self.cursor_values()
        if values is not None:
            self.post_message(self.CursorMoved(self, *values))

    def on_click(self, event: events.Click) -> None:
        layout = self.layout_shown
        offset = event.get_content_offset(self)
        if layout is None or offset is None:
            return
        hit = layout.cell_at(offset.x, offset.y)
        if hit is None:
            return
        if hit == self.cursor:
            self.action_choose()
        else:
            self.move_to(*hit)

    # ------------------------------------------------------------ drawing

    def grid_layout(self, width: int, height: int) -> GridLayout:
        """Cell sizes and the window of cells that fits, keeping the cursor in view."""
        s = self.surface
        ylabels = [fmt(v) for v in s.ys]
        corner = f"{leaf(s.y)}╲{leaf(s.x)}"
        label_width = min(max([len(corner), *map(len, ylabels)]) + 1, max(6, width // 3))
        texts = [value_text(c, self.spread) for c in s.cells.values()]
        widest = max([len(t) + 1 for t in texts] + [len(fmt(v)) for v in s.xs] + [6])
        if self.app.no_color:
            widest += 2                            # the shade character and a space
        cell_width = widest + 2                   # the cursor's brackets
        room = max(1, width - label_width)
        if cell_width * len(s.xs) <= room:        # stretch to fill, within reason
            cell_width = max(cell_width, min(MAX_CELL_WIDTH, room // max(1, len(s.xs))))
        cell_width = min(cell_width, room)
        ncols = max(1, room // cell_width)
        legend = 2 if s.hidden else 1
        rows_room = max(1, height - 1 - legend)
        cell_height = max(1, min(MAX_CELL_HEIGHT, rows_room // max(1, len(s.ys))))
        nrows = max(1, rows_room // cell_height)
        col, row = self.cursor
        self._col_start = _window(self._col_start, col, ncols, len(s.xs))
        self._row_start = _window(self._row_start, row, nrows, len(s.ys))
        return GridLayout(label_width, cell_width, cell_height,
                      range(self._col_start, min(len(s.xs), self._col_start + ncols)),
                      range(self._row_start, min(len(s.ys), self._row_start + nrows)))

    def render(self) -> Text:
        s = self.surface
        width, height = self.content_size.width, self.content_size.height
        if s is None or not s.xs or not s.ys:
            self.layout_shown = None
            return Text(self.message or self.empty_message, style="dim")
        lay = self.grid_layout(width, height)
        self.layout_shown = lay
        mono = self.app.no_color
        focused = self.has_focus
        cursor_col, cursor_row = self.cursor
        text = Text(no_wrap=True, overflow="crop", end="")

        # x labels (the column under the cursor in bold), and arrows where cells are hidden
        corner = f"{leaf(s.y)}╲{leaf(s.x)}"
        text.append(_fit(corner, lay.label_width - 1).ljust(lay.label_width), style="dim")
        for i in lay.cols:
            label = _fit(fmt(s.xs[i]), lay.cell_width - 1)
            pad = lay.cell_width - 1 - len(label)
            text.append(" " * (pad // 2))
            text.append(label, style="bold reverse" if i == cursor_col else "bold")
            text.append(" " * (pad - pad // 2 + 1))
        more = []
        if lay.cols.start > 0:
            more.append(f"◀{lay.cols.start}")
        if lay.cols.stop < len(s.xs):
            more.append(f"{len(s.xs) - lay.cols.stop}▶")
        if more:
            text.append(" ".join(more), style="dim")
        text.append("\n")

        colored = lay.cell_height - (1 if lay.cell_height > 1 else 0)
        middle = (colored - 1) // 2
        for j in lay.rows:
            for line in range(lay.cell_height):
                label = _fit(fmt(s.ys[j]), lay.label_width - 1) if line == middle else ""
                text.append(" " * (lay.label_width - 1 - len(label)))
                text.append(label, style="bold reverse" if j == cursor_row else "bold")
                text.append(" ")
                if line >= colored:            # the gap between rows of cells
                    text.append("\n")
                    continue
                for i in lay.cols:
                    at_cursor = (i, j) == (cursor_col, cursor_row)
                    content, style = self.cell_look(s, i, j, mono, show_text=line == middle)
                    inner = lay.cell_width - 3
                    body = _fit(content, inner).center(inner)
                    left, right = " ", " "
                    if at_cursor and (focused or line == middle):
                        left, right = "[", "]"
                        style = f"{style} bold"
                    text.append(f"{left}{body}{right}", style=style)
                    text.append(" ")
                text.append("\n")
        text.append_text(self._legend(s, lay, mono))
        return text

    def cell_look(self, s: Surface, i: int, j: int, mono: bool,
                  show_text: bool) -> tuple[str, str]:
        """(text, Rich style) of the cell at column i, row j of surface `s`."""
        x, y = s.xs[i], s.ys[j]
        cell = s.cell(x, y)
        running = self.running.get((hashable(x), hashable(y)), -1.0)
        is_running = running != -1.0
        stat = cell.group.stat if cell is not None else None
        if stat is None:
            if is_running:
                progress = f" {running * 100:.0f}%" if isinstance(running, float) else ""
                return (f"{RUNNING}{progress}" if show_text else "", "bold on #303030")
            if cell is not None:                      # every seed diverged or failed
                return (FAILED if show_text else "", "bold red on #3a1010")
            return (PENDING if show_text else "", "#8a8a8a on #262626")
        good = goodness(s, stat.mean)
        content = value_text(cell, self.spread)
        if is_running:
            content = RUNNING + content               # more seeds of it are running
        if mono:
            content = f"{shade(good)} {content}"
        fg = "#000000" if good >= 0.55 else "#ffffff"
        return (content if show_text else "", f"{fg} on {ramp_color(good)}")

    def _legend(self, s: Surface, lay: GridLayout, mono: bool) -> Text:
        """The colour scale (worst to best) and what the marks mean, cut to the width."""
        width = self.content_size.width - lay.label_width
        span = s.range()
        scale = Text(no_wrap=True, end="")
        if span is not None:
            worst, best = (span[0], span[1]) if s.goal == "max" else (span[1], span[0])
            scale.append(f"worse {fmt(worst, 3)} ", style="dim")
            if mono:
                scale.append(SHADES)
            else:
                for color in RAMP:
                    scale.append("█", style=color)
            scale.append(f" {fmt(best, 3)} better", style="dim")
        marks = [f"{PENDING} to run  {RUNNING} running  {TROUBLED} diverged/failed",
                 f"{PENDING} to run {RUNNING} running {TROUBLED} failed", ""]
        window = ""
        if lay.rows.start > 0 or lay.rows.stop < len(s.ys):
            window = f"rows {lay.rows.start + 1}-{lay.rows.stop} of {len(s.ys)}"
        text = Text(no_wrap=True, end="")
        text.append(" " * lay.label_width)
        text.append_text(scale)
        for mark in marks:
            tail = "   ".join(p for p in (mark, window) if p)
            if len(scale) + 3 + len(tail) <= width or not mark:
                if tail:
                    text.append(("   " if len(scale) else "") + tail, style="dim")
                break
        if s.hidden:
            text.append("\n" + " " * lay.label_width)
            text.append(f"each cell: the best over {', '.join(s.hidden)}", style="dim")
        return text


def _window(start: int, cursor: int, size: int, total: int) -> int:
    """The first index shown of a window of `size` that keeps `cursor` in view."""
    if cursor < start:
        start = cursor
    elif cursor >= start + size:
        start = cursor - size + 1
    return max(0, min(start, max(0, total - size)))


def _fit(text: str, width: int) -> str:
    if width <= 0:
        return ""
    return text if len(text) <= width else text[:max(0, width - 1)] + "…"
