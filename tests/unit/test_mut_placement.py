"""GPU slots, --devices and the memory cap, with torch's CUDA calls recorded (mutation
pass 3; the box has no GPU)."""

from __future__ import annotations

import pytest
import torch

from lstm_tui.errors import ConfigError
from lstm_tui.training import placement


@pytest.fixture
def gpus(monkeypatch):
    calls: list = []
    monkeypatch.setattr(torch.cuda, "set_device", lambda i: calls.append(("device", i)))
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_per_process_memory_fraction",
                        lambda f, d=None: calls.append(("fraction", f, d)))
    monkeypatch.setattr(placement, "_FRACTION", None)

    def have(n: int) -> list:
        monkeypatch.setattr(placement, "gpu_count", lambda: n)
        return calls
    return have


def test_slots_go_round_the_gpus_only_when_there_are_two(gpus):
    calls = gpus(2)
    assert [placement.claim(s) for s in (0, 1, 2)] == [0, 1, 0]
    assert calls == [("device", 0), ("device", 1), ("device", 0)]
    calls = gpus(1)
    calls.clear()
    assert placement.claim(3) is None and calls == []
    calls = gpus(3)
    assert placement.claim(5) == 2


def test_devices_errors_name_the_option(gpus):
    gpus(2)
    for text, says in (("0,x", "must be GPU indices"), ("1,1", "lists a GPU twice"),
                       ("0,2", "allowed here: cuda:0..cuda:1")):
        with pytest.raises(ConfigError) as err:
            placement.parse_devices(text)
        assert err.value.source == "--devices" and says in str(err.value)
    assert placement.parse_devices(" 1, 0") == [1, 0]


def test_the_memory_cap_is_set_on_the_current_gpu_for_a_fraction_below_one(gpus):
    calls = gpus(1)
    assert placement.cap_memory(0) is None and placement.cap_memory(1.0) is None
    assert calls == []
    assert placement.cap_memory(0.5) == 0.5 and placement.memory_fraction() == 0.5
    assert calls == [("fraction", 0.5, 1)]
