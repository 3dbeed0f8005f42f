"""The docs stay true: CI runs the README's test command, the README keeps its quick start,
and the manual documents every preset key exactly as the config fields say."""

from __future__ import annotations

from lstm_tui.config import ModelConfig, TrainConfig, field_specs
from lstm_tui.sweeps.spec import SweepConfig
from scripts import keydocs
from lstm_tui.tasks import registry
from tests.conftest import REPO

README = (REPO / "README.md").read_text()
KEYS = (REPO / "docs" / "reference" / "keys.md").read_text()


def test_ci_runs_exactly_the_readme_test_command():
    ci_lines = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
                if "pytest" in line]
    assert len(ci_lines) == 1
    assert ci_lines[0].strip() in README


def test_the_readme_opens_with_the_two_command_quick_start():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line for line in quick.splitlines() if line.startswith("python3 -m venv")]
    assert commands == [
        "python3 -m venv .venv && .venv/bin/pip install -q torch==2.13.0 -e . && "
        ".venv/bin/lstm-lab headless nth_element_lstm",
        "python3 -m venv .venv && .venv/bin/pip install -q torch==2.13.0 -e '.[dev]' && "
        ".venv/bin/python -m pytest -q"]
    sections = [line for line in README.splitlines() if line.startswith("## ")]
    assert sections[0] == "## Quick start"          # the first section, as CI and tools expect


def test_the_keys_page_documents_every_preset_key():
    for cls in (*registry.config_classes().values(), ModelConfig, TrainConfig, SweepConfig):
        for spec in field_specs(cls):
            if spec.name != "kind":
                assert f"| `{spec.name}` |" in KEYS, f"{cls.__name__}.{spec.name}"
    for kind in registry.kinds():
        assert f'kind = "{kind}"' in KEYS


def test_the_keys_page_is_what_keydocs_renders():
    """The page equals ``python scripts/keydocs.py --write``'s: defaults, ranges and help
    stay true (after a new key: run that command)."""
    assert keydocs.rewrite(KEYS) == KEYS, "run: python scripts/keydocs.py --write"
    for part in keydocs.all_sections().split("#### ")[1:]:
        section = "## " + part.rstrip("\n")
        assert section in KEYS, section.splitlines()[0]


def test_keydocs_write_replaces_only_what_is_between_its_markers():
    page = f"# Keys\n\nprose\n\n{keydocs.START}\nold table\n{keydocs.END}\n\nmore prose\n"
    new = keydocs.rewrite(page)
    assert new.startswith("# Keys\n\nprose\n\n") and new.endswith(f"{keydocs.END}\n\nmore prose\n")
    assert "old table" not in new and '## `[model]`' in new
    assert keydocs.rewrite(new) == new
    import pytest
    with pytest.raises(ValueError, match="keydocs"):
        keydocs.rewrite("# no markers\n")
