"""The Lab screen driven with Pilot and a fake trainer: configure, check, start, watch, stop."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Select, TabbedContent

from lstm_tui import events as ev
from lstm_tui.config import TASKS, ConfigError, RunConfig, load_preset, opt
from lstm_tui.tasks import registry
from lstm_tui.tasks.registry import TaskSpec
from lstm_tui.tasks.shapes import TaskShape
from lstm_tui.presets import resolve_preset
from lstm_tui.tui.app import make_app
from lstm_tui.tui.messages import WorkerFailed
from lstm_tui.tui.widgets.charts import CurveChart, GradHeatmap
from lstm_tui.tui.widgets.config_form import ConfigForm
from tests.conftest import PRESETS
from tests.tui.conftest import record_notifications, text_of, type_into, wait_for
from tests.tui.fakes import FakeTrainer, step, training_script

SIZE = (120, 40)


async def test_the_forms_come_from_the_config_types(app):
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        assert lab.id == "lab"
        # every field of every section has an editor, and the config they make is the default
        for form_id, cls in (("#model-form", "ModelConfig"), ("#train-form", "TrainConfig")):
            form = lab.query_one(form_id, ConfigForm)
            assert form.cls.__name__ == cls
            for name in form.specs:
                assert lab.query(f"#{form.section}-{name}-input")
        assert lab.config == RunConfig()
        assert "✓ ready" in text_of(pilot, "#check-status")


async def test_configure_fields_and_the_summary_follows(app):
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        lab.action_pane("model")
        await pilot.pause()
        await type_into(pilot, "#model-hidden-input", "64")
        lab.query_one("#model-cell-input", Select).value = "gru"
        await pilot.pause()
        assert lab.config.model.hidden == 64 and lab.config.model.cell == "gru"
        summary = text_of(pilot, "#summary")
        # GRU 64 on 10 one-hot inputs: 3*(64*10 + 64*64 + 2*64) + 64*10 + 10
        assert f"{3 * (640 + 4096 + 128) + 650:,}" in summary
        assert "gru_1 (GRU)" in summary
        await type_into(pilot, "#model-hidden-input", "4096")
        assert "over:" in text_of(pilot, "#summary")


async def test_a_field_error_is_shown_with_the_headless_message(app):
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await type_into(pilot, "#task-seq_len-input", "0")
        error = text_of(pilot, "#task-seq_len-help")
        assert error == "task.seq_len: must be an integer >= 1 and <= 100000, got 0"
        assert error in text_of(pilot, "#check-status")
        assert lab.config is None
        assert lab.query_one("#task-seq_len-input").has_class("-invalid")
        assert lab.query_one("#task-seq_len-help").has_class("-error")
        # the same words `lstm-lab check --set task.seq_len=0` prints after the file name
        with pytest.raises(ConfigError) as headless:
            load_preset(PRESETS / "nth_element_lstm.toml", ["task.seq_len=0"])
        assert str(headless.value).endswith(": " + error)
        await type_into(pilot, "#task-seq_len-input", "abc")
        assert text_of(pilot, "#task-seq_len-help").endswith("got 'abc'")
        await type_into(pilot, "#task-seq_len-input", "8")
        assert text_of(pilot, "#task-seq_len-help") == "sequence length"   # the help again
        assert lab.config is not None and lab.config.task.seq_len == 8


async def test_a_cross_field_error_is_shown_under_its_field(app, fake_trainer):
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await type_into(pilot, "#task-n-input", "7")
        expected = "task.n: must be < task.seq_len (5), got 7"
        assert text_of(pilot, "#task-n-help") == expected
        assert expected in text_of(pilot, "#check-status")
        await pilot.press("ctrl+r")            # refused: nothing starts
        await pilot.pause()
        assert fake_trainer.configs == []
        await type_into(pilot, "#task-n-input", "4")
        assert lab.task_form.error("n") == ""
        assert lab.config.task.n == 4


async def test_switching_the_task_kind_shows_its_fields(app):
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await type_into(pilot, "#task-seq_len-input", "7")
        lab.query_one("#task-kind", Select).value = "char_lm"
        await pilot.pause()
        form = lab.query_one("#task-form", ConfigForm)
        assert form.cls is TASKS["char_lm"]
        assert lab.query_one("#task-normalize-input", Select).value == "text8"
        assert lab.config.task.kind == "char_lm"
        assert "27 symbols" in text_of(pilot, "#task-info")
        lab.query_one("#task-kind", Select).value = "nth_element"
        await pilot.pause()
        assert lab.config.task.seq_len == 7    # the values typed before come back


async def test_a_new_task_key_appears_without_ui_code(tmp_path, monkeypatch):
    @dataclasses.dataclass
    class Parity:
        """Parity of a bit string."""
        kind: str = opt("parity", "task kind")
        bits: int = opt(8, "bits per string", min=1)

    registry.kinds()   # built-ins loaded, then a copy of the table that the test may change
    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))
    shape = lambda cfg: TaskShape(1, 2, cfg.bits, "last", 100, 10)
    assert registry.register(TaskSpec("parity", Parity, "no.such:module", shape,
                                      "accuracy", "max"))
    app = make_app(tmp_path, trainer=FakeTrainer())
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        lab.query_one("#task-kind", Select).value = "parity"
        await pilot.pause()
        assert lab.query_one("#task-bits-input", Input).value == "8"
        await type_into(pilot, "#task-bits-input", "0")
        assert text_of(pilot, "#task-bits-help") == "task.bits: must be an integer >= 1, got 0"


async def test_start_and_live_update(app, fake_trainer):
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await type_into(pilot, "#model-hidden-input", "16")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert fake_trainer.configs == [lab.config]
        assert fake_trainer.configs[0].model.hidden == 16
        assert lab.query_one("#panes", TabbedContent).active == "live"
        lab.refresh_live()
        state = app.states["fake-1"]
        assert state.status == "running" and state.step == 400
        status = text_of(pilot, "#run-status")
        assert "fake-run: running · step 400/1,000 · epoch 5/10" in status
        assert "best accuracy" in status
        table = lab.query_one("#active-runs", DataTable)
        assert table.row_count == 1 and table.get_row("fake-1")[3] == "running"
        loss = lab.query_one("#chart-loss", CurveChart)
        assert "train" in str(loss.border_title)
        assert len(lab.query_one("#heatmap", GradHeatmap).rows) == 4
        # more events arrive: the view follows within one redraw tick
        handle = fake_trainer.handles[0]
        handle.emit(*[step(lab.config, n) for n in range(410, 510, 10)])
        for _ in range(50):         # one redraw tick, however long a loaded box takes to get there
            await pilot.pause(lab.REDRAW_EVERY)
            if "step 500/1,000" in text_of(pilot, "#run-status"):
                break
        assert "step 500/1,000" in text_of(pilot, "#run-status")
        assert table.get_row("fake-1")[4] == "500/1,000"


async def test_the_status_line_and_the_run_row_fit_80_columns(app, fake_trainer):
    async with app.run_test(size=(80, 24)) as pilot:
        lab = app.screen
        await type_into(pilot, "#run-name-input", "char-lm-udacity-long-name")
        await pilot.press("ctrl+r")
        await pilot.pause()
        lab.refresh_live(force=True)
        await pilot.pause()
        status = text_of(pilot, "#run-status")
        assert "…" not in status and "ETA" in status and "best accuracy" in status
        table = lab.query_one("#active-runs", DataTable)
        assert "task" not in [c.value for c in table.columns]        # the model tells it
        width = sum(c.get_render_width(table) for c in table.columns.values())
        assert width <= table.size.width
        assert table.get_row("fake-1")[2] == "running"


async def test_event_floods_are_coalesced(app, fake_trainer):
    """Many batches queued at once are applied by one message (can_replace)."""
    seen = []
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await pilot.press("ctrl+r")
        await pilot.pause()
        handle = fake_trainer.handles[0]
        cfg = fake_trainer.configs[0]
        before = len([m for m in seen if type(m).__name__ == "TrainingEvents"])
        for n in range(1000, 3000, 10):          # 200 batches posted back to back
            handle.emit(step(cfg, n))
        await pilot.pause()
        handled = len([m for m in seen if type(m).__name__ == "TrainingEvents"]) - before
        assert handled < 20
        assert app.states["fake-1"].step == 2990
        assert len(app.states["fake-1"].train_loss) == 40 + 200


async def test_stop_ends_the_selected_run(app, fake_trainer):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert fake_trainer.handles[0].stopped
        assert app.states["fake-1"].status == "interrupted"
        app.screen.refresh_live()
        assert "interrupted" in text_of(pilot, "#run-status")


async def test_several_runs_and_the_charts_follow_the_selection(app, fake_trainer):
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await pilot.press("ctrl+r")
        await type_into(pilot, "#run-name-input", "second")
        await pilot.press("ctrl+r")
        await pilot.pause()
        table = lab.query_one("#active-runs", DataTable)
        assert table.row_count == 2 and lab.selected == "fake-2"
        assert [c.name for c in fake_trainer.configs] == ["", "second"]
        table.focus()
        await pilot.press("up")
        await wait_for(pilot, lambda: lab.selected == "fake-1")   # the row's highlight
        assert lab.selected == "fake-1"
        await pilot.press("ctrl+g")            # stops the selected one only
        await pilot.pause()
        assert [h.stopped for h in fake_trainer.handles] == [True, False]


async def test_a_redraw_before_the_keys_highlight_lands_leaves_the_cursor_alone(app, fake_trainer):
    # On a busy machine the tick can redraw between the key moving the cursor and the
    # screen hearing of it; the redraw used to pull the cursor back to the old selection,
    # and the two highlights then swapped the selection for ever (seen as the wrong run
    # stopped).
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press("ctrl+r")
        await pilot.pause()
        table = lab.query_one("#active-runs", DataTable)
        assert lab.selected == "fake-2" and table.cursor_row == 1     # a new run is shown
        table.action_cursor_up()        # the key's highlight message is now on its way
        lab.refresh_live(force=True)    # the tick, before the screen hears of it
        assert table.cursor_row == 0
        await wait_for(pilot, lambda: lab.selected == "fake-1")
        for _ in range(5):
            await pilot.pause()
            assert lab.selected == "fake-1" and table.cursor_row == 0
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert [h.stopped for h in fake_trainer.handles] == [True, False]


async def test_a_failed_run_is_shown_and_the_app_stays_usable(tmp_path):
    def failing(cfg):
        return [ev.Failed(error="RuntimeError: CUDA error: out of memory", step=12)]
    trainer = FakeTrainer(failing)
    app = make_app(tmp_path, trainer=trainer)
    async with app.run_test(size=SIZE) as pilot:
        said = record_notifications(app)
        await pilot.press("ctrl+r")
        await pilot.pause()
        app.screen.refresh_live()
        assert app.states["fake-1"].status == "failed"
        status = text_of(pilot, "#run-status")
        assert "failed" in status and "CUDA error: out of memory" in status
        assert any("out of memory" in message for message in said)
        # a worker that died without a word is reported too
        app.post_message(WorkerFailed("fake-1", "the training process died (SIGKILL)"))
        await pilot.pause()
        assert app.states["fake-1"].message == "the training process died (SIGKILL)"
        # still usable: configure and start another run
        trainer.script = training_script
        await type_into(pilot, "#model-hidden-input", "8")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.states["fake-2"].status == "running"


async def test_save_preset_then_load_it_back(app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        await type_into(pilot, "#run-name-input", "my-run")
        await type_into(pilot, "#train-lr-input", "3e-3")
        lab.query_one("#model-hidden-input", Input).value = "48"
        lab.query_one("#model-cell-input", Select).value = "rnn"
        await pilot.pause()
        cfg = lab.config
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.query_one("#save-path", Input).value == "my-run.toml"
        await pilot.press("enter")
        await pilot.pause()
        saved = tmp_path / "my-run.toml"
        assert load_preset(saved) == cfg
        assert cfg.train.lr == 0.003 and cfg.model.cell == "rnn" and cfg.model.hidden == 48

        # load a shipped preset through the dialog, by typing its name
        await pilot.press("ctrl+o")
        await pilot.pause()
        await type_into(pilot, "#load-path", "copy_task")
        await pilot.press("enter")
        await pilot.pause()
        assert lab.config == load_preset(resolve_preset("copy_task"))
        # and the saved file back, from the list of files here
        await pilot.press("ctrl+o")
        await pilot.pause()
        options = app.screen.query_one("#preset-list")
        index = next(i for i in range(options.option_count)
                     if options.get_option_at_index(i).id.endswith("my-run.toml"))
        options.highlighted = index
        options.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert lab.config == cfg


async def test_loading_a_bad_preset_says_why_and_keeps_the_dialog(app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text("[model]\nhidden = 0\n")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause()
        await type_into(pilot, "#load-path", "bad.toml")
        await pilot.press("enter")
        await pilot.pause()
        assert "model.hidden: must be an integer >= 1" in text_of(pilot, "#load-error")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.id == "lab" and app.screen.config == RunConfig()


async def test_opening_with_a_preset(tmp_path):
    path = PRESETS / "copy_task.toml"
    app = make_app(tmp_path, trainer=FakeTrainer(), preset=path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.screen.config == load_preset(path)
        assert app.screen.query_one("#task-kind", Select).value == "copy"


async def test_command_palette_lists_every_action(app):
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for expected in ("Start (ctrl+r)", "Stop (ctrl+g)", "Save (ctrl+s)", "Load (ctrl+o)",
                         "Live (ctrl+l)", "Runs screen (f3)", "Sample screen (f4)",
                         "Lab screen (f2)", "Show the Model pane", "Stop all runs", "Quit"):
            assert expected in titles, expected
        # and the palette runs them
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"model pane")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query_one("#panes", TabbedContent).active == "model"


async def test_every_binding_shows_in_the_footer(app):
    async with app.run_test(size=(80, 24)) as pilot:
        footer = app.screen.query_one("Footer")
        keys = {k.description for k in footer.query("FooterKey")}
        assert {"Start", "Stop", "Save", "Load", "Quit", "Runs", "Sample", "Sweep"} <= keys
        # all of it fits in 80 columns
        assert max(k.region.right for k in footer.query("FooterKey")) <= 80


async def test_tab_from_the_tab_bar_lands_on_the_first_field(app):
    async with app.run_test(size=SIZE) as pilot:
        for pane, first in (("dataset", "task-kind"), ("model", None), ("training", None)):
            app.screen.action_pane(pane)
            await pilot.pause()
            app.screen.query_one("Tabs").focus()
            await pilot.press("tab")
            await pilot.pause()
            focused = app.focused
            assert focused is not None and "form-column" not in focused.classes, pane
            assert focused.id == first if first else focused.id.endswith("-input"), \
                (pane, focused)


async def test_narrow_terminals_get_the_narrow_layout(app):
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.screen.has_class("-narrow")
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert app.screen.has_class("-wide")


async def test_quitting_stops_the_runs_first(app, fake_trainer):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert fake_trainer.handles[0].stopped
    assert app.states["fake-1"].status == "interrupted"


async def _screenshot_colors(no_color: bool, monkeypatch) -> set[str]:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = make_app(Path("runs"), trainer=FakeTrainer())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+r")
        await pilot.pause()
        app.screen.refresh_live(force=True)
        await pilot.pause()
        assert app.no_color == no_color
        svg = app.export_screenshot()
    colors = set(re.findall(r"#([0-9a-f]{6})", svg))
    # the window frame the SVG exporter draws around the terminal is not the app's
    frame = {"ff5f57", "febc2e", "28c840", "c5c8c6"}
    return {c for c in colors - frame if not c[0:2] == c[2:4] == c[4:6]}


async def test_no_color_is_honoured(monkeypatch):
    assert await _screenshot_colors(False, monkeypatch)          # charts, heatmap, footer...
    assert await _screenshot_colors(True, monkeypatch) == set()  # ...all grey with NO_COLOR
