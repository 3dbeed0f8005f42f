"""The manual's key tables, generated from the config dataclasses and the task registry
(and the [sweep] table's own keys, sweeps.spec.SweepConfig).

``python scripts/keydocs.py`` prints every table; ``python scripts/keydocs.py --write``
rewrites them in place in docs/reference/keys.md (between the ``<!-- keydocs start -->``
and ``<!-- keydocs end -->`` lines; the prose around them stays as written), and
``--check`` only compares (exit 1 when the page differs).  tests/unit/test_docs.py checks
that the page holds exactly what this renders, so a new key or a new task kind cannot go
undocumented: after adding one, run ``python scripts/keydocs.py --write``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from lstm_tui.config import ModelConfig, TrainConfig, allowed, field_specs
from lstm_tui.sweeps.spec import SweepConfig
from lstm_tui.tomlfile import toml_value


def key_table(cls: type) -> str:
    """The markdown table of a config dataclass's keys (the `kind` key left out)."""
    lines = ["| key | default | allowed | what it does |", "|---|---|---|---|"]
    for spec in field_specs(cls):
        if spec.name == "kind":
            continue
        default = "—" if spec.default is None else f"`{toml_value(spec.default)}`"
        lines.append(f"| `{spec.name}` | {default} | "
                     f"{allowed(spec).replace('|', '/')} | {_cell(spec.help)} |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell (a bare | would end the cell)."""
    return text.replace("|", "\\|")


def task_section(kind: str) -> str:
    """The heading and key table of one registered task kind."""
    from lstm_tui.tasks.registry import spec_of
    spec = spec_of(kind)
    doc = (spec.config.__doc__ or "").strip().splitlines()[0]
    return f'#### `[task]` with `kind = "{kind}"` — {doc}\n\n{key_table(spec.config)}\n'


def all_sections() -> str:
    from lstm_tui.tasks.registry import kinds
    parts = [task_section(kind) for kind in kinds()]
    parts += [f"#### `[model]`\n\n{key_table(ModelConfig)}\n",
              f"#### `[train]`\n\n{key_table(TrainConfig)}\n",
              sweep_section()]
    return "\n".join(parts)


def sweep_section() -> str:
    """The [sweep] table's own keys (its tables of axes are described in the text)."""
    return ("#### `[sweep]` — the table's own keys (`grid`, `random` and `space` are tables "
            f"of axes)\n\n{key_table(SweepConfig)}\n")


PAGE = Path(__file__).resolve().parent.parent / "docs" / "reference" / "keys.md"
START, END = "<!-- keydocs start -->", "<!-- keydocs end -->"


def page_block() -> str:
    """What the page holds between its markers: every section, its heading a level-2 one
    (the tables are the page's sections)."""
    return re.sub(r"^#### ", "## ", all_sections(), flags=re.M)


def rewrite(page: str) -> str:
    """`page` with the text between its markers replaced by :func:`page_block`."""
    if page.count(START) != 1 or page.count(END) != 1 or page.index(START) > page.index(END):
        raise ValueError(f"{PAGE}: needs one {START!r} line, then one {END!r} line")
    head, rest = page.split(START, 1)
    tail = rest.split(END, 1)[1]
    return f"{head}{START}\n\n{page_block()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    if not argv:
        print(all_sections())
        return 0
    if argv not in (["--write"], ["--check"]):
        print("usage: python scripts/keydocs.py [--write | --check]", file=sys.stderr)
        return 2
    page = PAGE.read_text(encoding="utf-8")
    new = rewrite(page)
    if argv == ["--check"]:
        if new != page:
            print(f"{PAGE} differs from the config fields "
                  "(run: python scripts/keydocs.py --write)", file=sys.stderr)
            return 1
        return 0
    if new != page:
        PAGE.write_text(new, encoding="utf-8")
    print(f"{'rewrote' if new != page else 'unchanged:'} {PAGE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
