"""Every error with a troubleshooting entry points to it, and every entry of
docs/troubleshooting.md is one that an error line can point to."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from lstm_tui import troubleshooting as tr
from lstm_tui.cli.main import app
from tests.conftest import REPO

PAGE = (REPO / tr.PAGE).read_text(encoding="utf-8")
runner = CliRunner()


def slug(heading: str) -> str:
    """The id GitHub and MkDocs both give a heading of plain words."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).strip().replace(" ", "-")


def headings() -> list[str]:
    return [slug(line[3:]) for line in PAGE.splitlines() if line.startswith("## ")]


def test_every_entry_is_a_heading_of_the_page_in_the_same_order():
    assert headings() == [e.anchor for e in tr.ENTRIES]
    for line in PAGE.splitlines():
        if line.startswith("## "):      # plain words: one id on GitHub and in MkDocs
            assert re.fullmatch(r"## [A-Za-z0-9 ]+", line), line


@pytest.mark.parametrize("entry", tr.ENTRIES, ids=lambda e: e.anchor)
def test_each_example_is_matched_by_its_own_entry(entry):
    assert entry.examples
    for example in entry.examples:
        assert tr.entry_for(example) is entry, example
        assert tr.with_help(example).endswith(f" (see docs/troubleshooting.md#{entry.anchor})")


def test_a_line_without_an_entry_is_left_as_it_is():
    assert tr.with_help("something nobody explained") == "something nobody explained"
    assert tr.with_help("x", "diverged") == "x (see docs/troubleshooting.md#diverged)"
    with pytest.raises(ValueError):
        tr.with_help("x", "no-such-entry")


@pytest.mark.parametrize("args,anchor", [
    (["check", "nth_element_lstm", "--set", "task.nope=1"], "unknown-key"),
    (["check", "nth_element_lstm", "--set", "train.lr=-1"], "value-not-allowed"),
    (["check", "nth_elemnt_lstm"], "no-such-preset"),
    (["sample", "no-such-run"], "no-such-run"),
    (["serve", "--host", "0.0.0.0"], "serving-beyond-this-machine"),
])
def test_real_errors_end_with_their_pointer_on_their_one_line(args, anchor, tmp_path):
    result = runner.invoke(app, [*args, *(["--runs-dir", str(tmp_path)]
                                          if args[0] == "sample" else [])])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert line.endswith(f"(see docs/troubleshooting.md#{anchor})")


def test_help_points_to_the_manual_and_the_troubleshooting_page():
    result = runner.invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    words = " ".join(result.stdout.split())
    assert "docs/troubleshooting.md" in words and "docs/index.md" in words
