"""What the Lab's first frame waits for, and what it leaves until after it is painted.

Untimed: these guard the mechanism (the order of things and the modules loaded), never a
duration; `benchmarks/bench_tui.py` measures the time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.metadata
import json
import subprocess
import sys
import textwrap

import pytest
from textual import events
from textual.widgets import Select

from lstm_tui.config import opt
from lstm_tui.tasks import registry
from lstm_tui.tasks.registry import TaskSpec
from lstm_tui.tasks.shapes import TaskShape
from lstm_tui.tui.app import make_app
from tests.conftest import REPO
from tests.tui.conftest import record_notifications, whole_lab
from tests.tui.fakes import FakeTrainer

# What the first frame must not have loaded: the heavy libraries, and the charts (plotext)
# of the Live pane, which is not on it.
HEAVY = ("torch", "numpy", "pandas", "plotext", "textual_plotext")
CHARTS = "lstm_tui.tui.widgets.charts"
# ... nor what only training, the Model pane or another task kind or cell needs: the trainer
# and the events, the model summary, the scan for plugins, the other kinds' and cells' modules
DEFERRED = ("lstm_tui.tui.worker", "lstm_tui.tui.live", "lstm_tui.events",
            "lstm_tui.models.summary", "importlib.metadata", "lstm_tui.tasks.series",
            "lstm_tui.models.cells.gru")

FIRST_FRAME = textwrap.dedent("""
    import asyncio, json, sys
    from pathlib import Path
    from textual import events
    from lstm_tui.tasks import registry
    from lstm_tui.tui.app import make_app

    HEAVY = {heavy!r}

    def state(app):
        lab = app.screen
        return {{"heavy": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY),
                 "charts": {charts!r} in sys.modules,
                 "plugins_scanned": registry._loaded,
                 "deferred": [m for m in {deferred!r} if m in sys.modules],
                 "filled": lab.panes_filled,
                 "model_fields": len(lab.query("#model .field-editor")),
                 "live_widgets": len(lab.query("#live *"))}}

    async def main():
        app = make_app(Path(sys.argv[1]))
        seen = {{}}
        def hook(message):
            if isinstance(message, events.Ready) and "ready" not in seen:
                seen["ready"] = state(app)
        async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
            from tests.tui.conftest import whole_lab   # after the first frame: it imports more
            await whole_lab(pilot)
            seen["settled"] = state(app)
        print(json.dumps(seen))

    asyncio.run(main())
""").format(heavy=HEAVY, charts=CHARTS, deferred=DEFERRED)


def test_the_first_frame_leaves_the_hidden_panes_and_the_plugin_scan_for_later(tmp_path):
    """A fresh process: at the first Ready the hidden panes are empty, plotext, torch, numpy,
    pandas and the DEFERRED modules are not loaded and no plugin was looked for; then the
    panes fill (torch still out)."""
    result = subprocess.run([sys.executable, "-c", FIRST_FRAME, str(tmp_path / "runs")],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    ready, settled = seen["ready"], seen["settled"]
    assert ready == {"heavy": [], "charts": False, "plugins_scanned": False, "filled": False,
                     "deferred": [], "model_fields": 0, "live_widgets": 0}
    assert settled["filled"] and settled["model_fields"] >= 5 and settled["live_widgets"] > 5
    assert settled["charts"] and "torch" not in settled["heavy"]


PRESET_FRAME = textwrap.dedent("""
    import asyncio, json, sys
    from pathlib import Path
    from textual import events
    from lstm_tui.tui.app import make_app

    HEAVY = {heavy!r}

    def state(app):
        lab = app.screen
        return {{"heavy": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY),
                 "info": str(lab.query_one("#task-info").render()),
                 "status": str(lab.query_one("#check-status").render()),
                 "preview": lab.query_one("#data-preview").has_class("-shown")}}

    async def main():
        app = make_app(Path(sys.argv[1]), preset=Path(sys.argv[2]))
        seen = {{}}
        def hook(message):
            if isinstance(message, events.Ready) and "ready" not in seen:
                seen["ready"] = state(app)
        async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
            from tests.tui.conftest import data_read
            await data_read(pilot)
            seen["read"] = state(app)
        print(json.dumps(seen))

    asyncio.run(main())
""").format(heavy=HEAVY)


def test_a_data_preset_reads_its_file_after_the_first_frame(tmp_path):
    """A series preset: its first frame shows the filled forms and "reading <file>…" (no
    pandas, no numpy yet); then the file is read in a thread, checked and previewed."""
    result = subprocess.run([sys.executable, "-c", PRESET_FRAME, str(tmp_path / "runs"),
                             str(REPO / "presets" / "series_sunspots.toml")],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    ready, read = seen["ready"], seen["read"]
    assert ready["heavy"] == [] and not ready["preview"]
    assert "reading sunspots_yearly.csv" in ready["info"]
    assert "reading sunspots_yearly.csv" in ready["status"]
    assert {"numpy", "pandas"} <= set(read["heavy"]) and read["preview"]
    assert "series" in read["info"] and "training" in read["info"]
    assert read["status"].startswith("✓ ready: series")


@dataclasses.dataclass
class Flip:
    """Flip every bit."""
    kind: str = opt("flip", "task kind")
    bits: int = opt(4, "bits per string", min=1)


FLIP = TaskSpec("flip", Flip, "no.such:module", lambda cfg: TaskShape(1, 2, cfg.bits, "last",
                                                                      100, 10),
                "accuracy", "max")


class EntryPoint:
    def __init__(self, name, value, load):
        self.name, self.value, self.load = name, value, load


def _missing():
    raise ImportError("no module named 'flipper'")


@pytest.fixture
def plugins(monkeypatch):
    """A registry as in a new process, whose scan finds the flip plugin and a broken one,
    and records when it ran."""
    monkeypatch.setattr(registry, "_SPECS", {})
    monkeypatch.setattr(registry, "_PROBLEMS", [])
    monkeypatch.setattr(registry, "_loaded", False)
    order: list[str] = []
    real = importlib.metadata.entry_points

    def entry_points(group):
        if group != registry.GROUP:    # the cells' scan (once a process) sees the real ones
            return real(group=group)
        order.append("scan")
        return [EntryPoint("flip", "pkg:flip", lambda: FLIP),
                EntryPoint("broken", "pkg:x", _missing)]
    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    yield order
    registry._loaded = False     # monkeypatch restores the old table after this


async def test_plugin_kinds_join_the_lab_after_its_first_frame(plugins, tmp_path):
    app = make_app(tmp_path / "runs", trainer=FakeTrainer())
    said = record_notifications(app)

    def hook(message):
        if isinstance(message, events.Ready) and "ready" not in plugins:
            plugins.append("ready")
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        await whole_lab(pilot)
        select = app.screen.query_one("#task-kind", Select)
        for _ in range(200):     # the scan runs in a thread
            if "flip" in [value for _, value in select._options]:
                break
            await pilot.pause(0.02)
        assert [value for _, value in select._options][-1] == "flip"
        assert select.value == "nth_element"       # new options keep the choice
        assert app.screen.config.task.kind == "nth_element"
        select.value = "flip"
        await pilot.pause()
        await pilot.pause()
        assert app.screen.config.task.kind == "flip" and app.screen.config.task.bits == 4
    assert plugins[:2] == ["ready", "scan"]
    assert any("task plugin 'broken'" in line and "flipper" in line for line in said)


async def test_a_preset_of_a_plugin_kind_opens_with_it(plugins, tmp_path):
    """The preset needs its plugin before the first frame: it is scanned for then, and the
    kind is offered at once."""
    preset = tmp_path / "flip.toml"
    preset.write_text('[task]\nkind = "flip"\nbits = 6\n')
    app = make_app(tmp_path / "runs", trainer=FakeTrainer(), preset=preset)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#task-kind", Select).value == "flip"
        assert app.screen.config.task.kind == "flip" and app.screen.config.task.bits == 6


async def test_quitting_as_the_first_frame_shows_waits_for_the_panes(tmp_path):
    """ctrl+q right after the first frame, while the hidden panes are being filled: the app
    lets the fill finish, then quits cleanly (a mount cut short would fail)."""
    app = make_app(tmp_path / "runs", trainer=FakeTrainer())

    def hook(message):
        if isinstance(message, events.Ready):
            app.post_message(events.Key("ctrl+q", None))    # handled just after Ready
    async with app.run_test(size=(120, 40), message_hook=hook):
        for _ in range(1000):
            if app.return_code is not None:
                break
            await asyncio.sleep(0.01)
        assert app.return_code == 0     # and leaving run_test re-raises any failure


async def test_the_collector_paused_for_start_up_runs_again_after_the_first_frame(tmp_path):
    """`lstm-lab` pauses the garbage collector while the app starts; the first frame turns
    it back on.  A collector someone else turned off stays off."""
    import gc

    from lstm_tui.tui import collector
    collector.pause()
    try:
        assert not gc.isenabled()
        app = make_app(tmp_path / "runs", trainer=FakeTrainer())
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert gc.isenabled()
        gc.disable()
        collector.pause()
        collector.resume()
        assert not gc.isenabled()
    finally:
        gc.enable()
