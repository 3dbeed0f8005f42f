"""The Runs, run detail, Compare and Sample screens, driven with Pilot.

Real tiny runs (a char_lm run and two nth_element runs trained for 20 steps) and
synthetic run folders written here (deterministic curves, a "running" run whose files
the tests extend) make up the stores.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input

from lstm_tui.config import parse_config, to_toml
from lstm_tui.tui.screens.compare import CompareScreen
from lstm_tui.tui.screens.run_detail import RunDetailScreen
from lstm_tui.tui.screens.runs import RunsScreen, plan_columns
from lstm_tui.tui.run_labels import best_text, fit, display_name, run_choice, started_text
from lstm_tui.tui.screens.sample import SampleScreen
from lstm_tui.tui.widgets.charts import GradHeatmap
from lstm_tui.tui.widgets.run_charts import Curve, CurvesPlot, MetricsTail, read_heat_rows
from lstm_tui.tui.widgets.slider import Slider
from tests.tui.conftest import Host, record_notifications

# ---------------------------------------------------------------- synthetic runs

BASE_TIME = 1_790_000_000.0   # a fixed "now" for ages; runs are created before it


def write_run(root: Path, folder: str, *, task: dict | None = None, model: dict | None = None,
              train: dict | None = None, status: str = "completed", steps: int = 400,
              created: float = BASE_TIME - 3600, log_every: int = 10, eval_every: int = 50,
              seconds_per_step: float = 0.01, scale: float = 1.0, host: str = "elsewhere",
              name: str = "") -> Path:
    """A run folder as RunWriter leaves it, with smooth deterministic curves."""
    cfg = parse_config({"name": name or folder, "task": task or {"kind": "nth_element"},
                        "model": model or {}, "train": {"steps": steps, **(train or {})}})
    metric = {"char_lm": "perplexity", "nth_element": "accuracy"}.get(cfg.task.kind, "mad")
    goal = "max" if metric == "accuracy" else "min"
    path = root / folder
    path.mkdir(parents=True)
    (path / "config.toml").write_text(to_toml(cfg), encoding="utf-8")
    lines, best, final = [], None, None
    for step in range(log_every, steps + 1, log_every):
        loss = scale * (2.0 * math.exp(-step / 150) + 0.2) + 0.02 * math.sin(step / 7)
        value = 1 - loss / 2.5 if metric == "accuracy" else math.exp(loss)
        lines.append({"step": step, "epoch": step // 100, "split": "train", "loss": loss,
                      metric: value, "lr": 0.01, "grad_norm": 1 + math.cos(step / 11),
                      "mean_abs_grad": 0.001 * (1 + step / steps), "steps_per_sec": 100.0,
                      "time": round(step * seconds_per_step, 3), "grad_norms": {"w": 0.5},
                      "grad_means": {"w": 0.01}})
        if step % eval_every == 0:
            vloss = loss * 1.05
            vvalue = 1 - vloss / 2.5 if metric == "accuracy" else math.exp(vloss)
            lines.append({"step": step, "epoch": step // 100, "split": "val", "loss": vloss,
                          metric: vvalue, "time": round(step * seconds_per_step, 3)})
            final = vvalue
            best = vvalue if best is None else (max(best, vvalue) if goal == "max"
                                                else min(best, vvalue))
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    summary = {"status": status, "pid": 4242, "host": host, "created": created,
               "updated": created + steps * seconds_per_step, "name": folder, "params": 1234,
               "metric": metric, "goal": goal, "device": "cpu", "total_steps": steps,
               "steps": steps, "best": best, "final": final,
               "seconds": steps * seconds_per_step}
    (path / "summary.json").write_text(json.dumps(summary, indent=2))
    return path


def write_corrupt(root: Path, folder: str = "broken-run") -> Path:
    path = root / folder
    path.mkdir(parents=True)
    (path / "config.toml").write_text("this is [not toml", encoding="utf-8")
    (path / "summary.json").write_text("{half a json")
    old = BASE_TIME - 10 * 86400     # its age comes from the folder's mtime
    for p in (path / "config.toml", path / "summary.json", path):
        os.utime(p, (old, old))
    return path


def synthetic_store(root: Path) -> dict[str, Path]:
    """Five runs (one of them a sweep member, one running) and a corrupt folder."""
    return {
        "lstm": write_run(root, "20261101-120000-nth-lstm-lstm32", model={"hidden": 32},
                          created=BASE_TIME - 5 * 86400),
        "gru": write_run(root, "20261102-120000-nth-gru-gru64",
                         model={"cell": "gru", "hidden": 64}, created=BASE_TIME - 2 * 86400,
                         scale=0.7, steps=300),
        "rnn": write_run(root, "20261103-120000-nth-rnn-rnn16",
                         model={"cell": "rnn", "hidden": 16}, created=BASE_TIME - 86400,
                         scale=1.4, status="diverged", steps=200),
        "sweep": write_run(root, "sweep-lr/20261104-120000-lr-0.003-lstm32",
                           model={"hidden": 32}, train={"lr": 0.003},
                           created=BASE_TIME - 7200, scale=0.9),
        "running": write_run(root, "20261105-120000-live-lstm128", model={"hidden": 128},
                             status="running", steps=100, created=BASE_TIME - 300,
                             scale=1.1),
        "lm": write_run(root, "20261105-130000-char-lm-lstm64",
                        task={"kind": "char_lm", "max_chars": 3000}, model={"hidden": 64},
                        created=BASE_TIME - 1800, steps=300),
        "corrupt": write_corrupt(root),
    }


def append_progress(run: Path, first: int, last: int, *, metric: str = "accuracy") -> None:
    """What a still-training writer adds: train and val lines, then a new summary."""
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as fh:
        for step in range(first, last + 1, 10):
            loss = 0.1 + 1 / step
            fh.write(json.dumps({"step": step, "split": "train", "loss": loss,
                                 metric: 0.95, "time": step * 0.01}) + "\n")
            if step % 50 == 0:
                fh.write(json.dumps({"step": step, "split": "val", "loss": loss,
                                     metric: 0.95, "time": step * 0.01}) + "\n")
    summary = json.loads((run / "summary.json").read_text())
    summary.update(steps=last, best=0.95, final=0.95)
    (run / "summary.json").write_text(json.dumps(summary))


# ---------------------------------------------------------------- real runs

@pytest.fixture(scope="module")
def real_store(tmp_path_factory) -> dict[str, Path]:
    """A char_lm run and two nth_element runs trained for 20 steps, and a corrupt folder."""
    from lstm_tui.experiment import start_run
    root = tmp_path_factory.mktemp("real") / "runs"
    tiny = {"steps": 20, "eval_every": 10, "batch_size": 8, "device": "cpu"}
    lm, _ = start_run(parse_config({
        "name": "lm", "task": {"kind": "char_lm", "max_chars": 3000, "seq_len": 8,
                               "sample_length": 0},
        "model": {"hidden": 16}, "train": tiny}), root)
    nth8, _ = start_run(parse_config({
        "name": "nth", "task": {"kind": "nth_element", "train_size": 200, "val_size": 50},
        "model": {"hidden": 8}, "train": tiny}), root)
    nth16, _ = start_run(parse_config({
        "name": "nth", "task": {"kind": "nth_element", "train_size": 200, "val_size": 50},
        "model": {"hidden": 16}, "train": tiny}), root)
    corrupt = write_corrupt(root)
    return {"root": root, "lm": lm, "nth8": nth8, "nth16": nth16, "corrupt": corrupt}


@pytest.fixture
def store(tmp_path) -> tuple[Path, dict[str, Path]]:
    root = tmp_path / "runs"
    return root, synthetic_store(root)


# ---------------------------------------------------------------- hosting a screen

async def settle(pilot, rounds: int = 3) -> None:
    """Let thread workers finish and their messages land; draw pending plots."""
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    for plot in pilot.app.screen.query(CurvesPlot):
        plot.flush()
    await pilot.pause()


def column(table: DataTable, key: str) -> list[str]:
    """The texts of one column, top to bottom."""
    index = [c.key.value for c in table.ordered_columns].index(key)
    return [str(table.get_row_at(i)[index]) for i in range(table.row_count)]


def names(table: DataTable) -> list[str]:
    return column(table, "name")


def visible_text(widget) -> str:
    """What a widget shows on screen now."""
    return "\n".join("".join(seg.text for seg in widget.render_line(y))
                     for y in range(widget.size.height))


def cell(table: DataTable, row: Path, column: str) -> str:
    return str(table.get_cell(str(row), column))


# ---------------------------------------------------------------- chart helpers

def test_metrics_tail_reads_only_new_lines_and_restarts_on_replace(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "split": "train", "loss": 1.0, "time": 0.5, '
                    '"grad_norms": {"w": 1}}\n')
    tail = MetricsTail(path)
    assert tail.update() and tail.count == 1
    assert tail.keys() == {"loss"}                       # per-parameter dicts dropped
    assert not tail.update()
    with open(path, "a") as fh:
        fh.write('{"step": 2, "split": "train", "loss": 0.5, "acc": 0.1}\n'
                 '{"step": 3, "spl')                      # a line still being written
    assert tail.update() and tail.series("train", "loss") == ([1.0, 2.0], [1.0, 0.5])
    assert tail.series("train", "acc") == ([2.0], [0.1])  # a field that came later
    assert tail.series("train", "loss", x="time") == ([0.5], [1.0])
    with open(path, "a") as fh:
        fh.write('it": "train", "loss": 0.2}\n')
    assert tail.update() and tail.series("train", "loss")[0] == [1.0, 2.0, 3.0]
    assert tail.series("val", "loss") == ([], [])
    tmp = tmp_path / "new.jsonl"
    tmp.write_text('{"step": 9, "split": "val", "loss": 0.1}\n')
    os.replace(tmp, path)     # a resumed run truncates its metrics atomically
    assert tail.update() and tail.count == 1
    assert tail.series("val", "loss") == ([9.0], [0.1]) and tail.series("train", "loss")[0] == []


def test_metrics_tail_reads_big_files_in_chunks(tmp_path, monkeypatch):
    import lstm_tui.tui.widgets.run_charts as charts
    monkeypatch.setattr(charts, "READ_CHUNK", 7)         # chunks end mid-line
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"step": i, "split": "train", "loss": 1 / i}) + "\n"
                            for i in range(1, 201)))
    tail = MetricsTail(path)
    assert tail.update() and tail.count == 200
    assert tail.series("train", "loss") == ([float(i) for i in range(1, 201)],
                                            [1 / i for i in range(1, 201)])


async def test_plot_redraws_at_most_four_times_a_second():
    class PlotApp(App):
        def compose(self) -> ComposeResult:
            yield CurvesPlot(id="p")

    app = PlotApp()
    async with app.run_test(size=(60, 20)) as pilot:
        plot = app.query_one(CurvesPlot)
        start = plot.draw_count
        for i in range(20):
            plot.show([Curve("a", list(range(i + 2)), list(range(i + 2)))], title=f"v{i}")
        assert plot.draw_count - start <= 1            # the first one only
        for _ in range(40):         # the trailing redraw: 0.25 s later, longer on a loaded box
            await pilot.pause(0.1)
            if plot.draw_count - start >= 2:
                break
        await pilot.pause(0.3)
        assert plot.draw_count - start == 2            # then the latest, once
        assert plot.state.title == "v19" and plot.state.points == (21,)


# ---------------------------------------------------------------- Runs screen

async def test_runs_table_lists_real_runs_and_the_corrupt_folder(real_store):
    app = Host(lambda: RunsScreen(real_store["root"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one(DataTable)
        assert table.row_count == 4
        assert sorted(names(table)) == ["broken-run", "lm-lstm16", "nth-lstm16", "nth-lstm8"]
        assert cell(table, real_store["corrupt"], "status") == "corrupt"
        assert cell(table, real_store["lm"], "status") == "completed"
        assert cell(table, real_store["lm"], "best").endswith("ppl")
        assert cell(table, real_store["nth8"], "steps") == "20"
        table.move_cursor(row=table.get_row_index(str(real_store["corrupt"])))
        await pilot.pause()
        info = visible_text(screen.query_one("#runs-info"))
        assert "corrupt" in info and "config.toml" in info


async def test_an_empty_store_says_how_to_fill_it(tmp_path):
    app = Host(lambda: RunsScreen(tmp_path / "nothing-here"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.query_one(DataTable).row_count == 0
        assert "No runs under" in visible_text(app.screen.query_one("#runs-info"))


async def test_a_folder_that_cannot_be_read_is_listed_not_fatal(store, monkeypatch):
    root, runs = store
    import lstm_tui.runs.index_rows as index_module
    real = index_module.read_summary_part

    def flaky(path):
        if path == runs["gru"]:
            raise PermissionError(f"[Errno 13] Permission denied: '{path}'")
        return real(path)

    monkeypatch.setattr(index_module, "read_summary_part", flaky)
    app = Host(lambda: RunsScreen(root, clock=lambda: BASE_TIME))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 7
        assert cell(table, runs["gru"], "status") == "corrupt"
        assert "Permission denied" in app.screen.watcher.infos[runs["gru"]].error


async def test_sort_by_keys_and_header_click(store):
    root, runs = store
    app = Host(lambda: RunsScreen(root, clock=lambda: BASE_TIME))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        # newest first by default
        assert names(table)[:2] == ["live-lstm128", "char-lm-lstm64"]
        assert "sweep-lr/lr-0.003-lstm32" in names(table)   # a sweep member shows its group
        await pilot.press("4")           # hidden, ascending
        assert column(table, "hidden") == ["-", "16", "32", "32", "64", "64", "128"]
        await pilot.press("4")           # again: descending
        assert column(table, "hidden") == ["128", "64", "64", "32", "32", "16", "-"]
        # a click on the "steps" header sorts by steps
        x = 0
        for col in table.ordered_columns:
            if col.key.value == "steps":
                break
            x += col.get_render_width(table)
        await pilot.click(DataTable, offset=(x + 2, 0))
        await pilot.pause()
        steps = [int(v) for v in column(table, "steps")]
        assert steps == sorted(steps) and steps[0] == 0
        assert app.screen.sort_column == "steps"


async def test_filter_matches_name_task_cell_and_status(store):
    root, runs = store
    app = Host(lambda: RunsScreen(root, clock=lambda: BASE_TIME))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"gru")
        await pilot.pause()
        assert names(table) == ["nth-gru-gru64"]
        app.screen.query_one(Input).value = "corrupt"
        await pilot.pause()
        assert names(table) == ["broken-run"]
        app.screen.query_one(Input).value = "char_lm lstm"
        await pilot.pause()
        assert names(table) == ["char-lm-lstm64"]
        app.screen.query_one(Input).value = "diverged"
        await pilot.pause()
        assert names(table) == ["nth-rnn-rnn16"]
        assert "1/7 runs" in visible_text(app.screen.query_one("#runs-count"))
        await pilot.press("enter")       # back to the table
        assert app.focused is table


async def test_enter_opens_the_detail_with_curves_summary_and_config(real_store):
    app = Host(lambda: RunsScreen(real_store["root"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(str(real_store["lm"])))
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, RunDetailScreen)
        loss = detail.query_one("#detail-loss", CurvesPlot).state
        metric = detail.query_one("#detail-metric", CurvesPlot).state
        assert loss.labels == ("train", "val") and loss.points == (2, 2)
        assert metric.title == "perplexity"
        await pilot.press("4")
        await pilot.pause()
        assert 'kind = "char_lm"' in visible_text(detail.query_one("#detail-config"))
        await pilot.press("3")
        await pilot.pause()
        summary = visible_text(detail.query_one("#detail-summary"))
        assert "perplexity (lower is better)" in summary and "best.pt, last.pt" in summary
        await pilot.press("l")
        await settle(pilot)
        assert detail.query_one("#detail-loss", CurvesPlot).state.log_y
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_a_headless_run_shows_its_gradient_heatmap(real_store):
    """diagnostics.jsonl of a run trained elsewhere: the heatmap of the Live pane."""
    run = real_store["nth8"]
    want = read_heat_rows(run / "diagnostics.jsonl")
    assert len(want) == 2 and all(len(norms) == 5 for _, norms in want)   # 2 validations
    app = Host(lambda: RunDetailScreen(real_store["root"], run))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await pilot.pause()
        heatmap = app.screen.query_one("#detail-heatmap", GradHeatmap)
        assert heatmap.rows == want
        text = visible_text(heatmap)
        assert "t = 0 … 4" in text and "appears at the first validation" not in text


def test_heat_rows_are_read_from_the_end_and_bad_lines_skipped(tmp_path):
    path = tmp_path / "diagnostics.jsonl"
    lines = [json.dumps({"step": s, "timestep_grad_norms": [s, s / 2]}) for s in range(1, 301)]
    lines[150] = "not json"
    lines[151] = json.dumps({"step": "x", "timestep_grad_norms": [1]})
    path.write_text("\n".join(lines) + '\n{"step": 301, "timestep_gr')   # cut short
    rows = read_heat_rows(path, rows=256)
    assert len(rows) == 256 and rows[-1] == (300, (300.0, 150.0))
    assert 151 not in [s for s, _ in rows] and 152 not in [s for s, _ in rows]
    few = read_heat_rows(path, rows=256, max_bytes=200)        # a window of the end only
    assert few and few[-1][0] == 300 and len(few) < 10
    assert read_heat_rows(tmp_path / "missing.jsonl") == []


async def test_detail_of_a_corrupt_folder_shows_its_error(real_store):
    app = Host(lambda: RunDetailScreen(real_store["root"], real_store["corrupt"]))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "corrupt" in visible_text(app.screen.query_one("#detail-title"))
        assert app.screen.query_one("#detail-loss", CurvesPlot).state.labels == ()
        await pilot.press("3")
        await pilot.pause()
        summary = visible_text(app.screen.query_one("#detail-summary"))
        assert "error" in summary and "config.toml: corrupt" in summary   # one reader, one word


def test_columns_fit_the_width_and_the_name_shrinks_last():
    natural = {"mark": 3, "name": 60, "task": 13, "cell": 6, "hidden": 8, "status": 11,
               "best": 12, "steps": 7, "age": 17}
    keys, name = plan_columns(200, natural)
    assert len(keys) == 9 and name == 60                    # room for everything
    keys, name = plan_columns(120, natural)
    assert keys == ["mark", "name", "task", "cell", "hidden", "status", "best", "steps",
                    "age"] and name == 120 - 77 - 18        # the name gives way, all stay
    keys, name = plan_columns(110, natural)
    assert "hidden" not in keys and "task" in keys         # then an optional column goes
    keys, name = plan_columns(78, natural)
    assert keys == ["mark", "name", "status", "best", "steps", "age"]   # all three went
    assert name == 78 - 50 - 12                             # and the name is cut
    long = "sweep-nth-features-0a1b2c/p012-features=40-seed=1-lstm32"
    assert fit(long, 21) == long[:10] + "…" + long[-10:] and len(fit(long, 21)) == 21
    assert fit("short", 21) == "short"


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_long_names_leave_room_for_what_tells_runs_apart(store, size):
    """Three runs of one long name: time, status and best still show, at 120 and 80."""
    root, runs = store
    for n, status in enumerate(("completed", "failed", "completed")):
        write_run(root, f"20261105-0{n}0000-char-lm-udacity-long-preset-name-lstm64",
                  model={"hidden": 64}, created=BASE_TIME - 3600 * (n + 1), status=status,
                  scale=1 + n / 10)
    app = Host(lambda: RunsScreen(root, clock=lambda: BASE_TIME))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one(DataTable)
        assert {"name", "status", "best", "age"} <= set(screen.columns_shown)
        assert ("task" in screen.columns_shown) == (size[0] >= 100)
        width = sum(c.get_render_width(table) for c in table.columns.values())
        assert width <= table.size.width
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        long = [r for r in rows if str(r[1]).startswith("char-lm-u")]
        assert len(long) == 3 and len({str(r[1]) for r in long}) == 1   # the same name...
        age = list(table.columns).index("age")
        assert len({str(r[age]).split()[1] for r in long}) == 3    # ...told apart by time
        assert {str(r[list(table.columns).index("status")]) for r in long} == \
            {"completed", "failed"}


async def test_compare_needs_two_marked_runs(store):
    root, runs = store
    app = Host(lambda: RunsScreen(root, clock=lambda: BASE_TIME))
    async with app.run_test(size=(120, 40)) as pilot:
        said = record_notifications(app)
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        assert any("Mark two or more" in message for message in said)


async def test_marking_two_runs_compares_them(real_store):
    app = Host(lambda: RunsScreen(real_store["root"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        for key in ("nth8", "nth16"):
            table.move_cursor(row=table.get_row_index(str(real_store[key])))
            await pilot.press("space")
        assert app.screen.marked == {real_store["nth8"], real_store["nth16"]}
        assert cell(table, real_store["nth8"], "mark") == "●"
        await pilot.press("c")
        await settle(pilot)
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        assert compare.diff == {"model.hidden": [16, 8]} or \
            compare.diff == {"model.hidden": [8, 16]}
        diff_table = compare.query_one("#cmp-diff", DataTable)
        assert diff_table.row_count == 1
        assert str(diff_table.get_row_at(0)[0]) == "model.hidden"
        plot = compare.query_one("#cmp-plot", CurvesPlot)
        assert plot.state.labels == ("#1", "#2")
        assert plot.state.title.startswith("val accuracy")
        results = compare.query_one("#cmp-results", DataTable)
        assert results.row_count == 2
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_compare_toggles_change_the_plot(store):
    root, runs = store
    long_run = write_run(root, "long-lstm32", steps=8000, log_every=2, eval_every=400,
                         created=BASE_TIME - 100)
    app = Host(lambda: CompareScreen(root, [runs["lstm"], runs["gru"], long_run]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        plot = screen.query_one("#cmp-plot", CurvesPlot)
        first = plot.state
        assert first.title == "val accuracy" and first.xlabel == "step" and not first.log_y
        assert screen.diff == {"model.cell": ["lstm", "gru", "lstm"],
                               "model.hidden": [32, 64, 32],
                               "train.steps": [400, 300, 8000]}
        await pilot.press("m")                       # task metric -> loss
        await settle(pilot)
        assert plot.state.title == "val loss"
        await pilot.press("v")                       # val -> train: 4000 points, decimated
        await settle(pilot)
        assert plot.state.title == "train loss"
        assert max(plot.state.points) <= 2000 and plot.state.points[0] == 40
        await pilot.press("l")
        await settle(pilot)
        assert plot.state.log_y and plot.state.title.endswith("log y")
        await pilot.press("e")
        await settle(pilot)
        assert "EMA 0.60" in plot.state.title
        await pilot.press("x")
        await settle(pilot)
        assert plot.state.xlabel == "time (s)"
        lo, hi = plot.state.y_range
        assert lo > 0
        # a train-only field asked for on val falls back to train, saying so
        screen.query_one("#cmp-split").value = "val"
        screen.query_one("#cmp-metric").value = "grad_norm"
        await settle(pilot)
        assert plot.state.title.startswith("train grad_norm")
        assert "nothing recorded for val" in plot.state.message


async def test_runs_and_compare_follow_a_run_that_is_still_training(store):
    root, runs = store
    live = runs["running"]
    app = Host(lambda: RunsScreen(root, clock=lambda: BASE_TIME, poll_seconds=0.1))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert cell(table, live, "status") == "● running"
        assert cell(table, live, "steps") == "100"
        append_progress(live, 110, 300)
        await pilot.pause(0.3)
        await settle(pilot)
        assert cell(table, live, "steps") == "300"
        assert cell(table, live, "best") == "0.95 acc"
        # a new run appears by itself
        write_run(root, "20261105-140000-late-lstm8", model={"hidden": 8},
                  created=BASE_TIME - 10)
        await pilot.pause(0.3)
        await settle(pilot)
        assert "late-lstm8" in names(table)

    app = Host(lambda: CompareScreen(root, [live, runs["lstm"]], poll_seconds=0.1))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        plot = app.screen.query_one("#cmp-plot", CurvesPlot)
        before = plot.state.points[0]
        append_progress(live, 310, 500)
        await pilot.pause(0.3)
        await settle(pilot)
        assert plot.state.points[0] == before + 4   # val at 350, 400, 450, 500
        results = app.screen.query_one("#cmp-results", DataTable)
        assert str(results.get_cell(str(live), "steps")) == "500"


async def test_s_opens_sample_only_for_char_lm(real_store):
    app = Host(lambda: RunsScreen(real_store["root"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(str(real_store["nth8"])))
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        table.move_cursor(row=table.get_row_index(str(real_store["lm"])))
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SampleScreen)
        assert app.screen.column("A").run_path == real_store["lm"]


# ---------------------------------------------------------------- Slider

async def test_slider_keys_and_mouse_change_the_value():
    changes = []

    class SliderApp(App):
        def compose(self) -> ComposeResult:
            yield Slider(1.0, minimum=0.0, maximum=2.0, step=0.05, label="T", id="s")

        def on_slider_changed(self, event: Slider.Changed) -> None:
            changes.append(event.value)

    app = SliderApp()
    async with app.run_test(size=(40, 3)) as pilot:
        slider = app.query_one(Slider)
        slider.focus()
        await pilot.press("right")
        assert slider.value == pytest.approx(1.05)
        await pilot.press("left", "left")
        assert slider.value == pytest.approx(0.95)
        await pilot.press("shift+right")
        assert slider.value == pytest.approx(1.45)
        await pilot.press("end")
        assert slider.value == 2.0
        await pilot.press("right")                   # clamped
        assert slider.value == 2.0
        await pilot.press("home")
        assert slider.value == 0.0
        await pilot.pause()
        assert changes == pytest.approx([1.05, 1.0, 0.95, 1.45, 2.0, 0.0])  # not the clamped one
        start, width = slider.bar_geometry()
        pad = slider.styles.padding.left
        await pilot.click(Slider, offset=(pad + start + width - 1, 0))   # the far end
        assert slider.value == 2.0
        await pilot.click(Slider, offset=(pad + start + (width - 1) // 2, 0))
        assert 0.9 <= slider.value <= 1.1
        await pilot.mouse_down(Slider, offset=(pad + start, 0))          # drag to the start
        assert slider.value == 0.0
        await pilot.hover(Slider, offset=(pad + start + width // 4, 0))
        await pilot.mouse_up(Slider, offset=(pad + start + width // 4, 0))
        assert 0.3 <= slider.value <= 0.7
        assert "T" in str(slider.render())


# ---------------------------------------------------------------- Sample screen

def direct_sample(run: Path, prime: str, length: int, temperature: float, seed: int) -> str:
    from lstm_tui.runs.sampler import Sampler
    return "".join(Sampler(run, "best").stream(prime, length, temperature, seed))


async def generate(pilot, temp_a: float, temp_b: float, *, length: int = 40, seed: int = 3,
                   prime: str = "the ") -> SampleScreen:
    screen = pilot.app.screen
    screen.query_one("#sample-length", Input).value = str(length)
    screen.query_one("#sample-seed", Input).value = str(seed)
    screen.query_one("#sample-prime", Input).value = prime
    screen.column("A").slider.value = temp_a
    screen.column("B").slider.value = temp_b
    await pilot.press("g")
    for _ in range(100):
        await settle(pilot, 1)
        if not screen.generating:
            break
    return screen


async def test_sample_two_temperatures_side_by_side(real_store):
    lm = real_store["lm"]
    app = Host(lambda: SampleScreen(real_store["root"], lm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = await generate(pilot, 0.0, 1.5)
        a, b = screen.column("A"), screen.column("B")
        assert a.state == b.state == "done", (a.message, b.message)
        assert len(a.generated) == len(b.generated) == 40
        assert a.generated != b.generated
        assert a.generated == direct_sample(lm, "the ", 40, 0.0, 3)
        assert b.generated == direct_sample(lm, "the ", 40, 1.5, 3)
        assert visible_text(a.query_one(".sample-text")).startswith("the " + a.generated[:10])
        assert "step 20" in a.message


async def test_sampling_in_the_lab_uses_one_torch_thread(real_store, monkeypatch):
    """Two streams of characters on torch's default thread pool crawled on a busy
    machine (~6 s for 2 x 300 characters, issue 12): the generating thread uses one."""
    import torch

    from lstm_tui.tui.screens.sample import SAMPLE_THREADS
    asked = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads",
                        lambda n: (asked.append((n, threading.current_thread().name)),
                                   real(n)))
    app = Host(lambda: SampleScreen(real_store["root"], real_store["lm"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await generate(pilot, 0.0, 1.0)
        assert screen.column("A").state == "done"
    assert SAMPLE_THREADS == 1 and asked
    assert all(n == 1 and name != "MainThread" for n, name in asked)


async def test_the_run_picker_tells_same_named_runs_apart(real_store):
    lm = real_store["lm"]
    app = Host(lambda: SampleScreen(real_store["root"], lm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        select = app.screen.column("A").run_select
        info = next(r for r in app.screen.runs if r.path == lm)
        want = run_choice(info, real_store["root"])
        assert info.status == "completed"          # said only when it is something else
        assert want == f"{display_name(info, real_store['root'])}  " \
            f"{started_text(info.created)}  {best_text(info)}"
        assert visible_text(select.query_one("SelectCurrent #label")).strip() == want
        # a narrow picker shows the name only: the line under it tells the run apart
        status = visible_text(app.screen.column("A").query_one(".sample-status"))
        assert f"{started_text(info.created)} · completed · best {best_text(info)}" in status
        failed = dataclasses.replace(info, status="failed")
        assert run_choice(failed, real_store["root"]).endswith(f"{best_text(info)}  failed")


async def test_sample_at_temperature_zero_is_the_argmax_text_twice(real_store):
    lm = real_store["lm"]
    app = Host(lambda: SampleScreen(real_store["root"], lm))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await generate(pilot, 0.0, 0.0, seed=1)
        first = screen.column("A").generated
        assert first == screen.column("B").generated == direct_sample(lm, "the ", 40, 0.0, 99)
        screen = await generate(pilot, 0.0, 0.0, seed=2)   # argmax ignores the seed
        assert screen.column("A").generated == first


async def test_sample_shows_errors_instead_of_crashing(real_store, tmp_path):
    # a run of another task, passed in directly
    app = Host(lambda: SampleScreen(real_store["root"], real_store["nth8"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        a = app.screen.column("A")
        assert a.state == "error" and "sampling needs a char_lm run" in a.message
        await pilot.press("g")
        await settle(pilot)
        assert a.state == "error" and "nth_element" in a.message
        assert "nth_element" in visible_text(a.query_one(".sample-status"))

    # a char_lm run whose checkpoints are damaged
    root = tmp_path / "runs"
    broken = root / "lm-broken"
    shutil.copytree(real_store["lm"], broken)
    (broken / "best.pt").write_bytes(b"not a checkpoint")
    (broken / "last.pt").write_bytes(b"")
    app = Host(lambda: SampleScreen(root, broken))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = await generate(pilot, 0.5, 1.0)
        a = screen.column("A")
        assert a.state == "error" and "\n" not in a.message and a.message
        assert screen.query_one("#sample-go").label.plain == "Generate"

    # a bad length is reported, nothing runs
    app = Host(lambda: SampleScreen(real_store["root"], real_store["lm"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.screen.query_one("#sample-length", Input).value = "0"
        await pilot.press("g")
        await settle(pilot)
        assert app.screen.column("A").state == "error"
        assert "length must be between" in app.screen.column("A").message


async def test_sample_can_be_stopped(real_store):
    app = Host(lambda: SampleScreen(real_store["root"], real_store["lm"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.query_one("#sample-length", Input).value = "20000"
        await pilot.press("g")
        for _ in range(100):                       # until text flows in
            await pilot.pause(0.05)
            if screen.column("A").generated:
                break
        assert screen.generating
        await pilot.press("x")
        await settle(pilot)
        assert not screen.generating
        a = screen.column("A")
        assert 0 < len(a.generated) < 20000 and "stopped at" in a.message


async def test_sample_lists_only_char_lm_runs_and_column_b_toggles(real_store):
    app = Host(lambda: SampleScreen(real_store["root"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        select = screen.column("A").run_select
        values = [v for _, v in select._options if v is not select.NULL]
        assert values == [str(real_store["lm"])]
        assert screen.column("B").run_path == real_store["lm"]
        await pilot.press("b")
        assert [c.side for c in screen.columns] == ["A"]
        await pilot.press("b")
        assert [c.side for c in screen.columns] == ["A", "B"]


# ---------------------------------------------------------------- no torch

def test_the_screens_do_not_import_torch(store, tmp_path):
    root, runs = store
    script = tmp_path / "drive.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio, sys
        from pathlib import Path
        from textual.app import App
        from lstm_tui.tui.screens.runs import RunsScreen, plan_columns

        root = Path({str(root)!r})

        class Host(App):
            def on_mount(self):
                self.push_screen(RunsScreen(root))

        async def main():
            app = Host()
            async with app.run_test(size=(120, 40)) as pilot:
                for keys in (["enter"], ["escape", "space", "down", "space", "c"],
                             ["escape", "slash", *"char_lm", "enter", "s"]):
                    await app.workers.wait_for_complete()
                    await pilot.pause(0.2)
                    await pilot.press(*keys)
                await app.workers.wait_for_complete()
                await pilot.pause(0.2)
                print(type(app.screen).__name__, "torch" in sys.modules)

        asyncio.run(main())
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["SampleScreen", "False"]


async def test_detail_shows_the_presets_expectations_met_and_missed(real_store):
    import json
    path = real_store["lm"] / "summary.json"
    summary = json.loads(path.read_text())
    summary["expectations"] = [
        {"key": "val.perplexity", "observed": 3.4, "min": 3.0, "max": 3.9, "met": True},
        {"key": "val.perplexity@step1000", "observed": 7.5, "min": None, "max": 6.0,
         "met": False}]
    path.write_text(json.dumps(summary))
    app = Host(lambda: RunDetailScreen(real_store["root"], real_store["lm"]))
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        await pilot.press("3")   # the Summary tab
        await pilot.pause()
        text = " ".join(visible_text(app.screen.query_one("#detail-summary")).split())
        assert "expect val.perplexity 3.4 (band 3..3.9) met" in text
        assert "expect val.perplexity@step1000 7.5 (band <= 6) MISSED" in text
