"""Saving the lab's config as a preset (a dialog asks where) and loading one (shipped or a
file)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from lstm_tui.config import ConfigError, RunConfig, load_preset, to_toml
from lstm_tui.fsio import atomic_write_text
from lstm_tui.presets import resolve_preset, shipped_presets
from lstm_tui.numbers import printable


def save_preset(screen: Screen, cfg: RunConfig) -> None:
    """Ask where to save `cfg` as a preset (a name made from it suggested), then write it;
    what happened is said in a notification."""
    def write(path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, to_toml(cfg))
        except OSError as exc:
            screen.notify(f"{path}: {exc.strerror or exc}", title="cannot save",
                          severity="error")
            return
        screen.notify(f"saved {path} (run it with `lstm-lab headless {path}`)", title="preset")

    stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in
                   (cfg.name or f"{cfg.task.kind}-{cfg.model.cell}"))
    screen.app.push_screen(SavePresetScreen(f"{stem}.toml"), lambda path: path and write(path))


class SavePresetScreen(ModalScreen[Path | None]):
    """Asks where to write the preset; returns the path (the lab writes it)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, suggested: str) -> None:
        super().__init__(classes="dialog-screen")
        self.suggested = suggested

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Save the config as a preset (a TOML file that "
                        "`lstm-lab headless FILE` runs as is)", classes="dialog-title")
            with Horizontal(classes="dialog-row"):
                yield Label("file ", classes="dialog-label")
                yield Input(self.suggested, id="save-path", select_on_focus=False,
                            compact=True)
            yield Static("enter: save   escape: cancel", classes="dialog-help")

    @on(Input.Submitted, "#save-path")
    def _submit(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(Path(event.value.strip()).expanduser())


class LoadPresetScreen(ModalScreen[tuple[Path, RunConfig] | None]):
    """Pick a shipped preset or a .toml file here, or type a path; returns it, loaded."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.folder = folder or Path.cwd()

    def compose(self) -> ComposeResult:
        shipped = shipped_presets()
        options = [Option(Text.assemble((p.name, "bold"), "  ", (
            ("sweep, its base config: " if p.is_sweep else "") + printable(p.description),
            "dim")),
            id=str(p.path)) for p in shipped]
        known = {str(p.path.resolve()) for p in shipped}
        options += [Option(Text.assemble((p.name, "bold"), "  ", ("a file here", "dim")),
                           id=str(p)) for p in sorted(self.folder.glob("*.toml"))
                    if str(p.resolve()) not in known]
        with Vertical(classes="dialog tall"):
            yield Label("Load a preset into the forms", classes="dialog-title")
            yield OptionList(*options, id="preset-list")
            with Horizontal(classes="dialog-row"):
                yield Label("or a path ", classes="dialog-label")
                yield Input("", id="load-path", compact=True)
            yield Static("", id="load-error", classes="dialog-error")
            yield Static("enter: load   tab: list / path   escape: cancel",
                         classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one("#preset-list", OptionList).focus()

    @on(OptionList.OptionSelected, "#preset-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self._try(event.option.id or "")

    @on(Input.Submitted, "#load-path")
    def _typed(self, event: Input.Submitted) -> None:
        self._try(event.value.strip())

    def _try(self, ref: str) -> None:
        error = self.query_one("#load-error", Static)
        try:
            path = resolve_preset(ref)
            cfg = load_preset(path)
        except ConfigError as exc:
            error.update(str(exc))
            return
        self.dismiss((path, cfg))
