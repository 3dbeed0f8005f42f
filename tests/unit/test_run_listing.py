"""`lstm-lab runs`: filters, sorting, the JSON record, and a table that fits a width
without breaking names mid-word."""

from __future__ import annotations

import json

import pytest

from lstm_tui.config import ConfigError
from lstm_tui.runs import listing
from lstm_tui.runs.reader import list_runs
from lstm_tui.runs.tags import change_tags, parse_tag_ops
from lstm_tui.render.text_table import Col, clip, fit, render, wrap
from tests.store_helpers import NOW, make_run


@pytest.fixture
def rows(tmp_path):
    root = tmp_path / "runs"
    make_run(root, "a-lstm", lr=0.01, best=0.9, created=NOW - 500)
    make_run(root, "b-gru", cell="gru", lr=0.003, best=0.95, created=NOW - 400)
    make_run(root, "c-gru", cell="gru", hidden=64, lr=0.03, best=None, status="failed",
             created=NOW - 300)
    make_run(root, "d-mad", lr=0.001, best=0.2, metric="mad", goal="min", created=NOW - 200)
    make_run(root / "sweep-lr-abc", "p000-lr0.1-s0", sweep="lr", created=NOW - 100)
    change_tags(root / "b-gru", parse_tag_ops(["+good", "+baseline"]))
    return root, listing.rows_of(list_runs(root), root)


def names(rows):
    return [r.value("name") for r in rows]


@pytest.mark.parametrize("where,expected", [
    (["model.cell=gru"], ["b-gru", "c-gru"]),
    (["model.cell=gru", "train.lr<0.01"], ["b-gru"]),
    (["train.lr<=0.003"], ["b-gru", "d-mad"]),
    (["train.lr>0.01"], ["c-gru"]),
    (["model.hidden!=32"], ["c-gru"]),
    (["name~GRU"], ["b-gru", "c-gru"]),
    (["tags=good"], ["b-gru"]),
    (["best>=0.9"], ["a-lstm", "b-gru", "sweep-lr-abc/p000-lr0.1-s0"]),
    (["best=none"], ["c-gru"]),
])
def test_where(rows, where, expected):
    _, all_rows = rows
    assert names(listing.select(all_rows, listing.Query(where=where))) == expected


@pytest.mark.parametrize("where,fragment", [
    ("model.cel=gru", "model.cel: unknown field; did you mean model.cell"),
    ("train.lr<fast", "< needs a number"),
    ("just words", "expected KEY OP VALUE"),
])
def test_bad_where_is_one_clear_error(rows, where, fragment):
    _, all_rows = rows
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        listing.select(all_rows, listing.Query(where=[where]))


def test_status_tag_and_sweep_filters(rows):
    _, all_rows = rows
    assert names(listing.select(all_rows, listing.Query(status=["failed"]))) == ["c-gru"]
    assert names(listing.select(all_rows, listing.Query(tags=["good", "baseline"]))) == \
        ["b-gru"]
    assert names(listing.select(all_rows, listing.Query(tags=["good", "nope"]))) == []
    for sweep in ("lr", "sweep-lr-abc", "sweep-lr"):
        assert names(listing.select(all_rows, listing.Query(sweep=sweep))) == \
            ["sweep-lr-abc/p000-lr0.1-s0"]
    with pytest.raises(ConfigError, match="must be one of"):
        listing.select(all_rows, listing.Query(status=["done"]))


def test_sort_best_puts_each_runs_best_first_and_missing_last(rows):
    _, all_rows = rows
    ordered = names(listing.select(all_rows, listing.Query(sort="best")))
    assert ordered[0] == "b-gru" and ordered[1] == "a-lstm" and ordered[-1] == "c-gru"
    # for a lower-is-better metric the lowest comes first
    root, _ = rows
    make_run(root, "e-mad", best=0.1, metric="mad", goal="min")
    make_run(root, "f-mad", best=0.5, metric="mad", goal="min")
    mads = listing.select(listing.rows_of(list_runs(root), root),
                          listing.Query(where=["goal=min"], sort="best"))
    assert names(mads) == ["e-mad", "d-mad", "f-mad"]
    by_lr = listing.select(all_rows, listing.Query(sort="train.lr", descending=True))
    assert [r.value("train.lr") for r in by_lr][:2] == [0.03, 0.01]


def test_limit_keeps_the_newest_unless_sorted(rows):
    _, all_rows = rows
    assert names(listing.select(all_rows, listing.Query(limit=2))) == \
        ["d-mad", "sweep-lr-abc/p000-lr0.1-s0"]
    assert names(listing.select(all_rows, listing.Query(limit=1, sort="train.lr"))) == ["d-mad"]
    assert names(listing.select(all_rows, listing.Query(limit=2, descending=True))) == \
        ["sweep-lr-abc/p000-lr0.1-s0", "d-mad"]


def test_json_document_fields_are_stable_and_strict_json(rows):
    root, all_rows = rows
    doc = json.loads(json.dumps(listing.document(all_rows, root), allow_nan=False))
    assert doc["format"] == listing.JSON_FORMAT == 1 and doc["count"] == 5
    run = next(r for r in doc["runs"] if r["name"] == "b-gru")
    assert set(run) == set(listing.FIELDS) - {"age"} | {"config"}
    assert run["tags"] == ["good", "baseline"] and run["best"] == 0.95
    assert run["config"]["model.cell"] == "gru" and run["config"]["train.lr"] == 0.003
    assert run["error"] is None and run["sweep"] is None
    sweep_run = next(r for r in doc["runs"] if r["name"].startswith("sweep-lr"))
    assert sweep_run["sweep"] == "lr"


# ---------------------------------------------------------------- the text table

NAMES = ["20261123-161502-nth-lstm-lstm32", "sweep-cells-abcdef12/p000-cellgru-hidden32-s0"]
COLS = [Col("name", "name", wrap=True, floor=32), Col("task", "task", drop=12),
        Col("cell", "cell", drop=1), Col("hidden", "hidden", right=True, drop=2),
        Col("status", "status"), Col("best", "best", right=True), Col("age", "age", right=True)]
ROWS = [[NAMES[0], "nth_element", "lstm", "32", "completed", "0.9812 acc", "3d"],
        [NAMES[1], "nth_element", "gru", "32", "interrupted", "-", "12m"]]


@pytest.mark.parametrize("width", [80, 72, 60, 50])
def test_fits_the_width_keeps_age_and_breaks_names_only_at_word_breaks(width):
    text = render(COLS, ROWS, width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert lines[0].split()[-1] == "age" and "3d" in text and "12m" in text
    first_column = [line[:line.find("  ")] if "  " in line else line for line in lines[1:]]
    joined = "".join(part.strip() for part in first_column)
    assert NAMES[0] in joined and NAMES[1] in joined
    for part in first_column:        # every wrapped piece ends at a break (- / _ .) or is last
        part = part.strip()
        assert not part or part[-1] in "-/_." or any(n.endswith(part) for n in NAMES)


def test_unlimited_width_is_one_line_per_row():
    text = render(COLS, ROWS, None)
    assert len(text.splitlines()) == 3 and all(n in text for n in NAMES)


def test_columns_that_repeat_the_name_go_before_anything_wraps():
    keep, widths = fit(COLS, ROWS, 95)
    kept = [COLS[i].key for i in keep]
    assert "cell" not in kept and "hidden" not in kept and "task" in kept
    assert widths[kept.index("name")] == len(NAMES[1])


def test_wrap_and_clip():
    assert wrap("20261123-161502-nth-lstm", 10) == ["20261123-", "161502-", "nth-lstm"]
    assert wrap("abcdefghijkl", 5) == ["abcde", "fghij", "kl"]     # only when nothing fits
    assert clip("a long note about it", 12) == "a long note…"
    assert clip("short", 12) == "short"
