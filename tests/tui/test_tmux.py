"""The real app in a real terminal (tmux): start a short training run, watch it complete, quit."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]

PRESET = """\
name = "tmux-nth"

[task]
kind = "nth_element"
train_size = 500
val_size = 200

[model]
hidden = 16

[train]
steps = 60
eval_every = 20
log_every = 5
device = "cpu"
"""


class Tmux:
    def __init__(self, command: str, width: int = 120, height: int = 40) -> None:
        self.socket = f"lstm-lab-test-{uuid.uuid4().hex[:8]}"   # a server of our own
        self.tmux("new-session", "-d", "-s", "lab", "-x", str(width), "-y", str(height),
                  command)

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=10).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "lab")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "lab", *keys)

    def wait_for(self, *texts: str, timeout: float = 60.0) -> str:
        """The screen once every one of `texts` is on it (a capture may catch a frame
        half painted, so each is waited for rather than checked once)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{texts!r} never all appeared; the screen was:\n{self.screen()}")

    def close(self) -> None:
        self.tmux("kill-server")


def test_a_real_training_run_in_tmux(tmp_path):
    preset = tmp_path / "tmux-nth.toml"
    preset.write_text(PRESET)
    runs = tmp_path / "runs"
    app = shlex.join([sys.executable, "-m", "lstm_tui", str(preset), "--runs-dir", str(runs)])
    # pytest exports COLUMNS/LINES, which Textual would take over the terminal's real size
    term = Tmux(f"cd {shlex.quote(str(REPO))} && env -u COLUMNS -u LINES {app}; "
                "echo EXIT=$?; sleep 60")
    try:
        term.wait_for("✓ ready: nth_element, lstm 16×1", "Dataset", "^r",   # tabs, footer
                      timeout=30)
        term.keys("C-r")
        term.wait_for("completed · step 60/60",                        # the status line
                      "loss", "t = 0 … 4", timeout=90)                 # charts and heatmap
        folders = [p for p in runs.iterdir() if p.is_dir()]
        assert len(folders) == 1 and folders[0].name.endswith("tmux-nth-lstm16")
        summary = json.loads((folders[0] / "summary.json").read_text())
        assert summary["status"] == "completed" and summary["steps"] == 60
        assert (folders[0] / "best.pt").is_file() and (folders[0] / "metrics.jsonl").is_file()
        # a key press is still answered, and ctrl+q quits cleanly
        term.keys("C-q")
        term.wait_for("EXIT=0", timeout=20)
    finally:
        term.close()
