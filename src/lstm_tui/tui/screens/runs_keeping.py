"""The Runs screen's store-keeping keys: tag (t), note (n) and remove (d), each behind a
dialog; what they change is done by the core (runs/tags.py, runs/trash.py)."""

from __future__ import annotations

from lstm_tui.runs.layout import RunError
from lstm_tui.runs.reader import RunInfo
from lstm_tui.runs.tags import TAG_HELP, change_tags, parse_tag_ops, set_note
from lstm_tui.runs.trash import check_removable, move_to_trash
from lstm_tui.numbers import printable
from lstm_tui.tui.errors import one_line
from lstm_tui.tui.run_labels import display_name
from lstm_tui.tui.screens.store_dialogs import ConfirmDialog, TextPrompt


def ask_tags(screen, targets: list[RunInfo]) -> None:
    if not targets:
        return
    what = targets[0].name if len(targets) == 1 else f"{len(targets)} marked runs"
    screen.app.push_screen(TextPrompt(f"Tags of {what}", placeholder="+good -bad",
                                      help=f"{TAG_HELP}   escape: cancel"),
                           lambda ops: apply_tags(screen, targets, ops))


def apply_tags(screen, targets: list[RunInfo], ops: str | None) -> None:
    if not ops or not ops.strip():
        return
    try:
        change = parse_tag_ops(ops.split())
        for info in targets:
            change_tags(info.path, change)
    except RunError as exc:
        screen.notify(one_line(exc), title="Tag", severity="error")
        return
    screen.notify(f"{len(targets)} run(s): {ops.strip()}", title="Tagged")
    screen.watcher.look_at(info.path for info in targets)
    screen.poll()


def ask_note(screen, info: RunInfo | None) -> None:
    if info is None:
        return
    # escaped like every shown text: a note with ESC in it is edited as \x1b
    screen.app.push_screen(TextPrompt(f"Note on {printable(info.name)}",
                                      value=printable(info.note),
                                      placeholder="what this run is for, what to check",
                                      help="enter: save (empty clears)   escape: cancel"),
                           lambda text: apply_note(screen, info, text))


def apply_note(screen, info: RunInfo, text: str | None) -> None:
    if text is None:
        return
    try:
        set_note(info.path, text)
    except RunError as exc:
        screen.notify(one_line(exc), title="Note", severity="error")
        return
    screen.watcher.look_at([info.path])
    screen.poll()


def ask_remove(screen, targets: list[RunInfo]) -> None:
    if not targets:
        return
    try:      # a running run is refused before anything is asked or moved
        for info in targets:
            check_removable(screen.root, info.path)
    except RunError as exc:
        screen.notify(one_line(exc), title="Remove", severity="error", timeout=8)
        return
    names = "\n".join(display_name(r, screen.root) for r in targets[:8])
    more = f"\n... and {len(targets) - 8} more" if len(targets) > 8 else ""
    screen.app.push_screen(
        ConfirmDialog(f"Move {len(targets)} run(s) to {screen.root / '.trash'}?",
                      names + more + "\n(`lstm-lab restore NAME` brings one back)"),
        lambda yes: remove(screen, targets) if yes else None)


def remove(screen, targets: list[RunInfo]) -> None:
    moved = 0
    for info in targets:
        try:
            move_to_trash(screen.root, info.path)
            moved += 1
        except (RunError, OSError) as exc:
            screen.notify(one_line(exc), title="Remove", severity="error", timeout=8)
        screen.marked.discard(info.path)
    if moved:
        screen.notify(f"{moved} run(s) moved to the trash", title="Removed")
    screen.poll()
