"""The Runs screen: every run in the store, live (a run in detail: ``run_detail.py``).

The store is listed through its index and then polled every POLL_SECONDS in a thread
worker (tui/store_watcher.py) that looks at a few folder mtimes and rereads only the runs
that changed (and the ones still running, whose writer may have died).  A run written by
a headless process in another terminal therefore shows up and moves on by itself.
Nothing here imports torch.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Input, Label, Static
from textual.worker import Worker, WorkerState

from lstm_tui.numbers import fmt
from lstm_tui.runs.reader import RunInfo
from lstm_tui.tasks.registry import samples_text
from lstm_tui.numbers import printable
from lstm_tui.tui.errors import one_line, report_worker_error
from lstm_tui.tui.run_labels import fit
from lstm_tui.tui.screens.compare import CompareScreen
from lstm_tui.tui.screens.polling import PollingScreen
from lstm_tui.tui.screens.run_detail import RunDetailScreen
from lstm_tui.tui.screens.sample import SampleScreen
from lstm_tui.tui.screens import runs_keeping as keeping
from lstm_tui.tui.screens.runs_rows import (COLUMNS, SORTABLE, Column, RunRows,  # noqa: F401
                                            plan_columns)
from lstm_tui.tui.store_watcher import POLL_SECONDS, StoreWatcher
from lstm_tui.tui.widgets.footer import Footer

Clock = Callable[[], float]
CHUNK = 50           # rows added to a rebuilt table at a time (the first: a screenful)
AHEAD = 1000         # rows kept added past the cursor and the view (more as you go down)


class RunsScreen(PollingScreen):
    """Every run in the store as a sortable, filterable, live table."""

    CSS_PATH = "runs.tcss"
    AUTO_FOCUS = "#runs-table"

    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("space", "toggle_mark", "Mark ↓", tooltip="mark the run (c compares the "
                "marked runs) and move to the next"),
        Binding("c", "compare", "Compare"),
        Binding("s", "sample", "Sample", show=False),   # the footer's f4 says Sample
        Binding("i", "inspect", "Inspect"),
        Binding("p", "predict", "Predict", show=False,
                tooltip="use the run on a file: forecast, labels or the next character"),
        Binding("t", "tag", "Tag", tooltip="+tag -tag on the marked runs (or this one)"),
        Binding("n", "note", "Note", show=False, tooltip="write a note on this run"),
        Binding("d,delete", "remove", "Remove", tooltip="move the marked runs (or this one) "
                "to the trash; `lstm-lab restore` brings them back"),
        Binding("slash", "focus_filter", "Filter", show=False),
        Binding("1", "sort(1)", "Sort", key_display="1-8",
                tooltip="sort by column 1-8 (again: reverse); or click a header"),
        *[Binding(str(n), f"sort({n})", f"Sort by {SORTABLE[n - 1].label}", show=False)
          for n in range(2, len(SORTABLE) + 1)],
        Binding("u", "clear_marks", "Unmark all", show=False),
        Binding("r", "reload", "Reload", show=False),
        Binding("escape", "leave_filter", "Back to table", show=False),
    ]

    class Indexing(Message):
        """The first listing is (re)building the store's index: how far it is."""

        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done, self.total = done, total

    class Scanned(Message):
        """The store watcher looked at the store (from a thread worker)."""

        def __init__(self, runs: list[RunInfo] | None, changed: bool, error: str = "") -> None:
            super().__init__()
            self.runs, self.changed, self.error = runs, changed, error

    def __init__(self, root: Path, *, clock: Clock = time.time,
                 poll_seconds: float = POLL_SECONDS, name: str | None = None,
                 id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.root = Path(root)
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.watcher = StoreWatcher(self.root)
        self.runs: list[RunInfo] = []
        self.marked: set[Path] = set()
        self.sort_column = "age"
        self.sort_reverse = False
        self.filter_text = ""
        self.columns_shown: list[str] = []
        self.name_width = 0
        self.loaded = False
        self.scan_count = 0
        self._scanning = False
        self._full_scan = False
        self._shown: list[tuple[str, tuple]] = []
        self.rows = RunRows(self.root)
        self._visible: list[RunInfo] = []     # the rows in order (the first _filled added)
        self._filled = 0
        self._generation = 0
        self._cursor_to: int | None = None    # the row the cursor goes to once it is added
        self._filling = False                 # a _fill is waiting its turn

    def compose(self) -> ComposeResult:
        with Horizontal(id="runs-bar"):
            yield Label("Runs", id="runs-title")
            yield Input(placeholder="filter: name, task, cell or status (/ to focus)",
                        id="runs-filter", compact=True)
            yield Static("", id="runs-count")
        table = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        table.loading = True
        yield table
        yield Static("", id="runs-info")
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.query_one(DataTable), "scroll_y", self._fill_on, init=False)
        self.start_polling()

    # -- polling
    def poll(self, full: bool = False) -> None:
        """Scan the store in a thread unless a scan is under way."""
        self._full_scan |= full
        if not self._scanning:
            self._scanning = True
            full, self._full_scan = self._full_scan, False
            self._scan(full)

    @work(thread=True, group="runs-scan", exit_on_error=False)
    def _scan(self, full: bool = False) -> None:
        try:
            changed = self.watcher.scan(
                lambda done, total: self.post_message(self.Indexing(done, total)), full=full)
            self.post_message(self.Scanned(self.watcher.runs() if changed or not self.loaded
                                           else None, changed))
        except Exception as exc:  # never let a strange folder take the screen down
            self.post_message(self.Scanned(self.watcher.runs(), False, one_line(exc)))

    @on(Indexing)
    def _indexing(self, message: Indexing) -> None:
        if not self.loaded:
            self.query_one("#runs-count", Static).update(
                f"indexing {message.done:,}/{message.total:,} runs")

    @on(Scanned)
    def _scanned(self, message: Scanned) -> None:
        self._scanning = False
        self.scan_count += 1
        if message.error:
            self.notify(message.error, title="Run store", severity="error")
        if message.runs is None:          # nothing changed: only the ages move on
            self._refresh_ages()
            return
        self.runs = message.runs
        self.rows.forget_others(self.runs)
        if not self.loaded:
            self.loaded = True
            self.query_one(DataTable).loading = False
        self.refresh_table()

    def on_screen_resume(self) -> None:   # PollingScreen resumes the timer
        if self.loaded:
            self.poll()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self._scanning = False
            report_worker_error(self, event.worker)

    # -- the table (what each run shows, and in which order: runs_rows.py)
    #
    # With thousands of runs, only what changed is worked out again, a run's cells are
    # made when its row is added, and a rebuilt table is filled CHUNK rows at a time, the
    # first at once and the rest between key presses, up to AHEAD rows past the cursor,
    # so that typing in the filter never waits for 10,000 rows.

    def _header(self, col: Column) -> Text:
        label = col.label
        if col.key == self.sort_column:
            label += " ▼" if self.sort_reverse else " ▲"
        return Text(label, justify=col.justify)

    def visible_runs(self) -> list[RunInfo]:
        """The runs the filter lets through, in the order asked for."""
        return self.rows.visible(self.runs, self.filter_text, self.sort_column,
                                 self.sort_reverse)

    def _cells(self, info: RunInfo) -> dict[str, Text]:
        return self.rows.cells(info, info.path in self.marked, self.clock())

    def _row(self, info: RunInfo) -> list[Text]:
        """The cells of a run's row, in the columns shown (a long name cut to fit)."""
        cells = self._cells(info)
        name = cells["name"]
        if name.cell_len > self.name_width:
            cells["name"] = Text(fit(name.plain, self.name_width), style=name.style)
        return [cells[k] for k in self.columns_shown]

    def visible_columns(self) -> list[Column]:
        """The columns that fit the terminal (see plan_columns)."""
        return [c for c in COLUMNS if c.key in self.columns_shown]

    def _plan(self) -> tuple[list[str], int]:
        """The columns for the width of the table, sized for all runs (not only those the
        filter lets through: the columns stay put while you type)."""
        table = self.query_one(DataTable)
        width = (table.size.width or self.app.size.width) - 2     # the scrollbar's room
        return plan_columns(width, self.rows.natural(self.runs))

    def _build_columns(self) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for col in self.visible_columns():
            table.add_column(self._header(col), key=col.key,
                             width=self.name_width if col.key == "name" else None)
        self._shown = []

    def on_resize(self) -> None:
        if self.loaded:
            self.refresh_table()

    def refresh_table(self) -> None:
        """Show the visible runs: the rows of runs that changed are updated in place, and
        the table is rebuilt only when the set or the order of the runs shown changed (or
        the columns that fit the terminal did)."""
        table = self.query_one(DataTable)
        runs = self.visible_runs()
        keys, name_width = self._plan()
        if (keys, name_width) != (self.columns_shown, self.name_width):
            self.columns_shown, self.name_width = keys, name_width
            self._build_columns()
        marked = self.marked
        shown = [(str(r.path), (r, bool(marked) and r.path in marked)) for r in runs]
        if [k for k, _ in shown] == [k for k, _ in self._shown]:
            for n, ((key, now), (_, before)) in enumerate(zip(shown, self._shown)):
                if n < self._filled and (now[0] is not before[0] or now[1] != before[1]):
                    for column, cell in zip(keys, self._row(now[0])):
                        table.update_cell(key, column, cell)
            self._visible = runs
        else:
            current = self.current_run()
            table.clear()
            self._visible, self._filled = runs, 0
            self._generation += 1
            self._cursor_to = next((n for n, r in enumerate(runs) if current is not None
                                    and r.path == current.path), None)
            self._fill(self._generation, max(CHUNK, self.app.size.height))
        self._shown = shown
        total = len(self.runs)
        count = f"{len(runs)}/{total} runs" if len(runs) != total else f"{total} runs"
        if self.marked:
            count += f" · {len(self.marked)} marked"
        self.query_one("#runs-count", Static).update(count)
        self._update_info()

    def _fill(self, generation: int, rows: int = 0) -> None:
        """Add the next CHUNK rows of a rebuilt table, and more after pending events until
        AHEAD rows past the cursor and the view are there (scrolling on asks for more)."""
        self._filling = False
        if generation != self._generation:
            return                                     # a newer rebuild took over
        table = self.query_one(DataTable)
        end = min(len(self._visible), self._filled + (rows or CHUNK))
        for info in self._visible[self._filled:end]:
            table.add_row(*self._row(info), key=str(info.path))
        self._filled = end
        if self._cursor_to is not None and self._cursor_to < end:   # the run it was on
            table.move_cursor(row=self._cursor_to, animate=False)
            self._cursor_to = None
        self._fill_on()

    def _fill_on(self, *_) -> None:
        """Go on filling when the rows past the cursor or the view run short."""
        table = self.query_one(DataTable)
        view = max(table.size.height, self.app.size.height)   # (0 before the first layout)
        wanted = max(table.cursor_row, int(table.scroll_y) + view, self._cursor_to or 0) + AHEAD
        if not self._filling and self._filled < min(len(self._visible), wanted):
            self._filling = True
            self.call_later(self._fill, self._generation)

    def _refresh_ages(self) -> None:
        """The age column of the rows in view (the rest are right when next drawn)."""
        if "age" not in self.columns_shown:
            return
        table = self.query_one(DataTable)
        first = int(table.scroll_offset.y)
        for info in self._visible[first:min(self._filled, first + table.size.height)]:
            age = self._cells(info)["age"]
            if str(table.get_cell(str(info.path), "age")) != str(age):
                table.update_cell(str(info.path), "age", age)

    def current_run(self) -> RunInfo | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None
        return self.rows.by_key(self.runs, key)

    def _update_info(self) -> None:
        info = self.current_run()
        line = Text()
        if not self.runs and self.loaded:
            line.append(f"No runs under {self.root}/ yet. ", style="bold")
            line.append("Train one with `lstm-lab headless PRESET` or from the Lab screen.")
        elif info is not None:
            if info.error:
                line.append("corrupt: ", style="bold red")
                line.append(printable(info.error))
            else:
                if info.note:      # first: the line is cut at the screen's edge
                    line.append("note: ", style="bold")
                    line.append(printable(info.note) + "  ·  ")
                line.append(printable(str(info.path)), style="dim")
                bits = []
                if info.params:
                    bits.append(f"{info.params:,} params")
                if info.seconds:
                    bits.append(f"{fmt(info.seconds, 3)} s")
                if info.metric and info.final is not None:
                    bits.append(f"final {printable(info.metric)} {fmt(info.final)}")
                if bits:
                    line.append("  ·  " + " · ".join(bits))
        self.query_one("#runs-info", Static).update(line)

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_info()
        self._fill_on()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @on(DataTable.HeaderSelected)
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if any(c.key == key for c in SORTABLE):
            self.sort_by(key)

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.refresh_table()

    @on(Input.Submitted, "#runs-filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    def sort_by(self, key: str) -> None:
        """Sort by a column; the same column again reverses the order."""
        if key == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = key, False
        table = self.query_one(DataTable)
        for col in self.visible_columns():
            table.columns[col.key].label = self._header(col)
        table.refresh()
        self._shown = []
        self.refresh_table()

    # -- actions
    def action_sort(self, n: int) -> None:
        self.sort_by(SORTABLE[n - 1].key)

    def action_focus_filter(self) -> None:
        self.query_one("#runs-filter", Input).focus()

    def action_leave_filter(self) -> None:
        filt = self.query_one("#runs-filter", Input)
        if filt.has_focus:
            self.query_one(DataTable).focus()

    def action_toggle_mark(self) -> None:
        info = self.current_run()
        if info is None:
            return
        self.marked ^= {info.path}
        self.refresh_table()
        table = self.query_one(DataTable)
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def action_clear_marks(self) -> None:
        self.marked.clear()
        self.refresh_table()

    def action_reload(self) -> None:
        self.poll(full=True)

    def action_open(self) -> None:
        info = self.current_run()
        if info is not None:
            self.app.push_screen(RunDetailScreen(self.root, info.path, clock=self.clock))

    def action_compare(self) -> None:
        known = {r.path for r in self.runs}
        paths = [r.path for r in self.visible_runs() if r.path in self.marked]
        paths += sorted(p for p in self.marked if p in known and p not in paths)
        if len(paths) < 2:
            self.notify("Mark two or more runs with space, then press c.",
                        title="Compare", severity="warning")
            return
        self.app.push_screen(CompareScreen(self.root, paths))

    def _targets(self) -> list[RunInfo]:
        """The marked runs, else the one under the cursor."""
        marked = [r for r in self.visible_runs() if r.path in self.marked]
        current = self.current_run()
        return marked or ([current] if current is not None else [])

    def action_tag(self) -> None:
        keeping.ask_tags(self, self._targets())

    def action_note(self) -> None:
        keeping.ask_note(self, self.current_run())

    def action_remove(self) -> None:
        keeping.ask_remove(self, self._targets())

    def action_sample(self) -> None:
        info = self.current_run()
        if info is None:
            return
        if not samples_text(info.task):
            self.notify(f"{info.name} is a {info.task} run; sampling needs a char_lm run.",
                        title="Sample", severity="warning")
            return
        self.app.push_screen(SampleScreen(self.root, info.path))

    def action_inspect(self) -> None:
        info = self.current_run()
        if info is not None:
            from lstm_tui.tui.screens.inspect import InspectScreen
            self.app.push_screen(InspectScreen(self.root, info.path))

    def action_predict(self) -> None:
        info = self.current_run()
        if info is None:
            return
        from lstm_tui.tasks.registry import get
        spec = get(info.task)
        if spec is None or spec.predict is None:
            self.notify(f"{info.name} is a {info.task} run; predict needs a task with a "
                        "predict hook (series, sequence_classification, char_lm).",
                        title="Predict", severity="warning")
            return
        from lstm_tui.tui.screens.predict import PredictScreen
        self.app.push_screen(PredictScreen(self.root, info.path))
