"""How many CPU threads torch uses for a run: the one rule every way of training follows.

torch's default is a thread per core, and its worker threads spin: with one other busy
process on a 2-core box, a small LSTM trained 20-40x slower than with one thread
(issue 12).  This lab's models are mostly small, where extra threads gain nothing even
on a quiet machine, so a run gets one thread unless its per-step work is large enough
to gain from more (MIN_WORK_PER_THREAD, measured by benchmarks/bench_threads.py; see
benchmarks/RESULTS.md).  An explicit ``train.threads`` always wins.

Headless runs, the lab's run processes, the sweep workers (sequential, processes,
ensemble) and the Ray workers all call :func:`apply_threads` through the engine (and the
ensemble); a process that shares the machine with others (a pool worker) first lowers
its budget with :func:`set_cpu_budget`.  Torch is imported only by :func:`apply_threads`.
"""

from __future__ import annotations

import os

# Work of one step, counted as trainable parameters x batch size (about half the
# multiply-adds of one time step), that each thread past the first needs.  Measured with
# benchmarks/bench_threads.py on a shared 2-core box (RESULTS.md, 2026-12-01): with other
# jobs running, 2 threads were slower than 1 for every LSTM up to hidden 1024 x batch 64
# (work 2.8e8: 0.47x; hidden 32: 0.01x), so only models beyond that get a second thread.
MIN_WORK_PER_THREAD = 300_000_000

_budget: int | None = None


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask, not the whole machine)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def set_cpu_budget(cpus: int | None) -> None:
    """The most threads a run of this process may take (None: every CPU it may use)."""
    global _budget
    _budget = None if cpus is None else max(1, int(cpus))


def choose_threads(explicit: int, work: int, budget: int | None = None) -> int:
    """Threads for a run: `explicit` (train.threads) if set, else one per
    MIN_WORK_PER_THREAD of `work`, at least 1 and at most the CPU budget."""
    if explicit and explicit > 0:
        return int(explicit)
    limit = budget or _budget or cpu_count()
    return max(1, min(limit, int(work) // MIN_WORK_PER_THREAD))


def step_work(n_params: int, batch_size: int) -> int:
    """The work measure MIN_WORK_PER_THREAD is in: parameters x batch size."""
    return int(n_params) * int(batch_size)


def apply_threads(explicit: int, work: int) -> int:
    """Set torch's intra-op threads by :func:`choose_threads`; returns the number set."""
    import torch
    n = choose_threads(explicit, work)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
