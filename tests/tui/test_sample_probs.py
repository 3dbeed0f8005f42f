"""The Sample screen's confidence colouring (p) and top-k, against the sampler itself."""

from __future__ import annotations

from textual.widgets import Input

from lstm_tui.runs.sampler import Sampler
from lstm_tui.tui.screens.sample import SampleScreen
from tests.tui.conftest import Host
from tests.tui.test_runs_screens import generate, real_store, settle  # noqa: F401 (fixture)


async def test_p_colours_characters_by_probability_and_top_k_is_used(real_store):
    lm = real_store["lm"]
    app = Host(lambda: SampleScreen(real_store["root"], lm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.screen.query_one("#sample-topk", Input).value = "2"
        screen = await generate(pilot, 1.0, 1.0, length=30, seed=4)
        a = screen.column("A")
        expected = list(Sampler(lm, "best").scored("the ", 30, 1.0, 4, top_k=2))
        assert a.generated == "".join(c for c, _ in expected)
        assert a.probs == [p for _, p in expected] and "top-2" in a.message
        plain = a.query_one(".sample-text").render()
        assert not any("on rgb" in str(span.style) for span in plain.spans)
        await pilot.press("p")
        coloured = a.query_one(".sample-text").render()
        backgrounds = {str(span.style) for span in coloured.spans if "on rgb" in str(span.style)}
        assert len(backgrounds) > 1                       # the colours follow the probabilities
        app.screen.query_one("#sample-topk", Input).value = "0"
        await pilot.press("g")
        await settle(pilot)
        assert a.state == "error" and "top-k must be 1 or more" in a.message
