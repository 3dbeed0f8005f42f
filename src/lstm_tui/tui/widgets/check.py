"""A checkbox that reads on or off without colour.

Textual's checkbox marks both states with an X and tells them apart by colour only, so
under NO_COLOR every box looks ticked.  This one draws no X when it is off there.
"""

from __future__ import annotations

from textual.widgets import Checkbox


class Check(Checkbox):
    """A Checkbox whose off state is blank when the app has no colour (NO_COLOR)."""

    def on_mount(self) -> None:
        self._show_mark()

    def watch_value(self) -> None:
        super().watch_value()
        if self.is_attached:
            self._show_mark()

    def _show_mark(self) -> None:
        self.BUTTON_INNER = "X" if self.value or not self.app.no_color else " "
        self.refresh()
