"""`lstm-lab serve`: the same app in a web browser, via textual-serve.

Each browser tab gets its own `python -m lstm_tui` process (the lab, with the same preset
and run store).  It listens on loopback by default: reach a GPU box through an SSH port
forward (`ssh -L 8000:127.0.0.1:8000 gpu-box`), not an open port.  Whoever reaches the
page can train and write preset files as this user, so another address is refused
unless `--allow-remote` is given, and then every request must carry a token printed at
start (the page asks for it once and keeps it in a cookie).

A browser also lets any web page it shows open a websocket to 127.0.0.1 (and a rebound
DNS name can make a page's own origin point there), so every request, with or without a
token, is checked first: its `Host` must name this machine (an address, `localhost`, the
machine's own name or the `--host` given; never an arbitrary name that could be rebound)
and its `Origin`, when the browser sends one (always on a websocket), must be the page
this server served.  Anything else is a 403.
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import logging
import secrets
import shlex
import socket
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


def bind_problem(host: str) -> str | None:
    """Why `host` cannot be listened on as written, or None (checked before serving)."""
    if host.startswith("[") or host.endswith("]"):
        return (f"{host} is an address in URL brackets: give it bare "
                f"(--host {host.strip('[]')})")
    if not host or any(c.isspace() or c in "/?#@" for c in host):
        return f"{host!r} is not an address or a host name"
    return None


def new_token() -> str:
    return secrets.token_urlsafe(18)


def split_host(value: str) -> tuple[str, int | None] | None:
    """`Host` header (or an origin's netloc) as (lower-case name, port); None if garbled."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:] if rest else None
    elif value.count(":") == 1:
        name, port = value.split(":")
    elif ":" in value:
        return None          # a bare IPv6 address is not a valid Host
    else:
        name, port = value, None
    if not name or (port is not None and not (port.isascii() and port.isdigit())):
        return None
    return name.lower().rstrip("."), (int(port) if port else None)


def machine_names(bind_host: str) -> set[str]:
    """The names a request's Host may use besides an address: the ones this machine
    answers to by itself (a DNS rebinding page cannot choose these)."""
    names = {"localhost", bind_host.lower().rstrip(".")}
    for name in (socket.gethostname(), socket.getfqdn()):
        if name:
            names.add(name.lower().rstrip("."))
    return names


def host_allowed(host: str, names: set[str]) -> bool:
    """A `Host` header naming this machine: an address literal or one of `names`."""
    parts = split_host(host)
    if parts is None:
        return False
    name = parts[0]
    if name in names:
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def same_origin(origin: str, host: str) -> bool:
    """Is `origin` (a browser's Origin header) the page served at `host`?"""
    scheme, sep, netloc = origin.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or "/" in netloc:
        return False
    default = 443 if scheme.lower() == "https" else 80
    a, b = split_host(netloc), split_host(host)
    if a is None or b is None:
        return False
    return (a[0], a[1] or default) == (b[0], b[1] or default)


def origin_middleware(names: set[str]):
    """An aiohttp middleware: a request from another site or to a foreign host name is a 403."""
    from aiohttp import web

    @web.middleware
    async def check(request, handler):
        host = request.headers.get("Host", "")
        if not host_allowed(host, names):
            return web.Response(text="host not allowed: open the lab by an address of this "
                                f"machine or by one of its names ({', '.join(sorted(names))})",
                                status=403)
        origin = request.headers.get("Origin")
        is_websocket = request.headers.get("Upgrade", "").lower() == "websocket"
        if origin is None and is_websocket:
            return web.Response(text="origin required (a browser sends one)", status=403)
        if origin is not None and not same_origin(origin, host):
            return web.Response(text="origin not allowed: only the lab's own page may "
                                "connect", status=403)
        return await handler(request)
    return check


ASK_PAGE = """<!doctype html><meta charset="utf-8"><title>lstm-lab</title>
<body style="font-family: sans-serif; margin: 3em">
<h2>lstm-lab</h2><p>{note}This lab asks for its access token: it was printed where
<code>lstm-lab serve</code> was started.</p>
<form method="get" action="/"><input name="token" size="32" autofocus>
<button>open the lab</button></form></body>"""


def token_matches(given: str | None, token: str) -> bool:
    """Constant-time comparison of bytes: any text a client sends is a yes or a no."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                               token.encode("utf-8"))


def token_middleware(token: str):
    """An aiohttp middleware: requests without the token get the page that asks for it."""
    from aiohttp import web

    @web.middleware
    async def check(request, handler):
        given = request.query.get("token")
        if token_matches(given, token):
            response = web.HTTPFound(request.rel_url.with_query(None))
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
            raise response
        if token_matches(request.cookies.get(COOKIE), token):
            return await handler(request)
        if request.path == "/":
            note = "Wrong token. " if given is not None else ""
            return web.Response(text=ASK_PAGE.format(note=html.escape(note)),
                                content_type="text/html", status=401)
        return web.Response(text="token required", status=401)
    return check


def make_server(host: str, port: int, preset: Path | None, runs_root: Path,
                token: str | None = None):
    """The textual-serve server with the origin check (and, with `token`, the token)."""
    from rich.logging import RichHandler
    from textual_serve.server import Server

    class LabServer(Server):
        async def _make_app(self):
            app = await super()._make_app()
            # no access log: its request lines carry `?token=`
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
            app.middlewares.append(origin_middleware(machine_names(host)))
            if token is not None:
                app.middlewares.append(token_middleware(token))
            return app

        async def handle_index(self, request):
            # the page's websocket goes back to the address the browser used (its origin)
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

        def initialize_logging(self) -> None:
            # no locals in tracebacks: they held the token
            logging.basicConfig(level="INFO", format="%(message)s", handlers=[
                RichHandler(show_path=False, show_time=False, rich_tracebacks=True,
                            tracebacks_show_locals=False, console=self.console)])

    return LabServer(lab_command(preset, runs_root), host=host, port=port, title="lstm-lab")


def serve(host: str, port: int, preset: Path | None, runs_root: Path,
          token: str | None = None) -> None:
    """Serve the lab until Ctrl-C; with `token`, only to requests that carry it."""
    make_server(host, port, preset, runs_root, token).serve()
