"""runs/checkpoint.py behaviour that mutation testing found unchecked (see TESTING.md):
the exact one-line reasons a checkpoint is refused."""

from __future__ import annotations

import argparse

import pytest
import torch

from lstm_tui.runs import checkpoint
from lstm_tui.runs.checkpoint import load_checkpoint, save_checkpoint


def reason(path) -> str:
    with pytest.raises(ValueError) as err:
        load_checkpoint(path)
    return str(err.value)


def test_a_pickled_class_is_refused_by_its_name(tmp_path):
    path = tmp_path / "last.pt"
    torch.save({"model": {}, "config": argparse.Namespace(a=1)}, path)
    assert reason(path) == (f"{path}: refused: it holds Python objects besides tensors "
                            "(argparse.Namespace), and loading those could run code; "
                            "lstm-lab loads only plain checkpoints")


def reason_when_torch_says(message: str, tmp_path, monkeypatch) -> str:
    """The reason given for a good checkpoint file whose load raises `message`."""
    path = save_checkpoint(tmp_path / "last.pt", {"model": {}, "config": {}})

    def fail(*args, **kwargs):
        raise RuntimeError(message)

    monkeypatch.setattr(checkpoint.torch, "load", fail)
    return reason(path).removeprefix(f"{path}: ")


def test_a_refusal_without_a_named_global_names_nothing(tmp_path, monkeypatch):
    # torch's wording differs between releases: without "GLOBAL <name>" no name is shown
    said = "Weights only load failed: Unsupported global: some.Thing"
    assert reason_when_torch_says(said, tmp_path, monkeypatch) == (
        "refused: it holds Python objects besides tensors, and loading those could run "
        "code; lstm-lab loads only plain checkpoints")


def test_a_damaged_file_names_the_unpicklers_own_fault(tmp_path):
    path = tmp_path / "last.pt"
    path.write_bytes(b"garbage bytes here")
    # torch's advice about weights_only is cut away: what is wrong with the file remains
    # (torch 2.13 says "Unsupported operand 103"; other releases word it their own way)
    text = reason(path)
    assert text.startswith(f"{path}: corrupt checkpoint (") and text.endswith(")")
    assert "Weights only" not in text and "weights_only" not in text


def test_a_load_failure_keeps_its_first_line(tmp_path, monkeypatch):
    said = "PytorchStreamReader failed reading zip archive\nsecond line"
    assert reason_when_torch_says(said, tmp_path, monkeypatch) == \
        "corrupt checkpoint (PytorchStreamReader failed reading zip archive)"


@pytest.mark.parametrize("payload", [[1, 2], {"config": {}}, {"model": {}}, {}])
def test_a_payload_without_model_and_config_is_not_a_checkpoint(tmp_path, payload):
    path = tmp_path / "last.pt"
    save_checkpoint(path, payload)
    assert reason(path) == f"{path}: not an lstm-lab checkpoint (no model or config)"


def test_a_missing_file_is_named(tmp_path):
    assert reason(tmp_path / "nope.pt") == f"{tmp_path / 'nope.pt'}: missing checkpoint"


def test_a_plain_checkpoint_round_trips(tmp_path):
    path = save_checkpoint(tmp_path / "last.pt", {"model": {"w": torch.ones(2)},
                                                  "config": {"a": 1}, "step": 7})
    payload = load_checkpoint(path)
    assert payload["step"] == 7 and payload["config"] == {"a": 1}
    assert torch.equal(payload["model"]["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]   # no temporary left
