"""The forkserver's preload: a child forked from it trains without importing torch's
parts afresh (each import is paid once by the server, not by every child)."""

from __future__ import annotations

import sys

import pytest

from lstm_tui.training import processes


def _first_optimizer(conn) -> None:
    import torch
    before = set(sys.modules)
    torch.optim.Adam(torch.nn.Linear(2, 2).parameters())
    conn.send(sorted(set(sys.modules) - before))


@pytest.mark.skipif(not processes.pidfds(), reason="no pidfds here: the processes are spawned")
def test_a_forked_child_builds_its_first_optimizer_without_importing_anything():
    # torch imports torch._dynamo (800 modules, 1.4 s of a core) on the first optimizer a
    # process builds; the server has it already
    ctx = processes.context()
    here, there = ctx.Pipe()
    child = ctx.Process(target=_first_optimizer, args=(there,), daemon=True)
    child.start()
    try:
        assert here.poll(60), "the child did not answer"
        imported = here.recv()
    finally:
        child.join(10)
    assert imported == [], imported[:10]
