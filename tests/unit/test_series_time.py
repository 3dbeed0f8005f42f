"""The series `time` column (issue 27, item 12): parsed as times or numbers and sorted by
what they mean, never as text; a cell of the other kind is refused naming its row; an
empty cell is refused or follows `missing`.  Nothing is reordered silently."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_tui.config import ConfigError
from lstm_tui.tasks.series import SeriesTask, prepare

ROWS = 120


def table(path, times: list[str]) -> str:
    """A csv whose `load` is the row number in the file, so the order is visible."""
    path.write_text("when,load\n" + "".join(f"{t},{i}\n" for i, t in enumerate(times)))
    return str(path)


def order(path: str, **task) -> list[int]:
    prep = prepare(SeriesTask(path=path, target=["load"], time="when", window=2,
                              normalize="none", val_fraction=0.2, test_fraction=0.2, **task))
    return [int(v) for v in prep.raw_targets[:, 0]]


def test_numbers_sort_as_numbers_not_as_text(tmp_path):
    times = [str(n) for n in range(ROWS)][::-1]          # 119, 118, ..., 10, 9, ..., 0
    assert order(table(tmp_path / "t.csv", times)) == list(range(ROWS))[::-1]


def test_numbers_written_as_text_sort_as_numbers(tmp_path):
    """A column pandas reads as text (one cell with spaces around) still holds numbers."""
    times = [f" {n} " if n == 5 else str(n) for n in range(ROWS)]
    times[0], times[1] = "10", "9"                          # "10" < "9" as text
    assert order(table(tmp_path / "t.csv", times)) == \
        [2, 3, 4, 5, 6, 7, 8, 1, 9, 0, 10] + list(range(11, ROWS))


def test_times_sort_as_times(tmp_path):
    days = np.datetime64("2020-01-01") + np.arange(ROWS)
    times = [str(d) for d in days]
    times[3], times[4] = times[4], times[3]                 # one swap in the file
    rows = order(table(tmp_path / "t.csv", times))
    assert rows[3:5] == [4, 3] and sorted(rows) == list(range(ROWS))


def test_times_with_offsets_sort_by_the_instant(tmp_path):
    times = [f"2020-01-{1 + i // 24:02d}T{(i % 24):02d}:00:00+00:00" for i in range(ROWS)]
    times[0] = "2020-01-01T06:30:00+05:00"                 # 01:30 UTC: after row 1
    assert order(table(tmp_path / "t.csv", times)) == [1, 0] + list(range(2, ROWS))


def test_a_text_cell_in_a_number_column_is_refused_naming_its_row(tmp_path):
    times = [str(n) for n in range(ROWS)]
    times[57] = "noon"
    path = table(tmp_path / "t.csv", times)
    with pytest.raises(ConfigError) as info:
        order(path)
    assert info.value.key == "task.time"
    assert "row 58 holds 'noon', not a number like row 1 ('0')" in info.value.message


def test_a_number_in_a_time_column_is_refused_naming_its_row(tmp_path):
    times = [str(np.datetime64("2020-01-01") + i) for i in range(ROWS)]
    times[12] = "42"
    with pytest.raises(ConfigError) as info:
        order(table(tmp_path / "t.csv", times))
    assert "row 13 holds '42', not a time like row 1 ('2020-01-01')" in info.value.message


def test_cells_that_are_neither_are_refused(tmp_path):
    times = [str(np.datetime64("2020-01-01") + i) for i in range(ROWS)]
    times[99] = "2020-02-30"                               # no such day
    with pytest.raises(ConfigError) as info:
        order(table(tmp_path / "t.csv", times))
    assert "row 100 holds '2020-02-30', not a time" in info.value.message


@pytest.mark.parametrize("kind", ["numbers", "times"])
def test_an_empty_time_is_refused_or_follows_missing(tmp_path, kind):
    times = [str(n) for n in range(ROWS)] if kind == "numbers" else \
        [str(np.datetime64("2020-01-01") + i) for i in range(ROWS)]
    times[20] = ""
    path = table(tmp_path / "t.csv", times)
    with pytest.raises(ConfigError) as info:
        order(path)
    assert info.value.key == "task.time" and "empty time at row 21" in info.value.message
    dropped = order(path, missing="drop")
    assert 20 not in dropped and dropped == [i for i in range(ROWS) if i != 20]
    assert order(path, missing="ffill") == list(range(ROWS))   # carried: stays in place


def test_an_empty_first_time_with_ffill_is_dropped_and_counted(tmp_path):
    times = [""] + [str(n) for n in range(1, ROWS)]
    path = table(tmp_path / "t.csv", times)
    prep = prepare(SeriesTask(path=path, target=["load"], time="when", window=2,
                              missing="ffill"))
    assert prep.dropped == 1 and prep.raw_targets[0, 0] == 1
