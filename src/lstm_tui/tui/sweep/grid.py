"""The Sweep screen's Grid view: the heatmap of a sweep over two axes, and a cell's runs.

The best metric (mean over seeds; spread on demand) over two axes, the other axes folded
(best of them) or pinned to a value; cells appear as points finish and running cells are
marked.  The runs of the cell under the cursor are listed under it; Enter opens the
cell's best run (or a listed one): the view posts
:class:`~lstm_tui.tui.messages.RunPicked` and the screen opens it.

The screen hands the sweep down in ``shown`` (a :class:`~lstm_tui.tui.sweep.state.Shown`);
the view redraws when it or one of its own choices (axes, pins, spread) changes.
Nothing here imports torch.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Label, Select, Static

from lstm_tui.numbers import fmt
from lstm_tui.sweeps.runner import is_run_name
from lstm_tui.sweeps.spec import show_value
from lstm_tui.tui.messages import RunPicked
from lstm_tui.tui.sweep.state import (SEED, Shown, SweepState, cell_rows, running_cells,
                                      surface_view)
from lstm_tui.tui.widgets.heatmap import Heatmap, leaf

BEST = "best"                # an extra axis folded into the cells (the best of it shown)


class GridView(Vertical):
    """Heatmap of the column shown over x and y, pins for the other axes, a cell's runs."""

    shown: reactive[Shown] = reactive(Shown(None), init=False)
    spread: reactive[bool] = reactive(False, init=False)
    message: reactive[str] = reactive("", init=False)   # shown when there is no sweep

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.x = self.y = ""
        self.fixed: dict[str, Any] = {}      # extra axis -> BEST or a value index
        self._axes: tuple = ()
        self._fixed_signature: tuple = ()
        self._fixed_lock = asyncio.Lock()

    def compose(self) -> ComposeResult:
        with Horizontal(classes="view-controls"):
            yield Label("x", classes="lbl")
            yield Select([], prompt="–", id="grid-x", compact=True)
            yield Label("y", classes="lbl gap")
            yield Select([], prompt="–", id="grid-y", compact=True)
            yield Horizontal(id="grid-fixed")
        yield Heatmap(id="sweep-heatmap", empty_message="no sweep yet: define its axes "
                      "(1), or open a sweep folder (o)")
        yield Static(id="cell-info")
        yield DataTable(id="cell-runs", cursor_type="row", zebra_stripes=True)

    # ------------------------------------------------------------ state coming down

    @property
    def state(self) -> SweepState | None:
        return self.shown.state

    def watch_shown(self, old: Shown, new: Shown) -> None:
        if new.state is not old.state or tuple(new.state.axes if new.state else ()) != self._axes:
            self._new_axes(new.state)
        self.redraw()

    def watch_spread(self) -> None:
        self.redraw()

    def watch_message(self) -> None:
        self.redraw()

    def swap_axes(self) -> None:
        if self.state is None:
            return
        self.x, self.y = self.y, self.x
        self._axes_changed()

    def where(self) -> dict[str, Any]:
        """The pinned axes and their values."""
        state = self.state
        if state is None:
            return {}
        return {axis: state.planned(axis)[choice] for axis, choice in self.fixed.items()
                if choice != BEST and axis not in (self.x, self.y)}

    # ------------------------------------------------------------ axes and pins

    def _new_axes(self, state: SweepState | None) -> None:
        if state is None:
            self._axes = ()
            self.x = self.y = ""
            for select_id in ("#grid-x", "#grid-y"):
                self._set_select(select_id, [], None)
            self._build_fixed(None)
            return
        if tuple(state.axes) != self._axes:       # new axes: the view starts afresh
            self._axes = tuple(state.axes)
            self.x, self.y = state.default_xy()
            self.fixed = {}
        elif not ({self.x, self.y} <= set(state.view_axes()) and self.x != self.y):
            self.x, self.y = state.default_xy()
        self._axes_changed()

    def _axes_changed(self) -> None:
        state = self.state
        if state is None:
            return
        options = [(leaf(a) if a != SEED else "seed (each run)", a) for a in state.view_axes()]
        self._set_select("#grid-x", options, self.x)
        self._set_select("#grid-y", options, self.y)
        self._build_fixed(state)
        self.redraw()

    def _set_select(self, selector: str, options: list, value: Any) -> None:
        select = self.query_one(selector, Select)
        with select.prevent(Select.Changed):
            select.set_options(options)
            if value is not None:
                select.value = value

    def _build_fixed(self, state: SweepState | None) -> None:
        """One selector per axis that is neither x nor y: the best of it, or one value."""
        axes = [] if state is None else [a for a in state.axes if a not in (self.x, self.y)
                                         and len(state.planned(a)) > 1]
        planned = {a: state.planned(a) for a in axes}
        self.fixed = {a: self.fixed.get(a, BEST) for a in axes}
        self.fixed = {a: c if c == BEST or c < len(planned[a]) else BEST
                      for a, c in self.fixed.items()}
        signature = tuple((a, tuple(fmt(v) for v in planned[a])) for a in axes)
        if signature == self._fixed_signature:
            return
        self._fixed_signature = signature
        self.run_worker(self._mount_fixed(signature, dict(self.fixed)), group="sweep-fixed")

    async def _mount_fixed(self, signature: tuple, choices: dict[str, Any]) -> None:
        async with self._fixed_lock:              # one rebuild at a time, the last one wins
            if signature != self._fixed_signature:
                return
            box = self.query_one("#grid-fixed", Horizontal)
            await box.remove_children()
            widgets = []
            for axis, labels in signature:
                options = [("best of all", BEST)] + [(label, i) for i, label in
                                                     enumerate(labels)]
                widgets.append(Label(leaf(axis), classes="lbl gap"))
                widgets.append(Select(options, value=choices.get(axis, BEST),
                                      allow_blank=False, compact=True, classes="fixed-axis",
                                      name=axis))
            if widgets:
                await box.mount_all(widgets)

    @on(Select.Changed, "#grid-x, #grid-y")
    def _grid_axes_changed(self, event: Select.Changed) -> None:
        event.stop()
        if not isinstance(event.value, str) or self.state is None:
            return
        new = event.value
        if event.select.id == "grid-x":
            if new == self.y:
                self.y = self.x
            self.x = new
        else:
            if new == self.x:
                self.x = self.y
            self.y = new
        self._axes_changed()

    @on(Select.Changed, ".fixed-axis")
    def _fixed_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.fixed[event.select.name] = event.value
        self.redraw()

    # ------------------------------------------------------------ drawing

    def redraw(self) -> None:
        if not self.is_mounted:
            return
        heatmap = self.query_one(Heatmap)
        state, column = self.state, self.shown.column
        if state is None:
            heatmap.show(None, message=self.message)
            self._show_cell()
            return
        where = self.where()
        s = surface_view(state, self.x, self.y, column, where)
        heatmap.show(s, running=running_cells(state, self.x, self.y, where),
                     spread=self.spread)
        self._show_cell()

    @on(Heatmap.CursorMoved)
    def _cursor_moved(self) -> None:
        self._show_cell()

    def _show_cell(self) -> None:
        """The cursor's cell: a line about it and a table of its runs."""
        info = self.query_one("#cell-info", Static)
        table = self.query_one("#cell-runs", DataTable)
        heatmap = self.query_one(Heatmap)
        values = heatmap.cursor_values()
        state = self.state
        if state is None or values is None:
            info.update("")
            table.clear(columns=True)
            table.display = False
            return
        xv, yv = values
        column = self.shown.column
        where = self.where()
        rows = cell_rows(state, self.x, self.y, xv, yv, column, where)
        cell = heatmap.cursor_cell()
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"{leaf(self.x)}={show_value(xv)} {leaf(self.y)}={show_value(yv)}",
                    style="bold")
        for axis, value in where.items():
            line.append(f" {leaf(axis)}={show_value(value)}", style="bold")
        if cell is not None and cell.group.stat is not None:
            st = cell.group.stat
            line.append(f"  {column.replace('_', ' ')} {fmt(st.mean)}")
            if st.n > 1:
                line.append(f" ±{fmt(st.std, 2)} over {st.n} seeds "
                            f"(min {fmt(st.min, 3)}, max {fmt(st.max, 3)})")
            if cell.covered > 1:
                best_of = " ".join(f"{leaf(a)}={show_value(cell.group.values[a])}"
                                   for a in cell.group.values if a not in (self.x, self.y))
                line.append(f"  best of {cell.covered}: {best_of}", style="dim")
            if cell.group.troubled:
                line.append(f"  {cell.group.troubled} diverged/failed", style="red")
            pruned = cell.group.statuses.count("pruned")
            if pruned:      # stopped early by the scheduler: its figure is the best it reached
                line.append(f"  {pruned} of {len(cell.group.statuses)} pruned", style="blue")
        elif any(r["status"] == "running" for r in rows):
            line.append("  running", style="cyan")
        elif cell is not None:
            line.append("  no number: " + ", ".join(sorted(set(cell.group.statuses))),
                        style="red")
        else:
            line.append("  not run yet", style="dim")
        if rows:
            line.append("  · enter opens the best run; tab to the list", style="dim")
        info.update(line)
        self._fill_runs(table, rows, state, column)

    def _fill_runs(self, table: DataTable, rows: list[dict], state: SweepState,
                   column: str) -> None:
        extra = [a for a in state.axes if a not in (self.x, self.y)]
        columns = ["point", *(leaf(a) for a in extra), "seed", "status",
                   column.replace("_", " "), "steps", "sec"]
        if [str(c.label) for c in table.columns.values()] != columns:
            table.clear(columns=True)
            for c in columns:
                table.add_column(c, key=c)
        else:
            table.clear()
        for r in rows:
            status = r.get("status", "")
            if status == "running" and r.get("_progress") is not None:
                status = f"running {r['_progress'] * 100:.0f}%"
            style = {"running": "cyan", "diverged": "magenta", "failed": "red", "pruned": "blue",
                     "interrupted": "yellow"}.get(status.split()[0] if status else "", "")
            run = str(r.get("run", ""))
            table.add_row(fmt(run.split("-", 1)[0]),
                          *(show_value(r.get(a)) for a in extra),
                          show_value(r.get(SEED)), Text(status, style=style),
                          Text(fmt(r.get(column)), justify="right"),
                          Text(show_value(r.get("steps", "")), justify="right"),
                          Text(fmt(r.get("seconds"), 3) if r.get("seconds") is not None
                               else "", justify="right"),
                          key=run or None)
        table.display = bool(rows)

    # ------------------------------------------------------------ opening runs

    def _run_path(self, run: str) -> Path | None:
        if not is_run_name(run) or self.state is None:
            return None
        return self.state.sweep_dir / run

    @on(Heatmap.CellChosen)
    def _cell_chosen(self, event: Heatmap.CellChosen) -> None:
        event.stop()
        state = self.state
        if state is None:
            return
        rows = cell_rows(state, self.x, self.y, event.x, event.y, self.shown.column,
                         self.where())
        if not rows:
            self.notify("this cell has not run yet", title="Sweep", severity="warning")
            return
        self._pick(self._run_path(str(rows[0].get("run", ""))))

    @on(DataTable.RowSelected, "#cell-runs")
    def _run_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._pick(self._run_path(str(event.row_key.value or "")))

    def _pick(self, path: Path | None) -> None:
        if path is not None:
            self.post_message(RunPicked(path))
