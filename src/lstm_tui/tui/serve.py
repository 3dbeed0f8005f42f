"""`lstm-lab serve`: the same app in a web browser, via textual-serve.

Each browser tab gets its own `python -m lstm_tui` process (the lab, with the same preset
and run store).  It listens on loopback by default: reach a GPU box through an SSH port
forward (`ssh -L 8000:127.0.0.1:8000 gpu-box`), not an open port.  Whoever reaches the
page can train and write preset files as this user, so another address is refused
unless `--allow-remote` is given, and then every request must carry a token printed at
start (the page asks for it once and keeps it in a cookie).
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import secrets
import shlex
import sys
from pathlib import Path

COOKIE = "lstm_lab_token"


def lab_command(preset: Path | None, runs_root: Path) -> str:
    """The shell command textual-serve runs for each browser session."""
    argv = [sys.executable, "-m", "lstm_tui"]
    if preset is not None:
        argv.append(str(Path(preset).resolve()))
    argv += ["--runs-dir", str(Path(runs_root).resolve())]
    return shlex.join(argv)


def is_loopback(host: str) -> bool:
    """Does `host` name only this machine (localhost, 127.0.0.0/8, ::1)?"""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False   # a host name: it may resolve to any interface


def new_token() -> str:
    return secrets.token_urlsafe(18)


ASK_PAGE = """<!doctype html><meta charset="utf-8"><title>lstm-lab</title>
<body style="font-family: sans-serif; margin: 3em">
<h2>lstm-lab</h2><p>{note}This lab asks for its access token: it was printed where
<code>lstm-lab serve</code> was started.</p>
<form method="get" action="/"><input name="token" size="32" autofocus>
<button>open the lab</button></form></body>"""


def token_middleware(token: str):
    """An aiohttp middleware: requests without the token get the page that asks for it."""
    from aiohttp import web

    @web.middleware
    async def check(request, handler):
        given = request.query.get("token")
        if given is not None and hmac.compare_digest(given, token):
            response = web.HTTPFound(request.rel_url.with_query(None))
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
            raise response
        if hmac.compare_digest(request.cookies.get(COOKIE, ""), token):
            return await handler(request)
        if request.path == "/":
            note = "Wrong token. " if given is not None else ""
            return web.Response(text=ASK_PAGE.format(note=html.escape(note)),
                                content_type="text/html", status=401)
        return web.Response(text="token required", status=401)
    return check


def serve(host: str, port: int, preset: Path | None, runs_root: Path,
          token: str | None = None) -> None:
    """Serve the lab until Ctrl-C; with `token`, only to requests that carry it."""
    from textual_serve.server import Server

    class TokenServer(Server):
        async def _make_app(self):
            app = await super()._make_app()
            app.middlewares.append(token_middleware(token))
            return app

        async def handle_index(self, request):
            # the page's websocket goes back to the address the browser used
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

    cls = Server if token is None else TokenServer
    cls(lab_command(preset, runs_root), host=host, port=port, title="lstm-lab").serve()
