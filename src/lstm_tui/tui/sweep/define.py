"""The Sweep screen's Define view: the axes of a sweep, typed from a config's keys.

Pick a config key (``config.field_specs`` of the task, model and train dataclasses) and
type its values (comma-separated, parsed like ``--set`` and checked with
``config.check_value``), or a numeric range (low, high, count, log); seeds per point,
metric and goal, backend and workers.  The point count follows every change, and every
problem is the one-line message of the headless ``lstm-lab sweep`` (the table is checked
by the same ``parse_sweep``).

The view owns the definition (``base`` config and the ``[sweep]`` table) and posts
:class:`~lstm_tui.tui.messages.SweepDefined` whenever it changes, and
:class:`~lstm_tui.tui.messages.SweepFolderPicked` when a ``sweep-*`` folder is chosen;
the screen decides what follows.  Nothing here imports torch.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Select, Static

from lstm_tui.config import ConfigError, RunConfig, allowed, parse_value
from lstm_tui.expect import sweep as expect
from lstm_tui.sweeps.backends import backend_names, make_backend
from lstm_tui.sweeps.runner import columns_for
from lstm_tui.sweeps.spec import SPACE_SEARCHES, SweepSpec, parse_sweep, show_value
from lstm_tui.tui.messages import SweepDefined, SweepFolderPicked
from lstm_tui.tui.sweep.process import SOURCE
from lstm_tui.tui.sweep.state import (current_value, describe_random, grid_size, metric_options,
                                      parse_axis_values, range_values, sweep_folders, sweep_keys)
from lstm_tui.tui.widgets.check import Check


class DefineView(Vertical):
    """The definition of a sweep: axes, seeds, metric and goal, backend and workers."""

    def __init__(self, root: Path, config: RunConfig, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.root = Path(root)
        self.base = dataclasses.replace(config, sweep=None)
        self.table: dict = copy.deepcopy(config.sweep) if config.sweep else {"grid": {}}
        self.backend = "sequential"
        self.n_workers = 1
        self.spec: SweepSpec | None = None
        self.error = ""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label("axis", classes="lbl")
            yield Select([], prompt="config key…", id="axis-key", compact=True)
            yield Label("values", classes="lbl gap")
            yield Input(placeholder="comma-separated, e.g. 5, 10, 20",
                        id="axis-values", compact=True)
            yield Button("Add", id="axis-add", compact=True)
        with Horizontal(classes="row"):
            yield Label("or a range", classes="lbl")
            yield Input(placeholder="low", id="range-low", compact=True)
            yield Input(placeholder="high", id="range-high", compact=True)
            yield Input(placeholder="count", id="range-count", compact=True)
            yield Check("log", id="range-log", compact=True)
            yield Button("Add range", id="range-add", compact=True)
        yield Static(id="axis-message")
        yield DataTable(id="axes-table", cursor_type="row", zebra_stripes=True)
        with Horizontal(classes="row"):
            yield Label("seeds per point", classes="lbl")
            yield Input(id="seeds", compact=True, restrict=r"[0-9]*")
            yield Label("metric", classes="lbl gap")
            yield Select([(m, m) for m in metric_options(self.base.task.kind)],
                         allow_blank=False, id="metric", compact=True)
            yield Label("goal", classes="lbl gap")
            yield Select([("max", "max"), ("min", "min")], allow_blank=False,
                         id="goal", compact=True)
        with Horizontal(classes="row"):
            yield Label("backend", classes="lbl")
            yield Select([(b, b) for b in backend_names()], value="sequential",
                         allow_blank=False, id="backend", compact=True)
            yield Label("workers", classes="lbl gap")
            yield Input("1", id="workers", compact=True, restrict=r"[0-9]*")
            yield Static(id="point-count")
            yield Button("Launch", id="launch", variant="primary", compact=True)
        with Horizontal(classes="row"):
            yield Label("open a sweep", classes="lbl")
            yield Select([], prompt="sweep-* folders of the run store",
                         id="open-sweep", compact=True)

    def on_mount(self) -> None:
        self._fill()
        self.refresh_folders()
        self._respec(loaded=True)

    # ------------------------------------------------------------ public

    @property
    def config(self) -> RunConfig:
        """The config with the sweep table as defined now.  A preset's [expect] goes with
        it while it fits the axes; one that names an axis or value edited away is left
        out (the sweep is not judged) rather than refusing the launch."""
        cfg = dataclasses.replace(self.base, sweep=copy.deepcopy(self.table))
        if cfg.expect is None:
            return cfg
        try:
            spec = parse_sweep(cfg, SOURCE)
            expect.check(spec, columns_for(spec), cfg.expect, SOURCE)
        except ConfigError:
            return dataclasses.replace(cfg, expect=None)
        return cfg

    def load(self, cfg: RunConfig) -> None:
        """Start over from a config (an opened sweep folder's definition)."""
        self.base = dataclasses.replace(cfg, sweep=None)
        self.table = copy.deepcopy(cfg.sweep) or {"grid": {}}
        self._fill()
        self._respec(loaded=True)

    def say(self, message: str | Text = "", error: bool = False) -> None:
        """The line under the axis fields: a message, or help about the key chosen."""
        widget = self.query_one("#axis-message", Static)
        widget.set_class(error, "-error")
        if message:                      # plain text: "[optuna]" is no markup
            widget.update(Text(message) if isinstance(message, str) else message)
            return
        key = self._axis_key()
        if key is None:
            widget.update("pick a config key, type its values (or a range) and press Enter; "
                          "delete removes the axis under the cursor")
            return
        spec = dict(sweep_keys(self.base))[key]
        hint = ""
        if spec.kind == "choice":
            hint = "; e.g. " + ", ".join(spec.choices)
        elif spec.kind == "bool":
            hint = "; e.g. false, true"
        widget.update(Text.assemble((key, "bold"), f": {spec.help} — {allowed(spec)} "
                                    f"(now {show_value(current_value(self.base, key))}){hint}"))

    def backend_problem(self) -> str:
        """The backend's own complaint about the choice ('' when it is fine)."""
        try:
            make_backend(self.backend, self.n_workers)
        except ConfigError as exc:
            self.say(str(exc), error=True)
            return str(exc)
        self.say()
        return ""

    def refresh_folders(self, chosen: Path | None = None) -> list[Path]:
        """The sweep-* folders of the store in the selector (`chosen` selected)."""
        select = self.query_one("#open-sweep", Select)
        folders = sweep_folders(self.root)
        with select.prevent(Select.Changed):
            select.set_options([(p.name, str(p)) for p in folders])
            if chosen is not None and str(chosen) in {str(p) for p in folders}:
                select.value = str(chosen)
        return folders

    def remove_axis(self) -> None:
        """Remove the axis under the cursor of the axes table."""
        table = self.query_one("#axes-table", DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or ""
        where, _, axis = key.partition(":")
        part = self.table.get(where)
        if isinstance(part, dict) and axis in part:
            del part[axis]
            if where == "random" and not [k for k in part if k not in ("samples", "seed")]:
                self.table.pop("random")
        self._fill_axes_table()
        self._respec()
        self.say(Text.assemble("removed ", (axis, "bold")))

    # ------------------------------------------------------------ filling the widgets

    def _fill(self) -> None:
        """Put the config's keys and the table's settings into the widgets."""
        keys = self.query_one("#axis-key", Select)
        with keys.prevent(Select.Changed):
            keys.set_options([(f"{key} = {show_value(current_value(self.base, key))}", key)
                              for key, _ in sweep_keys(self.base)])
        options = metric_options(self.base.task.kind)
        metric = self.table.get("metric", next(iter(options)))
        metric_select = self.query_one("#metric", Select)
        with metric_select.prevent(Select.Changed):
            metric_select.set_options([(m, m) for m in options])
            if metric in options:
                metric_select.value = metric
        goal = self.table.get("goal", options.get(metric, "max"))
        goal_select = self.query_one("#goal", Select)
        with goal_select.prevent(Select.Changed):
            goal_select.value = goal if goal in ("max", "min") else "max"
        seeds = self.query_one("#seeds", Input)
        with seeds.prevent(Input.Changed):
            seeds.value = str(self.table.get("seeds", 1))
        self._fill_axes_table()
        self.say()

    def _fill_axes_table(self) -> None:
        table = self.query_one("#axes-table", DataTable)
        if not table.columns:
            table.add_column("axis", key="axis")
            table.add_column("n", key="n")
            table.add_column("values", key="values")
        row = table.cursor_row
        table.clear()
        for key, values in (self.table.get("grid") or {}).items():
            shown = ", ".join(show_value(v) for v in values) if isinstance(values, list) \
                else show_value(values)
            count = str(len(values)) if isinstance(values, list) else "?"
            table.add_row(key, Text(count, justify="right"), shown, key=f"grid:{key}")
        space = self.table.get("space")
        if isinstance(space, dict):       # search = "tpe" | "random": drawn per trial
            search = self.table.get("search", "?")
            for key, value in space.items():
                table.add_row(key, Text(search, justify="right"),
                              f"{search}: {describe_random(value)} (drawn per trial)",
                              key=f"space:{key}")
        random = self.table.get("random")
        if isinstance(random, dict):
            samples = random.get("samples", "?")
            for key, value in random.items():
                if key in ("samples", "seed"):
                    continue
                table.add_row(key, Text("rnd", justify="right"),
                              f"random: {describe_random(value)} ({samples} draws per grid "
                              "point)", key=f"random:{key}")
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)

    def _respec(self, loaded: bool = False) -> None:
        """Check the definition with parse_sweep (the CLI's messages), count the points
        and tell the screen."""
        self.spec, self.error = None, ""
        try:
            self.spec = parse_sweep(self.config, SOURCE)
        except ConfigError as exc:
            self.error = str(exc)
        count = self.query_one("#point-count", Static)
        if self.spec is not None:
            count.update(_count_text(self.spec))
            count.set_class(False, "-error")
        else:
            empty = not (self.table.get("grid") or self.table.get("random")
                         or self.table.get("space"))
            count.update(Text("add an axis to begin" if empty else self.error))
            count.set_class(not empty, "-error")
        self.post_message(SweepDefined(self.spec, self.error, loaded))

    # ------------------------------------------------------------ axes

    def _axis_key(self) -> str | None:
        value = self.query_one("#axis-key", Select).value
        return value if isinstance(value, str) else None

    @on(Select.Changed, "#axis-key")
    def _axis_key_changed(self) -> None:
        key = self._axis_key()
        values = self.query_one("#axis-values", Input)
        if key is not None:
            current = (self.table.get("grid") or {}).get(key)
            spec = dict(sweep_keys(self.base))[key]
            if isinstance(current, list):
                values.value = ", ".join(show_value(v) for v in current)
            elif spec.kind in ("choice", "bool"):
                values.value = ", ".join(spec.choices) if spec.kind == "choice" \
                    else "false, true"
            else:
                values.value = ""
        self.say()
        if self._axis_key() is not None:
            self._preview()

    @on(Input.Changed, "#axis-values")
    def _values_changed(self) -> None:
        self._preview()

    def _preview(self) -> None:
        """While typing: the values read so far and the point count they would make."""
        key = self._axis_key()
        raw = self.query_one("#axis-values", Input).value
        if key is None or not raw.strip():
            self.say()
            return
        try:
            values = parse_axis_values(key, dict(sweep_keys(self.base))[key], raw)
        except ConfigError as exc:
            self.say(str(exc), error=True)
            return
        trial = {**self.table, "grid": {**(self.table.get("grid") or {}), key: values}}
        n = grid_size(trial)
        self.say(Text.assemble(
            (key, "bold"), f": {len(values)} value{'s' * (len(values) != 1)} "
            f"({', '.join(show_value(v) for v in values)}) → ", (f"{n:,} points", "bold"),
            "; Enter adds the axis"))

    @on(Input.Submitted, "#axis-values")
    @on(Button.Pressed, "#axis-add")
    def add_axis(self) -> None:
        key = self._axis_key()
        if key is None:
            self.say("pick a config key first", error=True)
            return
        try:
            values = parse_axis_values(key, dict(sweep_keys(self.base))[key],
                                       self.query_one("#axis-values", Input).value)
        except ConfigError as exc:
            self.say(str(exc), error=True)
            return
        self._add_axis(key, values)

    @on(Input.Submitted, "#range-low, #range-high, #range-count")
    @on(Button.Pressed, "#range-add")
    def add_range(self) -> None:
        key = self._axis_key()
        if key is None:
            self.say("pick a config key first", error=True)
            return
        if self._searched():             # tpe, random: the range itself is searched
            self._add_axis(key, self._space_range(key))
            return
        try:
            values = range_values(key, dict(sweep_keys(self.base))[key],
                                  self.query_one("#range-low", Input).value,
                                  self.query_one("#range-high", Input).value,
                                  self.query_one("#range-count", Input).value,
                                  self.query_one("#range-log", Checkbox).value)
        except ConfigError as exc:
            self.say(str(exc), error=True)
            return
        with self.query_one("#axis-values", Input).prevent(Input.Changed):
            self.query_one("#axis-values", Input).value = ", ".join(show_value(v) for v in values)
        self._add_axis(key, values)

    def _searched(self) -> bool:
        """Is this a search over [sweep.space] (tpe, random), not a grid?"""
        return self.table.get("search") in SPACE_SEARCHES

    def _space_range(self, key: str) -> dict:
        """The range fields as a [sweep.space] range (parse_sweep checks it)."""
        low = self.query_one("#range-low", Input).value.strip() or "''"
        high = self.query_one("#range-high", Input).value.strip() or "''"
        return {"low": parse_value(low), "high": parse_value(high),
                "log": self.query_one("#range-log", Checkbox).value}

    def _add_axis(self, key: str, values: list | dict) -> None:
        """Add (or replace) a grid axis (a [sweep.space] key for tpe and random), unless
        the sweep would then be invalid."""
        table = copy.deepcopy(self.table)
        random = table.get("random")
        if isinstance(random, dict) and key in random:
            del random[key]              # a key is swept in one place
            if not [k for k in random if k not in ("samples", "seed")]:
                table.pop("random")
        table.setdefault("space" if self._searched() else "grid", {})[key] = values
        try:
            parse_sweep(dataclasses.replace(self.base, sweep=table), SOURCE)
        except ConfigError as exc:
            self.say(str(exc), error=True)
            return
        self.table = table
        self._fill_axes_table()
        self._respec()
        count = "a range" if isinstance(values, dict) else \
            f"{len(values)} value{'s' * (len(values) != 1)}"
        self.say(Text.assemble("added ", (key, "bold"), f" ({count})"))

    # Widgets post Changed with their first value after the view has filled them: the
    # handlers read each widget's value now and change the table only when it differs.

    @on(Input.Changed, "#seeds")
    def _seeds_changed(self) -> None:
        value = parse_value(self.query_one("#seeds", Input).value.strip() or "''")
        if value != self.table.get("seeds", 1):
            self.table["seeds"] = value
            self._respec()

    @on(Select.Changed, "#metric")
    def _metric_changed(self) -> None:
        options = metric_options(self.base.task.kind)
        metric = self.query_one("#metric", Select).value
        if metric == self.table.get("metric", next(iter(options))):
            return
        if metric == next(iter(options)):
            self.table.pop("metric", None)
        else:
            self.table["metric"] = metric
        self.table.pop("goal", None)             # the metric's own goal, unless changed
        goal_select = self.query_one("#goal", Select)
        with goal_select.prevent(Select.Changed):
            goal_select.value = options.get(metric, "max")
        self._respec()

    @on(Select.Changed, "#goal")
    def _goal_changed(self) -> None:
        options = metric_options(self.base.task.kind)
        own = options.get(self.table.get("metric", next(iter(options))), "max")
        goal = self.query_one("#goal", Select).value
        if goal == self.table.get("goal", own):
            return
        if goal == own:
            self.table.pop("goal", None)
        else:
            self.table["goal"] = goal
        self._respec()

    @on(Select.Changed, "#backend")
    def _backend_changed(self) -> None:
        self.backend = str(self.query_one("#backend", Select).value)
        self.backend_problem()

    @on(Input.Changed, "#workers")
    def _workers_changed(self) -> None:
        self.n_workers = parse_value(self.query_one("#workers", Input).value.strip() or "''")
        self.backend_problem()

    @on(Select.Changed, "#open-sweep")
    def _folder_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str):
            self.post_message(SweepFolderPicked(Path(event.value)))


def _count_text(spec: SweepSpec) -> Text:
    if spec.search in SPACE_SEARCHES:
        text = Text()
        text.append(f"{spec.size:,} trial{'s' * (spec.size != 1)}", style="bold")
        text.append(f" = {spec.search} over {len(spec.axes)} key"
                    f"{'s' * (len(spec.axes) != 1)}", style="dim")
        if len(spec.objectives) > 1:
            text.append(f"; Pareto front of {', '.join(m for m, _ in spec.objectives)}",
                        style="dim")
        return text
    sizes = [str(len(v)) for v in spec.grid.values()]
    if spec.random:
        sizes.append(f"{spec.samples} draws")
    if spec.seeds > 1:
        sizes.append(f"{spec.seeds} seeds")
    text = Text()
    text.append(f"{spec.size:,} point{'s' * (spec.size != 1)}", style="bold")
    if len(sizes) > 1:
        text.append(" = " + " × ".join(sizes), style="dim")
    return text
