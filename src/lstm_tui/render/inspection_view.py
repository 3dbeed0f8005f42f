"""Pictures of an inspection record as rich text: heatmaps, coloured text, colour bars.

Used by ``lstm-lab inspect`` (terminal, SVG and HTML) and by the lab's Inspect screen.
A heatmap has time across (the inputs written along it) and one row per unit.  Gates
the cell declares bounded (its sigmoids) use a sequential ramp over [0, 1]; signed
quantities (candidate, cell, hidden) a diverging blue-white-red ramp symmetric about 0.  Without colour
(NO_COLOR, or output that is not a terminal) the cells are shade glyphs instead.
"""

from __future__ import annotations

import io
import math
import re
from typing import Iterable, Sequence

from rich.cells import cell_len, set_cell_size
from rich.console import Console, Group, RenderableType
from rich.text import Text

from lstm_tui.inspection.schema import Record
from lstm_tui.numbers import printable

# viridis, dark to bright, for values in [0, 1]
SEQUENTIAL = ((68, 1, 84), (72, 40, 120), (62, 73, 137), (49, 104, 142), (38, 130, 142),
              (31, 158, 137), (53, 183, 121), (110, 206, 88), (181, 222, 43), (253, 231, 37))
# blue, white, red for signed values (0 is white)
DIVERGING = ((33, 102, 172), (103, 169, 207), (209, 229, 240), (247, 247, 247),
             (253, 219, 199), (239, 138, 98), (178, 24, 43))
SHADES = " ░▒▓█"
LABEL_WIDTH = 6          # "u 123 " before each row
VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


# ---------------------------------------------------------------- scales

class Scale:
    """Maps values to a fraction in [0, 1], a colour and a glyph."""

    def __init__(self, lo: float, hi: float, diverging: bool):
        self.lo, self.hi, self.diverging = lo, hi, diverging

    @classmethod
    def for_values(cls, name: str, rows: Iterable[Iterable[float]],
                   bounded: Iterable[str] = ()) -> "Scale":
        """[0, 1] for the `bounded` gates (the cell's sigmoids), [0, max] for saliency and
        probability, symmetric about 0 for the rest."""
        if name in bounded:
            return cls(0.0, 1.0, False)
        if name == "saliency" or name == "probability":
            top = max((abs(v) for row in rows for v in row), default=0.0)
            return cls(0.0, top if top > 0 else 1.0, False)
        m = max((abs(v) for row in rows for v in row if math.isfinite(v)), default=0.0)
        m = m if m > 0 else 1.0
        return cls(-m, m, True)

    def fraction(self, value: float) -> float:
        if not math.isfinite(value):
            return 0.0
        return min(1.0, max(0.0, (value - self.lo) / ((self.hi - self.lo) or 1.0)))

    def colour(self, value: float) -> str:
        ramp = DIVERGING if self.diverging else SEQUENTIAL
        pos = self.fraction(value) * (len(ramp) - 1)
        i = min(int(pos), len(ramp) - 2)
        a, b, w = ramp[i], ramp[i + 1], pos - i
        r, g, bl = (round(a[k] + (b[k] - a[k]) * w) for k in range(3))
        return f"rgb({r},{g},{bl})"

    def ink(self, value: float) -> str:
        """A text colour readable on `colour(value)`."""
        f = self.fraction(value)
        light = 0.1 <= f <= 0.9 if self.diverging else f >= 0.6
        return "black" if light else "white"

    def glyph(self, value: float) -> str:
        return SHADES[min(len(SHADES) - 1, int(self.fraction(value) * len(SHADES)))]


def has_colour(console: Console) -> bool:
    return console.color_system is not None and not console.no_color


def visible(token: str) -> str:
    """A token as it can be seen: blanks as ␣ ↵ ⇥ ␍, other control characters as their
    symbols (␛, ␀) or escapes (a char_lm vocabulary holds whatever its text file did)."""
    shown = "".join(VISIBLE.get(c) or (chr(0x2400 + ord(c)) if ord(c) < 0x20 else
                                         "␡" if c == "\x7f" else c) for c in token)
    return printable(shown) or "·"


# ---------------------------------------------------------------- heatmaps

def cell_width(tokens: Sequence[str]) -> int:
    """Terminal cells per time step (a CJK character or an emoji takes two)."""
    return max(1, min(6, max((cell_len(visible(t)) for t in tokens), default=1)))


def token_cell(token: str, width: int) -> str:
    """A token cut or padded to exactly `width` terminal cells."""
    return set_cell_size(visible(token), width)


def heatmap(values: Sequence[Sequence[float]], tokens: Sequence[str], units: Sequence[int],
            scale: Scale, *, colour: bool = True, width: int = 100,
            cursor: tuple[int, int] | None = None, start: int = 0,
            steps: int | None = None, row_label: str | None = None) -> Text:
    """Rows of units (values is T x H), time across; the inputs above, a step ruler below.

    Time wraps into blocks that fit `width`; with `steps`, only steps start..start+steps
    are drawn (one block: the lab scrolls it).  `cursor` is (t, unit) to mark.
    """
    cw = cell_width(tokens)
    total = len(tokens)
    per_block = max(1, (width - LABEL_WIDTH) // (cw + (cw > 1)))
    if steps is not None:
        blocks = [range(start, min(total, start + steps))]
    else:
        blocks = [range(b, min(total, b + per_block)) for b in range(0, total, per_block)]
    out = Text(no_wrap=True, overflow="crop")
    gap = " " if cw > 1 else ""
    for n, block in enumerate(blocks):
        if n:
            out.append("\n")
        out.append(" " * LABEL_WIDTH)
        for t in block:
            out.append(token_cell(tokens[t], cw) + gap,
                       style="bold reverse" if cursor and cursor[0] == t else "bold")
        for u in units:
            label = row_label or f"u{u}"
            out.append(f"\n{label[:LABEL_WIDTH - 1]:<{LABEL_WIDTH - 1}} ",
                       style="reverse" if cursor and cursor[1] == u else "dim")
            for t in block:
                v = values[t][u]
                mark = cursor is not None and cursor == (t, u)
                if colour:
                    out.append(("◆" if mark else " ") * cw,
                               style=f"bold {scale.ink(v)} on {scale.colour(v)}")
                else:
                    out.append(("◆" if mark else scale.glyph(v)) * cw, style="")
                out.append(gap)
        out.append("\n" + ruler(block, cw + len(gap)), style="dim")
    return out


def ruler(block: range, step_width: int) -> str:
    """Step numbers under a block of time steps, every 5 or 10 steps."""
    every = 10 if step_width == 1 else 5 if step_width <= 3 else 2
    line = [" "] * (LABEL_WIDTH + len(block) * step_width + 4)
    for t in block:
        if t % every == 0:
            label = str(t)
            at = LABEL_WIDTH + (t - block.start) * step_width
            if all(c == " " for c in line[max(0, at - 1):at + len(label)]):
                line[at:at + len(label)] = label
    return "".join(line).rstrip()


def colour_bar(scale: Scale, name: str, colour: bool = True, cells: int = 24) -> Text:
    """The ramp from low to high with its end values (and 0 for a signed ramp)."""
    out = Text(f"{name}: {scale.lo:+.3g} ", style="dim")
    for k in range(cells):
        v = scale.lo + (scale.hi - scale.lo) * (k + 0.5) / cells
        if colour:
            out.append(" ", style=f"on {scale.colour(v)}")
        else:
            out.append(scale.glyph(v))
    out.append(f" {scale.hi:+.3g}", style="dim")
    if scale.diverging:
        out.append("  (0 in the middle)", style="dim")
    return out


def coloured_text(text: str, values: Sequence[float], scale: Scale, *, colour: bool = True,
                  width: int = 100) -> Text:
    """`text` with each character's background set by its value (Karpathy-style).

    Without colour, each line is followed by a line of shade glyphs under its characters.
    """
    out = Text()
    if colour:
        for ch, v in zip(text, values):
            style = f"{scale.ink(v)} on {scale.colour(v)}"
            if ch == "\n":
                out.append("↵", style=style)
                out.append("\n")
            else:
                out.append(ch if ch == " " else visible(ch), style=style)
        return out
    lines: list[tuple[str, str]] = []
    chars, glyphs = [], []
    for ch, v in zip(text, values):
        chars.append(ch if ch == " " else visible(ch))
        glyphs.append(scale.glyph(v))
        if ch == "\n" or len(chars) >= width:
            lines.append(("".join(chars), "".join(glyphs)))
            chars, glyphs = [], []
    if chars:
        lines.append(("".join(chars), "".join(glyphs)))
    for n, (a, b) in enumerate(lines):
        if n:
            out.append("\n")
        out.append(a + "\n")
        out.append(b, style="dim")
    return out


# ---------------------------------------------------------------- a whole record

def header(record: Record, layer: int, direction: str) -> Text:
    seq = record.sequence
    how = {"index": f"validation sequence {seq.get('index')}",
           "random": f"validation sequence {seq.get('index')} (random, seed {seq.get('seed')})",
           "text": "typed text"}.get(seq.get("source"), "sequence")
    dirs = f", {direction}" if record.directions == 2 else ""
    out = Text.assemble(
        ("inspect ", "bold"), (record.run, "bold cyan"),
        f"  {record.checkpoint} (step {record.step})\n",
        f"{record.task}, {record.cell} {record.hidden} units x {record.layers} layer(s)"
        f"{' bidirectional' if record.directions == 2 else ''}, {record.activation}; "
        f"layer {layer}{dirs}; {how}, {len(record.tokens)} steps")
    for note in record.notes:
        out.append(f"\nnote: {note}", style="yellow")
    return out


def predictions_text(record: Record, limit: int = 8) -> Text:
    """The prediction at the last read-out steps (all of them when few)."""
    out = Text("predictions", style="bold")
    preds = record.predictions[-limit:]
    if len(record.predictions) > limit:
        out.append(f" (last {limit} of {len(record.predictions)} steps)", style="dim")
    for p in preds:
        out.append(f"\n  t={p['step']:<4} ")
        if "top" in p:
            out.append("  ".join(f"{visible(c['label'])} {c['prob']:.2f}" for c in p["top"]))
            if p.get("target") is not None:
                ok = p["top"][0]["class"] == p["target"]
                out.append(f"   target {visible(p['target_label'])}", style="dim")
                out.append(" ✓" if ok else " ✗", style="green" if ok else "red")
        else:
            out.append(f"predicted {_num(p['value'])}")
            if p.get("target") is not None:
                out.append(f"   target {_num(p['target'])}", style="dim")
    return out


def _num(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.4g}" for v in value) + "]"
    return f"{value:.4g}"


def gate_picture(record: Record, name: str, values, units: Sequence[int], *, colour: bool,
                 width: int) -> Group:
    scale = Scale.for_values(name, values, record.bounded)
    title = Text(f"{name}", style="bold")
    title.append(f"  ({len(units)} of {record.hidden} units)", style="dim")
    return Group(title, heatmap(values, record.tokens, units, scale, colour=colour,
                                width=width), colour_bar(scale, name, colour))


def saliency_picture(record: Record, *, colour: bool, width: int) -> Group:
    rows = [[v] for v in record.saliency]
    scale = Scale.for_values("saliency", rows)
    title = Text("saliency ‖∂(predicted output)/∂x_t‖", style="bold")
    return Group(title, heatmap(rows, record.tokens, [0], scale, colour=colour, width=width,
                                row_label="sal"),
                 colour_bar(scale, "saliency", colour))


def unit_text(record: Record, name: str, values, unit: int, *, colour: bool,
              width: int, label: str = "") -> Group:
    column = [row[unit] for row in values]
    scale = Scale.for_values(name, [column], record.bounded)
    text = record.text if record.text is not None else " ".join(record.tokens)
    per_char = column if record.text is not None else _spread(record.tokens, column)
    title = Text(f"unit {unit} ({name})", style="bold")
    if label:
        title.append(f"  {label}", style="dim")
    return Group(title, coloured_text(text, per_char, scale, colour=colour, width=width),
                 colour_bar(scale, name, colour))


def _spread(tokens: Sequence[str], values: Sequence[float]) -> list[float]:
    """Per-character values of tokens joined by spaces (each token's value on its chars)."""
    out: list[float] = []
    for n, (tok, v) in enumerate(zip(tokens, values)):
        out += [v] * (len(tok) + (1 if n < len(tokens) - 1 else 0))
    return out


# ---------------------------------------------------------------- files

def export(renderables: Sequence[RenderableType], path: str, title: str,
           width: int = 120) -> str:
    """SVG or HTML of the pictures, self-contained (inline styles, no web fonts)."""
    console = Console(record=True, width=width, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", legacy_windows=False)
    for r in renderables:
        console.print(r)
    if path.lower().endswith(".svg"):
        svg = console.export_svg(title=title)
        # the template names a web font on a CDN; a report must not need the network
        return re.sub(r',\s*url\("https?://[^"]*"\)\s*format\("[^"]*"\)', "", svg)
    return console.export_html(inline_styles=True)
