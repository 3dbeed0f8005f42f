"""`lstm-lab serve`'s request checks, in process on 127.0.0.1 (no browser, no lab process):
another site's page or a rebound DNS name gets a 403, a bad token a 401, never a crash."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import WSServerHandshakeError, web
from aiohttp.test_utils import TestClient, TestServer

from lstm_tui.tui.serve import (bind_problem, host_allowed, make_server, origin_middleware,
                                same_origin, split_host, token_matches)

NAMES = {"localhost", "gpu-box"}


def run(coro):
    return asyncio.run(coro)


async def echo_ws(request):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_str("hello")
    await ws.close()
    return ws


def toy_app() -> web.Application:
    """The checks in front of a websocket that answers (the real one starts a lab process)."""
    app = web.Application(middlewares=[origin_middleware(NAMES)])
    async def page(request):
        return web.Response(text="page")
    app.router.add_get("/", page)
    app.router.add_get("/ws", echo_ws)
    return app


async def ws_status(client, origin: str | None, host: str | None = None) -> int:
    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    if origin is not None:
        headers["Origin"] = origin
    if host is not None:
        headers["Host"] = host
    resp = await client.get("/ws", headers=headers)
    return resp.status


def test_a_websocket_from_another_site_is_refused():
    async def go():
        async with TestClient(TestServer(toy_app(), host="127.0.0.1")) as client:
            here = f"127.0.0.1:{client.port}"
            assert await ws_status(client, f"http://{here}") == 101
            assert await ws_status(client, f"http://localhost:{client.port}",
                                   host=f"localhost:{client.port}") == 101
            # a page on another site, a file:// page, a sandboxed frame, another port
            for origin in ("http://evil.example", "https://evil.example", "null",
                           f"http://evil.example:{client.port}", "file://",
                           f"http://{here}.evil.example", "http://127.0.0.1:1"):
                assert await ws_status(client, origin) == 403, origin
            assert await ws_status(client, None) == 403      # browsers always send one
            # through a websocket client, as a browser would connect
            async with client.session.ws_connect(client.make_url("/ws"),
                                                 origin=f"http://{here}") as ws:
                assert (await ws.receive_str()) == "hello"
            with pytest.raises(WSServerHandshakeError, match="403"):
                await client.session.ws_connect(client.make_url("/ws"),
                                                origin="http://evil.example")
    run(go())


def test_a_rebound_host_name_is_refused_on_every_request():
    async def go():
        async with TestClient(TestServer(toy_app(), host="127.0.0.1")) as client:
            port = client.port
            ok = (await client.get("/", headers={"Host": f"127.0.0.1:{port}"})).status
            rebound = (await client.get("/", headers={"Host": f"evil.example:{port}"})).status
            named = (await client.get("/", headers={"Host": f"GPU-box.:{port}"})).status
            ws = await ws_status(client, f"http://evil.example:{port}",
                                 host=f"evil.example:{port}")
            return ok, rebound, named, ws
    assert run(go()) == (200, 403, 200, 403)


def test_the_host_and_origin_rules():
    assert split_host("[::1]:8000") == ("::1", 8000)
    assert split_host("Example.COM.") == ("example.com", None)
    for garbled in ("", "::1", "[::1", "a:b", "x:1:2", "[::1]x"):
        assert split_host(garbled) is None, garbled
    assert host_allowed("10.0.0.5:9", NAMES) and host_allowed("[::1]:80", NAMES)
    assert not host_allowed("attacker.test:8000", NAMES)
    assert same_origin("http://localhost:8000", "localhost:8000")
    assert same_origin("https://gpu-box", "gpu-box:443")
    assert not same_origin("https://gpu-box", "gpu-box:80")
    assert not same_origin("http://localhost:8000/x", "localhost:8000")
    assert not same_origin("ftp://localhost:8000", "localhost:8000")


def test_a_non_ascii_token_is_a_401_and_nothing_is_logged(tmp_path, caplog):
    token = "s3cret-token-value"
    server = make_server("0.0.0.0", 8000, None, tmp_path / "runs", token=token)

    async def go():
        app = await server._make_app()
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            statuses = []
            for query in ({"token": "é☃"}, {"token": "\udcff"}, {"token": "wrong"}, {}):
                resp = await client.get("/", params=query, allow_redirects=False)
                statuses.append(resp.status)
            resp = await client.get("/static/x", cookies={"lstm_lab_token": "é☃"})
            statuses.append(resp.status)
            resp = await client.get("/", params={"token": token}, allow_redirects=False)
            statuses.append(resp.status)
            return statuses
    with caplog.at_level(logging.DEBUG):
        assert run(go()) == [401, 401, 401, 401, 401, 302]
    assert token not in caplog.text
    assert "Traceback" not in caplog.text


def test_the_token_is_compared_as_bytes():
    assert token_matches("abc", "abc")
    assert not token_matches("ab\u00e9", "abc") and not token_matches(None, "abc")
    assert not token_matches("\ud800", "abc")


def test_a_bracketed_host_is_bad_input():
    assert bind_problem("[::1]") is not None and "--host ::1" in bind_problem("[::1]")
    assert bind_problem("::1") is None and bind_problem("127.0.0.1") is None
    assert bind_problem("a b") is not None
