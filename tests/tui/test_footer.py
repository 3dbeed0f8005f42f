"""The footer is rebuilt only when the keys it shows change (Textual's is rebuilt at every
focus change: about 70 ms of a core per Tab in the Lab's forms)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from lstm_tui.tui.widgets.footer import Footer
from tests.tui.conftest import wait_for


class Zoomable(Static, can_focus=True):
    BINDINGS = [Binding("z", "zoom", "Zoom")]

    def action_zoom(self) -> None:
        pass


class Form(App):
    BINDINGS = [Binding("ctrl+s", "save", "Save")]

    def compose(self) -> ComposeResult:
        yield Input(id="a")
        yield Input(id="b")
        yield Zoomable("plot", id="plot")
        yield Footer()

    def action_save(self) -> None:
        pass


def keys(app: App) -> list[str]:
    return [k.key for k in app.query("FooterKey")]


async def test_focus_between_fields_with_the_same_keys_keeps_the_footer():
    app = Form()
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: "ctrl+s" in keys(app))
        shown = list(app.query("FooterKey"))
        for _ in range(3):
            await pilot.press("tab")        # a, b: the same keys
            await pilot.pause()
            if app.focused.id == "plot":
                break
            assert list(app.query("FooterKey")) == shown      # the very same widgets
        # focus on a widget with a key of its own: the footer shows it, and drops it after
        assert app.focused.id == "plot"
        await wait_for(pilot, lambda: "z" in keys(app))
        assert "z" in keys(app) and "ctrl+s" in keys(app)
        app.query_one("#a", Input).focus()
        await wait_for(pilot, lambda: "z" not in keys(app))
        assert "z" not in keys(app) and "ctrl+s" in keys(app)
