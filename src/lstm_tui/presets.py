"""The presets shipped with lstm-lab, found by name or path."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from lstm_tui.config import ConfigError, suggest
from lstm_tui.tomlfile import loads_toml


def presets_dir() -> Path:
    """Installed wheels carry the presets inside the package; a checkout has them at the top."""
    packaged = Path(__file__).parent / "presets"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "presets"


@dataclass(frozen=True)
class PresetInfo:
    name: str
    path: Path
    description: str
    is_sweep: bool


def preset_files() -> list[Path]:
    """The shipped presets, then those of task plugins (TaskSpec.presets)."""
    from lstm_tui.tasks.registry import get, kinds
    extra = [Path(p) for kind in kinds() for p in get(kind).presets]
    return sorted(presets_dir().glob("*.toml")) + [p for p in extra if p.is_file()]


def shipped_presets() -> list[PresetInfo]:
    found = []
    for path in preset_files():
        try:
            data = loads_toml(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            data = {}
        found.append(PresetInfo(path.stem, path, str(data.get("description", "")),
                                "sweep" in data))
    return found


def resolve_preset(ref: str) -> Path:
    """A preset file from a path, or a shipped preset's name (with or without .toml)."""
    path = Path(ref)
    if path.is_file():
        return path
    name = path.name if path.suffix == ".toml" else f"{path.name}.toml"
    if len(path.parts) == 1:
        for shipped in preset_files():
            if shipped.name == name:
                return shipped
    shipped = [p.name for p in shipped_presets()]
    hint = suggest(Path(name).stem, shipped) if len(path.parts) == 1 else None
    extra = f"did you mean {hint!r}? " if hint else ""
    raise ConfigError(str(ref), "", f"no such preset file ({extra}shipped presets: "
                      f"{', '.join(shipped)})")
