"""A footer that is rebuilt only when the keys it shows change.

Textual's footer rebuilds itself (twenty-odd key widgets mounted and styled anew) at
every change of the screen's bindings, and focus moving from one field to the next is
one: about 70 ms of a core per Tab in the Lab's forms on a 2-core box, for a footer that
shows the same keys.  This one compares what it would show with what it shows first.
"""

from __future__ import annotations

from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    """Textual's Footer, recomposed only when its keys, their state or tooltips change."""

    _shown: tuple | None = None

    def bindings_changed(self, screen) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            shown = tuple((binding, enabled, tooltip) for _, binding, enabled, tooltip
                          in screen.active_bindings.values() if binding.show)
            if shown == self._shown:
                return
            self._shown = shown
        super().bindings_changed(screen)
