"""A heatmap of one recorded quantity (time across, units down) with a cursor.

The arrow keys move the cursor over time steps and units; the view scrolls to keep it
in sight, and each move posts :class:`ActivationMap.CursorMoved` so the screen can show
the exact value.  Drawing is :func:`lstm_tui.render.inspection_view.heatmap`, the same picture
``lstm-lab inspect`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from lstm_tui.render.inspection_view import LABEL_WIDTH, Scale, cell_width, colour_bar, heatmap


@dataclass
class MapData:
    """What the map shows: a T x H matrix, the inputs along time and its name."""
    name: str
    values: list[list[float]]
    tokens: list[str]
    bounded: bool = False      # values lie in [0, 1] (a sigmoid gate)

    @property
    def steps(self) -> int:
        return len(self.values)

    @property
    def units(self) -> int:
        return len(self.values[0]) if self.values else 0


class ActivationMap(Widget, can_focus=True):
    """Time x units heatmap with a cursor; empty until :meth:`show` is called."""

    BINDINGS = [
        Binding("left", "move(-1, 0)", "Step", show=False),
        Binding("right", "move(1, 0)", "Step", show=False),
        Binding("up", "move(0, -1)", "Unit", show=False),
        Binding("down", "move(0, 1)", "Unit", show=False),
        Binding("home", "jump('start')", "First step", show=False),
        Binding("end", "jump('end')", "Last step", show=False),
        Binding("pageup", "page(-1)", "Units up", show=False),
        Binding("pagedown", "page(1)", "Units down", show=False),
    ]

    class CursorMoved(Message):
        def __init__(self, step: int, unit: int) -> None:
            super().__init__()
            self.step, self.unit = step, unit

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.data: MapData | None = None
        self.scale: Scale | None = None
        self.step = self.unit = 0
        self._t0 = self._u0 = 0
        self.message = "nothing loaded"

    # -- what the screen calls
    def show(self, data: MapData, step: int | None = None, unit: int | None = None) -> None:
        self.data = data
        self.scale = Scale.for_values(data.name, data.values,
                                      (data.name,) if data.bounded else ())
        self.step = min(max(0, self.step if step is None else step), max(0, data.steps - 1))
        self.unit = min(max(0, self.unit if unit is None else unit), max(0, data.units - 1))
        self.refresh()
        self.post_message(self.CursorMoved(self.step, self.unit))

    def clear(self, message: str) -> None:
        self.data, self.message = None, message
        self.refresh()

    # -- geometry
    def _window(self) -> tuple[int, int]:
        """How many steps and units fit."""
        assert self.data is not None
        cw = cell_width(self.data.tokens)
        steps = max(1, (self.size.width - LABEL_WIDTH) // (cw + (cw > 1)))
        units = max(1, self.size.height - 3)      # inputs above; ruler, colour bar below
        if steps < self.data.steps or units < self.data.units:
            units = max(1, self.size.height - 4)  # and a line saying what is out of view
        return steps, units

    def hidden_note(self) -> str:
        """What the view leaves out and the keys that scroll to it ("" when all fits)."""
        assert self.data is not None
        steps, units = self._window()
        parts = []
        if steps < self.data.steps:
            last = min(self.data.steps, self._t0 + steps) - 1
            parts.append(f"steps {self._t0}-{last} of {self.data.steps} (←→ Home End)")
        if units < self.data.units:
            last = min(self.data.units, self._u0 + units) - 1
            parts.append(f"units {self._u0}-{last} of {self.data.units} (↑↓ PgUp PgDn)")
        return "shown: " + " · ".join(parts) if parts else ""

    def _scroll_to_cursor(self) -> None:
        steps, units = self._window()
        if self.step < self._t0:
            self._t0 = self.step
        elif self.step >= self._t0 + steps:
            self._t0 = self.step - steps + 1
        if self.unit < self._u0:
            self._u0 = self.unit
        elif self.unit >= self._u0 + units:
            self._u0 = self.unit - units + 1
        self._t0 = max(0, min(self._t0, self.data.steps - steps))
        self._u0 = max(0, min(self._u0, self.data.units - units))

    def render(self) -> Text:
        if self.data is None or not self.data.values or self.scale is None:
            return Text(self.message, style="dim")
        self._scroll_to_cursor()
        steps, units = self._window()
        shown = list(range(self._u0, min(self.data.units, self._u0 + units)))
        picture = heatmap(self.data.values, self.data.tokens, shown, self.scale,
                          width=self.size.width, cursor=(self.step, self.unit),
                          start=self._t0, steps=steps)
        picture.append("\n")
        picture.append_text(colour_bar(self.scale, self.data.name))
        note = self.hidden_note()
        if note:
            picture.append("\n" + note, style="dim italic")
        # one row per line, never wrapped: the rows counted above are the rows shown
        lines = picture.split("\n")
        for line in lines:
            line.truncate(max(1, self.size.width), overflow="crop")
        return Text("\n").join(lines)

    # -- actions
    def _moved(self) -> None:
        self.refresh()
        self.post_message(self.CursorMoved(self.step, self.unit))

    def action_move(self, dt: int, du: int) -> None:
        if self.data is None:
            return
        self.step = min(max(0, self.step + dt), self.data.steps - 1)
        self.unit = min(max(0, self.unit + du), self.data.units - 1)
        self._moved()

    def action_jump(self, where: str) -> None:
        if self.data is None:
            return
        self.step = 0 if where == "start" else self.data.steps - 1
        self._moved()

    def action_page(self, direction: int) -> None:
        if self.data is None:
            return
        _, units = self._window()
        self.unit = min(max(0, self.unit + direction * units), self.data.units - 1)
        self._moved()
