"""runs/listing.py behaviour that mutation testing found unchecked (see TESTING.md):
tags under = and ~, the option named in --where errors, a run's own name."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstm_tui.config import ConfigError
from lstm_tui.runs import listing
from lstm_tui.runs.reader import RunInfo

KNOWN = set(listing.FIELDS) | {"model.cell", "train.lr"}


def tagged(*tags: str) -> listing.Row:
    return listing.Row(RunInfo(Path("/runs/a"), "a", tags=tags), "a")


def test_a_tag_equals_whole_tags_and_contains_parts_of_them():
    row = tagged("baseline", "good")
    assert listing.parse_where("tags=baseline", KNOWN)(row)
    assert not listing.parse_where("tags=base", KNOWN)(row)       # = is a whole tag
    assert listing.parse_where("tags~BASE", KNOWN)(row)           # ~ is a part, any case
    assert not listing.parse_where("tags~bad", KNOWN)(row)
    assert listing.parse_where("tags!=base", KNOWN)(row)
    assert not listing.parse_where("tags!=good", KNOWN)(row)


def test_an_unknown_where_key_names_the_option():
    with pytest.raises(ConfigError) as err:
        listing.parse_where("model.cel=gru", KNOWN)
    assert str(err.value) == "--where: model.cel: unknown field; did you mean model.cell?"


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
def test_every_order_comparison_needs_a_number(op):
    with pytest.raises(ConfigError) as err:
        listing.parse_where(f"train.lr{op}fast", KNOWN)
    assert str(err.value) == f"--where: train.lr: {op} needs a number, got 'fast'"


def test_check_key_names_its_option_and_lists_fields_when_nothing_is_close():
    with pytest.raises(ConfigError) as err:
        listing.check_key("zzzzzz", KNOWN, "--sort")
    assert str(err.value).startswith("--sort: zzzzzz: unknown field; listing fields: name, ")


def test_a_runs_name_without_a_folder_relative_to_the_store_is_its_own():
    info = RunInfo(Path("/elsewhere/b"), "b")
    assert listing.field_value(info, "name") == "b"
    assert listing.field_value(info, "name", "sweep-x/b") == "sweep-x/b"
