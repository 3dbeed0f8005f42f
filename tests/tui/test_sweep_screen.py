"""The Sweep screen and its heatmap, driven with Pilot.

Real sweeps (a 2x2 grid of nth_element runs of 10 steps) are trained in the screen's
child process, or in-process by ``run_points`` for the "open an existing folder" tests;
synthetic sweep folders (fixed numbers, written here) make the rest deterministic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import DataTable, Input, Select, Static

from lstm_tui.numbers import fmt
from lstm_tui.config import parse_config, to_toml
from lstm_tui.sweeps import surface as sf
from lstm_tui.sweeps.backends import PointProgress, PointStarted
from lstm_tui.sweeps.runner import (PointFinished, SweepFinished, SweepStarted,
                                    _write_results, columns_for, read_results,
                                    run_dir_name, run_points, sweep_dir_for)
from lstm_tui.sweeps.spec import parse_sweep
from lstm_tui.tui.screens.run_detail import RunDetailScreen
from lstm_tui.tui.messages import SweepEvents
from lstm_tui.tui.screens.sweep import SweepScreen
from lstm_tui.tui.sweep.process import ResultsRead
from lstm_tui.tui.sweep.state import (SweepState, parse_axis_values, range_values,
                                      split_values, sweep_keys)
from lstm_tui.tui.plotting import SHADES
from lstm_tui.tui.widgets.heatmap import Heatmap
from lstm_tui.tui.widgets.band_plot import BandPlot
from lstm_tui.tui.sweep.lines import LinesView
from lstm_tui.tui.inbox import EventInbox
from tests.tui.conftest import Host, wait_for

TINY_TASK = {"kind": "nth_element", "seq_len": 4, "features": 5, "n": 1, "train_size": 64,
             "val_size": 32}
TINY_TRAIN = {"steps": 10, "eval_every": 5, "log_every": 5, "batch_size": 16}
REPO = Path(__file__).resolve().parents[2]


def tiny_config(sweep: dict | None = None, **train):
    data = {"name": "tiny", "task": TINY_TASK, "model": {"hidden": 4},
            "train": {**TINY_TRAIN, **train}}
    if sweep is not None:
        data["sweep"] = sweep
    return parse_config(data, "tiny.toml")


# ---------------------------------------------------------------- a synthetic sweep folder

GRID = {"task.seq_len": [5, 10, 20, 40], "model.hidden": [8, 16, 32],
        "model.cell": ["lstm", "gru"]}


def accuracy(values: dict, seed: int) -> float:
    """1 - seq_len/100 + hidden/1000 (+0.02 for gru), ±0.01 between seeds 0 and 1."""
    value = 1 - values["task.seq_len"] / 100 + values["model.hidden"] / 1000
    value += 0.02 if values.get("model.cell") == "gru" else 0.0
    return round(value + (0.01 if seed % 2 else -0.01), 6)


def synthetic_sweep(root: Path, grid: dict | None = None, seeds: int = 2,
                    missing: tuple[int, ...] = (), diverged: tuple[int, ...] = (),
                    pruned: tuple[int, ...] = ()) -> Path:
    """A sweep folder as the runner leaves it, with fixed numbers; points in `missing`
    have no row (not run yet), points in `diverged` diverged."""
    cfg = parse_config({"name": "nth-grid", "description": "a synthetic sweep",
                        "task": {"kind": "nth_element", "seq_len": 5, "n": 2},
                        "model": {"hidden": 8}, "train": {"steps": 50},
                        "sweep": {"grid": grid or GRID, "seeds": seeds}}, "synthetic.toml")
    spec = parse_sweep(cfg, "synthetic.toml")
    folder = sweep_dir_for(root, spec)
    folder.mkdir(parents=True)
    (folder / "sweep.toml").write_text("# the sweep of synthetic.toml, as resolved\n"
                                       + to_toml(cfg), encoding="utf-8")
    write_rows(folder, spec, missing, diverged, pruned)
    return folder


def write_rows(folder: Path, spec, missing=(), diverged=(), pruned=()) -> None:
    columns, points, rows = columns_for(spec), spec.points(), {}
    for p in points:
        if p.index in missing:
            continue
        run = run_dir_name(p, len(points))
        status = "diverged" if p.index in diverged else \
            "pruned" if p.index in pruned else "completed"
        best = None if status == "diverged" else accuracy(p.values, p.seed)
        if not (folder / run).exists():
            _write_run(folder / run, p.config, accuracy(p.values, p.seed), status)
        row = {"point": p.index, "run": run, **p.values, "seed": p.seed, "status": status,
               "best_accuracy": best, "final_accuracy": best, "steps": 50, "seconds": 1.5,
               "params": 1000 + p.values["model.hidden"], "val_loss": 0.5,
               "train_loss": 0.4, "mean_abs_grad": 0.001, "grad_norm": 1.0,
               "message": "loss is nan" if status == "diverged" else "", "key": p.key}
        rows[p.key] = {c: row.get(c) for c in columns}
    _write_results(folder, columns, rows, points)


def _write_run(path: Path, cfg, value: float, status: str) -> None:
    """A run folder: config, summary, and validation accuracy climbing over 5 epochs."""
    path.mkdir()
    (path / "config.toml").write_text(to_toml(cfg), encoding="utf-8")
    lines = []
    for epoch in range(1, 6):
        v = round(value * (1 - 0.5 ** epoch), 6)
        for split in ("train", "val"):
            lines.append({"step": epoch * 10, "epoch": epoch, "split": split,
                          "loss": 1 / epoch, "accuracy": v, "time": epoch * 0.3})
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    ok = status != "diverged"
    summary = {"status": status, "pid": 1, "host": "elsewhere", "created": 1_790_000_000.0,
               "updated": 1_790_000_001.5, "name": path.name, "params": 1234,
               "metric": "accuracy", "goal": "max", "device": "cpu", "total_steps": 50,
               "steps": 50, "best": value if ok else None, "final": value if ok else None,
               "seconds": 1.5, "sweep": "nth-grid"}
    (path / "summary.json").write_text(json.dumps(summary, indent=2))


# ---------------------------------------------------------------- hosting

async def settle(pilot, rounds: int = 3) -> None:
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    pilot.app.screen.refresh_views()
    await pilot.pause()


def lines_of(widget) -> list[str]:
    """The text a widget shows, line by line (its border included)."""
    return [strip.text for strip in widget.render_lines(Region(0, 0, *widget.outer_size))]


def shown(pilot, selector: str) -> str:
    """What a widget says (on screen; a widget of a hidden tab: what it would say)."""
    widget = pilot.app.screen.query_one(selector)
    if isinstance(widget, Static) and widget.region.area == 0:
        return " ".join(str(widget.visual).split())
    return " ".join(" ".join(lines_of(widget)).split())


async def type_into(pilot, selector: str, text: str) -> None:
    """Focus an input, clear it and type, as a user would."""
    pilot.app.screen.query_one(selector).focus()
    await pilot.press("home", "ctrl+k", *[KEYS.get(c, c) for c in text])
    await pilot.pause()


KEYS = {".": "full_stop", "-": "minus", " ": "space", ",": "comma", "_": "underscore",
        "=": "equals_sign"}


async def pick_key(pilot, key: str) -> None:
    """Choose a config key in the axis selector with the keyboard: open it, type the start
    of its name (section, dot, two letters), Enter."""
    select = pilot.app.screen.query_one("#axis-key", Select)
    select.focus()
    prefix = key[:key.index(".") + 3]
    await pilot.press("enter", *[KEYS.get(c, c) for c in prefix], "enter")
    await pilot.pause()
    assert select.value == key


def cell_texts(heatmap: Heatmap) -> dict[tuple[str, str], str]:
    """What each cell of the drawn grid says: {(x label, y label): text}, read off the
    rendered lines by the columns of the x labels."""
    lines = lines_of(heatmap)[1:]              # below the border with the title
    header = lines[0]
    layout = heatmap.layout_shown
    s = heatmap.surface
    out = {}
    for line in lines[1:]:
        label = line[:layout.label_width].strip()
        if not label:
            continue
        for n, i in enumerate(layout.cols):
            start = layout.label_width + n * layout.cell_width
            x_label = header[start:start + layout.cell_width].strip()
            out[(x_label, label)] = line[start:start + layout.cell_width].strip(" []")
        assert label in [fmt(v) for v in s.ys]
    return out


# ---------------------------------------------------------------- axis definitions (pure)

def test_axis_values_are_parsed_and_checked_like_the_cli():
    specs = dict(sweep_keys(tiny_config()))
    assert split_values("5, 10 ,20,") == ["5", "10", "20"]
    assert split_values("[0.6, 0.4], [0.5,0.5]") == ["[0.6, 0.4]", "[0.5,0.5]"]
    assert parse_axis_values("model.cell", specs["model.cell"], "lstm, gru") == ["lstm", "gru"]
    assert parse_axis_values("train.lr", specs["train.lr"], "1e-3, 0.01") == [0.001, 0.01]
    with pytest.raises(Exception) as bad:
        parse_axis_values("model.hidden", specs["model.hidden"], "8, x")
    assert str(bad.value) == ("sweep.grid.model.hidden: must be an integer >= 1 and "
                              "<= 100000, got 'x'")
    with pytest.raises(Exception, match="lists 8 twice"):
        parse_axis_values("model.hidden", specs["model.hidden"], "8, 8")
    with pytest.raises(Exception, match="did you mean 'lstm'"):
        parse_axis_values("model.cell", specs["model.cell"], "lstn")
    assert range_values("train.lr", specs["train.lr"], "1e-3", "0.1", "3", True) == \
        [0.001, 0.01, 0.1]
    assert range_values("model.hidden", specs["model.hidden"], "8", "32", "4", False) == \
        [8, 16, 24, 32]
    with pytest.raises(Exception, match="needs low < high"):
        range_values("model.hidden", specs["model.hidden"], "32", "8", "4", False)
    with pytest.raises(Exception, match="a range needs a numeric key"):
        range_values("model.cell", specs["model.cell"], "1", "2", "2", False)
    # every key of the config types is offered, task.kind excepted
    assert {"task.seq_len", "model.cell", "train.lr"} <= set(specs)
    assert "task.kind" not in specs


# ---------------------------------------------------------------- the Define view

async def test_define_two_axes_the_count_follows_and_bad_values_say_why(tmp_path):
    app = Host(lambda: SweepScreen(tmp_path / "runs", tiny_config()))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert shown(pilot, "#point-count") == "add an axis to begin"
        await pick_key(pilot, "task.seq_len")
        assert "sequence length" in shown(pilot, "#axis-message")
        await type_into(pilot, "#axis-values", "3, 4")
        assert "2 values (3, 4) → 2 points" in shown(pilot, "#axis-message")   # live preview
        await pilot.press("enter")
        assert shown(pilot, "#point-count") == "2 points"
        assert screen.table["grid"] == {"task.seq_len": [3, 4]}

        await pick_key(pilot, "model.hidden")
        await type_into(pilot, "#axis-values", "4, x")
        message = shown(pilot, "#axis-message")
        assert message == ("sweep.grid.model.hidden: must be an integer >= 1 and <= 100000, "
                           "got 'x'")
        assert screen.query_one("#axis-message").has_class("-error")
        await pilot.press("enter")                       # refused: nothing added
        assert list(screen.table["grid"]) == ["task.seq_len"]
        await type_into(pilot, "#axis-values", "4, 8")
        await pilot.press("enter")
        assert shown(pilot, "#point-count") == "4 points = 2 × 2"
        table = screen.query_one("#axes-table", DataTable)
        assert [table.get_row_at(i)[0] for i in range(table.row_count)] == \
            ["task.seq_len", "model.hidden"]

        # a point that breaks a cross-field rule is refused with the CLI's message
        await pick_key(pilot, "task.seq_len")
        await type_into(pilot, "#axis-values", "1, 4")
        await pilot.press("enter")
        assert shown(pilot, "#axis-message") == (
            "sweep: the point task.seq_len=1 model.hidden=4 is invalid: task.n: must be < "
            "task.seq_len (1), got 1")
        assert screen.table["grid"]["task.seq_len"] == [3, 4]

        # a log range, then seeds
        await pick_key(pilot, "train.lr")
        await type_into(pilot, "#range-low", "0.001")
        await type_into(pilot, "#range-high", "0.1")
        await type_into(pilot, "#range-count", "3")
        screen.query_one("#range-log").value = True
        await pilot.press("enter")
        assert screen.table["grid"]["train.lr"] == [0.001, 0.01, 0.1]
        assert shown(pilot, "#point-count") == "12 points = 2 × 2 × 3"
        await type_into(pilot, "#seeds", "2")
        assert shown(pilot, "#point-count") == "24 points = 2 × 2 × 3 × 2 seeds"
        await type_into(pilot, "#seeds", "0")
        assert shown(pilot, "#point-count") == "sweep.seeds: must be an integer >= 1, got 0"
        assert screen.spec is None
        await type_into(pilot, "#seeds", "1")

        # delete removes the axis under the cursor
        table.focus()
        table.move_cursor(row=2)
        await pilot.press("delete")
        await pilot.pause()
        assert list(screen.table["grid"]) == ["task.seq_len", "model.hidden"]
        assert shown(pilot, "#point-count") == "4 points = 2 × 2"
        # the planned grid is shown before anything ran: every cell still to run
        await pilot.press("2")
        await settle(pilot)
        heatmap = screen.query_one(Heatmap)
        assert set(cell_texts(heatmap).values()) == {"·"}
        assert len(cell_texts(heatmap)) == 4


async def test_a_sweep_preset_starts_from_its_table(tmp_path):
    cfg = tiny_config({"grid": {"model.cell": ["rnn", "lstm", "gru"]}, "seeds": 2,
                       "metric": "loss"})
    app = Host(lambda: SweepScreen(tmp_path / "runs", cfg))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await settle(pilot)
        assert shown(pilot, "#point-count") == "6 points = 3 × 2 seeds"
        assert screen.query_one("#seeds", Input).value == "2"
        assert screen.query_one("#metric", Select).value == "loss"
        assert screen.query_one("#goal", Select).value == "min"
        table = screen.query_one("#axes-table", DataTable)
        assert table.get_row_at(0)[0] == "model.cell"
        # one axis: the grid puts a row per seed
        await pilot.press("2")
        await settle(pilot)
        heatmap = screen.query_one(Heatmap)
        assert (heatmap.surface.x, heatmap.surface.y) == ("model.cell", "seed")
        assert heatmap.surface.xs == ["rnn", "lstm", "gru"] and heatmap.surface.ys == [0, 1]
        # the backend's own rule, inline
        screen.query_one("#backend", Select).value = "sequential"
        await type_into(pilot, "#workers", "2")
        assert "the sequential backend runs one point at a time" in \
            shown(pilot, "#axis-message")


# ---------------------------------------------------------------- launching for real

@pytest.mark.slow
async def test_launch_a_real_sweep_watch_it_fill_in_and_open_a_cell(tmp_path):
    root = tmp_path / "runs"
    seen: list = []

    def hook(message) -> None:
        if isinstance(message, SweepEvents):
            seen.append(message)

    app = Host(lambda: SweepScreen(root, tiny_config()))
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        screen = app.screen
        await pick_key(pilot, "task.seq_len")
        await type_into(pilot, "#axis-values", "3, 4")
        await pilot.press("enter")
        await pick_key(pilot, "model.hidden")
        await type_into(pilot, "#axis-values", "4, 8")
        await pilot.press("enter")
        assert shown(pilot, "#point-count") == "4 points = 2 × 2"
        await pilot.press("ctrl+r")
        assert screen.query_one("#sweep-tabs").active == "grid"
        assert screen.process is not None and screen.process.pid != os.getpid()
        await wait_for(pilot, lambda: screen.state.ended, what="the sweep to end")
        assert screen.state.ended == "finished", screen.state.error
        await settle(pilot)
        # the grid is full: four numbers, nothing left to run
        heatmap = screen.query_one(Heatmap)
        cells = cell_texts(heatmap)
        assert len(cells) == 4
        for text in cells.values():
            float(text.rstrip("!"))
        assert "4/4" in shown(pilot, "#sweep-status") and "done" in shown(pilot, "#sweep-status")
        # every point is in results.csv, the sweep folder is the CLI's
        folder = sweep_dir_for(root, screen.spec)
        rows = read_results(folder / "results.csv")
        assert [r["status"] for r in rows] == ["completed"] * 4
        assert screen.state.sweep_dir == folder
        assert seen and screen.process.wait(10)
        # open the cell under the cursor after moving it: its run
        heatmap.focus()
        await pilot.press("right", "down")
        xv, yv = heatmap.cursor_values()
        want = next(r["run"] for r in rows
                    if r[heatmap.surface.x] == xv and r[heatmap.surface.y] == yv)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run_path == folder / want
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


@pytest.mark.slow
async def test_stop_keeps_the_finished_points_and_launching_again_resumes(tmp_path):
    root = tmp_path / "runs"
    cfg = tiny_config({"grid": {"task.seq_len": [3, 4], "model.hidden": [4, 8]}},
                      steps=600, eval_every=100, log_every=50)
    app = Host(lambda: SweepScreen(root, cfg))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.state.done >= 1, what="a first point")
        # the running cell is marked while it trains
        await wait_for(pilot, lambda: screen.state.running, what="a running point")
        screen.refresh_views()            # no await: no event can come in between
        assert "▶" in " ".join(lines_of(screen.query_one(Heatmap)))
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: screen.state.ended, what="the stop")
        assert screen.state.ended == "interrupted"
        kept = screen.state.done
        assert 1 <= kept < 4
        await settle(pilot)
        assert "ctrl+r resumes" in shown(pilot, "#sweep-status")
        await wait_for(pilot, lambda: not screen.process.alive, what="the process to end")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.state.ended, what="the resumed sweep")
        assert screen.state.ended == "finished" and screen.state.done == 4
        assert screen.state.done_at_start == kept           # finished points not retrained
        rows = read_results(screen.state.sweep_dir / "results.csv")
        assert [r["status"] for r in rows] == ["completed"] * 4


async def test_a_bad_launch_is_refused_with_the_message(tmp_path):
    app = Host(lambda: SweepScreen(tmp_path / "runs", tiny_config()))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        tabs = screen.query_one("#sweep-tabs")
        await pilot.press("2")
        await wait_for(pilot, lambda: tabs.active == "grid")
        await pilot.press("ctrl+r")
        # the refusal switches back to Define and explains; a loaded machine may take a while
        await wait_for(pilot, lambda: tabs.active == "define"
                       and "sweep.grid: is empty" in shown(pilot, "#axis-message"))
        assert screen.process is None
        assert tabs.active == "define"
        assert "sweep.grid: is empty" in shown(pilot, "#axis-message")


# ---------------------------------------------------------------- live events, no process

class FakeProcess:
    def __init__(self) -> None:
        self.inbox = EventInbox()
        self.alive = True
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True


def fake_driver(screen):
    """A FakeProcess in the place of the screen's sweep driver, and `send(*events)`, which
    hands events to the screen the way the driver's arrive."""
    fake = screen.process = FakeProcess()
    screen.state.active = True

    def send(*events) -> None:
        fake.inbox.put(list(events))
        screen.post_message(SweepEvents(fake.inbox))
    return fake, send


async def test_events_fill_the_grid_and_mark_running_cells(tmp_path):
    cfg = tiny_config({"grid": {"task.seq_len": [3, 4], "model.hidden": [4, 8]}})
    spec = parse_sweep(cfg, "tiny.toml")
    folder = sweep_dir_for(tmp_path / "runs", spec)
    points = spec.points()
    app = Host(lambda: SweepScreen(tmp_path / "runs", cfg))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        fake, send = fake_driver(screen)
        await pilot.press("2")

        p = points[3]                                     # seq_len 4, hidden 8
        send(SweepStarted(folder, "tiny", 4, 0, 4, tuple(spec.axes), "accuracy", "max",
                          "sequential", 1), ResultsRead([]),
             PointStarted(p.key, str(folder / "p3"), 10), PointProgress(p.key, 5, 10, None, 1.0))
        await settle(pilot)
        heatmap = screen.query_one(Heatmap)
        cells = cell_texts(heatmap)
        assert cells[("4", "8")] == "▶ 50%"
        assert [cells[k] for k in (("3", "4"), ("4", "4"), ("3", "8"))] == ["·"] * 3
        assert "1 running 50%" in shown(pilot, "#sweep-status")
        assert "0/4" in shown(pilot, "#sweep-status")
        row = {"key": p.key, "run": "p3", "task.seq_len": 4, "model.hidden": 8, "seed": 0,
               "status": "completed", "best_accuracy": 0.75, "final_accuracy": 0.5}
        send(PointFinished(p.key, 3, p.label(), row, 1, 4))
        await settle(pilot)
        assert cell_texts(heatmap)[("4", "8")] == "0.75"
        assert "1/4" in shown(pilot, "#sweep-status")
        assert "best 0.75" in shown(pilot, "#sweep-status")
        # stop asks the process; the end makes the sweep resumable
        await pilot.press("ctrl+g")
        assert fake.stopped and screen.state.stopping
        send(SweepFinished(1, 4, True))
        await settle(pilot)
        assert screen.state.ended == "interrupted"
        assert "stopped" in shown(pilot, "#sweep-status")


def test_the_eta_follows_the_pace_of_this_invocation(tmp_path):
    cfg = tiny_config({"grid": {"task.seq_len": [2, 3, 4, 5], "model.hidden": [4, 8]}})
    spec = parse_sweep(cfg, "tiny.toml")
    now = [100.0]
    state = SweepState(spec, tmp_path, clock=lambda: now[0])
    assert state.eta() is None                                   # not running
    points = spec.points()
    done = [{"key": p.key, "status": "completed"} for p in points[:2]]   # an earlier run's
    state.apply(SweepStarted(tmp_path, "tiny", 8, 2, 6, tuple(spec.axes), "accuracy", "max",
                             "sequential", 1))
    state.apply(ResultsRead(done))
    assert state.eta() is None                                   # no pace yet
    now[0] = 110.0
    state.apply(PointFinished(points[2].key, 2, "", {**done[0], "key": points[2].key}, 3, 8))
    state.apply(PointStarted(points[3].key, "p3", 100))
    state.apply(PointProgress(points[3].key, 50, 100, None, None))
    # 1.5 points in 10 s, 4.5 points left: 30 s
    assert state.done == 3 and state.eta() == pytest.approx(30.0)
    state.apply(SweepFinished(3, 8, True))
    assert state.eta() is None and state.ended == "interrupted"


# ---------------------------------------------------------------- opening a sweep folder

@pytest.fixture
def real_sweep(tmp_path) -> Path:
    """A tiny 2x2 sweep trained in-process by the runner (as `lstm-lab sweep` does)."""
    cfg = tiny_config({"grid": {"task.seq_len": [3, 4], "model.hidden": [4, 8]}})
    spec = parse_sweep(cfg, "tiny.toml")
    result = run_points("tiny.toml", cfg, spec, tmp_path / "runs")
    assert result.complete
    return result.sweep_dir


async def test_open_an_existing_sweep_folder_and_a_cell_run(real_sweep):
    root = real_sweep.parent
    rows = read_results(real_sweep / "results.csv")
    app = Host(lambda: SweepScreen(root))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.press("o")                        # the folder list opens
        await pilot.pause()
        await pilot.press("down", "enter")            # the first (only) sweep
        await settle(pilot)
        assert screen.query_one("#sweep-tabs").active == "grid"
        heatmap = screen.query_one(Heatmap)
        assert heatmap.has_focus
        # the numbers are results.csv's, in the right cells
        cells = cell_texts(heatmap)
        for r in rows:
            at = (fmt(r[heatmap.surface.x]), fmt(r[heatmap.surface.y]))
            assert cells[at] == f"{r['best_accuracy']:.3g}"
        assert "4/4" in shown(pilot, "#sweep-status")
        # the definition is the folder's: launching again would resume it
        assert screen.table["grid"] == {"task.seq_len": [3, 4], "model.hidden": [4, 8]}
        assert shown(pilot, "#point-count") == "4 points = 2 × 2"
        assert sweep_dir_for(root, screen.spec) == real_sweep
        # the cursor's cell lists its runs; Enter opens the best one
        await pilot.press("down")
        xv, yv = heatmap.cursor_values()
        run = next(r["run"] for r in rows if r[heatmap.surface.x] == xv
                   and r[heatmap.surface.y] == yv)
        assert f"{heatmap.surface.x.split('.')[-1]}={xv}" in shown(pilot, "#cell-info")
        runs = screen.query_one("#cell-runs", DataTable)
        assert runs.row_count == 1 and str(runs.get_row_at(0)[0]) == run.split("-")[0]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run_path == real_sweep / run


async def test_a_folder_given_at_start_and_written_elsewhere_updates(tmp_path):
    root = tmp_path / "runs"
    folder = synthetic_sweep(root, missing=tuple(range(24, 48)))     # seed 1 not run yet
    app = Host(lambda: SweepScreen(root, sweep_dir=folder, watch_seconds=0.2))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await settle(pilot)
        assert screen.state.done == 24 and screen.state.total == 48
        assert "24/48" in shown(pilot, "#sweep-status")
        heatmap = screen.query_one(Heatmap)
        assert heatmap.surface.hidden == ["model.cell"]          # folded: best of lstm, gru
        before = cell_texts(heatmap)
        # a headless `lstm-lab sweep` finishes the other seed: the grid follows
        cfg = screen.config
        write_rows(folder, parse_sweep(cfg, "x"), diverged=(30,))
        await wait_for(pilot, lambda: screen.state.done == 48, timeout=10,
                       what="the new rows")
        await settle(pilot)
        after = cell_texts(heatmap)
        assert after != before and "48/48" in shown(pilot, "#sweep-status")
        # pin the folded axis to lstm: every cell is the lstm point's mean over 2 seeds
        select = screen.query_one(".fixed-axis", Select)
        select.value = 0                                  # the first value: lstm
        await settle(pilot)
        cells = cell_texts(heatmap)
        x, y = heatmap.surface.x, heatmap.surface.y
        for xv in heatmap.surface.xs:
            for yv in heatmap.surface.ys:
                values = {"model.cell": "lstm", x: xv, y: yv}
                mean = (accuracy(values, 0) + accuracy(values, 1)) / 2
                text = cells[(fmt(xv), fmt(yv))]
                if text.endswith("!"):                     # point 30 diverged: one seed
                    continue
                assert float(text) == pytest.approx(mean, abs=1e-3), (xv, yv)
        # spread on demand, swap the axes
        await pilot.press("s")
        assert "±0.01" in " ".join(cell_texts(heatmap).values())
        await pilot.press("t")
        await settle(pilot)
        assert (heatmap.surface.x, heatmap.surface.y) == (y, x)


async def test_a_cell_says_how_many_of_its_seeds_were_pruned(tmp_path):
    root = tmp_path / "runs"
    folder = synthetic_sweep(root, pruned=(30,))        # one seed of one point stopped early
    app = Host(lambda: SweepScreen(root, sweep_dir=folder))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await settle(pilot)
        select = screen.query_one(".fixed-axis", Select)
        select.value = 0                                # lstm: every cell is one point
        await settle(pilot)
        heatmap = screen.query_one(Heatmap)
        rows = read_results(folder / "results.csv")
        target = next(r for r in rows if r["status"] == "pruned")
        seen = []
        for xi in range(len(heatmap.surface.xs)):
            for yi in range(len(heatmap.surface.ys)):
                heatmap.move_to(xi, yi)
                await settle(pilot, 2)
                xv, yv = heatmap.cursor_values()
                seen.append(("1 of 2 pruned" in shown(pilot, "#cell-info"),
                             xv == target[heatmap.surface.x] and yv == target[heatmap.surface.y]))
        assert seen.count((True, True)) == 1 and seen.count((True, False)) == 0


async def test_lines_and_epochs_views(tmp_path):
    root = tmp_path / "runs"
    folder = synthetic_sweep(root)
    app = Host(lambda: SweepScreen(root, sweep_dir=folder))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        plot = screen.query_one("#lines-plot")
        # along seq_len (most values), a line per cell (fewest), from sf.lines
        lines = screen.query_one(LinesView)
        assert (lines.x, lines.by) == ("task.seq_len", "model.cell")
        assert plot.labels == ("cell=lstm", "cell=gru")
        want = sf.lines(screen.state.result_rows(), screen.state.axes, "task.seq_len",
                        "best_accuracy", "max", by="model.cell")
        assert [line.means for line in plot.shown] == [line.means for line in want]
        await pilot.press("4")
        await settle(pilot)
        await settle(pilot)
        curves = screen.query_one("#epochs-plot")
        curves.flush()
        assert curves.state.labels == ("5", "10", "20", "40")      # the title names the axis
        assert "per seq_len" in curves.state.title
        assert curves.state.xlabel == "epoch"
        border = lines_of(curves)[0]
        assert "…" not in border and all(f" {v}" in border for v in ("5", "10", "20", "40"))


def test_a_single_valued_axis_is_never_the_grid_x():
    """train.epochs = [5] swept with two real axes: x and y are the real ones."""
    cfg = tiny_config({"grid": {"train.epochs": [5], "task.seq_len": [3, 4, 5],
                                "model.cell": ["lstm", "gru"]}})
    state = SweepState(parse_sweep(cfg, "tiny.toml"), Path("x"))
    assert set(state.default_xy()) == {"task.seq_len", "model.cell"}
    one = tiny_config({"grid": {"train.epochs": [5], "model.cell": ["lstm", "gru"]}})
    assert SweepState(parse_sweep(one, "tiny.toml"), Path("x")).default_xy() == \
        ("model.cell", "seed")


class BandHost(App):
    def compose(self) -> ComposeResult:
        yield BandPlot(id="band")


async def test_lines_of_equal_values_get_a_narrow_axis_and_a_plain_label(tmp_path):
    app = BandHost()
    async with app.run_test(size=(80, 16)) as pilot:
        plot = app.query_one(BandPlot)
        flat = sf.Line("cell=lstm", [5, 10, 20], [1.0] * 3, [1.0] * 3, [1.0] * 3, [0.0] * 3)
        plot.show([flat], title="best accuracy", xlabel="task.seq_len")
        await pilot.pause()
        assert plot.y_range == pytest.approx((0.95, 1.05))
        text = " ".join(lines_of(plot))
        assert "1.05" in text and "0.95" in text and "1.5" not in text
        rising = sf.Line("x", [5, 10], [0.5, 1.0], [0.5, 1.0], [0.5, 1.0], [0.0, 0.0])
        plot.show([rising], title="t", xlabel="x")
        assert plot.y_range is None                     # real data: plotext's own range
    # the Lines view's selector reads "one line", not "a line per nothing"
    root = tmp_path / "runs"
    folder = synthetic_sweep(root, grid={"task.seq_len": [5, 10, 20, 40], "model.hidden": [8]},
                             seeds=1)
    host = Host(lambda: SweepScreen(root, sweep_dir=folder))
    async with host.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        view = host.screen.query_one(LinesView)
        assert view.by == "none"
        assert shown(pilot, "#lines-by #label") == "one line"


# ---------------------------------------------------------------- the heatmap widget

class HeatmapHost(App):
    def compose(self) -> ComposeResult:
        yield Heatmap(id="heatmap")


def _surface(goal: str = "max", **rows_args):
    rows = []
    for seq_len in (5, 10, 20):
        for hidden in (8, 16):
            for seed in (0, 1):
                rows.append({"run": f"r{seq_len}-{hidden}-{seed}", "task.seq_len": seq_len,
                             "model.hidden": hidden, "seed": seed, "status": "completed",
                             "best_accuracy": seq_len + hidden / 100 + seed / 1000})
    rows = [r for r in rows if (r["task.seq_len"], r["model.hidden"]) != (20, 16)]
    rows[0] = {**rows[0], "status": "diverged"}                # one troubled seed at (5, 8)
    return sf.surface(rows, ["task.seq_len", "model.hidden"], "task.seq_len", "model.hidden",
                      "best_accuracy", goal, metric="best accuracy")


async def test_heatmap_places_values_in_their_cells():
    app = HeatmapHost()
    async with app.run_test(size=(80, 16)) as pilot:
        heatmap = app.query_one(Heatmap)
        heatmap.show(_surface(), running={(20, 16): 0.25})
        await pilot.pause()
        cells = cell_texts(heatmap)
        assert cells == {("5", "8"): "5.08!", ("10", "8"): "10.1", ("20", "8"): "20.1",
                         ("5", "16"): "5.16", ("10", "16"): "10.2", ("20", "16"): "▶ 25%"}
        text = " ".join(lines_of(heatmap))
        assert "worse 5.08" in text and "20.1 better" in text     # the legend's range
        heatmap.show(_surface(), spread=True)
        await pilot.pause()
        assert cell_texts(heatmap)[("5", "16")] == "5.16 ±0.0005"
        assert cell_texts(heatmap)[("20", "16")] == "·"          # not run, not running
        # colours: the best cell is the brightest of the ramp, the worst the darkest
        best = heatmap.cell_look(heatmap.surface, 2, 0, False, True)[1]
        worst = heatmap.cell_look(heatmap.surface, 0, 0, False, True)[1]
        assert best.endswith("#fde725") and worst.endswith("#440154")
        # for a 'min' goal the scale turns round
        heatmap.show(_surface("min"))
        assert heatmap.cell_look(heatmap.surface, 0, 0, False, True)[1].endswith("#fde725")


async def test_heatmap_without_colour_shows_shades(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = HeatmapHost()
    async with app.run_test(size=(80, 16)) as pilot:
        assert app.no_color
        heatmap = app.query_one(Heatmap)
        heatmap.show(_surface())
        await pilot.pause()
        cells = cell_texts(heatmap)
        assert cells[("20", "8")] == "█ 20.1"        # the best
        assert cells[("5", "8")] == "░ 5.08!"        # the worst
        assert all(c[0] in SHADES for k, c in cells.items() if k != ("20", "16"))
        assert SHADES in " ".join(lines_of(heatmap))  # the legend's scale


async def test_heatmap_cursor_keys_choose_and_scroll():
    chosen = []

    class Catch(HeatmapHost):
        def on_heatmap_cell_chosen(self, message: Heatmap.CellChosen) -> None:
            chosen.append((message.x, message.y))

    app = Catch()
    async with app.run_test(size=(40, 12)) as pilot:
        heatmap = app.query_one(Heatmap)
        rows = [{"run": f"r{i}", "a": i, "b": j, "seed": 0, "status": "completed",
                 "best_loss": float(i * 10 + j)} for i in range(30) for j in range(12)]
        heatmap.show(sf.surface(rows, ["a", "b"], "a", "b", "best_loss", "min"))
        heatmap.focus()
        await pilot.pause()
        first = heatmap.layout_shown
        assert len(first.cols) < 30 and len(first.rows) < 12        # a window of the grid
        assert "▶" in lines_of(heatmap)[1]                            # more to the right
        await pilot.press("right", "right", "down", "enter")
        assert chosen == [(2, 1)]
        await pilot.press("end")
        await pilot.pause()
        last = heatmap.layout_shown
        assert 29 in last.cols and 11 in last.rows                   # scrolled with it
        assert cell_texts(heatmap)[("29", "11")] == "301"
        # the cursor stays on its values when the grid grows
        heatmap.show(sf.surface(rows + [{**rows[0], "a": 99}], ["a", "b"], "a", "b",
                                "best_loss", "min"))
        assert heatmap.cursor_values() == (29, 11)


# ---------------------------------------------------------------- no torch in the UI

def test_the_screen_does_not_import_torch():
    code = ("import sys; import lstm_tui.tui.screens.sweep, lstm_tui.tui.widgets.heatmap; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_the_sweep_process_and_state_import_neither_textual_nor_the_screen():
    code = ("import sys; import lstm_tui.tui.sweep.process, lstm_tui.tui.sweep.state; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'torch') "
            "or m.startswith('lstm_tui.tui.screens')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- the sweep's [expect]

EXPECT = {"best_accuracy[seq_len=5]": {"min": 0.9},
          "best_accuracy[seq_len=40, cell=lstm, hidden=8]": {"min": 0.9}}


def judge(folder: Path) -> list[dict]:
    """The synthetic sweep's verdicts, judged and saved as the sweep driver does."""
    from lstm_tui.expect import sweep as expect
    from lstm_tui.config import load_preset
    spec = parse_sweep(load_preset(folder / "sweep.toml"), "x")
    found = expect.check(spec, columns_for(spec), EXPECT, "x")
    verdicts = expect.verdicts(found, read_results(folder / "results.csv"), spec.axes)
    expect.save(folder, verdicts)
    return verdicts


async def test_the_sweeps_verdicts_show_under_the_status_line(tmp_path):
    root = tmp_path / "runs"
    folder = synthetic_sweep(root)
    app = Host(lambda: SweepScreen(root, sweep_dir=folder, watch_seconds=0.2))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await settle(pilot)
        view = screen.query_one("#sweep-expect", Static)
        assert screen.state.done == 48 and not view.display       # not judged: no line
        # a headless `lstm-lab sweep` elsewhere judges it: the screen follows the file
        verdicts = judge(folder)
        await wait_for(pilot, lambda: screen.state.verdicts, timeout=10, what="the verdicts")
        await settle(pilot)
        assert view.display and view.region.height == 3
        lines = [" ".join(line.split()) for line in lines_of(view)]
        assert lines[0] == "expect 1 met · 1 MISSED (judged when the sweep ended)"
        # seq_len 5: the worst cell is lstm with 8 units, (0.948 + 0.968) / 2
        assert lines[1] == "✓ best_accuracy[seq_len=5] 0.958 (band >= 0.9) met"
        assert lines[2] == ("✗ best_accuracy[seq_len=40, cell=lstm, hidden=8] 0.608 "
                            "(band >= 0.9) MISSED")
        assert [v["observed"] for v in verdicts] == pytest.approx([0.958, 0.608])


async def test_verdicts_arrive_with_the_sweeps_events_and_a_new_run_clears_them(tmp_path):
    from lstm_tui.expect.sweep import SweepJudged
    cfg = tiny_config({"grid": {"model.hidden": [4, 8]}})
    spec = parse_sweep(cfg, "tiny.toml")
    folder = sweep_dir_for(tmp_path / "runs", spec)
    app = Host(lambda: SweepScreen(tmp_path / "runs", cfg))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        _, send = fake_driver(screen)

        send(SweepStarted(folder, "tiny", 2, 0, 2, tuple(spec.axes), "accuracy", "max",
                          "sequential", 1), SweepFinished(2, 2, False),
             SweepJudged([{"key": "best_accuracy", "observed": 0.4, "min": 0.5, "max": None,
                           "met": False}]))
        # the driver's messages arrive through the app's queue: wait for them, not a count
        await wait_for(pilot, lambda: screen.state.verdicts, timeout=20, what="the verdicts")
        await settle(pilot)
        # on a loaded machine the line may be laid out a frame after the state changed
        await wait_for(pilot, lambda: shown(pilot, "#sweep-expect"), timeout=20,
                       what="the verdicts line")
        text = shown(pilot, "#sweep-expect")
        assert text.startswith("expect 0 met · 1 MISSED") and \
            "✗ best_accuracy 0.4 (band >= 0.5) MISSED" in text
        screen.state.active = True
        send(SweepStarted(folder, "tiny", 2, 2, 2, tuple(spec.axes), "accuracy", "max",
                          "sequential", 1))
        await wait_for(pilot, lambda: not screen.state.verdicts, timeout=20,
                       what="the verdicts cleared")
        await settle(pilot)
        assert not screen.query_one("#sweep-expect").display
