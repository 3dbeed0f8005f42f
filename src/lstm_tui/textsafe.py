"""The one helper that makes user text safe for a terminal (every front end uses it).

A note, a run or sweep name, a description, a config value or a folder name may hold
control characters (`note RUN $'\\e]0;title\\a'` retitles the terminal, `\\r` overwrites
a line, a bidi override reorders what is shown) or a lone surrogate (an undecodable file
name) that no terminal can encode.  Shown anywhere, they become visible escapes
(`\\x1b`, `\\u202e`); what is saved is never changed.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, the bidi embeddings, overrides and isolates, lone surrogates
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")
_UNSAFE_IN_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f"
                              "\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, lines: bool = False) -> str:
    """`text` with every control character shown as its escape; with `lines`, newlines
    and tabs are kept (a note printed on its own, a multi-line message)."""
    return (_UNSAFE_IN_LINES if lines else _UNSAFE).sub(_escape, text)
