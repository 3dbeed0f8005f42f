"""Tag words and the note limit at their edges (mutation pass 3)."""

from __future__ import annotations

import pytest

from lstm_tui.runs.layout import RunError
from lstm_tui.runs.tags import MAX_NOTE, check_note, is_tag_op


def test_a_word_starting_with_plus_or_minus_is_a_tag_op():
    assert is_tag_op("+good") and is_tag_op("-bad") and is_tag_op("+")
    assert not is_tag_op("run-1") and not is_tag_op("")


def test_a_note_of_exactly_the_limit_is_kept():
    assert check_note(" " + "x" * MAX_NOTE + " ") == "x" * MAX_NOTE
    with pytest.raises(RunError, match=f"{MAX_NOTE + 1} characters"):
        check_note("x" * (MAX_NOTE + 1))
