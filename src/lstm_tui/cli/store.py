"""Commands that keep the run store: `runs` (filters, columns, --json), `tag`, `note`,
`rm`, `restore`; and `lstm-lab --version`.

Thin: the selecting lives in runs/listing.py, the annotations in runs/tags.py, the
trash in runs/trash.py.  Bad input is one line and exit 2 (cli.common.bad_input), and a
command that refuses changes nothing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

from lstm_tui.cli.common import RunsDir, bad_input, err, out
from lstm_tui.cli.complete import complete_run, complete_sweep_or_run
from lstm_tui.config import ConfigError
from lstm_tui.runs.layout import RunError, runs_root
from lstm_tui.runs.reader import read_info
from lstm_tui.runs.resolve import resolve_run

EXIT_DECLINED = 1
STATUS_STYLES = {"running": "bold cyan", "completed": "green", "stopped_early": "green",
                 "interrupted": "yellow", "diverged": "magenta", "failed": "bold red",
                 "pruned": "blue", "corrupt": "bold red"}
FREE_TEXT = {"ignore_unknown_options": True}     # so that -TAG reaches the command


# ---------------------------------------------------------------- runs

def _cell(row, key: str) -> str:
    from lstm_tui.numbers import age, fmt
    from lstm_tui.render.report import METRIC_ABBREV
    from lstm_tui.numbers import printable
    value = row.value(key)
    if key == "best" and value is not None:
        return f"{fmt(value)} {METRIC_ABBREV.get(row.info.metric, row.info.metric)}".strip()
    if key == "age":
        return age(value)
    if key in ("created", "updated"):
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(value)) if value else "-"
    if key == "tags":
        return printable(" ".join(value))
    if key == "status" and row.info.empty:
        return f"{value} (empty)"     # never reached a step: `rm --empty` clears these
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return fmt(value)
    return printable(str(value))      # the table is measured, and may be piped, as shown


def _columns(keys: list[str], rows, optional: bool) -> list:
    """Table columns for `keys`; `optional`: some may be left out when space is short
    (the default set; never the columns --columns asks for)."""
    from lstm_tui.render.text_table import Col
    right = {"hidden", "best", "final", "steps", "seconds", "params", "age"}
    shape = {   # drop tier (1-9: says what the name says; 10+: optional), wrap floor
        "cell": (1, 0), "hidden": (2, 0), "steps": (11, 0), "task": (12, 0),
        "note": (13, 20), "name": (0, 32), "tags": (0, 12), "error": (0, 20),
    }
    cols = []
    for key in keys:
        drop, floor = shape.get(key, (0, 0))
        numeric = key in right or any(isinstance(r.value(key), (int, float)) and
                                      not isinstance(r.value(key), bool) for r in rows)
        cols.append(Col(key, key, right=numeric and key not in ("name", "tags", "note"),
                        wrap=key in ("name", "tags", "note", "error") or "." in key,
                        drop=drop if optional else 0, floor=floor, clip=key == "note"))
    return cols


def runs(
    where: Annotated[Optional[list[str]], typer.Option(
        "--where", help="keep runs where KEY OP VALUE holds: a listing field or a config "
        "key, OP one of = != < <= > >= ~ (contains); quote < and >: 'train.lr<0.01' "
        "(repeatable: all must hold)", show_default=False)] = None,
    status: Annotated[Optional[list[str]], typer.Option(
        "--status", help="only runs with this status (repeatable: any of them)",
        show_default=False)] = None,
    tag: Annotated[Optional[list[str]], typer.Option(
        "--tag", help="only runs with this tag (repeatable: all of them)",
        show_default=False)] = None,
    sweep: Annotated[Optional[str], typer.Option(
        "--sweep", help="only the points of this sweep (its name or folder)",
        show_default=False)] = None,
    columns: Annotated[Optional[str], typer.Option(
        "--columns", help="comma-separated columns after the name, e.g. "
        "model.hidden,train.lr,best (fields: task cell hidden status metric best final "
        "steps seconds params age created tags note sweep; or any config key)",
        show_default=False)] = None,
    sort: Annotated[Optional[str], typer.Option(
        "--sort", help="order by a field or config key (best: the best runs first); "
        "default: oldest first", show_default=False)] = None,
    desc: Annotated[bool, typer.Option("--desc", help="reverse the order")] = False,
    limit: Annotated[Optional[int], typer.Option(
        "--limit", min=1, help="at most N runs: the first N sorted, else the N newest",
        show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document on stdout "
                                          "(fields: docs/runs.md)")] = False,
    runs_dir: RunsDir = None,
) -> None:
    """List the runs in the run store, filtered, sorted and with the columns you pick.

    Output to a terminal fits its width (names wrap only at - / _ .); piped or
    redirected output is one line per run, unwrapped, without colours.
    """
    from lstm_tui.runs import listing
    from lstm_tui.render.text_table import layout

    root = runs_root(runs_dir)
    everything = listing.store_rows(root)
    query = listing.Query(where=list(where or []), status=list(status or []),
                          tags=list(tag or []), sweep=sweep, sort=sort, descending=desc,
                          limit=limit)
    keys = ["name", *[k.strip() for k in columns.split(",") if k.strip()]] if columns else []
    known = listing.known_later(everything)
    for key in keys:
        listing.check_key(key, known, "--columns")
    rows = listing.select(everything, query)
    if as_json:
        sys.stdout.writelines(listing.document_lines(rows, root))
        return
    if not everything:
        out.print(f"no runs in {root}/", highlight=False, soft_wrap=True)
        return
    if not rows:
        out.print(f"no runs match (of {len(everything)} in {root}/)", highlight=False,
                  soft_wrap=True)
        return
    chosen = bool(keys)
    if not chosen:
        keys = ["name", "task", "cell", "hidden", "status", "steps", "best", "age"]
        keys += [k for k in ("tags", "note") if any(r.value(k) for r in rows)]
    cols = _columns(keys, rows, optional=not chosen)
    cells = [[_cell(r, c.key) for c in cols] for r in rows]
    terminal = out.is_terminal
    kept, lines = layout(cols, cells, out.width if terminal else None)
    if not terminal:        # a pipe or a file: plain, unwrapped, nothing but the table
        sys.stdout.write("".join("  ".join(seg).rstrip() + "\n" for row in lines
                                 for seg in row))
    else:
        shown = f"{len(rows)} of {len(everything)} runs" if len(rows) != len(everything) \
            else f"{len(rows)} runs"
        out.print(Text(shown, style="bold"))
        for n, row in enumerate(lines):
            status = cells[n - 1][[c.key for c in cols].index("status")] \
                if n and "status" in keys else ""
            for seg in row:
                line = Text()
                for i, (col, piece) in enumerate(zip(kept, seg)):
                    if i:
                        line.append("  ")
                    style = "" if not piece.strip() else "bold" if n == 0 else \
                        STATUS_STYLES.get(status, "") if col.key == "status" else ""
                    line.append(piece, style=style)
                line.rstrip()
                out.print(line, soft_wrap=True, no_wrap=True, overflow="ignore")
    damaged = [r for r in rows if r.info.error]
    for r in damaged:
        err.print(f"corrupt: {r.info.error}", highlight=False, markup=False, soft_wrap=True)


# ---------------------------------------------------------------- tag, note

def tag(
    words: Annotated[list[str], typer.Argument(
        metavar="RUN... [+TAG|-TAG]...", help="runs (folder, name, latest, latest~N), then "
        "+TAG to add and -TAG to remove; with no +/- the runs' tags are printed",
        autocompletion=complete_run, show_default=False)],
    runs_dir: RunsDir = None,
) -> None:
    """Add or remove tags on runs (finished or running): lstm-lab tag latest +good -bad"""
    from lstm_tui.runs.tags import change_tags, is_tag_op, parse_tag_ops
    root = runs_root(runs_dir)
    change = parse_tag_ops([w for w in words if is_tag_op(w)])       # all checked first
    refs = [w for w in words if not is_tag_op(w)]
    if not refs:
        raise RunError("tag: name at least one run (then +TAG / -TAG)")
    folders = list(dict.fromkeys(resolve_run(root, ref) for ref in refs))
    for folder in folders:
        tags = change_tags(folder, change) if change.add or change.remove \
            else read_info(folder).tags
        out.print(f"{folder.name}: {' '.join(tags) or '(no tags)'}", highlight=False,
                  markup=False, soft_wrap=True)


def note(
    ref: Annotated[str, typer.Argument(metavar="RUN", help="a run (folder, name, latest, "
                                       "latest~N)", autocompletion=complete_run)],
    text: Annotated[Optional[str], typer.Argument(
        help="the note (replaces the old one; \"\" clears it); without it the note is "
        "printed", show_default=False)] = None,
    runs_dir: RunsDir = None,
) -> None:
    """Write a note on a run (kept in its folder; the config and metrics are untouched)."""
    from lstm_tui.runs.tags import set_note
    folder = resolve_run(runs_root(runs_dir), ref)
    if text is None:
        out.print(read_info(folder).note or "(no note)", highlight=False, markup=False,
                  soft_wrap=True)
        return
    saved = set_note(folder, text)
    out.print(f"{folder.name}: {'note saved' if saved else 'note cleared'}", highlight=False,
              markup=False, soft_wrap=True)


# ---------------------------------------------------------------- rm, restore

def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    # not typer.confirm: click writes its prompt's last space to stdout
    err.print(f"{question} [y/N] ", end="", highlight=False, markup=False, soft_wrap=True)
    answer = sys.stdin.readline()
    if answer.strip().lower() in ("y", "yes"):
        return
    if not answer.endswith("\n"):
        err.print()
    err.print("nothing removed (--yes skips this question)", highlight=False)
    raise typer.Exit(EXIT_DECLINED)


def rm(
    refs: Annotated[Optional[list[str]], typer.Argument(
        metavar="[RUN|SWEEP]...", help="runs or whole sweep folders (folder, name, latest, "
        "latest~N)", autocompletion=complete_sweep_or_run, show_default=False)] = None,
    empty: Annotated[bool, typer.Option("--empty", help="also every run that never reached "
                                        "a step (interrupted at start-up)")] = False,
    purge: Annotated[bool, typer.Option("--purge", help="delete everything in the trash "
                                        "for good")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
    runs_dir: RunsDir = None,
) -> None:
    """Move runs or sweeps to the trash (<runs-dir>/.trash; `restore` brings them back).

    A run that is still training (its writer is alive) is refused, and then nothing
    is moved.  --purge empties the trash for good.
    """
    from lstm_tui.runs import trash
    root = runs_root(runs_dir)
    if purge:
        if refs or empty:
            raise ConfigError("--purge", "", "empties the trash; give no RUN and no --empty "
                              "with it")
        entries = trash.list_trash(root)
        if not entries and not trash.trash_dir(root).is_dir():
            out.print(f"the trash of {root}/ is empty", highlight=False, soft_wrap=True)
            return
        _confirm(f"Delete the {len(entries)} folder(s) in {trash.trash_dir(root)} for good?",
                 yes)
        count = trash.purge(root)
        out.print(f"purged {count} folder(s) from {trash.trash_dir(root)}", highlight=False,
                  soft_wrap=True)
        return
    if not refs and not empty:
        raise ConfigError("rm", "", "name the runs or sweeps to remove, or pass --empty "
                          "(or --purge to empty the trash)")
    targets = [trash.resolve_target(root, ref) for ref in refs or []]
    if empty:
        targets += trash.empty_runs(root)
    targets = _outermost(targets)
    if not targets:
        out.print(f"no runs to remove in {root}/", highlight=False, soft_wrap=True)
        return
    for folder in targets:           # every check before anything moves: all or nothing
        trash.check_removable(root, folder)
    names = ", ".join(f.name for f in targets[:5]) + (" ..." if len(targets) > 5 else "")
    _confirm(f"Move {len(targets)} folder(s) to {trash.trash_dir(root)} ({names})?", yes)
    for folder in targets:
        entry = trash.move_to_trash(root, folder)
        out.print(f"removed {entry.origin} (restore: lstm-lab restore {entry.name})",
                  highlight=False, markup=False, soft_wrap=True)


def _outermost(folders: list[Path]) -> list[Path]:
    """Without duplicates, and without runs whose sweep is removed too."""
    unique = list(dict.fromkeys(Path(f).resolve() for f in folders))
    keep = [f for f in unique if not any(o != f and o in f.parents for o in unique)]
    by_resolved = {Path(f).resolve(): Path(f) for f in folders}
    return [by_resolved[f] for f in keep]


def restore(
    refs: Annotated[Optional[list[str]], typer.Argument(
        metavar="[RUN]...", help="removed runs or sweeps (name, prefix, or latest: the one "
        "removed last); with none, the trash is listed", show_default=False)] = None,
    runs_dir: RunsDir = None,
) -> None:
    """Bring runs or sweeps back from the trash to where they were."""
    from lstm_tui.runs import trash
    from lstm_tui.numbers import age
    root = runs_root(runs_dir)
    if not refs:
        entries = trash.list_trash(root)
        if not entries:
            out.print(f"the trash of {root}/ is empty", highlight=False, soft_wrap=True)
            return
        for e in entries:
            out.print(f"{e.name}  {e.kind}  from {e.origin}  removed "
                      f"{age(max(0.0, time.time() - e.removed))} ago", highlight=False,
                      markup=False, soft_wrap=True)
        return
    entries = [trash.find_in_trash(root, ref) for ref in refs]
    for entry in dict.fromkeys(entries):
        target = trash.restore(root, entry)
        out.print(f"restored {target}", highlight=False, markup=False, soft_wrap=True)


# ---------------------------------------------------------------- --version

def _version(value: bool) -> None:
    if value:
        from lstm_tui.version import VERSION
        typer.echo(f"lstm-lab {VERSION}")
        raise typer.Exit()


def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    """lstm-lab: a terminal experiment lab for LSTMs, GRUs and RNNs."""


def register(app: typer.Typer) -> None:
    app.callback()(main_options)
    app.command()(bad_input(runs))
    app.command(context_settings=FREE_TEXT)(bad_input(tag))
    app.command()(bad_input(note))
    app.command()(bad_input(rm))
    app.command()(bad_input(restore))
