"""A one-line numeric slider: keys and the mouse move a knob over a range, in steps.

    T ━━━━━━━━━━●────────────── 0.80

Left/right (or -/+) move one step, shift+left/right or page up/down ten, home/end to
the ends; a click puts the knob under the pointer and dragging moves it.  Every change
posts :class:`Slider.Changed`.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class Slider(Widget, can_focus=True):
    """A focusable slider over [minimum, maximum] that snaps to `step`."""

    BINDINGS = [
        Binding("left,minus", "nudge(-1)", "Lower", show=False),
        Binding("right,plus,equals_sign", "nudge(1)", "Raise", show=False),
        Binding("shift+left,pageup", "nudge(-10)", "Lower x10", show=False),
        Binding("shift+right,pagedown", "nudge(10)", "Raise x10", show=False),
        Binding("home", "to_end(0)", "Minimum", show=False),
        Binding("end", "to_end(1)", "Maximum", show=False),
    ]

    COMPONENT_CLASSES = {"slider--label", "slider--fill", "slider--rest", "slider--knob",
                         "slider--value"}

    DEFAULT_CSS = """
    Slider {
        height: 1;
        width: 1fr;
        min-width: 16;
        padding: 0 1;
    }
    Slider > .slider--label { color: $text-muted; }
    Slider > .slider--fill { color: $primary; }
    Slider > .slider--rest { color: $foreground 30%; }
    Slider > .slider--knob { color: $foreground; text-style: bold; }
    Slider > .slider--value { color: $text; text-style: bold; }
    Slider:focus { background: $boost; }
    Slider:focus > .slider--fill { color: $accent; }
    Slider:focus > .slider--knob { color: $accent; }
    Slider:disabled { opacity: 50%; }
    """

    value: reactive[float] = reactive(0.0, layout=False)

    class Changed(Message):
        """The value moved (by key, mouse or code)."""

        def __init__(self, slider: Slider, value: float) -> None:
            super().__init__()
            self.slider = slider
            self.value = value

        @property
        def control(self) -> Slider:
            return self.slider

    def __init__(self, value: float = 0.0, *, minimum: float = 0.0, maximum: float = 1.0,
                 step: float = 0.05, label: str = "", value_format: str = "{:.2f}",
                 zero_label: str = "", name: str | None = None, id: str | None = None,
                 classes: str | None = None, disabled: bool = False,
                 tooltip: str | None = None) -> None:
        if not maximum > minimum:
            raise ValueError(f"maximum must exceed minimum, got {minimum}..{maximum}")
        if not step > 0:
            raise ValueError(f"step must be > 0, got {step}")
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.minimum, self.maximum, self.step = float(minimum), float(maximum), float(step)
        self.label = label
        self.value_format = value_format
        self.zero_label = zero_label  # shown instead of the number at the minimum
        self._dragging = False
        self.set_reactive(Slider.value, self.validate_value(value))
        if tooltip is not None:
            self.tooltip = tooltip

    # -- the value
    def validate_value(self, value: float) -> float:
        value = min(self.maximum, max(self.minimum, float(value)))
        steps = round((value - self.minimum) / self.step)
        snapped = self.minimum + steps * self.step
        return round(min(self.maximum, snapped), 10)

    def watch_value(self, old: float, new: float) -> None:
        if old != new:
            self.post_message(self.Changed(self, new))

    @property
    def fraction(self) -> float:
        return (self.value - self.minimum) / (self.maximum - self.minimum)

    def action_nudge(self, steps: int) -> None:
        self.value = self.value + steps * self.step

    def action_to_end(self, end: int) -> None:
        self.value = self.maximum if end else self.minimum

    # -- drawing
    def _value_text(self, value: float) -> str:
        if self.zero_label and value == self.minimum:
            return self.zero_label
        return self.value_format.format(value)

    def _value_width(self) -> int:
        return max(len(self._value_text(v)) for v in (self.minimum, self.maximum,
                                                      (self.minimum + self.maximum) / 2))

    def bar_geometry(self) -> tuple[int, int]:
        """(offset of the bar in the content region, bar width in cells)."""
        start = len(self.label) + 1 if self.label else 0
        width = self.content_size.width - start - self._value_width() - 1
        return start, max(2, width)

    def render(self) -> Text:
        start, width = self.bar_geometry()
        knob = round(self.fraction * (width - 1))
        style = self.get_component_rich_style
        text = Text(no_wrap=True, overflow="crop")
        if self.label:
            text.append(self.label + " ", style("slider--label"))
        text.append("━" * knob, style("slider--fill"))
        text.append("●", style("slider--knob"))
        text.append("─" * (width - knob - 1), style("slider--rest"))
        text.append(" " + self._value_text(self.value).rjust(self._value_width()),
                    style("slider--value"))
        return text

    # -- the mouse
    def _value_at(self, x: int) -> float:
        start, width = self.bar_geometry()
        frac = (x - start) / max(1, width - 1)
        frac = min(1.0, max(0.0, frac))
        return self.minimum + frac * (self.maximum - self.minimum)

    def _content_x(self, event: events.MouseEvent) -> int:
        return event.get_content_offset_capture(self).x

    async def _on_mouse_down(self, event: events.MouseDown) -> None:
        if self.disabled:
            return
        event.stop()
        self.focus()
        self._dragging = True
        self.capture_mouse()
        self.value = self._value_at(self._content_x(event))

    async def _on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging:
            self.value = self._value_at(self._content_x(event))

    async def _on_mouse_up(self, event: events.MouseUp) -> None:
        if self._dragging:
            self._dragging = False
            self.release_mouse()

    def on_mouse_release(self, event: events.MouseRelease) -> None:
        self._dragging = False
