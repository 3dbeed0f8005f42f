"""The manual builds (`mkdocs build --strict`: a broken link or anchor, a page left out of
the navigation fail it), its Python examples run, and the version is one everywhere."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib

import pytest

import lstm_tui
from tests.conftest import REPO


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None
                    or importlib.util.find_spec("material") is None,
                    reason="mkdocs and mkdocs-material (the docs extra, also in dev)")
def test_the_manual_builds_strictly(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "--site-dir", str(tmp_path / "site")],
                          cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-4000:]
    site = tmp_path / "site"
    assert (site / "troubleshooting" / "index.html").is_file()
    assert (site / "images" / "live.svg").is_file()
    keys = (site / "reference" / "keys" / "index.html").read_text(encoding="utf-8")
    assert "forget_bias" in keys                      # the generated tables are in it
    changelog = (site / "changelog" / "index.html").read_text(encoding="utf-8")
    assert lstm_tui.__version__ in changelog          # CHANGELOG.md included whole


def test_every_page_is_in_the_navigation():
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(str(p.relative_to(REPO / "docs")) for p in (REPO / "docs").rglob("*.md"))
    missing = [p for p in pages if p not in nav]
    assert not missing, missing


@pytest.mark.slow
def test_the_python_api_examples_run(tmp_path, monkeypatch):
    """The code blocks of docs/api.md, in order, as a reader would paste them (shortened
    to one epoch)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LSTM_LAB_RUNS", raising=False)
    page = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    assert len(blocks) == 4
    code = "\n".join(blocks).replace('["train.epochs=2"]', '["train.epochs=1"]')
    namespace: dict = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)
    assert namespace["forecast"]["forecast"][0]["time"] == 2009     # lab.train, predict
    assert namespace["table"]["status"].tolist() == ["completed"]   # lab.runs
    assert set(namespace["curves"]["split"]) == {"train", "val"}
    assert not namespace["model"].training
    assert namespace["last"].status == "completed"
    assert namespace["document"]["schema"] == 1
    assert set(namespace["gates"]) == {"input", "forget", "candidate", "output", "cell",
                                       "hidden"}


def test_the_version_is_one_everywhere():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == lstm_tui.__version__
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.M)
    assert released[0] == lstm_tui.__version__, "the newest release in CHANGELOG.md"
    assert "## [Unreleased]" in changelog and "## [0.1.0]" in changelog


SCREEN_PAGES = {
    "lab/lab-screen.md": ["lstm_tui.tui.screens.lab:LabScreen", "lstm_tui.tui.app:LabApp"],
    "lab/runs.md": ["lstm_tui.tui.screens.runs:RunsScreen",
                    "lstm_tui.tui.screens.run_detail:RunDetailScreen",
                    "lstm_tui.tui.screens.compare:CompareScreen",
                    "lstm_tui.tui.screens.predict:PredictScreen"],
    "lab/inspect.md": ["lstm_tui.tui.screens.inspect:InspectScreen"],
    "lab/sample.md": ["lstm_tui.tui.screens.sample:SampleScreen"],
    "lab/sweep.md": ["lstm_tui.tui.screens.sweep:SweepScreen"],
}


def _covered(key: str, page: str) -> bool:
    key = {"slash": "/"}.get(key, key)
    if f"`{key}`" in page:
        return True
    return key.isdigit() and any(int(a) <= int(key) <= int(b) for a, b in
                                 re.findall(r"`(\d)` to `(\d)`", page))


@pytest.mark.parametrize("page", SCREEN_PAGES)
def test_each_screen_page_lists_every_key_of_its_screen(page):
    """A new binding on a screen fails here until its page's key table says what it does."""
    import importlib
    text = (REPO / "docs" / page).read_text(encoding="utf-8")
    for target in SCREEN_PAGES[page]:
        module, name = target.split(":")
        for binding in getattr(importlib.import_module(module), name).BINDINGS:
            for key in binding.key.split(","):
                assert _covered(key, text), f"{page}: {name}'s key {key!r} ({binding.action})"
