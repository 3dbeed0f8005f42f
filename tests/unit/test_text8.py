"""task.text = "text8": download, checksum, cache and the offline error, all on loopback
(a small zip served on 127.0.0.1; nothing here reaches the network)."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import threading
import zipfile

import pytest

from lstm_tui.config import ConfigError, parse_config
from lstm_tui.tasks import text8
from lstm_tui.tasks.shapes import load_corpus

TEXT = b"anarchism originated as a term of abuse first used against early working class " * 50


def small_zip(text: bytes = TEXT) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("text8", text)
    return buf.getvalue()


@pytest.fixture
def server():
    """A loopback HTTP server; `.body` is what it serves, `.hits` counts requests."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            state.hits += 1
            if state.body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    state = type("State", (), {"body": small_zip(), "hits": 0,
                               "url": f"http://127.0.0.1:{httpd.server_port}/text8.zip"})()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def env(tmp_path, monkeypatch, server):
    monkeypatch.setenv("LSTM_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LSTM_LAB_TEXT8_URL", server.url)
    monkeypatch.setenv("LSTM_LAB_TEXT8_SHA256", hashlib.sha256(TEXT).hexdigest())
    return tmp_path / "cache"


def test_downloads_checks_caches_and_reuses(env, server):
    seen = []
    path = text8.path(progress=lambda done, total: seen.append((done, total)))
    assert path == env / "text8" and path.read_bytes() == TEXT
    assert seen[-2] == (len(server.body), len(server.body)) and seen[-1] == (-1, 0)
    assert text8.path() == path and server.hits == 1          # the cache, no second fetch
    assert not [p for p in env.iterdir() if p.name != "text8"]  # no temporary left


def test_a_char_lm_config_trains_on_it(env, server):
    cfg = parse_config({"task": {"kind": "char_lm", "text": "text8"}})
    corpus = load_corpus(cfg.task.text, cfg.task.normalize, cfg.task.max_chars)
    assert corpus.text.startswith("anarchism originated") and server.hits == 1


def test_a_wrong_checksum_caches_nothing(env, server, monkeypatch):
    monkeypatch.setenv("LSTM_LAB_TEXT8_SHA256", "0" * 64)
    with pytest.raises(ConfigError, match="SHA-256") as info:
        text8.path(progress=lambda *a: None)
    assert info.value.key == "task.text" and not (env / "text8").exists()


def test_not_a_zip_is_one_line(env, server):
    server.body = b"<html>a captive portal</html>"
    with pytest.raises(ConfigError, match="unreadable"):
        text8.path(progress=lambda *a: None)


def test_offline_says_where_to_put_the_file(env, server, monkeypatch):
    with socket.socket() as s:            # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LSTM_LAB_TEXT8_URL", f"http://127.0.0.1:{port}/text8.zip")
    with pytest.raises(ConfigError) as info:
        text8.path(progress=lambda *a: None)
    message = str(info.value)
    assert "cannot download text8" in message and str(env / "text8") in message
    assert "\n" not in message
    server.body = None
    monkeypatch.setenv("LSTM_LAB_TEXT8_URL", server.url)
    with pytest.raises(ConfigError, match="HTTP 404"):
        text8.path(progress=lambda *a: None)


def test_a_file_put_there_by_hand_is_used(env, server):
    env.mkdir(parents=True)
    (env / "text8").write_bytes(b"by hand " * 100)
    assert text8.path().read_bytes().startswith(b"by hand") and server.hits == 0


def test_the_progress_bar_goes_to_stderr(capsys):
    text8._stderr_bar(5_000_000, 10_000_000)
    text8._stderr_bar(-1, 0)
    err = capsys.readouterr().err
    assert "downloading text8 [" in err and "5.0/10.0 MB" in err


def test_the_shipped_preset_asks_for_it():
    from lstm_tui.config import load_preset
    from tests.conftest import PRESETS
    cfg = load_preset(PRESETS / "char_lm_udacity_text8.toml")
    assert cfg.task.text == "text8" and cfg.train.steps == 7001
