"""Several GPUs on one box: --devices for the pool workers, tested with a fake count."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from lstm_tui.config import ConfigError  # noqa: E402
from lstm_tui.sweeps import backends  # noqa: E402
from lstm_tui.training import placement  # noqa: E402
from tests.unit.test_gpu_readiness import fake_gpus  # noqa: E402


def test_listed_gpus_are_claimed_in_turn(monkeypatch):
    calls = fake_gpus(monkeypatch, 4)
    assert [placement.claim(slot, [1, 3]) for slot in range(5)] == [1, 3, 1, 3, 1]
    assert calls == [1, 3, 1, 3, 1]
    calls = fake_gpus(monkeypatch, 1)
    assert placement.claim(2, [0]) == 0 and calls == [0]   # one listed GPU: still set


def test_devices_are_checked_against_the_machine(monkeypatch):
    fake_gpus(monkeypatch, 2)
    assert placement.parse_devices("0,1") == [0, 1]
    assert placement.parse_devices(" 1 ") == [1]
    for bad, said in (("0,2", "sees 2 CUDA device"), ("a", "GPU indices"), ("0,0", "twice"),
                      ("", "GPU indices"), ("-1", "GPU indices")):
        with pytest.raises(ConfigError, match=said) as info:
            placement.parse_devices(bad)
        assert info.value.key == "devices"
    fake_gpus(monkeypatch, 0)
    with pytest.raises(ConfigError, match="allowed here: none"):
        placement.parse_devices("0")


def test_pool_backends_take_the_devices_they_declare(monkeypatch):
    fake_gpus(monkeypatch, 2)
    for name in ("processes", "ensemble"):
        options = backends.backend_options(name, None, devices="1,0")
        assert backends.make_backend(name, 2, options).devices == (1, 0)
        assert backends.make_backend(name, 2).devices is None
    with pytest.raises(ConfigError, match="is an option of --backend processes or ensemble "
                                          r"\(the ray backend does not take it\)"):
        backends.backend_options("ray", None, devices="0")
