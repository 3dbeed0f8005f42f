"""The README stays true: CI runs its test command, and it documents every preset key."""

from __future__ import annotations

from lstm_tui.config import TASKS, ModelConfig, TrainConfig, field_specs
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def test_ci_runs_exactly_the_readme_test_command():
    ci_lines = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
                if "pytest" in line]
    assert len(ci_lines) == 1
    assert ci_lines[0].strip() in README


def test_readme_documents_every_preset_key():
    for cls in (*TASKS.values(), ModelConfig, TrainConfig):
        for spec in field_specs(cls):
            if spec.name != "kind":
                assert f"| `{spec.name}` |" in README, f"{cls.__name__}.{spec.name}"
    for kind in TASKS:
        assert f'kind = "{kind}"' in README
