"""The run store's index from the command line: a bar on stderr while it is rebuilt,
nothing on a warm listing, stdout untouched; the one real subprocess leaves the index."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

from rich.console import Console
from typer.testing import CliRunner

import lstm_tui.runs.index as run_index
from lstm_tui.cli.main import app
from lstm_tui.cli.store_bar import StoreBar
from tests.store_helpers import NOW, make_run

runner = CliRunner()


def test_the_bar_draws_on_a_terminal_and_goes():
    out = io.StringIO()
    bar = StoreBar(Console(file=out, force_terminal=True, width=100))
    bar(0, 300)
    bar(150, 300)
    bar(300, 300)
    assert "indexing the run store" in out.getvalue()
    assert bar.progress is None                      # stopped once done


def test_a_cold_listing_reports_and_keeps_stdout_clean(runs_dir, monkeypatch):
    for n in range(5):
        make_run(runs_dir, f"run-{n}", created=NOW - 100 + n)
    seen = []
    real = StoreBar.__call__
    monkeypatch.setattr(run_index, "PROGRESS_AFTER", 3)
    monkeypatch.setattr(StoreBar, "__call__",
                        lambda self, done, total: seen.append((done, total)) or
                        real(self, done, total))
    result = runner.invoke(app, ["runs", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["count"] == 5
    assert seen[-1] == (5, 5)
    seen.clear()
    result = runner.invoke(app, ["runs", "--json"], catch_exceptions=False)
    assert json.loads(result.stdout)["count"] == 5 and seen == []     # warm: no bar


def test_runs_from_a_shell_builds_the_index_beside_the_runs(runs_dir):
    make_run(runs_dir, "only-run", created=NOW)
    env = dict(os.environ, LSTM_LAB_RUNS=str(runs_dir))
    out = subprocess.run([sys.executable, "-m", "lstm_tui", "runs", "--json"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["runs"][0]["name"] == "only-run"
    assert (runs_dir / run_index.INDEX_FILE).is_file() and out.stderr == ""
