"""The trash's lookups, kinds and purge at their edges (mutation pass 3)."""

from __future__ import annotations

import pytest

from lstm_tui.runs.layout import CONFIG, SWEEP_FILE, RunError
from lstm_tui.runs.trash import (find_in_trash, list_trash, move_to_trash, purge,
                                 resolve_target)


def _run(root, name):
    d = root / name
    d.mkdir(parents=True)
    (d / CONFIG).write_text("{}")
    return d


def _sweep(root, name):
    d = root / name
    d.mkdir(parents=True)
    (d / SWEEP_FILE).write_text("")
    return d


def test_a_prefix_of_two_sweeps_is_refused_naming_them(tmp_path):
    _sweep(tmp_path, "sw-a")
    _sweep(tmp_path, "sw-b")
    with pytest.raises(RunError, match=r"sw: matches 2 sweeps \(sw-a, sw-b\.\.\.\)"):
        resolve_target(tmp_path, "sw")
    assert resolve_target(tmp_path, "sw-a") == tmp_path / "sw-a"


def test_an_empty_trash_says_so(tmp_path):
    with pytest.raises(RunError, match="the trash of .* is empty"):
        find_in_trash(tmp_path, "latest")
    assert purge(tmp_path) == 0


def test_a_prefix_finds_one_entry_among_others_and_kinds_are_kept(tmp_path):
    move_to_trash(tmp_path, _run(tmp_path, "alpha"))
    move_to_trash(tmp_path, _sweep(tmp_path, "beta"))
    assert find_in_trash(tmp_path, "al").name == "alpha"
    assert find_in_trash(tmp_path, "be").name == "beta"
    assert {e.name: e.kind for e in list_trash(tmp_path)} == {"alpha": "run", "beta": "sweep"}


def test_purge_unlinks_a_symlink_without_following_it(tmp_path):
    move_to_trash(tmp_path, _run(tmp_path, "alpha"))
    keep = _run(tmp_path, "kept")
    (tmp_path / ".trash" / "link").symlink_to(keep, target_is_directory=True)
    assert purge(tmp_path) == 2
    assert (keep / CONFIG).is_file() and list_trash(tmp_path) == []
