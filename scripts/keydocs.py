"""The README's key tables, generated from the config dataclasses and the task registry.

``python scripts/keydocs.py`` prints every table; the docs test checks that the README
holds each one exactly, so a new key or a new task kind cannot go undocumented.
"""

from __future__ import annotations

from lstm_tui.config import ModelConfig, TrainConfig, allowed, field_specs
from lstm_tui.tomlfile import toml_value


def key_table(cls: type) -> str:
    """The markdown table of a config dataclass's keys (the `kind` key left out)."""
    lines = ["| key | default | allowed | what it does |", "|---|---|---|---|"]
    for spec in field_specs(cls):
        if spec.name == "kind":
            continue
        lines.append(f"| `{spec.name}` | `{toml_value(spec.default)}` | "
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
              f"#### `[train]`\n\n{key_table(TrainConfig)}\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    print(all_sections())
