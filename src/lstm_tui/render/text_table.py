"""A plain-text table that fits a width without breaking words, or runs unwrapped.

For a terminal that is too narrow: columns that repeat what others say go first, then
wrappable columns shrink to their preferred floor, wrapping only where a word may break
(after - / _ . or at a space), then optional columns go, then wrappable columns shrink
to their longest word; the last resort is cutting a piece wider than its column.  Piped output
passes width=None: every cell on one line, columns as wide as their widest cell.
No colours here: the caller styles the cells it gets back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

SEP = "  "
BREAK = re.compile(r"(?<=[-/_.])|(?<= )")     # break after these, keep them on the line


@dataclass(frozen=True)
class Col:
    key: str
    header: str
    right: bool = False        # right-justified (numbers)
    wrap: bool = False         # may wrap at word breaks when space is short
    drop: int = 0              # > 0: may be left out when space is short (1 goes first;
                               # 1-9 before any column wraps, 10+ only after)
    floor: int = 0             # a wrappable column first wraps down to this width only
    clip: bool = False         # one line: cut at a word break with … (free text, notes)


def pieces(text: str) -> list[str]:
    return [p for p in BREAK.split(text) if p]


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width`, breaking between pieces; a piece wider than the line is
    cut (the only mid-word break, when nothing else fits)."""
    lines, line = [], ""
    for piece in pieces(text):
        if len(line) + len(piece.rstrip()) <= width:
            line += piece
            continue
        if line:
            lines.append(line.rstrip())
        while len(piece.rstrip()) > width:
            lines.append(piece[:width])
            piece = piece[width:]
        line = piece
    if line.rstrip() or not lines:
        lines.append(line.rstrip())
    return lines


def _natural(cols: Sequence[Col], rows: Sequence[Sequence[str]]) -> list[int]:
    return [max([len(c.header)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]


def clip(text: str, width: int) -> str:
    """`text` cut to `width` at a word break, with … when anything was left out."""
    if len(text) <= width:
        return text
    kept = ""
    for piece in pieces(text):
        if len(kept) + len(piece.rstrip()) > width - 1:
            break
        kept += piece
    return (kept.rstrip() or text[:width - 1]) + "…"


def _floor(col: Col, i: int, rows: Sequence[Sequence[str]], natural: int) -> int:
    """Narrowest width that breaks no word: the longest piece (for a clipped column,
    its floor)."""
    if col.clip:
        return min(natural, max(col.floor, len(col.header)))
    longest = max([len(col.header)] + [len(p.rstrip()) for r in rows for p in pieces(r[i])])
    return min(natural, max(longest, len(col.header)))


def fit(cols: Sequence[Col], rows: Sequence[Sequence[str]],
        width: int | None) -> tuple[list[int], list[int]]:
    """(indices of the columns kept, their widths) for a total width (None: unlimited)."""
    widths = _natural(cols, rows)
    keep = list(range(len(cols)))

    def total() -> int:
        return sum(widths[i] for i in keep) + len(SEP) * (len(keep) - 1)

    if width is None or total() <= width:
        return keep, [widths[i] for i in keep]

    def drop(tier: range) -> None:
        for i in sorted((i for i in keep if cols[i].drop in tier), key=lambda i: cols[i].drop):
            if total() <= width:
                return
            keep.remove(i)

    def shrink(floor) -> None:         # the rightmost wrappable column gives first
        for i in sorted((i for i in keep if cols[i].wrap), reverse=True):
            excess = total() - width
            if excess <= 0:
                return
            widths[i] -= max(0, min(excess, widths[i] - floor(i)))

    def word_floor(i: int) -> int:
        return _floor(cols[i], i, rows, widths[i])

    drop(range(1, 10))                                       # columns said twice anyway
    shrink(lambda i: max(word_floor(i), min(widths[i], cols[i].floor)))
    drop(range(10, 100))                                     # then the useful extras
    shrink(word_floor)                                       # down to the longest word
    shrink(lambda i: max(4, len(cols[i].header)))            # last resort: cut words
    natural = _natural(cols, rows)
    for i in (i for i in keep if cols[i].wrap):               # room left after a drop
        widths[i] += max(0, min(width - total(), natural[i] - widths[i]))
    return keep, [widths[i] for i in keep]


def layout(cols: Sequence[Col], rows: Sequence[Sequence[str]],
           width: int | None) -> tuple[list[Col], list[list[list[str]]]]:
    """(kept columns, for the header and each row its physical lines of padded cells)."""
    keep, widths = fit(cols, rows, width)
    kept = [cols[i] for i in keep]

    def cell_lines(text: str, col: Col, w: int) -> list[str]:
        lines = [clip(text, w)] if col.clip else wrap(text, w) if len(text) > w else [text]
        return [line.rjust(w) if col.right else line.ljust(w) for line in lines]

    out = []
    for row in [[c.header for c in cols], *rows]:
        cells = [cell_lines(row[i], cols[i], w) for i, w in zip(keep, widths)]
        height = max(len(c) for c in cells)
        out.append([[c[n] if n < len(c) else " " * w for c, w in zip(cells, widths)]
                    for n in range(height)])
    return kept, out


def render(cols: Sequence[Col], rows: Sequence[Sequence[str]], width: int | None) -> str:
    """The table as plain text, one line per physical line, trailing spaces trimmed."""
    _, lines = layout(cols, rows, width)
    return "\n".join(SEP.join(cells).rstrip() for row in lines for cells in row)
