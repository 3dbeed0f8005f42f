"""task.text = "text8": download, checksum, cache and the offline error, all on loopback
(a small zip served on 127.0.0.1; nothing here reaches the network)."""

from __future__ import annotations

import hashlib
import io
import socket
import zipfile

import pytest

from lstm_tui.config import ConfigError, parse_config
from lstm_tui.tasks import text8
from lstm_tui.tasks.shapes import load_corpus
from tests.loopback import loopback_server

TEXT = b"anarchism originated as a term of abuse first used against early working class " * 50


def small_zip(text: bytes = TEXT) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("text8", text)
    return buf.getvalue()


@pytest.fixture
def server():
    """A loopback HTTP server; `.body` is what it serves, `.hits` counts requests."""
    with loopback_server(small_zip()) as served:
        yield served


@pytest.fixture
def env(tmp_path, monkeypatch, server):
    monkeypatch.setenv("LSTM_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LSTM_LAB_TEXT8_URL", server.url)
    monkeypatch.setenv("LSTM_LAB_TEXT8_SHA256", hashlib.sha256(TEXT).hexdigest())
    monkeypatch.setenv("LSTM_LAB_TEXT8_ZIP_SHA256", hashlib.sha256(server.body).hexdigest())
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


def test_not_a_zip_is_one_line(env, server, monkeypatch):
    server.body = b"<html>a captive portal</html>"
    with pytest.raises(ConfigError, match="archive from .* has SHA-256"):
        text8.path(progress=lambda *a: None)
    monkeypatch.setenv("LSTM_LAB_TEXT8_ZIP_SHA256", "")     # a mirror: the text's own check
    with pytest.raises(ConfigError, match="unreadable"):
        text8.path(progress=lambda *a: None)


def test_the_archive_is_checked_before_extracting(env, server, monkeypatch):
    good = server.body
    server.body = good[:-100]                                  # cut short
    with pytest.raises(ConfigError) as info:
        text8.path(progress=lambda *a: None)
    assert f"({len(good) - 100:,} bytes)" in str(info.value)
    assert not (env / "text8").exists() and not list(env.iterdir())
    # against the real archive's digest, the message says the size to expect
    monkeypatch.delenv("LSTM_LAB_TEXT8_ZIP_SHA256")
    server.body = good
    with pytest.raises(ConfigError, match=r"expected a6640522afe85d19\.\.\. \(31,344,016 "
                                          r"bytes\)"):
        text8.path(progress=lambda *a: None)


def test_progress_goes_to_the_reporter_and_nothing_to_the_terminal(env, server, capfd):
    from lstm_tui.tasks import downloads
    seen = []
    with downloads.reporting(lambda what, done, total: seen.append((what, done, total))):
        text8.path()
    assert seen[0][0] == "text8" and seen[-2] == ("text8", len(server.body), len(server.body))
    assert seen[-1] == ("text8", -1, 0)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert downloads.reporter() is None                      # only inside the block


def test_where_downloads_are_forbidden_none_starts(env, server):
    from lstm_tui.tasks import downloads
    with downloads.forbidden(), pytest.raises(ConfigError) as info:
        load_corpus("text8", "text8", 0)
    assert "not downloaded yet" in str(info.value) and str(env / "text8") in str(info.value)
    assert server.hits == 0 and downloads.allowed()
    env.mkdir(parents=True)
    (env / "text8").write_bytes(TEXT)                        # cached: describing reads it
    with downloads.forbidden():
        assert load_corpus("text8", "text8", 0).text.startswith("anarchism")


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


# ---------------------------------------------------------------- issue 27, item 19

def test_a_killed_downloads_partial_archive_is_removed_by_the_next(env, server):
    """A download killed half-way leaves its temporary folder (a partial archive); the
    next download removes it, and leaves neither it nor its lock behind."""
    partial = env / ".text8-killed"
    partial.mkdir(parents=True)
    (partial / "text8.zip").write_bytes(b"PK\x03\x04 half an archive")
    assert text8.path(progress=lambda *a: None).read_bytes() == TEXT
    assert sorted(p.name for p in env.iterdir()) == ["text8"]


def test_a_stop_request_ends_the_download_and_caches_nothing(env, server):
    from lstm_tui.tasks import downloads
    asked = []

    def progress(done, total):
        asked.append(done)
    with downloads.stoppable(lambda: bool(asked)), pytest.raises(downloads.Stopped) as info:
        text8.path(progress=progress)     # the first chunk arrives, then "Ctrl-C"
    assert "stopped by request" in str(info.value)
    assert asked[-1] == -1 and not list(env.iterdir())     # the bar ended, nothing left


def test_the_first_ctrl_c_during_the_download_interrupts_the_run(env, server, tmp_path):
    """The engine hands its stop check to the download: a run stopped while text8 is
    fetched ends `interrupted` at once, with the reason, and caches nothing."""
    from lstm_tui.experiment import start_run
    from lstm_tui.runs.reader import list_runs
    cfg = parse_config({"task": {"kind": "char_lm", "text": "text8"},
                        "train": {"device": "cpu", "threads": 1, "steps": 1}})
    run_dir, last = start_run(cfg, tmp_path / "runs", should_stop=lambda: True)
    assert last.status == "interrupted" and "during the text8 download" in last.message
    [info] = list_runs(tmp_path / "runs")
    assert info.status == "interrupted" and info.empty and not (env / "text8").exists()


def test_a_download_under_way_in_another_process_is_waited_for(env, server, monkeypatch):
    from lstm_tui.runs.lock import FolderLock
    env.mkdir()
    other = FolderLock(env / text8.LOCK).acquire()     # another process is downloading

    def meanwhile(seconds):                            # ... and finishes while we wait
        if other.held:
            (env / "text8").write_bytes(TEXT)
            other.release()
    monkeypatch.setattr(text8.time, "sleep", meanwhile)
    assert text8.path(progress=lambda *a: None).read_bytes() == TEXT
    assert server.hits == 0 and sorted(p.name for p in env.iterdir()) == ["text8"]
