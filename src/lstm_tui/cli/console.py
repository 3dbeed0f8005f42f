"""The consoles of the command line: wrapped to the terminal, never wrapped in a file.

rich wraps at 80 columns when output is not a terminal, which splits long lines (a run's
header, a char_lm sample inside its quotes) in a log file or a pipe.  Written to a file
or a pipe, these consoles are as wide as FILE_WIDTH unless COLUMNS says otherwise; rich
writes no ANSI codes there (nor colour under NO_COLOR).
"""

from __future__ import annotations

import os

from rich.console import Console, ConsoleDimensions

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


def console(stderr: bool = False) -> Console:
    return CliConsole(stderr=stderr)


def colorful(con: Console) -> bool:
    """Will `con` show colours?  Not in a file or a pipe, nor under NO_COLOR."""
    return con.color_system is not None and not con.no_color
