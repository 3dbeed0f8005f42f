"""Dialogs the Runs screen uses to keep the store: a one-line text prompt (tags, a note)
and a yes/no confirmation (moving runs to the trash)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

# the app's dialog classes (app.tcss) style these in the lab; this keeps them usable on
# a screen hosted alone (tests, the standalone screens)
DIALOG_CSS = """
TextPrompt, ConfirmDialog { align: center middle; }
TextPrompt > .dialog, ConfirmDialog > .dialog {
    width: 90%; max-width: 100; height: auto; border: round $primary;
    background: $surface; padding: 0 1;
}
"""


class TextPrompt(ModalScreen[str | None]):
    """One line of text; enter returns it, escape returns None."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "",
                 help: str = "enter: save   escape: cancel") -> None:
        super().__init__(classes="dialog-screen")
        self.title_text, self.value, self.placeholder, self.help = title, value, placeholder, help

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input",
                        select_on_focus=False, compact=True)
            yield Static(self.help, classes="dialog-help")

    @on(Input.Submitted, "#prompt-input")
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)


class ConfirmDialog(ModalScreen[bool]):
    """A question; y or enter confirms, n or escape declines."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("y,enter", "dismiss(True)", "Yes"),
                Binding("n,escape", "dismiss(False)", "No")]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.question, self.detail = question, detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title", id="confirm-question")
            if self.detail:
                yield Static(self.detail, id="confirm-detail")
            yield Static("y: yes   n / escape: no", classes="dialog-help")
