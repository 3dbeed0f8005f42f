"""Surfaces, lines and epoch curves from results rows (pure functions), and their rendering."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest
from rich.console import Console

from lstm_tui.config import ConfigError
from lstm_tui.render import sweep_tables as st
from lstm_tui.sweeps import surface as sf

AXES = ["task.seq_len", "model.hidden", "model.cell"]


def _row(seq_len, hidden, cell, seed, value, status="completed", final=None):
    return {"run": f"p-{seq_len}-{hidden}-{cell}-{seed}", "task.seq_len": seq_len,
            "model.hidden": hidden, "model.cell": cell, "seed": seed, "status": status,
            "best_accuracy": value, "final_accuracy": final if final is not None else value}


def _rows():
    """accuracy = 1 - seq_len/100 + hidden/1000 (+0.01 for gru), seeds ±0.01."""
    rows = []
    for seed, noise in ((0, -0.01), (1, 0.01)):
        for seq_len in (20, 5, 10):
            for hidden in (8, 16):
                for cell in ("lstm", "gru"):
                    value = 1 - seq_len / 100 + hidden / 1000 + (0.01 if cell == "gru" else 0)
                    rows.append(_row(seq_len, hidden, cell, seed, value + noise))
    return rows


def test_groups_merge_seeds_with_mean_and_spread():
    found = sf.groups(_rows(), AXES, "best_accuracy")
    assert len(found) == 12
    g = next(g for g in found if g.values == {"task.seq_len": 5, "model.hidden": 8,
                                              "model.cell": "lstm"})
    assert g.stat.n == 2
    assert g.stat.mean == pytest.approx(1 - 0.05 + 0.008)
    assert g.stat.std == pytest.approx(0.01)
    assert (g.stat.min, g.stat.max) == pytest.approx((0.948, 0.968))
    assert g.runs == ("p-5-8-lstm-0", "p-5-8-lstm-1")


def test_surface_cells_are_means_and_hidden_axes_take_the_best():
    s = sf.surface(_rows(), AXES, "task.seq_len", "model.hidden", "best_accuracy", "max")
    assert s.xs == [5, 10, 20] and s.ys == [8, 16]          # numbers sorted
    assert s.hidden == ["model.cell"]
    cell = s.cell(10, 16)
    assert cell.covered == 2                                  # lstm and gru
    assert cell.group.values["model.cell"] == "gru"           # the better one
    assert cell.group.stat.mean == pytest.approx(1 - 0.10 + 0.016 + 0.01)
    # for a 'min' goal the same cell holds the worse (lower) one
    low = sf.surface(_rows(), AXES, "task.seq_len", "model.hidden", "best_accuracy", "min")
    assert low.cell(10, 16).group.values["model.cell"] == "lstm"
    # pinning the hidden axis with `where`
    gru = sf.surface(_rows(), AXES, "task.seq_len", "model.hidden", "best_accuracy", "max",
                     where={"model.cell": "lstm"})
    assert gru.hidden == [] and gru.cell(10, 16).group.values["model.cell"] == "lstm"
    assert s.range() == pytest.approx((1 - 0.2 + 0.008 + 0.01, 1 - 0.05 + 0.016 + 0.01))
    with pytest.raises(ConfigError):
        sf.surface(_rows(), AXES, "task.seq_len", "task.seq_len", "best_accuracy", "max")


def test_missing_and_troubled_cells():
    rows = [_row(5, 8, "lstm", 0, 0.9), _row(5, 8, "lstm", 1, None, status="diverged"),
            _row(10, 16, "lstm", 0, None, status="failed")]
    s = sf.surface(rows, AXES, "task.seq_len", "model.hidden", "best_accuracy", "max")
    assert s.cell(10, 8) is None and s.cell(5, 16) is None
    ok = s.cell(5, 8).group
    assert ok.stat.n == 1 and ok.stat.mean == 0.9 and ok.troubled == 1
    assert s.cell(10, 16).group.stat is None and s.cell(10, 16).group.troubled == 1


def test_ranked_respects_goal_and_puts_missing_last():
    rows = _rows() + [_row(40, 8, "lstm", 0, None, status="failed")]
    best_first = sf.ranked(rows, AXES, "best_accuracy", "max")
    assert best_first[0].values == {"task.seq_len": 5, "model.hidden": 16, "model.cell": "gru"}
    assert best_first[-1].stat is None
    low_first = sf.ranked(rows, AXES, "best_accuracy", "min")
    assert low_first[0].values == {"task.seq_len": 20, "model.hidden": 8, "model.cell": "lstm"}
    assert low_first[-1].stat is None


def test_lines_with_band_over_seeds_one_per_value_of_by():
    found = sf.lines(_rows(), AXES, "task.seq_len", "best_accuracy", "max", by="model.cell",
                     where={"model.hidden": 8})
    assert [line.label for line in found] == ["cell=lstm", "cell=gru"]
    lstm = found[0]
    assert lstm.xs == [5, 10, 20]
    assert lstm.means == pytest.approx([0.958, 0.908, 0.808])
    assert lstm.lows == pytest.approx([0.948, 0.898, 0.798])
    assert lstm.highs == pytest.approx([0.968, 0.918, 0.818])
    assert lstm.stds == pytest.approx([0.01] * 3)
    # without --by: one line, each x the best point over the other axes
    (single,) = sf.lines(_rows(), AXES, "task.seq_len", "best_accuracy", "max")
    assert single.means == pytest.approx([0.976, 0.926, 0.826])


def test_epoch_lines_average_the_last_record_of_each_epoch():
    rows = [_row(5, 8, "lstm", 0, 0.9), _row(5, 8, "lstm", 1, 0.9), _row(10, 8, "lstm", 0, 0.5)]
    records = {
        "p-5-8-lstm-0": [{"split": "val", "epoch": 1, "accuracy": 0.2},
                         {"split": "val", "epoch": 1, "accuracy": 0.4},   # last of epoch 1
                         {"split": "train", "epoch": 2, "accuracy": 0.99},
                         {"split": "val", "epoch": 2, "accuracy": 0.8}],
        "p-5-8-lstm-1": [{"split": "val", "epoch": 1, "accuracy": 0.6},
                         {"split": "val", "epoch": 2, "accuracy": 1.0}],
        "p-10-8-lstm-0": [{"split": "val", "epoch": 1, "accuracy": 0.1}],
    }
    five, ten = sf.epoch_lines(rows, records, "task.seq_len", "accuracy")
    assert five.label == "seq_len=5" and five.xs == [1, 2]
    assert five.means == pytest.approx([0.5, 0.9])
    assert (five.lows, five.highs) == (pytest.approx([0.4, 0.8]), pytest.approx([0.6, 1.0]))
    assert ten.xs == [1] and ten.means == [0.1]


def test_resolve_axis_and_where():
    assert sf.resolve_axis("task.seq_len", AXES) == "task.seq_len"
    assert sf.resolve_axis("hidden", AXES) == "model.hidden"
    with pytest.raises(ConfigError) as info:
        sf.resolve_axis("hiden", AXES)
    assert "did you mean 'hidden'" in str(info.value) and "\n" not in str(info.value)
    assert sf.parse_where(["cell=gru", "seq_len=5"], AXES) == {"model.cell": "gru",
                                                                "task.seq_len": 5}
    with pytest.raises(ConfigError, match="AXIS=VALUE"):
        sf.parse_where(["cell"], AXES)


def _render(renderable, width=140) -> str:
    console = Console(width=width, record=True, color_system="truecolor", force_terminal=True,
                      file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def _bg(text) -> tuple[int, int]:
    red, green = re.search(r"rgb\((\d+),(\d+),", str(text.style)).groups()
    return int(red), int(green)


def test_heatmap_table_shows_mean_spread_and_colors_by_goal():
    rows = _rows() + [_row(20, 8, "lstm", 2, None, status="diverged")]
    s = sf.surface(rows, AXES, "task.seq_len", "model.hidden", "best_accuracy", "max",
                   where={"model.cell": "lstm"}, metric="best accuracy")
    table = st.heatmap_table(s)
    text = _render(table)
    assert "hidden \\ seq_len" in text
    assert "0.966 ±0.01" in text           # seq_len 5, hidden 16, lstm
    assert "0.808 ±0.01!" in text          # a diverged seed is marked
    assert "rows: model.hidden, columns: task.seq_len" in text
    cells = {(row, col): table.columns[col + 1]._cells[row] for row in range(2)
             for col in range(3)}
    best, worst = cells[(1, 0)], cells[(0, 2)]            # (16, 5) and (8, 20)
    assert _bg(best)[1] > _bg(best)[0]                     # green
    assert _bg(worst)[0] > _bg(worst)[1]                   # red
    flipped = st.heatmap_table(sf.surface(rows, AXES, "task.seq_len", "model.hidden",
                                          "best_accuracy", "min",
                                          where={"model.cell": "lstm"}))
    best_for_min = flipped.columns[3]._cells[0]            # (8, 20): lowest is best now
    assert _bg(best_for_min)[1] > _bg(best_for_min)[0]


def test_heatmap_of_missing_cells_and_hidden_axes():
    rows = [_row(5, 8, "lstm", 0, 0.9), _row(10, 16, "gru", 0, 0.5)]
    text = " ".join(_render(st.heatmap_table(sf.surface(
        rows, AXES, "task.seq_len", "model.hidden", "best_accuracy", "max"))).split())
    assert text.startswith("best accuracy (mean ±std")
    assert "·" in text and "best over model.cell" in text
    assert "0.9 ±" not in text                             # one seed: no spread shown


def test_lines_text_draws_labels_and_categorical_axes(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    found = sf.lines(_rows(), AXES, "task.seq_len", "best_accuracy", "max", by="model.cell")
    chart = st.lines_text(found, "accuracy over seq_len", "task.seq_len", width=80, height=16)
    assert "accuracy over seq_len" in chart and "cell=lstm" in chart and "cell=gru" in chart
    assert "task.seq_len" in chart
    cats = sf.lines(_rows(), AXES, "model.cell", "best_accuracy", "max")
    chart = st.lines_text(cats, "by cell", "model.cell", width=60, height=12)
    assert "lstm" in chart and "gru" in chart


def test_results_table_is_sorted_best_first_with_spread():
    table = st.results_table(_rows(), AXES, "accuracy", "max", limit=5)
    text = _render(table)
    lines = [re.sub("[│┃]", " ", line) for line in text.splitlines()]
    lines = [line for line in lines if re.match(r"\s+\d+\s", line)]
    assert re.search(r"1\s+5\s+16\s+gru\s+0\.976", lines[0])
    assert len(lines) == 5 and "7 more in results.csv" in text
    assert "seeds" in text and "0.01" in text
    low = re.sub("[│┃]", " ", _render(st.results_table(_rows(), AXES, "accuracy", "min",
                                                       limit=1)))
    assert re.search(r"1\s+20\s+8\s+lstm\s+0\.808", low)


def test_surface_module_stays_free_of_torch():
    code = ("import sys; import lstm_tui.sweeps.surface, lstm_tui.sweeps.spec, "
            "lstm_tui.sweeps.runner, lstm_tui.cli.sweep_display; "
            "print('torch' in sys.modules, 'textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
