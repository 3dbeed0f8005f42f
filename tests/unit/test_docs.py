"""The README stays true: CI runs its test command, and it documents every preset key."""

from __future__ import annotations

from lstm_tui.config import ModelConfig, TrainConfig, field_specs
from lstm_tui.sweeps.spec import SweepConfig
from scripts.keydocs import all_sections
from lstm_tui.tasks import registry
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def test_ci_runs_exactly_the_readme_test_command():
    ci_lines = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
                if "pytest" in line]
    assert len(ci_lines) == 1
    assert ci_lines[0].strip() in README


def test_readme_documents_every_preset_key():
    for cls in (*registry.config_classes().values(), ModelConfig, TrainConfig, SweepConfig):
        for spec in field_specs(cls):
            if spec.name != "kind":
                assert f"| `{spec.name}` |" in README, f"{cls.__name__}.{spec.name}"
    for kind in registry.kinds():
        assert f'kind = "{kind}"' in README


def test_readme_key_tables_are_the_generated_ones():
    """Each table equals ``python scripts/keydocs.py``'s: defaults, ranges and help stay true."""
    for part in all_sections().split("#### ")[1:]:
        section = "#### " + part.rstrip("\n")
        assert section in README, section.splitlines()[0]
