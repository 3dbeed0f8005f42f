"""Headless and compare output as people see it: in a file or a pipe (no wrapping at 80
columns, no ANSI) and in a real 120-column terminal (tmux: no split chart rows, the
Ctrl-C message on a line of its own)."""

from __future__ import annotations

import io
import shlex
import shutil
import subprocess
import sys

import pytest

from lstm_tui import events as ev
from lstm_tui.cli.console import CliConsole
from lstm_tui.cli.progress import HeadlessDisplay
from tests.cli.output_data import three_runs
from tests.conftest import REPO


def test_headless_lines_are_never_wrapped_in_a_file(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    buf = io.StringIO()
    display = HeadlessDisplay(CliConsole(file=buf))
    summary = ev.ModelSummary(rows=(ev.SummaryRow("lstm_1", "LSTM", "(None, 10, 64)", 100),),
                              total=100, trainable=100)
    run_id = "20261201-035043-char-lm-udacity-with-a-long-name-lstm64"
    display(ev.RunStarted(run_id, {}, summary, "cpu", 20_000, 100, 1_000_000, "perplexity",
                          "min"))
    sample = "the [bold]function returns " + "forty two and then some more words " * 4
    display(ev.TextSample(step=100, temperature=0.8, text=sample))
    display(ev.Finished(step=20_000, status="completed", best=3.4, final=3.5, seconds=1.0))
    lines = buf.getvalue().splitlines()
    assert "\x1b[" not in buf.getvalue()
    header = [line for line in lines if line.startswith("run ")]
    assert header == [f"run {run_id}  device cpu  1,000,000 training examples  20,000 steps"]
    samples = [line for line in lines if "sample (T=0.8)" in line]
    assert samples == [f"sample (T=0.8): {sample!r}"]      # whole, markup kept as text


def test_piped_char_lm_run_keeps_each_sample_on_one_line(tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if k != "COLUMNS"}
    result = subprocess.run(
        [sys.executable, "-m", "lstm_tui", "headless", "char_lm_udacity", "--runs-dir",
         str(tmp_path), "--set", "train.steps=20", "--set", "train.eval_every=10",
         "--set", "task.max_chars=20000", "--set", "task.sample_length=200"],
        capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    samples = [line for line in result.stdout.splitlines() if line.startswith("sample (T=")]
    assert samples, result.stdout
    for line in samples:
        text = line.split(": ", 1)[1]
        assert text[0] in "'\"" and text[-1] == text[0] and len(text) > 150
    assert "\x1b[" not in result.stdout


# ---------------------------------------------------------------- a real terminal

tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _lab(*args: str) -> str:
    return shlex.join([sys.executable, "-m", "lstm_tui", *args])


@tmux
@pytest.mark.slow
def test_compare_chart_rows_are_whole_in_a_120_column_terminal(tmp_path):
    from tests.tui.test_tmux import Tmux
    runs = three_runs(tmp_path / "runs")
    term = Tmux(f"cd {shlex.quote(str(REPO))} && env -u COLUMNS -u LINES "
                f"{_lab('compare', *(str(p) for p in runs))}; echo EXIT=$?; sleep 30",
                width=120, height=60)
    try:
        term.wait_for("EXIT=0", timeout=60)
        screen = term.tmux("capture-pane", "-p", "-t", "lab")
        joined = term.tmux("capture-pane", "-p", "-J", "-t", "lab")   # wrapped lines joined
        # so: nothing wrapped
        assert [s.rstrip() for s in screen.splitlines()] == \
            [s.rstrip() for s in joined.splitlines()]
        chart = screen[screen.index("val accuracy"):]
        assert sum("┤" in line for line in chart.splitlines()) >= 5
        for run in runs:
            assert run.name in chart                                  # full legend labels
    finally:
        term.close()


@tmux
@pytest.mark.slow
def test_ctrl_c_message_is_a_line_of_its_own_above_the_bar(tmp_path):
    from tests.tui.test_tmux import Tmux
    command = _lab("headless", "nth_element_lstm", "--runs-dir", str(tmp_path),
                   "--set", "train.steps=1000000", "--set", "train.eval_every=100000")
    term = Tmux(f"cd {shlex.quote(str(REPO))} && env -u COLUMNS -u LINES {command}; "
                "echo EXIT=$?; sleep 30", width=120, height=40)
    try:
        term.wait_for("steps/s", timeout=60)     # the live bar
        term.keys("C-c")
        screen = term.wait_for("EXIT=130", timeout=60)
        said = [line for line in screen.splitlines() if "stopping after this step" in line]
        assert len(said) == 1 and said[0].startswith("stopping after this step"), screen
    finally:
        term.close()


def test_a_compile_before_the_first_step_is_one_line():
    buf = io.StringIO()
    display = HeadlessDisplay(CliConsole(file=buf))
    display(ev.Preparing("compiling the slstm step loop (torch.compile)",
                         "minutes the first time; model.compile = off skips it"))
    assert buf.getvalue() == ("compiling the slstm step loop (torch.compile)… (minutes the "
                              "first time; model.compile = off skips it)\n")
