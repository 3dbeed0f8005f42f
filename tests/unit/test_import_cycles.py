"""The package's import graph has no cycle, and the lab's modules stay readable.

Every ``import`` in ``src/lstm_tui`` counts, also one inside a function (a lazy import
that breaks a cycle at run time still says two modules need each other: the shared part
belongs in a module of its own).  Read from the source with ``ast``: nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "lstm_tui"
MAX_LINES = 500
LONG_SAYS_WHY = "over 500 lines because"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that `name` imports, anywhere in its file."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        for target in targets:
            while target and target not in known:     # `import a.b.c` of a name in a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


# The Python API's facade: ``import lstm_tui as lab; lab.train(...)`` loads lstm_tui.api
# on first use (the root's __getattr__, and the run store's package called as
# ``lab.runs(...)``).  These two edges point at the API, which sits on top of everything
# (it imports what the commands import, and so the root's __version__); they are the
# only edges not counted.
FACADE = {("lstm_tui", "lstm_tui.api"), ("lstm_tui.runs", "lstm_tui.api")}


def test_the_import_graph_has_no_cycle():
    mods = modules()
    graph = {name: {t for t in imports_of(name, path, set(mods)) if (name, t) not in FACADE}
             for name, path in mods.items()}
    assert graph["lstm_tui.tui.screens.runs"]           # the walk finds imports at all
    assert all(t in imports_of(name, mods[name], set(mods)) for name, t in FACADE)
    assert graph["lstm_tui.tui.screens.runs"]           # the walk finds imports at all
    assert cycles(graph) == []


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_lab_modules_are_short_or_say_why():
    long = []
    for name, path in modules().items():
        if not name.startswith("lstm_tui.tui"):
            continue
        text = path.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if len(text.splitlines()) > MAX_LINES and LONG_SAYS_WHY not in doc.lower():
            long.append(f"{name}: {len(text.splitlines())} lines")
    assert long == []
