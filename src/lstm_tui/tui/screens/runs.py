"""The Runs screen: every run in the store, live; and the detail view of one run.

The store is polled every POLL_SECONDS in a thread worker that stats each run's
config.toml, summary.json and metrics.jsonl and rereads only the runs whose files
changed (and the ones still running, whose writer may have died).  A run written by a
headless process in another terminal therefore shows up and moves on by itself.
Nothing here imports torch.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from lstm_tui.tui.screens.polling import PollingScreen
from lstm_tui.report import age as fmt_age
from lstm_tui.report import fmt
from lstm_tui.errors import first_line
from lstm_tui.runs.provenance import display_rows, read_provenance
from lstm_tui.runs.store import (ANNOTATIONS, CONFIG, METRICS, SUMMARY, RunError, RunInfo,
                                 read_info)
from lstm_tui.runs.store import read_summary as store_read_summary
from lstm_tui.runs.tags import TAG_HELP, change_tags, parse_tag_ops, set_note
from lstm_tui.runs.trash import check_removable, move_to_trash
from lstm_tui.task_figures import confusion_lines, result_rows
from lstm_tui.tasks.registry import samples_text
from lstm_tui.tui.screens.store_dialogs import ConfirmDialog, TextPrompt
from lstm_tui.tui.widgets.run_charts import (METRIC_SHORT, Curve, CurvesPlot, MetricsTail,
                                             decimate, finite_pairs)

POLL_SECONDS = 1.5
CSS_FILE = "runs.tcss"

STATUS_STYLES = {
    "running": "bold cyan",
    "completed": "green",
    "stopped_early": "green",
    "interrupted": "yellow",
    "diverged": "magenta",
    "pruned": "blue",
    "failed": "bold red",
    "corrupt": "bold red",
}

Clock = Callable[[], float]


def status_of(info: RunInfo) -> str:
    """The status shown: a folder that could not be read fully is 'corrupt'."""
    return "corrupt" if info.error else info.status


def status_text(status: str) -> Text:
    mark = "● " if status == "running" else ""
    return Text(mark + status, style=STATUS_STYLES.get(status, ""))


STAMP = re.compile(r"^\d{8}-\d{6}-(?=.)")


def display_name(info: RunInfo, root: Path) -> str:
    """The folder relative to the store (sweep groups show as group/run), without the
    creation stamp that new_run_dir puts in front (the age column tells it)."""
    try:
        parts = info.path.relative_to(root).parts or (info.name,)
    except ValueError:
        parts = (info.name,)
    return "/".join(STAMP.sub("", part) for part in parts)


def name_text(info: RunInfo, root: Path, marked: bool = False) -> Text:
    """The name shown, followed by the run's tags as #tag."""
    text = Text(display_name(info, root), style="bold" if marked else "")
    for tag in info.tags:
        text.append(f" #{tag}", style="magenta")
    return text


def best_text(info: RunInfo) -> str:
    if info.best is None:
        return "-"
    short = METRIC_SHORT.get(info.metric, info.metric)
    return f"{fmt(info.best)} {short}".strip()


def one_line(exc: BaseException) -> str:
    """The first line of an error's message (the core's errors are one-liners already)."""
    return first_line(exc)


def report_worker_error(screen: Screen, worker: Worker) -> None:
    """The one place a background failure surfaces: a notification, never a crash."""
    error = worker.error or RuntimeError("unknown error")
    screen.notify(f"{type(error).__name__}: {one_line(error)}", title=f"{worker.name} failed",
                  severity="error", timeout=8)


def read_summary(path: Path) -> dict:
    """summary.json's well-typed fields; {} when it is missing or damaged."""
    return store_read_summary(path)[0]


# ---------------------------------------------------------------- watching the store

WATCHED = (CONFIG, SUMMARY, METRICS, ANNOTATIONS)


def folder_stamp(folder: Path) -> tuple:
    """(mtime, size) of a run's watched files: when it changes, the run changed."""
    stamp = []
    for name in WATCHED:
        try:
            st = os.stat(folder / name)
            stamp.append((st.st_mtime_ns, st.st_size))
        except OSError:
            stamp.append(None)
    return tuple(stamp)


class StoreWatcher:
    """Cheap change detection over a run store: stat files, reread only what changed."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.infos: dict[Path, RunInfo] = {}
        self._stamps: dict[Path, tuple] = {}

    def run_dirs(self) -> list[Path]:
        """Folders holding a config.toml or a summary.json, at any depth (hidden ones skipped)."""
        found, stack = [], [self.root]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            names = set()
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    else:
                        names.add(entry.name)
                except OSError:
                    continue
            if CONFIG in names or SUMMARY in names:
                found.append(Path(folder))
        return found

    def scan(self) -> bool:
        """Bring `infos` up to date; True when any run appeared, changed or vanished."""
        found = set(self.run_dirs())
        changed = False
        for gone in set(self.infos) - found:
            del self.infos[gone]
            self._stamps.pop(gone, None)
            changed = True
        for folder in found:
            stamp = folder_stamp(folder)
            old = self.infos.get(folder)
            if old is not None and stamp == self._stamps.get(folder) and old.status != "running":
                continue
            try:
                info = read_info(folder)
            except Exception as exc:  # a folder vanishing mid-scan, a permission error...
                info = RunInfo(path=folder, name=folder.name, error=f"{folder}: {one_line(exc)}")
            self._stamps[folder] = stamp
            if info != old:
                self.infos[folder] = info
                changed = True
        return changed

    def runs(self) -> list[RunInfo]:
        return sorted(self.infos.values(), key=lambda r: (r.created, r.name))


# ---------------------------------------------------------------- the runs table

@dataclass(frozen=True)
class Column:
    key: str
    label: str
    sort: Callable[[RunInfo], object] | None
    justify: str = "left"


COLUMNS = (
    Column("mark", " ", None),
    Column("name", "name", lambda r: r.name.lower()),   # (sorted by the name shown)
    Column("task", "task", lambda r: r.task),
    Column("cell", "cell", lambda r: r.cell),
    Column("hidden", "hidden", lambda r: r.hidden if isinstance(r.hidden, int) else -1, "right"),
    Column("status", "status", status_of),
    Column("best", "best", lambda r: (r.best is None, r.best if r.best is not None else 0.0),
           "right"),
    Column("steps", "steps", lambda r: r.steps, "right"),
    Column("age", "age", lambda r: -(r.created or r.updated), "right"),
)
SORTABLE = [c for c in COLUMNS if c.sort is not None]
NARROW_WIDTH = 100
NARROW_HIDDEN = {"cell", "hidden"}


class RunsScreen(PollingScreen):
    """Every run in the store as a sortable, filterable, live table."""

    CSS_PATH = CSS_FILE
    AUTO_FOCUS = "#runs-table"

    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("space", "toggle_mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("s", "sample", "Sample"),
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

    class Scanned(Message):
        """The store watcher looked at the store (from a thread worker)."""

        def __init__(self, runs: list[RunInfo], changed: bool, error: str = "") -> None:
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
        self.narrow = False
        self.loaded = False
        self.scan_count = 0
        self._scanning = False
        self._shown: list[tuple[str, tuple]] = []

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
        self.narrow = self.app.size.width < NARROW_WIDTH
        self._build_columns()
        self.start_polling()

    # -- polling
    def poll(self) -> None:
        """Scan the store in a thread unless a scan is under way."""
        if not self._scanning:
            self._scanning = True
            self._scan()

    @work(thread=True, group="runs-scan", exit_on_error=False)
    def _scan(self) -> None:
        try:
            changed = self.watcher.scan()
            self.post_message(self.Scanned(self.watcher.runs(), changed))
        except Exception as exc:  # never let a strange folder take the screen down
            self.post_message(self.Scanned(self.watcher.runs(), False, one_line(exc)))

    @on(Scanned)
    def _scanned(self, message: Scanned) -> None:
        self._scanning = False
        self.scan_count += 1
        if message.error:
            self.notify(message.error, title="Run store", severity="error")
        self.runs = message.runs
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

    # -- the table
    def _header(self, col: Column) -> Text:
        label = col.label
        if col.key == self.sort_column:
            label += " ▼" if self.sort_reverse else " ▲"
        return Text(label, justify=col.justify)

    def visible_runs(self) -> list[RunInfo]:
        tokens = self.filter_text.lower().split()
        runs = [r for r in self.runs
                if all(t in " ".join((display_name(r, self.root), r.task, r.cell,
                                      status_of(r), *(f"#{g}" for g in r.tags))).lower()
                       for t in tokens)]
        col = next(c for c in COLUMNS if c.key == self.sort_column)
        by_name = lambda r: display_name(r, self.root).lower()  # noqa: E731
        runs.sort(key=by_name)
        runs.sort(key=by_name if col.key == "name" else col.sort, reverse=self.sort_reverse)
        return runs

    def _cells(self, info: RunInfo) -> dict[str, Text]:
        now = self.clock()
        marked = info.path in self.marked
        return {
            "mark": Text("●", style="bold cyan") if marked else Text(" "),
            "name": name_text(info, self.root, marked),
            "task": Text(info.task),
            "cell": Text(info.cell),
            "hidden": Text(str(info.hidden) if info.hidden is not None else "-", justify="right"),
            "status": status_text(status_of(info)),
            "best": Text(best_text(info), justify="right"),
            "steps": Text(str(info.steps), justify="right"),
            "age": Text(fmt_age(max(0.0, now - (info.created or info.updated))),
                        justify="right"),
        }

    def visible_columns(self) -> list[Column]:
        """At narrow widths cell and hidden go (new_run_dir names end in e.g. lstm32)."""
        return [c for c in COLUMNS if not (self.narrow and c.key in NARROW_HIDDEN)]

    def _build_columns(self) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for col in self.visible_columns():
            table.add_column(self._header(col), key=col.key)
        self._shown = []

    def on_resize(self, event) -> None:
        narrow = event.size.width < NARROW_WIDTH
        if narrow != self.narrow:
            self.narrow = narrow
            self._build_columns()
            self.refresh_table()

    def refresh_table(self) -> None:
        """Show the visible runs: changed cells are updated in place, and the rows are
        rebuilt only when the set or the order of the runs shown changed."""
        table = self.query_one(DataTable)
        runs = self.visible_runs()
        keys = [c.key for c in self.visible_columns()]
        rows = [(str(r.path), [cells[k] for k in keys])
                for r in runs for cells in (self._cells(r),)]
        shown = [(key, tuple(str(c) for c in cells)) for key, cells in rows]
        if [k for k, _ in shown] == [k for k, _ in self._shown]:
            for (key, cells), (_, old) in zip(rows, self._shown):
                for column, cell, before in zip(keys, cells, old):
                    if str(cell) != before or column in ("mark", "name"):
                        table.update_cell(key, column, cell)
        else:
            current = self.current_run()
            table.clear()
            for key, cells in rows:
                table.add_row(*cells, key=key)
            if current is not None and str(current.path) in {k for k, _ in rows}:
                table.move_cursor(row=table.get_row_index(str(current.path)), animate=False)
        self._shown = shown
        total = len(self.runs)
        count = f"{len(runs)}/{total} runs" if len(runs) != total else f"{total} runs"
        if self.marked:
            count += f" · {len(self.marked)} marked"
        self.query_one("#runs-count", Static).update(count)
        self._update_info()

    def current_run(self) -> RunInfo | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None
        return next((r for r in self.runs if str(r.path) == key), None)

    def _update_info(self) -> None:
        info = self.current_run()
        line = Text()
        if not self.runs and self.loaded:
            line.append(f"No runs under {self.root}/ yet. ", style="bold")
            line.append("Train one with `lstm-lab headless PRESET` or from the Lab screen.")
        elif info is not None:
            if info.error:
                line.append("corrupt: ", style="bold red")
                line.append(info.error)
            else:
                if info.note:      # first: the line is cut at the screen's edge
                    line.append("note: ", style="bold")
                    line.append(info.note + "  ·  ")
                line.append(str(info.path), style="dim")
                bits = []
                if info.params:
                    bits.append(f"{info.params:,} params")
                if info.seconds:
                    bits.append(f"{fmt(info.seconds, 3)} s")
                if info.metric and info.final is not None:
                    bits.append(f"final {info.metric} {fmt(info.final)}")
                if bits:
                    line.append("  ·  " + " · ".join(bits))
        self.query_one("#runs-info", Static).update(line)

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._update_info()

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
        self.poll()

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
        from lstm_tui.tui.screens.compare import CompareScreen
        self.app.push_screen(CompareScreen(self.root, paths))

    def _targets(self) -> list[RunInfo]:
        """The marked runs, else the one under the cursor."""
        marked = [r for r in self.visible_runs() if r.path in self.marked]
        current = self.current_run()
        return marked or ([current] if current is not None else [])

    def action_tag(self) -> None:
        targets = self._targets()
        if not targets:
            return
        what = targets[0].name if len(targets) == 1 else f"{len(targets)} marked runs"
        self.app.push_screen(TextPrompt(f"Tags of {what}", placeholder="+good -bad",
                                        help=f"{TAG_HELP}   escape: cancel"),
                             lambda ops: self._apply_tags(targets, ops))

    def _apply_tags(self, targets: list[RunInfo], ops: str | None) -> None:
        if not ops or not ops.strip():
            return
        try:
            change = parse_tag_ops(ops.split())
            for info in targets:
                change_tags(info.path, change)
        except RunError as exc:
            self.notify(one_line(exc), title="Tag", severity="error")
            return
        self.notify(f"{len(targets)} run(s): {ops.strip()}", title="Tagged")
        self.poll()

    def action_note(self) -> None:
        info = self.current_run()
        if info is None:
            return
        self.app.push_screen(TextPrompt(f"Note on {info.name}", value=info.note,
                                        placeholder="what this run is for, what to check",
                                        help="enter: save (empty clears)   escape: cancel"),
                             lambda text: self._apply_note(info, text))

    def _apply_note(self, info: RunInfo, text: str | None) -> None:
        if text is None:
            return
        try:
            set_note(info.path, text)
        except RunError as exc:
            self.notify(one_line(exc), title="Note", severity="error")
            return
        self.poll()

    def action_remove(self) -> None:
        targets = self._targets()
        if not targets:
            return
        try:      # a running run is refused before anything is asked or moved
            for info in targets:
                check_removable(self.root, info.path)
        except RunError as exc:
            self.notify(one_line(exc), title="Remove", severity="error", timeout=8)
            return
        names = "\n".join(display_name(r, self.root) for r in targets[:8])
        more = f"\n... and {len(targets) - 8} more" if len(targets) > 8 else ""
        self.app.push_screen(
            ConfirmDialog(f"Move {len(targets)} run(s) to {self.root / '.trash'}?",
                          names + more + "\n(`lstm-lab restore NAME` brings one back)"),
            lambda yes: self._remove(targets) if yes else None)

    def _remove(self, targets: list[RunInfo]) -> None:
        moved = 0
        for info in targets:
            try:
                move_to_trash(self.root, info.path)
                moved += 1
            except (RunError, OSError) as exc:
                self.notify(one_line(exc), title="Remove", severity="error", timeout=8)
            self.marked.discard(info.path)
        if moved:
            self.notify(f"{moved} run(s) moved to the trash", title="Removed")
        self.poll()

    def action_sample(self) -> None:
        info = self.current_run()
        if info is None:
            return
        if not samples_text(info.task):
            self.notify(f"{info.name} is a {info.task} run; sampling needs a char_lm run.",
                        title="Sample", severity="warning")
            return
        from lstm_tui.tui.screens.sample import SampleScreen
        self.app.push_screen(SampleScreen(self.root, info.path))


# ---------------------------------------------------------------- one run in detail

def run_curves(tail: MetricsTail, metric: str) -> dict[str, tuple[str, list[Curve]]]:
    """Train/val curves of the loss and of the task metric, decimated (worker side)."""
    out = {}
    for plot_id, key in (("detail-loss", "loss"), ("detail-metric", metric)):
        curves = []
        if key:
            for i, split in enumerate(("train", "val")):
                xs, ys = finite_pairs(*tail.series(split, key))
                curves.append(Curve(split, *decimate(xs, ys), index=i))
        out[plot_id] = (key, curves)
    return out


@dataclass
class RunSnapshot:
    info: RunInfo
    config_text: str
    summary: dict
    provenance: dict | None = None


class RunDetailScreen(PollingScreen):
    """One run: its curves (train/val loss and task metric), summary and config, live."""

    CSS_PATH = CSS_FILE
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (70, "-wide")]

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("1", "tab('curves')", "Curves/summary/config", key_display="1-3"),
        Binding("2", "tab('summary')", "Summary", show=False),
        Binding("3", "tab('config')", "Config", show=False),
        Binding("l", "toggle_log", "Log y"),
        Binding("s", "sample", "Sample"),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sample":   # only char_lm runs can be sampled
            return self.snapshot is not None and samples_text(self.snapshot.info.task)
        return True

    class Loaded(Message):
        """What the load worker found: a new snapshot and/or new curves (None: unchanged)."""

        def __init__(self, snapshot: RunSnapshot | None,
                     curves: dict[str, tuple[str, list[Curve]]] | None) -> None:
            super().__init__()
            self.snapshot, self.curves = snapshot, curves

    def __init__(self, root: Path, run_path: Path, *, clock: Clock = time.time,
                 poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__()
        self.root, self.run_path = Path(root), Path(run_path)
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.tail = MetricsTail(self.run_path / METRICS)
        self.snapshot: RunSnapshot | None = None
        self.curves: dict[str, tuple[str, list[Curve]]] = {}
        self.log_y = False
        self._stamp: tuple | None = None
        self._busy = False

    def compose(self) -> ComposeResult:
        yield Static(Text(self.run_path.name, style="bold"), id="detail-title")
        with TabbedContent(initial="curves", id="detail-tabs"):
            with TabPane("Curves", id="curves"):
                with Container(id="detail-curves"):
                    yield CurvesPlot(id="detail-loss")
                    yield CurvesPlot(id="detail-metric")
            with TabPane("Summary", id="summary"):
                with VerticalScroll():
                    yield Static("", id="detail-summary")
            with TabPane("Config", id="config"):
                with VerticalScroll():
                    yield Static("", id="detail-config")
        yield Footer()

    def on_mount(self) -> None:
        self.start_polling()

    def poll(self) -> None:
        if not self._busy:
            self._busy = True
            self._load()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self._busy = False
            report_worker_error(self, event.worker)

    @work(thread=True, group="detail-load", exit_on_error=False)
    def _load(self) -> None:
        stamp = folder_stamp(self.run_path)
        curves_changed = self.tail.update()
        if stamp == self._stamp and not curves_changed:
            self.post_message(self.Loaded(None, None))
            return
        snapshot = self._read_snapshot() if stamp != self._stamp else None
        self._stamp = stamp
        current = snapshot or self.snapshot
        metric = current.info.metric if current else ""
        self.post_message(self.Loaded(snapshot, run_curves(self.tail, metric)))

    def _read_snapshot(self) -> RunSnapshot:
        try:
            info = read_info(self.run_path)
        except Exception as exc:
            info = RunInfo(path=self.run_path, name=self.run_path.name,
                           error=f"{self.run_path}: {one_line(exc)}")
        try:
            config_text = (self.run_path / CONFIG).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            config_text = f"# {self.run_path / CONFIG}: {one_line(exc)}"
        summary = read_summary(self.run_path / SUMMARY)
        return RunSnapshot(info, config_text, summary, read_provenance(self.run_path))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self._busy = False
        if message.snapshot is not None:
            self.snapshot = message.snapshot
            self._show_info()
            self.refresh_bindings()
        if message.curves is not None:
            self.curves = message.curves
            self.draw_curves()

    def _show_info(self) -> None:
        snap = self.snapshot
        info = snap.info
        title = Text()
        title.append(display_name(info, self.root), style="bold")
        title.append("  ")
        title.append_text(status_text(status_of(info)))
        if info.best is not None:
            title.append(f"  best {info.metric} {fmt(info.best)}")
        title.append(f"  step {info.steps:,}  ")
        title.append(f"{info.task} · {info.cell} {info.hidden or ''}", style="dim")
        self.query_one("#detail-title", Static).update(title)

        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        s = snap.summary

        def stamp(t: float | None) -> str:
            if not t:
                return "-"
            ago = fmt_age(max(0.0, self.clock() - t))
            return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + f"  ({ago} ago)"

        rows = [
            ("folder", str(info.path)),
            ("status", status_text(status_of(info))),
            ("task", info.task),
            ("model", f"{info.cell}, hidden {info.hidden}"),
            ("metric", f"{info.metric} ({'higher' if info.goal == 'max' else 'lower'} is better)"
             if info.metric else "-"),
            ("best", fmt(info.best)),
            ("final", fmt(info.final)),
            ("steps", f"{info.steps:,}" + (f" of {s['total_steps']:,}"
                                             if isinstance(s.get("total_steps"), int) else "")),
            ("seconds", fmt(info.seconds, 3)),
            ("params", fmt(info.params)),
            ("device", str(s.get("device", "-"))),
            ("host / pid", f"{s.get('host', '-')} / {s.get('pid', '-')}"),
            ("created", stamp(info.created)),
            ("updated", stamp(info.updated)),
            ("checkpoints", ", ".join(sorted((s.get("checkpoints") or {}).values())) or "-"),
            ("message", str(s.get("message", "")) or "-"),
            ("tags", " ".join(f"#{t}" for t in info.tags) or "-"),
            ("note", info.note or "-"),
        ]
        environment = display_rows(snap.provenance or {})
        rows.append(("environment", "" if environment else "not recorded"))
        rows += [(f"  {label}", text) for label, text in environment]
        if info.error:
            rows.insert(1, ("error", Text(info.error, style="bold red")))
        rows += result_rows(s, info.metric, info.best)     # baselines, skill, test block
        confusion = confusion_lines(s)
        if confusion:
            rows.append(("confusion", Text("\n".join(confusion))))
        for key, value in rows:
            table.add_row(key, value)
        self.query_one("#detail-summary", Static).update(table)
        self.query_one("#detail-config", Static).update(
            Syntax(snap.config_text, "toml", theme="ansi_dark", background_color="default",
                   word_wrap=True))

    def draw_curves(self) -> None:
        for plot_id, (key, curves) in self.curves.items():
            title = (key or "task metric") + (" · log y" if self.log_y else "")
            empty = not any(c.xs for c in curves)
            self.query_one(f"#{plot_id}", CurvesPlot).show(
                curves, title=title, log_y=self.log_y,
                message="no metrics recorded yet" if empty else "")

    # -- actions
    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self.draw_curves()

    def action_sample(self) -> None:
        info = self.snapshot.info if self.snapshot else None
        if info is None or not samples_text(info.task):
            task = info.task if info else "unknown"
            self.notify(f"This is a {task} run; sampling needs a char_lm run.",
                        title="Sample", severity="warning")
            return
        from lstm_tui.tui.screens.sample import SampleScreen
        self.app.push_screen(SampleScreen(self.root, self.run_path))

