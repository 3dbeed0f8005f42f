"""More of the run store's promises: who counts as alive, ambiguous names, safe loading."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import torch

from lstm_tui.config import parse_config
from lstm_tui.runs.checkpoint import load_checkpoint, save_checkpoint
from lstm_tui.fsio import atomic_write_json
from lstm_tui.runs.layout import RunError
from lstm_tui.runs.reader import read_info, read_jsonl
from lstm_tui.runs.resolve import resolve_run
from lstm_tui.runs.writer import new_run_dir, truncate_metrics


def _running(tmp_path, **fields) -> Path:
    run_dir = new_run_dir(tmp_path, parse_config({}))
    (run_dir / "config.toml").write_text("")
    atomic_write_json(run_dir / "summary.json", {"status": "running", **fields})
    return run_dir


def test_a_run_written_on_another_host_is_taken_as_alive(tmp_path):
    other = _running(tmp_path, pid=2 ** 22 + 12345, host=socket.gethostname() + "-other")
    assert read_info(other).status == "running"      # its pid means nothing here


def test_a_running_summary_without_a_writer_is_interrupted(tmp_path):
    assert read_info(_running(tmp_path)).status == "interrupted"
    here = _running(tmp_path, pid="12", host=socket.gethostname())
    assert read_info(here).status == "interrupted"


def test_an_ambiguous_prefix_names_the_first_five_matches(tmp_path):
    for n in range(6):
        (tmp_path / f"same-{n}").mkdir()
        (tmp_path / f"same-{n}" / "config.toml").write_text("")
    with pytest.raises(RunError) as info:
        resolve_run(tmp_path, "same")
    message = str(info.value)
    assert "matches 6 runs (same-0, same-1, same-2, same-3, same-4...)" in message


def test_truncating_drops_only_records_past_the_step(tmp_path):
    (tmp_path / "samples.jsonl").write_text('{"step": 2, "text": "a"}\n{"step": 5}\n{"step": 9}\n')
    truncate_metrics(tmp_path, 5)
    assert read_jsonl(tmp_path / "samples.jsonl") == [{"step": 2, "text": "a"}, {"step": 5}]


class Sneaky:
    """Not a tensor or a plain value: a safe loader must refuse to unpickle it."""


def test_checkpoints_load_plain_data_only(tmp_path):
    good = save_checkpoint(tmp_path / "good.pt", {"model": {"w": torch.ones(2)}, "config": {}})
    assert torch.equal(load_checkpoint(good)["model"]["w"], torch.ones(2))
    bad = save_checkpoint(tmp_path / "bad.pt", {"model": {}, "config": {}, "x": Sneaky()})
    with pytest.raises(ValueError, match="bad.pt: refused: .*could run code"):
        load_checkpoint(bad)
    (tmp_path / "other.pt").write_bytes(b"")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an lstm-lab checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="missing checkpoint"):
        load_checkpoint(tmp_path / "none.pt")
