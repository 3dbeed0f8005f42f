"""The task registry is the single home of a task kind."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest

from lstm_tui.config import ConfigError, opt, parse_config
from lstm_tui.tasks import registry
from lstm_tui.tasks.registry import TaskSpec
from tests.conftest import REPO

SRC = REPO / "src" / "lstm_tui"


def test_no_module_outside_tasks_names_a_builtin_kind():
    """The grep of the issue: consumers ask the registry, they never test a kind."""
    pattern = re.compile(r'"(nth_element|char_lm|weighted_sum|adding|copy|series|'
                         r'sequence_classification)"')
    found = [f"{path.relative_to(SRC)}:{n}" for path in SRC.rglob("*.py")
             if "tasks" not in path.relative_to(SRC).parts[:1]
             for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == []


def test_every_kind_has_a_complete_spec():
    for kind in registry.kinds():
        spec = registry.get(kind)
        assert spec.kind == kind and spec.goal in ("max", "min")
        assert spec.config.__dataclass_fields__["kind"].default == kind
        assert spec.metric in spec.metric_options() and "loss" in spec.metric_options()


def test_registry_and_task_configs_import_without_torch():
    code = ("import sys\nfrom lstm_tui.tasks import registry\n"
            "for k in registry.kinds(): registry.get(k).config()\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@dataclasses.dataclass
class Parity:
    kind: str = opt("parity", "task kind")
    bits: int = opt(8, "bits", min=1)


@pytest.fixture
def scratch_registry(monkeypatch):
    registry.kinds()
    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))
    monkeypatch.setattr(registry, "_PROBLEMS", [])


def test_a_registered_kind_is_parsed_and_checked(scratch_registry):
    def check(cfg, source):
        if cfg.task.bits > 4 and cfg.model.hidden < 8:
            raise ConfigError(source, "task.bits", "needs model.hidden >= 8 above 4 bits")
    assert registry.register(TaskSpec("parity", Parity, "x:y", lambda c: None, "accuracy",
                                      "max", check=check))
    cfg = parse_config({"task": {"kind": "parity", "bits": 3}}, "p.toml")
    assert cfg.task.bits == 3
    with pytest.raises(ConfigError, match=r"p.toml: task.bits: needs model.hidden"):
        parse_config({"task": {"kind": "parity", "bits": 5}, "model": {"hidden": 4}}, "p.toml")
    with pytest.raises(ConfigError, match=r"did you mean 'parity'"):
        parse_config({"task": {"kind": "parityy"}}, "p.toml")


@pytest.mark.parametrize("bad, words", [
    (TaskSpec("parity", Parity, "x:y", lambda c: None, "accuracy", "best"), "goal must be"),
    (TaskSpec("other", Parity, "x:y", lambda c: None, "accuracy", "max"), "needs a field"),
    (TaskSpec("copy", registry.get("copy").config, "x:y", lambda c: None, "a", "max"),
     "already registered"),
    ("not a spec", "not a TaskSpec"),
])
def test_a_bad_spec_is_refused_with_one_line(scratch_registry, bad, words):
    assert not registry.register(bad, "test")
    assert len(registry.problems()) == 1 and words in registry.problems()[0]


def test_built_in_kinds_are_found_without_scanning_for_plugins(monkeypatch):
    """`get` of a built-in kind and `known_kinds` never scan the installed packages (the
    lab's first frame needs only those); an unknown kind, `kinds` and `problems` do, once."""
    import importlib.metadata
    monkeypatch.setattr(registry, "_SPECS", {})
    monkeypatch.setattr(registry, "_PROBLEMS", [])
    monkeypatch.setattr(registry, "_loaded", False)
    scans = []
    flip = TaskSpec("parity", Parity, "x:y", lambda c: None, "accuracy", "max")

    class Plugin:
        name, value = "parity", "pkg:parity"

        def load(self):
            return flip

    def entry_points(group):
        scans.append(group)
        return [Plugin()]
    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    try:
        assert registry.get(registry.DEFAULT_KIND).kind == registry.DEFAULT_KIND
        known = registry.known_kinds()
        assert known[0] == registry.DEFAULT_KIND and "parity" not in known and scans == []
        assert registry.get("parity") is flip and scans == [registry.GROUP]
        assert registry.kinds()[-1] == "parity" and registry.known_kinds()[-1] == "parity"
        assert registry.problems() == [] and len(scans) == 1
    finally:
        registry._loaded = False     # monkeypatch restores the old table after this


def test_the_table_of_built_in_kinds_is_what_their_modules_declare():
    """BUILTIN_KINDS (kind -> module, read without importing) matches each module's SPECS,
    in order: a kind added to a module and not to the table would go unseen."""
    import importlib
    declared = [(spec.kind, module) for module in registry.BUILTIN
                for spec in importlib.import_module(f"lstm_tui.tasks.{module}").SPECS]
    assert declared == list(registry.BUILTIN_KINDS.items())


def test_a_built_in_kind_imports_its_own_module_alone():
    code = ("import sys\nfrom lstm_tui.tasks import registry\n"
            "assert registry.known_kinds()[:2] == ['nth_element', 'weighted_sum']\n"
            "assert registry.get('copy').kind == 'copy'\n"
            "print(sorted(m for m in sys.modules if m.startswith('lstm_tui.tasks.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    loaded = set(eval(out.stdout))
    assert "lstm_tui.tasks.memory" in loaded
    assert not loaded & {"lstm_tui.tasks.series", "lstm_tui.tasks.nth_element",
                         "lstm_tui.tasks.sequence_classification", "lstm_tui.tasks.char_lm"}
