"""Issue 27's "exit codes and words": one line, the right exit code, the true words."""

from __future__ import annotations

from typer.testing import CliRunner

from lstm_tui.cli.main import app

runner = CliRunner()


def test_a_bracketed_serve_host_is_bad_input(tmp_path):
    result = runner.invoke(app, ["serve", "--host", "[::1]", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "--host ::1" in result.stderr
