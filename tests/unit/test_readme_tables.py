"""The result tables of the README (its headline figures) and of the manual's seed
experiments page come from a verify run (scripts/readme_tables.py), never by hand: each
target holds exactly what the script renders from the stored run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("readme_tables",
                                                  REPO / "scripts" / "readme_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rt = _script()


def test_the_tables_are_what_the_script_renders_from_the_stored_run():
    stored = rt.load_stored()
    texts = rt.read_targets()
    assert set(texts) == {REPO / "README.md", REPO / "docs" / "sweeps" / "seed-experiments.md"}
    assert rt.rewrite_all(texts, rt.blocks(stored)) == texts, \
        "the result tables were edited by hand: run python scripts/readme_tables.py render"
    assert {t["preset"] for t in stored["tables"]} == set(rt.TABLES) == set(rt.HEADLINES)
    assert "lstm-lab verify" in stored["command"]
    for text in texts.values():
        assert stored["date"] in text


def test_the_readme_quotes_one_measured_figure_per_seed_experiment():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    summary = rt.BLOCK.search(readme.split("<!-- verify:run end -->")[1])
    assert summary["name"] == "summary"
    rows = [line for line in summary["body"].splitlines() if line.startswith("| ")][1:]
    assert [row.split(" | ")[1] for row in rows] == [f"`{p}`" for p in rt.TABLES]
    # sweep_rnn_vs_lstm_seq_len: the RNN's MAD at length 12 minus the LSTM's, as verify saw it
    assert "`best_mad[cell=rnn, seq_len=12] - best_mad[cell=lstm, seq_len=12]` = 10.05 " \
           "(band >= 3) | 4 of 4 met |" in readme


def test_a_hand_edit_of_a_table_is_caught():
    page = (REPO / "docs" / "sweeps" / "seed-experiments.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    stored = rt.load_stored()
    rendered = rt.blocks(stored)
    cell = "│ 16               │    1   │"        # nth_seq_len_cells: 16 units, seq_len 5
    assert cell in page
    edited = page.replace(cell, "│ 16               │  0.99  │")
    assert rt.rewrite(edited, rendered) == page      # render puts it back
    assert rt.main(["render", "--check"]) == 0
    figure = "= 10.05 (band >= 3)"
    assert figure in readme
    assert rt.rewrite(readme.replace(figure, "= 11 (band >= 3)"), rendered,
                      rt.PLACES[rt.README]) == readme
    with pytest.raises(ValueError, match="missing"):
        rt.rewrite(page.replace("<!-- verify:sweep_nth_features start -->", ""), rendered)
    with pytest.raises(ValueError, match="missing"):      # the README must keep its summary
        rt.rewrite(readme.replace("<!-- verify:summary start -->", ""), rendered,
                   rt.PLACES[rt.README])
    with pytest.raises(ValueError, match="unknown"):
        rt.rewrite(readme + "<!-- verify:nope start -->\nx\n<!-- verify:nope end -->\n",
                   rendered, rt.PLACES[rt.README])


TABLE = {"preset": "sweep_tiny", "x": "model.cell", "y": "task.seq_len",
         "axes": ["task.seq_len", "model.cell"], "metric": "mad", "goal": "min",
         "column": "best_mad", "total": 8, "seconds": 12.34,
         "rows": [{"task.seq_len": n, "model.cell": c, "seed": s, "status": "completed",
                   "best_mad": v}
                  for n, c, s, v in [(5, "rnn", 0, 1.0), (5, "rnn", 1, 3.0),
                                     (5, "lstm", 0, 0.5), (5, "lstm", 1, 0.5),
                                     (12, "rnn", 0, 10.0), (12, "rnn", 1, 12.0),
                                     (12, "lstm", 0, 1.25), (12, "lstm", 1, None)]],
         "verdicts": [{"expectation": "best_mad[cell=rnn, seq_len=12] - "
                                      "best_mad[cell=lstm, seq_len=12]",
                       "observed": 9.75, "band": ">= 3", "verdict": "met", "note": ""},
                      {"expectation": "best_mad[seq_len=5]", "observed": 2.0,
                       "band": "<= 1.5", "verdict": "missed", "note": ""}]}


def test_the_renderer_turns_a_verify_result_into_the_right_rows():
    text = rt.render_table(TABLE)
    lines = text.splitlines()
    assert lines[0] == ("`sweep_tiny`: 8 runs, 12.34 s; `sweep-report --x cell --y seq_len`; "
                        "expectations 1 of 2 met.")
    body = [" ".join(line.replace("│", " ").split()) for line in lines
            if line.startswith("│")]
    # rows: seq_len; columns: cell in first-seen order; mean ±std over seeds (a seed
    # without a number is left out, so 12/lstm is its one run)
    assert body == ["5 2 ±1 0.5 ±0", "12 11 ±1 1.25"]
    words = " ".join(text.split())           # rich wraps the title to the table's width
    assert "best mad (mean ±std over seeds; lower is better)" in words
    assert "┃ seq_len \\ cell ┃ rnn ┃ lstm ┃" in words
    assert lines[-2] == ("| `best_mad[cell=rnn, seq_len=12] - best_mad[cell=lstm, "
                         "seq_len=12]` | 9.75 | >= 3 | met |")
    assert lines[-1] == "| `best_mad[seq_len=5]` | 2 | <= 1.5 | **MISSED** |"


def test_a_failed_preset_shows_its_note_and_the_run_line_names_the_command():
    failed = {**TABLE, "verdicts": [{"expectation": "-", "observed": None, "band": "-",
                                     "verdict": "1 point(s) failed", "note": "boom"}]}
    assert rt.render_table(failed).splitlines()[-1] == \
        "| `-` | - | - | **1 POINT(S) FAILED** (boom) |"
    run = rt.render_run({"date": "2026-12-01", "environment": "torch 2.13.0+cpu",
                         "command": "lstm-lab verify a b --json"})
    assert "`lstm-lab verify a b --json`" in run and "2026-12-01" in run
