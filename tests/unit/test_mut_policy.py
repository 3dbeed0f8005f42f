"""The numeric policy read back and built from a config (mutation pass 3)."""

from __future__ import annotations

from types import SimpleNamespace

from lstm_tui.training.policy import Policy, apply, current, from_config


def test_the_deterministic_flag_is_read_back(monkeypatch):
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    try:
        apply(Policy(tf32=True, deterministic=True))
        assert current() == Policy(tf32=True, deterministic=True)
    finally:
        apply(Policy())
    assert current() == Policy()


def test_from_config_keeps_both_flags():
    assert from_config(SimpleNamespace(tf32=0, deterministic=1)) == Policy(False, True)
    assert from_config(SimpleNamespace(tf32=1, deterministic=0)) == Policy(True, False)
