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



def old_torch():
    """torch < 2.9 as the policy sees it: one allow_tf32 per backend, no cudnn.rnn
    (torch 2.13 itself refuses the legacy switches once the new ones are set)."""
    flags = {"deterministic": False}
    return SimpleNamespace(
        backends=SimpleNamespace(cuda=SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False)),
                                 cudnn=SimpleNamespace(allow_tf32=False, deterministic=False,
                                                       benchmark=True)),
        use_deterministic_algorithms=lambda on: flags.update(deterministic=on),
        are_deterministic_algorithms_enabled=lambda: flags["deterministic"])


def test_before_torch_2_9_both_tf32_switches_are_set_and_read_together(monkeypatch):
    from lstm_tui.training import policy

    fake = old_torch()
    monkeypatch.setattr(policy, "torch", fake)
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")     # restored afterwards
    apply(Policy(tf32=True))
    assert (fake.backends.cuda.matmul.allow_tf32, fake.backends.cudnn.allow_tf32) == (True, True)
    assert current() == Policy(tf32=True)
    fake.backends.cudnn.allow_tf32 = False                   # one switch alone is not TF32
    assert current().tf32 is False
    apply(Policy(deterministic=True))
    assert (fake.backends.cuda.matmul.allow_tf32, fake.backends.cudnn.allow_tf32) == \
        (False, False)
    assert current() == Policy(deterministic=True) and fake.backends.cudnn.benchmark is False
