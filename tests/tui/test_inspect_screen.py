"""The Inspect screen: loads in a worker, the cursor reads exact values, layer/gate/sequence
and typed text change what is shown, and the Runs keys open it."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input, Select

from lstm_tui.inspection import source
from lstm_tui.tui.screens.inspect import InspectScreen
from lstm_tui.tui.screens.runs import RunDetailScreen, RunsScreen
from lstm_tui.tui.widgets.activation_map import ActivationMap
from tests.tui.conftest import Host, text_of, type_into
from tests.tui.inspect_store import inspect_store


@pytest.fixture
def store(tmp_path) -> dict[str, Path]:
    return inspect_store(tmp_path / "runs", tmp_path / "text.txt")


async def loaded(pilot, count: int = 1) -> InspectScreen:
    screen = pilot.app.screen
    for _ in range(100):
        await pilot.pause(0.05)
        if isinstance(screen, InspectScreen) and screen.loads >= count:
            break
    await pilot.pause()
    assert screen.loads >= count
    return screen


def expected(run: Path, index: int = 0, text: str = ""):
    opened = source.open_run(run)
    seq = source.text_sequence(opened, text) if text else \
        source.validation_sequence(opened, index)
    return source.inspect_sequence(opened, seq)


async def test_cursor_reads_exact_values_of_the_chosen_gate(store):
    app = Host(lambda: InspectScreen(store["nth"].parent, store["nth"]))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        assert screen.query_one("#inspect-gate", Select).value == "cell"   # LSTM default
        await pilot.press("right", "right", "down", "down", "down")
        record = expected(store["nth"])
        value = record.trace().gates["cell"][2][3]
        readout = text_of(pilot, "#inspect-readout")
        assert f"t=2 {record.tokens[2]} · unit 3 · cell = {value:+.5f}" in readout
        screen.query_one("#inspect-gate", Select).value = "forget"
        await pilot.pause()
        await pilot.pause()
        value = record.trace().gates["forget"][2][3]
        assert f"forget = {value:+.5f}" in text_of(pilot, "#inspect-readout")
        await pilot.press("end")
        assert "t=4" in text_of(pilot, "#inspect-readout")
        assert "prediction" in text_of(pilot, "#inspect-readout")   # the read-out step
        await pilot.press("n")                  # the next validation sequence
        await loaded(pilot, 2)
        assert screen.query_one("#inspect-index", Input).value == "1"
        assert screen.record.tokens == expected(store["nth"], 1).tokens
        assert screen.query_one("#inspect-text", Input).disabled


async def test_layers_directions_and_bad_sequence(store):
    app = Host(lambda: InspectScreen(store["gru"].parent, store["gru"]))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        layer = screen.query_one("#inspect-layer", Select)
        assert screen._options["#inspect-layer"] == [
            ("layer 0 →", "0:forward"), ("layer 0 ←", "0:backward"),
            ("layer 1 →", "1:forward"), ("layer 1 ←", "1:backward")]
        await pilot.press("l", "l", "l")
        assert layer.value == "1:backward"
        await pilot.pause()
        value = expected(store["gru"]).trace(1, "backward").gates["hidden"][0][0]
        assert f"hidden = {value:+.5f}" in text_of(pilot, "#inspect-readout")
        await type_into(pilot, "#inspect-index", "5000")
        await pilot.press("enter")
        await loaded(pilot, 2)
        assert "5000 is past the validation set" in text_of(pilot, "#inspect-status")
        assert screen.query_one(ActivationMap).data is None


async def test_typed_text_colours_the_words_by_the_cursor_unit(store):
    app = Host(lambda: InspectScreen(store["lm"].parent, store["lm"]))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        assert "She said" in text_of(pilot, "#inspect-words")
        await type_into(pilot, "#inspect-text", "the cat!")
        await pilot.press("enter")
        await loaded(pilot, 2)
        assert screen.record.text == "the cat"            # "!" is not in the vocabulary
        assert "dropped 1 character(s)" in text_of(pilot, "#inspect-status")
        assert "the cat" in text_of(pilot, "#inspect-words")
        assert screen.query_one(ActivationMap).has_focus


async def test_run_without_checkpoint_says_so(store):
    (store["nth"] / "best.pt").unlink()
    app = Host(lambda: InspectScreen(store["nth"].parent, store["nth"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        assert "no checkpoint yet" in text_of(pilot, "#inspect-status")


async def test_i_opens_inspect_from_runs_and_from_run_detail(store):
    root = store["nth"].parent
    app = Host(lambda: RunsScreen(root, poll_seconds=3600))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(40):
            await pilot.pause(0.05)
            if app.screen.runs:
                break
        await pilot.press("i")
        screen = await loaded(pilot)
        assert isinstance(screen, InspectScreen) and screen.job.run in store.values()
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
    app = Host(lambda: RunDetailScreen(root, store["gru"], poll_seconds=3600))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(40):
            await pilot.pause(0.05)
            if app.screen.snapshot is not None:
                break
        await pilot.press("i")
        screen = await loaded(pilot)
        assert screen.job.run == store["gru"]


@pytest.mark.parametrize("cell,sets,default", [
    ("slstm", ["model.cell=slstm", "model.heads=2"], "cell"),
    ("mingru", ["model.cell=mingru"], "hidden"),
])
async def test_the_gates_of_any_cell_are_the_ones_its_spec_names(tmp_path, cell, sets, default):
    from lstm_tui.models.cells import spec_of
    from tests.tui.inspect_store import make_run
    run = make_run(tmp_path / "runs", cell, "adding_problem",
                   ["model.hidden=6", "task.seq_len=8", *sets])
    app = Host(lambda: InspectScreen(run.parent, run))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        gate = screen.query_one("#inspect-gate", Select)
        assert [v for _, v in screen._options["#inspect-gate"]] == list(spec_of(cell).gates)
        assert gate.value == default
        last = spec_of(cell).gates[-2]              # normalizer... / candidate
        gate.value = last
        await pilot.pause()
        await pilot.pause()
        value = expected(run).trace().gates[last][0][0]
        assert f"{last} = {value:+.5f}" in text_of(pilot, "#inspect-readout")
