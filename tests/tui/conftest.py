"""Helpers for driving the app with Pilot (async tests run on a fresh event loop each)."""

from __future__ import annotations

import asyncio
import inspect
import time
from contextlib import asynccontextmanager

import pytest
from textual.app import App, ComposeResult
from textual.geometry import Region

from lstm_tui.tui.app import make_app
from tests.tui.fakes import FakeTrainer


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run `async def` tests here (no pytest-asyncio needed)."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        asyncio.run(pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names}))
        return True
    return None


@pytest.fixture
def fake_trainer() -> FakeTrainer:
    return FakeTrainer()


@pytest.fixture
def app(tmp_path, fake_trainer):
    """The lab with a fake trainer; its `run_test` yields the whole Lab (the panes its first
    frame does not show are filled just after that frame: see `whole_lab`)."""
    app = make_app(tmp_path / "runs", trainer=fake_trainer)
    run_test = app.run_test

    @asynccontextmanager
    async def run_whole(*args, **kwargs):
        async with run_test(*args, **kwargs) as pilot:
            await whole_lab(pilot)
            yield pilot

    app.run_test = run_whole
    return app


async def whole_lab(pilot, timeout: float = 30.0) -> None:
    """Wait until the Lab has filled its hidden panes (Model, Training, Live), which it
    does once its first frame is painted."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pilot.app.screen.panes_filled:
        assert loop.time() < deadline, "the Lab never filled its hidden panes"
        await pilot.pause(0.01)
    await pilot.pause()


async def data_read(pilot, timeout: float = 30.0) -> None:
    """Wait until the Lab has read the data files of the preset it opened with, which it
    does in a thread once its first frame is painted."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while pilot.app.screen._reading:
        assert loop.time() < deadline, "the Lab never read its preset's data files"
        await pilot.pause(0.01)
    await pilot.pause()


async def wait_for(pilot, condition, timeout: float = 60.0, what: str = "") -> None:
    """Let the app run until `condition()` holds: what a key or a worker sets through a
    message chain can take more than one pause on a busy machine.  Fails after `timeout`
    seconds, naming `what` (or the condition)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


async def type_into(pilot, selector: str, text: str) -> None:
    """Focus an input, clear it and type `text` key by key, as a user would."""
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    await pilot.press("home", "ctrl+k", *[_key(c) for c in text])
    await pilot.pause()
    await pilot.pause()     # the error line's height settles in a second layout pass


def _key(char: str) -> str:
    return {".": "full_stop", "-": "minus", " ": "space", "[": "left_square_bracket",
            "]": "right_square_bracket", ",": "comma", "/": "slash", "_": "underscore"}.get(
        char, char)


def text_of(pilot, selector: str) -> str:
    """The text a widget shows on screen, wrapped lines joined (runs of blanks as one)."""
    widget = pilot.app.screen.query_one(selector)
    lines = widget.render_lines(Region(0, 0, *widget.outer_size))
    return " ".join(" ".join(strip.text for strip in lines).split())


class Host(App):
    """A bare app that shows one screen (the screens are usable standalone)."""

    def __init__(self, make_screen) -> None:
        super().__init__()
        self.make_screen = make_screen

    def compose(self) -> ComposeResult:
        return []

    def on_mount(self) -> None:
        self.push_screen(self.make_screen())


def record_notifications(app: App) -> list[str]:
    """The messages of every notification the app shows from now on."""
    said: list[str] = []
    real = app.notify

    def notify(message, *args, **kwargs):
        said.append(str(message))
        return real(message, *args, **kwargs)

    app.notify = notify
    return said
