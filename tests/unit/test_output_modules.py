"""The output helpers: one number formatter, heatmaps that fit, legend labels, and the
plotting/export libraries staying out of start-up."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from rich.console import Console

from lstm_tui.numbers import fmt
from lstm_tui.render import sweep_tables as st
from lstm_tui.sweeps import surface as sf


def test_one_fmt_for_every_front_end():
    from lstm_tui.render import report
    assert report.fmt is fmt and st.fmt is fmt
    assert [fmt(None), fmt(12345), fmt(7), fmt(0.123456), fmt(123456.0), fmt(float("nan")),
            fmt(True), fmt("gru"), fmt([1, 2.5]), fmt(3.14159, 3)] == \
        ["-", "12,345", "7", "0.1235", "1.235e+05", "nan", "true", "gru", "[1,2.5]", "3.14"]


def test_legend_labels_keep_both_ends():
    from lstm_tui.render.report import short_label
    name = "20261201-035043-ws-simple-rnn-rnn6"
    assert short_label(name, 60) == name
    cut = short_label(name, 21)
    assert len(cut) == 21 and cut.startswith("20261201-0") and cut.endswith("rnn-rnn6")


def _surface(nx: int, ny: int) -> sf.Surface:
    rows = [{"a": x, "b": y, "best_accuracy": 0.5 + 0.01 * x - 0.001 * y, "run": f"r{x}-{y}",
             "status": "completed"} for x in range(nx) for y in range(ny)]
    return sf.surface(rows, ["a", "b"], "a", "b", "best_accuracy", "max")


def _render(table, width: int) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width).print(table)
    return buf.getvalue()


@pytest.mark.parametrize("nx,ny,width,shape", [
    (4, 3, 120, "as is"), (27, 2, 120, "transposed"), (27, 27, 120, "split"),
    (27, 27, 60, "split"),
])
def test_heatmap_tables_fit_the_width_without_ellipses(nx, ny, width, shape):
    s = _surface(nx, ny)
    tables = st.heatmap_tables(s, width)
    text = "".join(_render(t, width) for t in tables)
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= width
    flat = " ".join(text.split())
    assert ("transposed to fit" in flat) == (shape == "transposed")
    assert (len(tables) > 1) == (shape == "split")
    if shape == "split":
        assert "columns 1-" in flat and f"of {nx} (split to fit {width} columns)" in flat
    # every cell value appears exactly once over the parts
    for x in range(nx):
        for y in range(ny):
            assert flat.count(f" {0.5 + 0.01 * x - 0.001 * y:.3g} ") >= 1


def test_plotting_and_export_libraries_load_only_when_used():
    code = ("import sys\nimport lstm_tui.cli.main, lstm_tui.cli.output, lstm_tui.render.export, "
            "lstm_tui.render.jsondocs, lstm_tui.render.figures, lstm_tui.render.figures_html, lstm_tui.sweeps.views\n"
            "print('\\n'.join(sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    loaded = set(out.stdout.split())
    assert "lstm_tui.render.figures_html" in loaded
    for heavy in ("matplotlib", "plotly", "tensorboard", "torch"):
        assert heavy not in loaded, heavy
