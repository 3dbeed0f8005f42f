"""`lstm-lab inspect`: gates, cell state, hidden state and saliency of a trained run.

Thin: parses options, asks :mod:`lstm_tui.inspection` for the record and draws it with
:mod:`lstm_tui.render.inspection_view`.  Registered on the main app by :func:`register`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from lstm_tui.cli.common import RunsDir, bad_input, err, out
from lstm_tui.config import ConfigError
from lstm_tui.fsio import atomic_write
from lstm_tui.render.export import check_new_file
from lstm_tui.runs.layout import runs_root
from lstm_tui.runs.resolve import resolve_run

DEFAULT_TOP = 16         # units shown per heatmap when the layer has more and none are named
FIND_TOP = 5


def inspect(
    ref: Annotated[str, typer.Argument(metavar="RUN", help="a run with a checkpoint "
                                       "(folder or name)")],
    checkpoint: Annotated[str, typer.Option(help="best | last")] = "best",
    index: Annotated[Optional[int], typer.Option(help="validation sequence N (default 0)",
                                                 show_default=False)] = None,
    text: Annotated[Optional[str], typer.Option(help="char_lm: this text, normalized like "
                                                "the training text", show_default=False)]
    = None,
    random_: Annotated[bool, typer.Option("--random", help="a random validation sequence "
                                          "(with --seed)")] = False,
    seed: Annotated[Optional[int], typer.Option(help="seed of --random",
                                                show_default=False)] = None,
    layer: Annotated[int, typer.Option(help="layer to show (0 = the first)")] = 0,
    direction: Annotated[str, typer.Option(help="forward | backward (bidirectional "
                                           "models)")] = "forward",
    gate: Annotated[Optional[list[str]], typer.Option(
        "--gate", help="quantity to show (repeatable): lstm input, forget, candidate, "
        "output, cell, hidden; gru reset, update, candidate, hidden; rnn hidden "
        "(default: all)", show_default=False)] = None,
    units: Annotated[Optional[str], typer.Option(help="units to show, e.g. 0,5,7 or 3-6",
                                                 show_default=False)] = None,
    top: Annotated[Optional[int], typer.Option(min=1, help="the K units that vary most "
                                               f"(default: all, or {DEFAULT_TOP} when more)",
                                               show_default=False)] = None,
    unit: Annotated[Optional[int], typer.Option(help="print the text coloured by this "
                                                "unit's activation", show_default=False)]
    = None,
    find: Annotated[Optional[str], typer.Option(help="char_lm: rank units by correlation "
                                                "with quote | space | newline | position",
                                                show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole record as JSON "
                                          "(schema: docs/inspect.md)")] = False,
    output: Annotated[Optional[Path], typer.Option(help="also save the pictures to "
                                                   "FILE.svg or FILE.html",
                                                   show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="replace an existing --output "
                                        "file")] = False,
    runs_dir: RunsDir = None,
) -> None:
    """Run a trained model over one sequence and show its gates, cell state, hidden state,
    predictions and saliency, computed from the checkpoint's weights."""
    from lstm_tui.inspection import analysis
    from lstm_tui.inspection.schema import DIRECTIONS

    chosen = [name for name, on in (("--index", index is not None), ("--text", text is not None),
                                    ("--random", random_)) if on]
    if len(chosen) > 1:
        raise ConfigError(chosen[1], chosen[1].lstrip("-"), f"choose one of --index, --text "
                          f"and --random (got {' and '.join(chosen)})")
    if seed is not None and not random_:
        raise ConfigError("--seed", "seed", "goes with --random")
    if direction not in DIRECTIONS:
        raise ConfigError("--direction", "direction",
                          f"must be one of forward, backward, got {direction!r}")
    if units is not None and top is not None:
        raise ConfigError("--top", "top", "choose --units or --top, not both")
    suffix = output.suffix.lower() if output is not None else ""
    if output is not None and suffix not in (".svg", ".html", ".htm"):
        raise ConfigError("--output", "output", f"{output}: must end in .svg or .html")
    if output is not None:
        check_new_file(output, force, "--output")
    if find is not None and find not in analysis.FEATURES:
        raise ConfigError("--find", "find", f"must be one of {', '.join(analysis.FEATURES)}, "
                          f"got {find!r}")

    run_dir = resolve_run(runs_root(runs_dir), ref)
    record = _record(run_dir, checkpoint, index, text, random_, seed)

    if not 0 <= layer < record.layers:
        raise ConfigError("--layer", "layer", f"{layer} is out of range: this model has "
                          f"{record.layers} layer(s) (0..{record.layers - 1})")
    if direction == "backward" and record.directions == 1:
        raise ConfigError("--direction", "direction", "backward needs a bidirectional model")
    names = record.gates
    for g in gate or []:
        if g not in names:
            raise ConfigError("--gate", "gate", f"a {record.cell} has {', '.join(names)}; "
                              f"got {g!r}")
    if unit is not None:
        analysis.check_unit(unit, record.hidden)
    if find is not None and record.text is None:
        raise ConfigError("--find", "find", f"needs a char_lm run (features of a text); "
                          f"{run_dir.name} is a {record.task} run")
    trace = record.trace(layer, direction)

    if as_json:
        out.file.write(json.dumps(record.to_json(layer, direction), allow_nan=False) + "\n")
        if output is None:
            return
    pictures = _pictures(record, trace, gate or names, units, top, unit, find,
                         colour=not as_json and _colour(), width=min(out.width, 160))
    if not as_json:
        for p in pictures:
            out.print(p)
            out.print()
    if output is not None:
        from lstm_tui.render.inspection_view import export
        page = export(_pictures(record, trace, gate or names, units, top, unit, find,
                                colour=True, width=120), str(output),
                      f"lstm-lab inspect {run_dir.name}")
        atomic_write(output, lambda tmp: tmp.write_text(page, encoding="utf-8"))
        err.print(f"saved {output}", highlight=False, markup=False)


def _record(run_dir: Path, checkpoint: str, index, text, random_: bool, seed):
    from lstm_tui.inspection import source
    opened = source.open_run(run_dir, checkpoint)
    if text is not None:
        seq = source.text_sequence(opened, text)
    elif random_:
        seq = source.random_sequence(opened, seed)
    else:
        seq = source.validation_sequence(opened, index or 0)
    return source.inspect_sequence(opened, seq)


def _colour() -> bool:
    from lstm_tui.render.inspection_view import has_colour
    return has_colour(out)


def _pictures(record, trace, gates, units_spec, top, unit, find, *, colour: bool,
              width: int) -> list:
    from lstm_tui.inspection import analysis
    from lstm_tui.render.inspection_view import (gate_picture, header, predictions_text,
                                          saliency_picture, unit_text)

    focus = "cell" if "cell" in trace.gates else "hidden"
    pictures = [header(record, trace.layer, trace.direction), predictions_text(record)]
    if find is not None:
        name = gates[0] if len(gates) == 1 else focus
        values = trace.gates[name]
        ranked = analysis.rank_by_feature(values, record.text, find, top or FIND_TOP)
        pictures.append(Text(f"units of {name} most correlated with '{find}'", style="bold"))
        for u, r in ranked:
            pictures.append(unit_text(record, name, values, u, colour=colour, width=width,
                                      label=f"r = {r:+.3f}"))
        return pictures
    if unit is not None:
        name = gates[0] if len(gates) == 1 else focus
        pictures.append(unit_text(record, name, trace.gates[name], unit, colour=colour,
                                  width=width))
        return pictures
    for name in gates:
        values = trace.gates[name]
        if units_spec is not None:
            shown = analysis.parse_units(units_spec, record.hidden)
        elif top is not None or record.hidden > DEFAULT_TOP:
            shown = analysis.top_by_variance(values, top or DEFAULT_TOP)
        else:
            shown = list(range(record.hidden))
        pictures.append(gate_picture(record, name, values, shown, colour=colour, width=width))
    pictures.append(saliency_picture(record, colour=colour, width=width))
    return pictures


def register(app: typer.Typer) -> None:
    app.command("inspect")(bad_input(inspect))


def print_scored(prime: str, scored) -> None:
    """`sample --show-probs`: the text coloured by each character's probability (shade
    glyphs under each line without colour), then the mean and the least likely."""
    from lstm_tui.render.inspection_view import Scale, coloured_text, colour_bar

    chars, probs = [], []
    for ch, p in scored:
        chars.append(ch)
        probs.append(p)
    text = "".join(chars)
    scale = Scale(0.0, 1.0, False)
    colour = _colour()
    if prime:
        out.print(Text(prime, style="dim underline"), end="" if colour else "\n")
    out.print(coloured_text(text, probs, scale, colour=colour, width=out.width))
    out.print(colour_bar(scale, "probability", colour))
    if probs:
        low = min(range(len(probs)), key=probs.__getitem__)
        out.print(f"mean probability {sum(probs) / len(probs):.3f}; least likely "
                  f"{text[low]!r} at {low} (p = {probs[low]:.3g})", highlight=False,
                  markup=False)
