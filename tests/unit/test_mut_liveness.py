"""What counts as a run folder for `rm`, and when a sweep still has a writer (mutation
passes 3 and 4)."""

from __future__ import annotations

from lstm_tui.runs.layout import CONFIG, SUMMARY, SWEEP_FILE, SWEEP_LOCK, is_run_dir
from lstm_tui.runs.liveness import writer_alive
from lstm_tui.runs.lock import FolderLock
from tests.store_helpers import make_run


def test_a_config_or_a_summary_alone_makes_a_run_folder(tmp_path):
    for name in (CONFIG, SUMMARY):
        d = tmp_path / name.replace(".", "_")
        d.mkdir()
        (d / name).write_text("{}")
        assert is_run_dir(d)
    assert not is_run_dir(tmp_path)


def test_a_sweep_whose_driver_holds_its_lock_is_alive_before_and_after_its_points(tmp_path):
    sweep = tmp_path / "sweep-lr"
    sweep.mkdir()
    (sweep / SWEEP_FILE).write_text("[sweep]\n")
    with FolderLock(sweep / SWEEP_LOCK):             # the driver, before its first point
        assert writer_alive(sweep)
    assert not writer_alive(sweep)
    make_run(sweep, "p000-s0")                       # completed: no writer of its own
    assert not writer_alive(sweep)
    with FolderLock(sweep / SWEEP_LOCK):             # the driver, between two points
        assert writer_alive(sweep)
        assert writer_alive(sweep / "p000-s0")       # it may still write the point too
    assert not writer_alive(sweep)
