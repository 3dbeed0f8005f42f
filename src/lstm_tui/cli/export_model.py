"""`lstm-lab export RUN --onnx FILE | --torchscript FILE | --safetensors FILE`: a trained
run's model as a file for other programs, with model.json beside it (the core:
lstm_tui.runs.export).  The `export` command (cli/output.py) hands these options here."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from lstm_tui.cli.common import out
from lstm_tui.config import ConfigError


def export_model(refs: list[str], files: dict[str, Optional[Path]], checkpoint: str,
                 force: bool, runs_dir: Optional[Path]) -> None:
    """`files`: format -> the file asked for (None: not asked for)."""
    from lstm_tui.render.export import check_new_file
    from lstm_tui.runs.export import export, manifest_path, require
    from lstm_tui.runs.layout import runs_root
    from lstm_tui.runs.resolve import resolve_run
    from lstm_tui.runs.trained import open_trained

    chosen = [(fmt, path) for fmt, path in files.items() if path is not None]
    if len(chosen) != 1:
        raise ConfigError("export", "", "one model format at a time: --onnx, --torchscript "
                          "or --safetensors (each writes model.json beside its file)")
    if len(refs) != 1:
        raise ConfigError("export", "", f"a model export takes one RUN, got {len(refs)}")
    fmt, path = chosen[0]
    option = f"--{fmt}"
    require(fmt)
    check_new_file(path, force, option)
    check_new_file(manifest_path(path), force, option)
    run = open_trained(resolve_run(runs_root(runs_dir), refs[0]), checkpoint)
    doc = export(run, fmt, path)
    check = doc.get("check")
    how = (f"checked with {check['by']} on {len(check['shapes'])} input shapes: max "
           f"|difference| {check['max_abs_diff']:.2g}" if check else
           f"{len(doc['parameters'])} tensors under the model's parameter names")
    out.print(f"{fmt}: {path} and {manifest_path(path)} ({how})", highlight=False,
              markup=False, soft_wrap=True)
