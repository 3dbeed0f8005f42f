"""The step loop compiled with ``torch.compile`` (``model.compile``), for a cell that has
no fused module, no hand-written kernel (lstm_tui.models.kernels) and no scan.

One graph covers :data:`CHUNK` steps of the cell's own step function (inductor fuses each
step's element-wise work, forward and backward, into one kernel), so a sequence of T
steps is T // CHUNK calls of it; the remaining T mod CHUNK steps run the plain loop.  The
graph's only shape is the batch: every layer and direction shares it (the input
projection is outside), and it is used only where it was compiled, in training (grad on)
at the run's batch size; validation, sampling, a short last batch, ``inspect``, the
gradient probe and the ensemble run the plain loop.  Numbers equal the plain loop's to
float rounding (tests compare to 1e-5).

Why chunks: a compiled single step is slower than the plain one (every call pays the
compiled function's own overhead, forward and backward), and a whole sequence of 100
steps compiles for minutes and ran no faster; CHUNK = 25 was the best measured
(benchmarks/RESULTS.md, "Hand-written cells, compiled").  Compiling takes tens of seconds
to minutes on a CPU, so ``auto`` compiles only where that is won back: see :func:`decide`.
"""

from __future__ import annotations

import shutil
import statistics
import time
import types
from typing import Any, Callable

import torch
from torch import Tensor

from lstm_tui.models.cells.base import CellSpec

CHUNK = 25                  # steps per compiled graph
AUTO_MIN_STEPS = 20_000     # `auto` compiles CPU runs of at least this many steps,
AUTO_MIN_SPEEDUP = 1.1      # and keeps the graph when it measured at least this much faster


class CompileFailed(Exception):
    """The forward graph did not compile (the message: the error's type and first line)."""


class CompiledLoop:
    """A cell's CHUNK-step graph for one batch size; `problem` is set (and the plain
    loop used from then on) when compiling or running it failed."""

    def __init__(self, spec: CellSpec, cfg: Any, batch: int, chunk: int | None = None):
        self.spec, self.cfg, self.batch, self.chunk = spec, cfg, batch, chunk or CHUNK
        self.problem: str | None = None
        step = spec.step

        def steps(ready: dict, xps: Tensor, state: tuple) -> tuple[Tensor, tuple]:
            hs = []
            for xp in xps.unbind(1):
                state = step(ready, xp, state, cfg)[0]
                hs.append(state[0])
            return torch.stack(hs, 1), state
        # torch.compile keeps its graphs on the code object, at most 8 per object: a copy
        # of it per loop, so models compiled in one process (a sweep) never share that limit
        own = types.FunctionType(steps.__code__.replace(), steps.__globals__, "steps", None,
                                 steps.__closure__)
        self._graph = torch.compile(own, fullgraph=True, dynamic=False)

    def __deepcopy__(self, memo: dict) -> None:
        return None     # a copied model (ensemble template, CPU copy) runs the plain loop

    def applies(self, x: Tensor) -> bool:
        """Whether x (B, T, I) runs here: the compiled batch size, training, T >= chunk."""
        return (self.problem is None and torch.is_grad_enabled() and x.shape[0] == self.batch
                and x.shape[1] >= self.chunk)

    def run(self, p: dict[str, Tensor], x: Tensor, state: tuple[Tensor, ...],
            reverse: bool = False) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One direction of one layer over x (B, T, I) from `state`: h_t (B, T, H) in time
        order and the final state (what ``layers.run`` gives from a scan)."""
        spec, cfg = self.spec, self.cfg
        xp = spec.project(p, x, cfg)
        if reverse:
            xp = xp.flip(1)
        ready = spec.prepare(p, cfg) if spec.prepare else p
        # a start state that needs no gradient would be a second graph: one that does
        state = tuple(s if s.requires_grad else s.detach().requires_grad_() for s in state)
        pieces = xp.split(self.chunk, 1)
        outs = []
        for piece in pieces:
            hs = None
            if piece.shape[1] == self.chunk and self.problem is None:
                try:
                    hs, state = self._graph(ready, piece, tuple(state))
                except Exception as exc:  # a recompile that fails: the plain loop from here
                    self.problem = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
            if hs is None:               # the last T mod chunk steps: the plain loop
                rest = []
                for xp_t in piece.unbind(1):
                    state, _ = spec.step(ready, xp_t, state, cfg)
                    rest.append(state[0])
                hs = torch.stack(rest, 1)
            outs.append(hs)
        seq = torch.cat(outs, 1)
        return (seq.flip(1) if reverse else seq), tuple(state)

    def warm_up(self, p: dict[str, Tensor], input_size: int) -> float:
        """Compile the forward and backward graphs now (a chunk through `p`); seconds
        taken.  Raises what compiling raises."""
        start = time.perf_counter()
        self._pass(p, input_size, self.chunk, compiled=True)
        if self.problem:             # the forward graph failed (the pass fell back)
            raise CompileFailed(self.problem)
        return time.perf_counter() - start

    def speedup(self, p: dict[str, Tensor], input_size: int, length: int,
                repeats: int = 7) -> float:
        """Plain time / compiled time of a sequence of `length` steps, forward and
        backward through `p`, on this machine (medians of interleaved repeats; after
        :meth:`warm_up`)."""
        plain, quick = [], []
        for _ in range(repeats):
            for times, compiled in ((plain, False), (quick, True)):
                start = time.perf_counter()
                self._pass(p, input_size, length, compiled)
                times.append(time.perf_counter() - start)
        return statistics.median(plain) / statistics.median(quick)

    def _pass(self, p: dict[str, Tensor], input_size: int, length: int,
              compiled: bool) -> None:
        """`length` steps of zeros (no random draw) forward and backward, compiled or
        plain; gradients by autograd.grad, so no `.grad` is touched."""
        from lstm_tui.models import layers as L
        like = next(iter(p.values()))
        x = like.new_zeros(self.batch, length, input_size)
        state = L.initial_state(self.spec, self.batch, self.cfg.hidden, like)
        with torch.enable_grad():
            if compiled:
                hs, final = self.run(p, x, state)
            else:
                steps, final = L.run(self.spec, p, x, state, self.cfg, parallel=False)
                hs = torch.stack(steps, 1)
            total = hs.sum() + sum(s.sum() for s in final if s.requires_grad)
            torch.autograd.grad(total, [t for t in p.values() if t.requires_grad],
                                allow_unused=True)


def unavailable(device: torch.device) -> str | None:
    """Why torch.compile cannot run here (this Python, no C++ compiler for a CPU run), or
    None; checked before compiling, so the common failures cost nothing."""
    try:
        import torch._dynamo as dynamo
        if not dynamo.is_dynamo_supported():
            return "torch.compile does not support this Python"
    except Exception as exc:  # an unusual torch build: say what, run uncompiled
        return f"torch.compile is unavailable ({type(exc).__name__}: {exc})"
    if device.type == "cpu":
        from torch._inductor import config as inductor
        compiler = inductor.cpp.cxx[1] if isinstance(inductor.cpp.cxx, tuple) else None
        if not any(shutil.which(name) for name in (compiler, "g++", "clang++", "c++") if name):
            return "no C++ compiler found (torch.compile needs one on the CPU)"
    return None


def decide(setting: str, model: Any, device: torch.device, total_steps: int,
           seq_len: int | None = None) -> str | None:
    """Why the run's step loop is not compiled, or None when it should be.

    ``on`` compiles any model that runs a step loop; ``auto`` only a CPU run of at least
    AUTO_MIN_STEPS steps (a compile of ~1-5 minutes is won back after some thousands of
    steps; measured in benchmarks/RESULTS.md), and never on a GPU (not measured there);
    :func:`enable` then keeps it only where it measured faster than the plain loop.
    """
    if setting == "off":
        return "off"
    if model.fused:
        return f"the {model.cell} runs on its fused kernel"
    if model.kernel:
        return f"the {model.cell} runs on the hand-written {model.kernel} kernel"
    if model.spec.scan is not None:
        return f"the {model.cell} runs its parallel scan"
    if seq_len is not None and seq_len < CHUNK:
        return f"sequences of {seq_len} steps are shorter than a compiled chunk ({CHUNK})"
    if setting == "auto" and device.type != "cpu":
        return "auto compiles on the CPU only"
    if setting == "auto" and total_steps < AUTO_MIN_STEPS:
        return f"auto compiles runs of {AUTO_MIN_STEPS:,}+ steps"
    return None


def enable(model: Any, setting: str, device: torch.device, total_steps: int, batch: int,
           input_size: int, seq_len: int | None = None,
           say: Callable[[str, str], None] | None = None) -> str | None:
    """Compile `model`'s step loop when `setting` (model.compile) asks for it here; a note
    for the run's record saying what was done, or None when nothing was asked.  A failure
    leaves the plain loop and says so in the note (one line, never a traceback).  `say`
    hears (what, detail) before the compile starts: it can take minutes."""
    why_not = decide(setting, model, device, total_steps, seq_len)
    if why_not is not None:
        return None if setting != "on" else f"model.compile = on: not compiled ({why_not})"
    problem = unavailable(device)
    if problem is None:
        loop = CompiledLoop(model.spec, model.cfg, batch)
        if say is not None:
            say(f"compiling the {model.cell} step loop (torch.compile)",
                f"model.compile = {setting}: chunks of {loop.chunk} steps at batch {batch}; "
                f"minutes the first time on a CPU, seconds from inductor's cache; "
                f"model.compile = off skips it")
        try:
            seconds = loop.warm_up(model.layer_params(0, 0), input_size)
            faster = loop.speedup(model.layer_params(0, 0), input_size, seq_len or loop.chunk)
        except CompileFailed as exc:
            problem = f"torch.compile failed ({str(exc)[:200]})"
        except Exception as exc:  # inductor/dynamo errors of any kind: run uncompiled
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            problem = f"torch.compile failed ({type(exc).__name__}: {first})"
        else:
            done = (f"compiled in {seconds:.0f} s (chunks of {loop.chunk} steps, batch {batch}), "
                    f"{faster:.2f}x the plain loop's speed here")
            if setting == "auto" and faster < AUTO_MIN_SPEEDUP:
                return f"model.compile = auto: {done}; the step loop runs uncompiled"
            model.compiled = loop
            return f"model.compile: step loop {done}"
    return f"model.compile: {problem}; the step loop runs uncompiled"
