"""What counts as a run folder for `rm` (mutation pass 3)."""

from __future__ import annotations

from lstm_tui.runs.liveness import is_run_dir
from lstm_tui.runs.store import CONFIG, SUMMARY


def test_a_config_or_a_summary_alone_makes_a_run_folder(tmp_path):
    for name in (CONFIG, SUMMARY):
        d = tmp_path / name.replace(".", "_")
        d.mkdir()
        (d / name).write_text("{}")
        assert is_run_dir(d)
    assert not is_run_dir(tmp_path)
