"""A form for one config dataclass, built from ``config.field_specs`` alone.

Every field is a row of a grid: name, editor (Input, Select or Checkbox by the field's
kind) and help text, which gives way to the field's error while there is one.  Values are parsed the
way ``--set`` parses them (TOML syntax) and checked with ``config.check_value``, so the
messages are the headless ``check``'s.  A new key in a config class appears here without
UI code.  The form keeps its values while it is not mounted (the Lab mounts its hidden
panes after the first frame), so the config can be read and set at any time.  A field
can be hidden (an option the chosen cell does not take): it goes back to its default, so
what cannot be seen cannot make the config invalid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Container, VerticalScroll
from textual.message import Message
from textual.widgets import Checkbox, Input, Label, Select, Static

from lstm_tui.config import ConfigError, FieldSpec, check_value, field_specs, parse_value
from lstm_tui.numbers import printable
from lstm_tui.tui.widgets.check import Check

Editor = Input | Select | Checkbox


def show_value(spec: FieldSpec, value: Any) -> str:
    """The text an Input shows for a value (TOML-like, as `--set` takes it; a list of
    names, e.g. columns, as plain comma-separated words)."""
    if spec.kind == "list[str]":
        return ", ".join(value)
    if spec.kind.startswith("list"):
        return "[" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v)
                               for v in value) + "]"
    if spec.kind == "float":
        return f"{value:g}" if float(value) == float(f"{value:g}") else repr(value)
    return printable(str(value))     # a preset's name with ESC in it shows as \x1b


def parse_field(spec: FieldSpec, raw: str) -> Any:
    """An Input's text as a value of the field (not yet checked)."""
    if spec.kind == "str":
        return raw
    raw = raw.strip()
    if spec.kind == "list[str]" and not raw.startswith("["):
        return [w.strip().strip("'\"") for w in raw.split(",") if w.strip()]
    if spec.kind.startswith("list") and not raw.startswith("["):
        raw = f"[{raw}]"
    return parse_value(raw)


class ConfigForm(Container):
    """The fields of one config section; `values` holds the valid ones, `errors` the rest."""

    @dataclass
    class Changed(Message):
        """A field of `form` changed (valid or not)."""
        form: ConfigForm
        name: str

    def __init__(self, section: str, cls: type, values: dict | None = None, *,
                 skip: tuple[str, ...] = (), labels: dict[str, dict[str, str]] | None = None,
                 id: str | None = None) -> None:
        super().__init__(id=id, classes="config-form")
        self.section = section
        self.cls = cls
        self.specs = {s.name: s for s in field_specs(cls) if s.name not in skip}
        self.values: dict[str, Any] = {name: s.default for name, s in self.specs.items()}
        self.values.update({k: v for k, v in (values or {}).items() if k in self.specs})
        self.errors: dict[str, str] = {}
        self.cross: tuple[str | None, str] = (None, "")   # an error involving other fields
        self.labels = labels or {}
        self.hidden: set[str] = set()
        self.helps: dict[str, str] = {}     # help shown instead of a field's own

    def key(self, name: str) -> str:
        return f"{self.section}.{name}" if self.section else name

    def compose(self) -> ComposeResult:
        for name, spec in self.specs.items():
            yield Label(name, id=self._wid(name, "name"), classes="field-name")
            yield self._editor(spec, self.values[name])
            yield Static(self.helps.get(name, spec.help), id=self._wid(name, "help"),
                         classes="field-help")

    def on_mount(self) -> None:
        self._show_hidden()
        self._show_errors()

    def _wid(self, name: str, part: str = "input") -> str:
        return f"{self.section or 'run'}-{name}-{part}"

    def _editor(self, spec: FieldSpec, value: Any) -> Editor:
        widget_id = self._wid(spec.name)
        if spec.kind == "bool":
            return Check("", bool(value), id=widget_id, compact=True, classes="field-editor")
        if spec.kind == "choice":
            names = self.labels.get(spec.name, {})
            return Select([(names.get(c, c), c) for c in spec.choices], value=value,
                          allow_blank=False, id=widget_id, compact=True,
                          classes="field-editor")
        return Input(show_value(spec, value), id=widget_id, compact=True,
                     classes="field-editor", tooltip=spec.help, select_on_focus=False)

    # ------------------------------------------------------------ reading the editors

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _edited(self, event: Input.Changed | Select.Changed | Checkbox.Changed) -> None:
        widget = event.control
        name = next((n for n in self.specs if widget.id == self._wid(n)), None)
        if name is None:
            return
        event.stop()
        spec = self.specs[name]
        raw = parse_field(spec, event.value) if isinstance(widget, Input) else event.value
        try:
            self.values[name] = check_value(spec, raw, "", self.key(name))
            self.errors.pop(name, None)
        except ConfigError as exc:
            self.errors[name] = str(exc)
        self._show_errors([name])
        self.post_message(self.Changed(self, name))

    def show_cross_error(self, key: str | None, message: str = "") -> None:
        """Show (or with key None, clear) an error that involves several fields."""
        key = key if key in [self.key(n) for n in self.specs] else None
        old, self.cross = self.cross, (key, message if key else "")
        if old != self.cross:
            self._show_errors([n for n in self.specs if self.key(n) in (old[0], key)])

    def error(self, name: str) -> str:
        """The error shown for field `name` ('' when it is fine)."""
        key, message = self.cross
        return self.errors.get(name) or (message if key == self.key(name) else "")

    def _show_errors(self, names: list[str] | None = None) -> None:
        if not self.is_mounted:
            return      # shown when mounted
        for name in self.specs if names is None else names:
            spec, error = self.specs[name], self.error(name)
            help_ = self.query_one(f"#{self._wid(name, 'help')}", Static)
            text = error or self.helps.get(name, spec.help)
            if str(help_.content) != text:
                help_.update(text)
            help_.set_class(bool(error), "-error")
            self.query_one(f"#{self._wid(name)}").set_class(bool(error), "-invalid")

    # ------------------------------------------------------------ hiding and help

    def hide(self, names: set[str]) -> None:
        """Show only the fields not in `names`; the hidden ones go back to their defaults."""
        names = {n for n in names if n in self.specs}
        self.hidden = names
        back = {n: self.specs[n].default for n in names
                if self.values.get(n) != self.specs[n].default or n in self.errors}
        if back:
            self.set_values(back)
        self._show_hidden()

    def set_help(self, name: str, text: str | None) -> None:
        """Show `text` under field `name` instead of its own help (None: its own again)."""
        if text is None:
            self.helps.pop(name, None)
        else:
            self.helps[name] = text
        self._show_errors([name])

    def _show_hidden(self) -> None:
        if not self.is_mounted:
            return      # shown when mounted
        for name in self.specs:
            for part in ("name", "input", "help"):
                self.query_one(f"#{self._wid(name, part)}").display = name not in self.hidden

    # ------------------------------------------------------------ writing the editors

    def set_values(self, values: dict) -> None:
        """Take these (checked) values and show them; the caller re-checks the whole config."""
        for name, value in values.items():
            if name not in self.specs:
                continue
            self.values[name] = value
            self.errors.pop(name, None)
            if not self.is_mounted:
                continue    # compose shows self.values
            spec, editor = self.specs[name], self.query_one(f"#{self._wid(name)}")
            # the value is known good: no Changed message (and no re-check) per field
            with editor.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
                if isinstance(editor, Checkbox):
                    editor.value = bool(value)
                elif isinstance(editor, Select):
                    editor.value = value
                else:
                    editor.value = show_value(spec, value)
        self._show_errors()


class FormColumn(VerticalScroll, can_focus=False):
    """A scrolling column of form fields that is not a stop of its own: Tab from the tab
    bar lands on the first field (a focused field scrolls itself into view)."""
