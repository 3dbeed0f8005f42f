"""The consoles of the command line: wrapped to the terminal, never wrapped in a file,
never a control character from user text (lstm_tui.textsafe).

rich wraps at 80 columns when output is not a terminal, which splits long lines (a run's
header, a char_lm sample inside its quotes) in a log file or a pipe.  Written to a file
or a pipe, these consoles are as wide as FILE_WIDTH unless COLUMNS says otherwise; rich
writes no ANSI codes there (nor colour under NO_COLOR).
"""

from __future__ import annotations

import os
from typing import Iterable

from rich.console import Console, ConsoleDimensions
from rich.segment import Segment

from lstm_tui.textsafe import printable

FILE_WIDTH = 1000    # a long line stays one line; tables keep their natural width


class CliConsole(Console):
    @property
    def size(self) -> ConsoleDimensions:
        dims = Console.size.fget(self)
        if self._width is None and not self.is_terminal and not os.environ.get("COLUMNS"):
            return ConsoleDimensions(FILE_WIDTH, dims.height)
        return dims

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        # the last net under every print: text never carries a control character to the
        # terminal (rich's own cursor moves are control segments and pass as they are)
        return super()._render_buffer(
            segment if segment.control else
            Segment(printable(segment.text, lines=True), segment.style)
            for segment in buffer)


def console(stderr: bool = False) -> Console:
    return CliConsole(stderr=stderr)


def colorful(con: Console) -> bool:
    """Will `con` show colours?  Not in a file or a pipe, nor under NO_COLOR."""
    return con.color_system is not None and not con.no_color
