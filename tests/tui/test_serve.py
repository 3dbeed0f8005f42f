"""`lstm-lab serve` in a real headless browser: the lab comes up over textual-serve's websocket.

xterm.js draws the terminal on a canvas, so the page's DOM holds no text.  The test drives
Chromium over the DevTools protocol instead: it records the websocket frames the page
receives (the app's screen, as terminal output), checks that xterm.js drew them
(`-first-byte` on the body), and saves a screenshot.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")]
ANSI = re.compile(r"\x1b\[[0-9;:?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\x1b\][^\x07]*\x07")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


async def browse(url: str, devtools_port: int, shot: Path, timeout: float = 60.0) -> str:
    """Open `url` in the browser; returns the text the page received on its websockets."""
    import aiohttp
    async with aiohttp.ClientSession() as http:
        targets = await (await http.get(f"http://127.0.0.1:{devtools_port}/json/list")).json()
        page = next(t for t in targets if t["type"] == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            ids = iter(range(1, 10_000))
            frames: list[str] = []

            async def call(method: str, **params) -> dict:
                n = next(ids)
                await ws.send_json({"id": n, "method": method, "params": params})
                while True:
                    msg = json.loads((await ws.receive()).data)
                    if msg.get("method") == "Network.webSocketFrameReceived":
                        frame = msg["params"]["response"]
                        data = frame["payloadData"]
                        frames.append(base64.b64decode(data).decode("utf-8", "replace")
                                      if frame["opcode"] == 2 else data)
                    if msg.get("id") == n:
                        return msg.get("result", {})

            await call("Network.enable")
            await call("Page.enable")
            await call("Page.navigate", url=url)
            deadline = time.monotonic() + timeout
            text = ""
            while time.monotonic() < deadline:
                await call("Runtime.evaluate", expression="1")     # pumps the frame events
                text = ANSI.sub("", "".join(frames))
                if "ready: nth_element" in text:
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)      # let xterm.js draw
            drawn = await call("Runtime.evaluate", expression=(
                "document.body.classList.contains('-first-byte')"))
            assert drawn["result"]["value"] is True, "xterm.js drew nothing"
            png = await call("Page.captureScreenshot", format="png")
            shot.write_bytes(base64.b64decode(png["data"]))
            return ANSI.sub("", "".join(frames))


def test_the_lab_renders_in_a_browser(tmp_path):
    port, devtools = free_port(), free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "lstm_tui", "serve", "--port", str(port),
         "--runs-dir", str(tmp_path / "runs")], cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    browser = None
    try:
        wait_for_port(port)
        browser = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--remote-debugging-port={devtools}", f"--user-data-dir={tmp_path / 'chrome'}",
             "--window-size=1280,800", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(devtools)
        shot = tmp_path / "lab.png"
        text = asyncio.run(browse(f"http://127.0.0.1:{port}/", devtools, shot))
        # the Lab screen, as the browser received it: tabs, the check line, the footer keys
        for expected in ("Dataset", "Model", "Training", "Live", "ready: nth_element",
                         "Start", "Sample"):
            assert expected in text, expected
        assert shot.stat().st_size > 20_000          # a drawn terminal, not the blank intro
    finally:
        for proc in (browser, server):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
