"""The one set of plotting helpers: decimation, smoothing, ticks, colours and shades."""

from __future__ import annotations

import math
import random

import pytest

from lstm_tui.tui.plotting import (RAMP, SHADES, decimate, ema, log_ticks, marker_glyph,
                                   nice_ticks, ramp_color, shade, tick_label)


def test_decimate_keeps_short_series_whole():
    xs, ys = list(range(10)), [float(v) for v in range(10)]
    assert decimate(xs, ys, 20) == (xs, ys)
    assert decimate([1, 2, 3], [4, 5, 6], 2000) == ([1, 2, 3], [4, 5, 6])


@pytest.mark.parametrize("budget", [500, 2000])
def test_decimate_keeps_extremes_and_ends_within_budget(budget):
    rng = random.Random(0)
    n = 100_000
    xs = list(range(n))
    ys = [rng.gauss(0, 1) + math.sin(i / 500) for i in xs]
    ys[31_337], ys[77_777] = 50.0, -50.0          # a spike and a dip a stride would miss
    dx, dy = decimate(xs, ys, budget)
    assert len(dx) <= budget and len(dx) == len(dy)
    assert dx == sorted(dx) and len(set(dx)) == len(dx)
    assert (dx[0], dx[-1]) == (0, n - 1)           # the ends are kept
    assert max(dy) == 50.0 and min(dy) == -50.0
    assert 31_337 in dx and 77_777 in dx
    assert all(ys[int(x)] == y for x, y in zip(dx, dy))   # only real points


def test_decimate_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="differ in length"):
        decimate([1, 2], [1.0], 10)
    with pytest.raises(ValueError, match=">= 4"):
        decimate(list(range(10)), [0.0] * 10, 3)


def test_ema_is_debiased():
    assert ema([1.0, 2.0, 3.0], 0) == [1.0, 2.0, 3.0]
    assert ema([5.0, 5.0, 5.0], 0.9) == pytest.approx([5.0, 5.0, 5.0])
    smoothed = ema([0.0, 10.0, 0.0, 10.0], 0.5)
    assert max(smoothed) < 10.0 and smoothed[0] == 0.0


def test_linear_ticks_and_labels():
    assert nice_ticks(10, 400) == [100, 200, 300, 400]
    assert nice_ticks(0, 1_000_000)[-1] == 1_000_000
    assert nice_ticks(0, 10) == [0, 2.5, 5, 7.5, 10]
    assert tick_label(1500) == "1.5k" and tick_label(2_000_000) == "2M"
    assert tick_label(40) == "40" and tick_label(0.25) == "0.25"


def test_log_ticks():
    ticks, labels = log_ticks(-3.0, 0.5)
    assert labels[:4] == ["0.001", "0.01", "0.1", "1"]
    assert all(-3.0 <= t <= 0.5 for t in ticks)
    ticks, labels = log_ticks(-5.2, -0.1)
    assert ticks == pytest.approx([-5.0, -4.0, -3.0, -2.0, -1.0])
    assert len(log_ticks(0.1, 0.4)[0]) >= 2


def test_the_ramp_and_shades_span_dark_to_bright():
    assert ramp_color(0.0) == RAMP[0] == "#440154"
    assert ramp_color(1.0) == RAMP[-1] == "#fde725"
    assert ramp_color(-1) == RAMP[0] and ramp_color(2) == RAMP[-1]
    assert [shade(f) for f in (0.0, 0.3, 0.6, 1.0)] == list(SHADES)
    assert marker_glyph(0) == "▀" and marker_glyph(1) == "•" and marker_glyph(2) == "x"


def test_a_short_log_range_gets_enough_labels():
    """Compare's log axis over 2.7-15 showed two labels (issue 12)."""
    ticks, labels = log_ticks(math.log10(2.7), math.log10(15))
    assert labels == ["3", "5", "10"]
    assert all(math.log10(2.7) <= t <= math.log10(15) for t in ticks)


def test_spaced_keeps_ticks_at_least_the_gap_apart_earliest_first():
    from lstm_tui.tui.plotting import spaced
    ticks = [0.0, 0.1, 0.2, 0.5, 0.55, 1.0]
    labels = [str(t) for t in ticks]
    # 11 rows over [0, 1]: a tick every 0.1 is one row apart
    assert spaced(ticks, labels, 0.0, 1.0, 11, gap=1.5) == (
        [0.0, 0.2, 0.5, 1.0], ["0.0", "0.2", "0.5", "1.0"])
    assert spaced(ticks, labels, 0.0, 1.0, 11, gap=1.0)[0] == [0.0, 0.1, 0.2, 0.5, 1.0]
    assert spaced([3.0], ["3"], 3.0, 3.0, 10) == ([3.0], ["3"])      # a flat axis
