"""The Model pane lists every registered cell and shows only the options the chosen cell
takes; a plugin cell that does not run is named under the cell field."""

from __future__ import annotations

from textual.widgets import Select

from lstm_tui.models.cells import CellSpec, Param, names, registry
from lstm_tui.models.cells.base import project_input
from tests.tui.conftest import text_of, type_into

SIZE = (120, 40)


def shown(lab, name: str) -> bool:
    return lab.query_one(f"#model-{name}-input").display


async def test_the_cell_list_and_its_option_fields(app):
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        lab.action_pane("model")
        await pilot.pause()
        select = lab.query_one("#model-cell-input", Select)
        assert [value for _, value in select._options] == names()
        # lstm: activation, forget bias and peepholes; no heads, no bound
        assert shown(lab, "peepholes") and shown(lab, "forget_bias") and shown(lab, "activation")
        assert not shown(lab, "heads") and not shown(lab, "recurrent_max")
        assert "Hochreiter & Schmidhuber 1997" in text_of(pilot, "#model-cell-help")
        select.value = "slstm"
        await pilot.pause()
        assert shown(lab, "heads") and shown(lab, "forget_bias")
        assert not shown(lab, "peepholes") and not shown(lab, "activation")
        assert "Beck et al. 2024" in text_of(pilot, "#model-cell-help")
        await type_into(pilot, "#model-heads-input", "4")
        assert lab.config.model.heads == 4 and "slstm_1 (sLSTM)" in text_of(pilot, "#summary")
        await type_into(pilot, "#model-heads-input", "5")      # 32 units in 5 heads
        assert "model.heads: must divide model.hidden (32), got 5" in \
            text_of(pilot, "#model-heads-help")
        assert lab.config is None
        select.value = "mingru"                # heads hidden: back to 1, the config is good
        await pilot.pause()
        assert not shown(lab, "heads") and lab.config is not None
        assert lab.config.model.heads == 1 and lab.config.model.cell == "mingru"
        select.value = "indrnn"
        await pilot.pause()
        assert shown(lab, "recurrent_max") and not shown(lab, "forget_bias")


async def test_a_plugin_cell_that_does_not_run_is_named_under_the_field(app, monkeypatch):
    registry.names()
    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))
    monkeypatch.setattr(registry, "_PLUGINS", dict(registry._PLUGINS))
    monkeypatch.setattr(registry, "_TRIALS", {})

    def step(p, xp, state, cfg):
        return (state[0][:, :1],), {"hidden": state[0]}

    registry.register(CellSpec(
        name="narrow", label="narrow", summary="returns one unit", paper="none",
        params=lambda i, h, cfg: (Param("weight_ih", (h, i), "input"),
                                  Param("bias_ih", (h,), "bias")),
        project=project_input, step=step), "cell plugin 'narrow' (narrow:SPEC)")
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        lab.action_pane("model")
        await pilot.pause()
        lab.query_one("#model-cell-input", Select).value = "narrow"
        await pilot.pause()
        help_ = text_of(pilot, "#model-cell-help")
        assert "cell plugin 'narrow' (narrow:SPEC)" in help_ and "step returns h of shape" in help_
        assert lab.config is None
        lab.query_one("#model-cell-input", Select).value = "gru"     # the rest goes on
        await pilot.pause()
        assert lab.config is not None and lab.config.model.cell == "gru"


async def test_the_compile_key_is_a_field_of_the_model_pane(app):
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen
        lab.action_pane("model")
        await pilot.pause()
        assert shown(lab, "compile") and lab.config.model.compile == "auto"
        assert "torch.compile" in text_of(pilot, "#model-compile-help")
        lab.query_one("#model-compile-input", Select).value = "on"
        await pilot.pause()
        assert lab.config.model.compile == "on"
