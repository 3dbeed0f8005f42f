"""`lstm-lab [PRESET]`: argument handling, and no torch in the UI process at start-up."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from lstm_tui.tui.launch import launch
from lstm_tui.tui.serve import lab_command
from tests.conftest import BAD_PRESETS, REPO

PY = sys.executable


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "lstm_tui", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=60, **kwargs)


def test_a_bad_preset_is_one_line_and_exit_code_2():
    result = run(str(BAD_PRESETS / "out_of_range.toml"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "out_of_range.toml" in lines[0] and "Traceback" not in result.stderr


def test_an_unknown_preset_name_lists_the_shipped_ones():
    result = run("no_such_preset")
    assert result.returncode == 2
    assert "no such preset file" in result.stderr and "adding_problem" in result.stderr


def test_help_and_bad_options(capsys):
    assert launch(["--help"]) == 0
    assert "--runs-dir" in capsys.readouterr().out
    assert launch(["--no-such-option"]) == 2


def test_the_ui_process_does_not_import_torch_at_start_up(tmp_path):
    """The whole Lab (hidden panes included) is up, and torch is still not imported."""
    script = textwrap.dedent(f"""
        import sys, time
        t0 = time.perf_counter()
        from pathlib import Path
        from lstm_tui.tui.app import LabApp, make_app

        def on_ready(self):
            first = time.perf_counter() - t0
            def check():
                lab = self.screen
                # the Live pane mounts its charts lazily: wait for them (a loaded box is
                # slow), so what is asserted is the imports, never a time
                if not (lab.id == "lab" and lab.query("#summary") and lab.query("#chart-loss")):
                    if time.perf_counter() - t0 < 40:
                        self.set_timer(0.2, check)
                        return
                    print("NOT MOUNTED")
                # the ensemble's grouping rules are torch-free on purpose (the sweep
                # scheduler asks them), and so is how training processes start (the
                # lab's trainer asks it); every other training module pulls torch in
                light = ("lstm_tui.training", "lstm_tui.training.ensemble",
                         "lstm_tui.training.ensemble.grouping",
                         "lstm_tui.training.processes")
                heavy = sorted(m for m in sys.modules if m not in light and (
                    m == "torch" or m.startswith(
                        ("torch.", "lstm_tui.training", "lstm_tui.models.network"))))
                print("HEAVY", heavy)
                print("FIRST_FRAME", round(first, 3))
                self.exit()
            self.set_timer(0.2, check)

        LabApp.on_ready = on_ready
        make_app(Path({str(tmp_path)!r})).run(headless=True, size=(120, 40))
    """)
    result = subprocess.run([PY, "-c", script], capture_output=True, text=True, cwd=REPO,
                            timeout=90)
    assert "NOT MOUNTED" not in result.stdout, result.stdout + result.stderr
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
    assert "FIRST_FRAME" in result.stdout


def test_serve_runs_this_python_with_the_same_store(tmp_path):
    command = lab_command(None, tmp_path)
    assert command.startswith(f"{PY} -m lstm_tui --runs-dir ")
    assert str(tmp_path.resolve()) in command
