"""The sequence model: a stack of recurrent layers of one cell kind and a linear read-out.

The cell is a spec of the registry (:mod:`lstm_tui.models.cells`).  Its parameters live
in the fused module that computes it with the config's options (``nn.LSTM``/``nn.GRU``/
``nn.RNN`` with tanh: ``self.rnn``), else in a :class:`~lstm_tui.models.layers.CellParams`
under the same names.  The forward pass runs, fastest first:

- the fused module's kernel (oneDNN on the CPU, cuDNN on CUDA);
- the hand-written kernels of PyTorch's layouts (:mod:`lstm_tui.models.kernels`), from a
  zero state, for such a cell off its fused module (softsign, or ``fused`` turned off);
  their C loops also replace the fused GRU, and in training the small RNN and LSTM, on
  one CPU thread, where they are faster (``C_OVER_FUSED``);
- the cell's parallel scan, when it has one;
- the cell's step loop (in training, compiled when ``model.compile`` asks for it:
  :mod:`lstm_tui.models.compiled`).

The gradient probe (:meth:`SequenceModel.timestep_grad_norms`) needs ∂L/∂h_t at every step:
the kernels' backward gives it; else the step loop, with every h_t a graph node (neither a
fused module nor a scan exposes them).
"""

from __future__ import annotations

import importlib
from typing import Callable, Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lstm_tui.config import ModelConfig
from lstm_tui.models import layers as L
from lstm_tui.models.cells import spec_of
from lstm_tui.models.kernels import native, recurrent
from lstm_tui.models.kernels.workspace import Workspace

State = Tensor | tuple[Tensor, ...]

# Where the C time loops beat PyTorch's own fused module on the CPU (one torch thread,
# float32; benchmarks/RESULTS.md, "Hand-written cells near the fused speed", `bench_cells.py
# --part over-fused`), by (hidden, batch, steps, training):
# - training (a forward that autograd records): the GRU up to hidden 128 (1.4-5x faster
#   than nn.GRU), the RNN up to hidden x batch 4,096 (1.2-2.9x), the LSTM while the fused
#   module's fixed cost per call outweighs its faster steps: hidden <= 48 and
#   hidden x batch x steps <= 20,480 (1.04-1.18x; oneDNN's LSTM wins from there on);
# - inference (validation's batches of 256): the GRU up to hidden 64 (1.0-1.6x); the
#   fused RNN and LSTM are faster there (the C loops 0.4-0.9x of them).
C_OVER_FUSED = {
    "GRU": lambda hidden, batch, steps, training: hidden <= (128 if training else 64),
    "RNN": lambda hidden, batch, steps, training: training and hidden * batch <= 4096,
    "LSTM": lambda hidden, batch, steps, training: (training and hidden <= 48
                                                    and hidden * batch * steps <= 20_480),
}


def detach_state(state: State | None) -> State | None:
    """The state cut from its graph (truncated BPTT across batches); None passes through."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


class SequenceModel(nn.Module):
    """Recurrent stack + dropout + linear head; output (B, O) or (B, T, O) by `readout`."""

    def __init__(self, cfg: ModelConfig, input_size: int, output_size: int,
                 readout: Literal["last", "all"] = "last"):
        super().__init__()
        if readout not in ("last", "all"):
            raise ValueError(f"readout must be 'last' or 'all', got {readout!r}")
        self.spec = spec_of(cfg.cell)
        if cfg.activation not in ("tanh", "softsign"):
            raise ValueError(f"unknown activation {cfg.activation!r} (tanh or softsign)")
        self.cfg = cfg
        self.cell, self.activation, self.readout = cfg.cell, cfg.activation, readout
        self.hidden, self.layers = cfg.hidden, cfg.layers
        self.directions = 2 if cfg.bidirectional else 1
        self.inter_dropout = cfg.dropout if cfg.layers > 1 else 0.0
        self._fused = self.spec.is_fused(cfg)
        if self._fused:
            module, _, name = self.spec.fused.partition(":")
            self.rnn = getattr(importlib.import_module(module), name)(
                input_size, cfg.hidden, num_layers=cfg.layers, batch_first=True,
                bidirectional=cfg.bidirectional, dropout=self.inter_dropout)
        else:
            self.rnn = L.CellParams(self.spec, cfg, input_size)
        self._holds_fused = self._fused
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden * self.directions, output_size)
        # The cell's params per (layer, direction), in the state's order layer * dirs + d.
        self._params = L.stack_params(self.spec, cfg, input_size)
        # The step loop compiled (models.compiled.enable sets it; a copy of the model
        # gets None): used in training at the batch size it was compiled for.
        self.compiled = None
        # The hand-written kernel of PyTorch's layout off the fused module (LSTM | GRU |
        # RNN; "" = the step loop, and what a test sets to compare the two), and its buffers.
        self.kernel = recurrent.layout_of(self.spec, tuple(prm.name for prm in self._params[0]))
        self._workspace = Workspace()
        self._init_weights(cfg.init)

    # ---- construction

    @property
    def fused(self) -> bool:
        """Whether forward uses the fused PyTorch module (only where it computes the cell)."""
        return self._fused

    @fused.setter
    def fused(self, value: bool) -> None:
        if value and not self._holds_fused:
            raise ValueError(f"no fused module computes this {self.cell} (activation "
                             f"{self.activation}); it runs the step-wise path")
        self._fused = bool(value)

    def layer_params(self, layer: int, direction: int) -> dict[str, Tensor]:
        """The cell's parameters of one layer and direction, by the spec's names."""
        i = layer * self.directions + direction
        end = L.suffix(layer, direction)
        return {prm.name: getattr(self.rnn, prm.name + end) for prm in self._params[i]}

    def layer_param_names(self, layer: int, direction: int) -> dict[str, str]:
        """The spec's names of one layer and direction -> the model's parameter names
        (``weight_hh`` -> ``rnn.weight_hh_l1_reverse``)."""
        end = L.suffix(layer, direction)
        return {prm.name: f"rnn.{prm.name}{end}"
                for prm in self._params[layer * self.directions + direction]}

    def _all_layer_params(self) -> list[dict[str, Tensor]]:
        return [self.layer_params(k, d) for k in range(self.layers)
                for d in range(self.directions)]

    def _init_weights(self, scheme: str) -> None:
        """Apply the config's init; uses torch's global RNG only (the engine seeds it)."""
        if scheme not in ("default", "xavier", "orthogonal"):
            raise ValueError(f"unknown init {scheme!r} (default, xavier or orthogonal)")
        with torch.no_grad():
            layers = self._all_layer_params()
            L.apply_init(self.spec, layers, self._params, scheme, self.hidden)
            if scheme != "default":
                nn.init.xavier_uniform_(self.head.weight)
                self.head.bias.zero_()
            if self.spec.init is not None:
                for p in layers:
                    self.spec.init(p, self.cfg)
        self.constrain_()

    def constrain_(self) -> None:
        """The cell's bound on its parameters (after init and every optimizer step)."""
        if self.spec.constrain is not None:
            with torch.no_grad():
                for p in self._all_layer_params():
                    self.spec.constrain(p, self.cfg)

    # ---- forward

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """x (B, T, input_size) -> (output, final state: one (L*D, B, H) tensor per part
        of the cell's state, a tuple when it has several, as nn.LSTM/GRU/RNN give it)."""
        if self._fused and not self._c_over_fused(x, state):
            seq, state = self.rnn(x, state)
            features = self._select(seq)
        else:
            top, state = self._unroll(x, state)
            features = self._select_steps(top)
        return self.head(self.drop(features)), state

    def _select(self, seq: Tensor) -> Tensor:
        """Read-out features from the top layer's sequence (B, T, H*dirs)."""
        if self.readout == "all":
            return seq
        if self.directions == 1:
            return seq[:, -1]
        # Forward at the last step, backward at step 0: both have seen the whole sequence.
        h = self.hidden
        return torch.cat((seq[:, -1, :h], seq[:, 0, h:]), 1)

    def _select_steps(self, top: list) -> Tensor:
        """Read-out features from the step-wise path's per-direction h_t (a list of
        (B, H), or a (B, T, H) tensor from a scan)."""
        if self.readout == "last":
            if self.directions == 1:
                return _at(top[0], -1)
            return torch.cat((_at(top[0], -1), _at(top[1], 0)), 1)
        seqs = [_sequence(hs) for hs in top]
        return seqs[0] if self.directions == 1 else torch.cat(seqs, 2)

    def _unroll(self, x: Tensor, state: State | None, parallel: bool = True,
                probes: list[Tensor] | None = None) -> tuple[list, State]:
        """The step-wise stack: the top layer's h_t per direction, and the final state.
        `probes` (one (T, B, H) per direction) get the top layer's ∂L/∂h_t from the
        kernel's backward (the kernel path only)."""
        parts = len(self.spec.state)
        if state is not None and not isinstance(state, tuple):
            state = (state,)
        finals: list[tuple[Tensor, ...]] = []
        layer_in = x
        for k in range(self.layers):
            if k and self.inter_dropout and self.training:
                layer_in = F.dropout(layer_in, self.inter_dropout, training=True)
            top = []
            for d in range(self.directions):
                i = k * self.directions + d
                start = None if state is None else tuple(s[i] for s in state)
                p = self.layer_params(k, d)
                if parallel and start is None and self._runs_kernel():
                    probe = probes[d] if probes and k == self.layers - 1 else None
                    hs, final = recurrent.run_model_layer(
                        self.kernel, self.activation, p, layer_in, d == 1, self._workspace,
                        (k, d), probe)
                elif parallel and self.compiled is not None and self.compiled.applies(layer_in):
                    if start is None:
                        start = L.initial_state(self.spec, x.shape[0], self.hidden, x)
                    hs, final = self.compiled.run(p, layer_in, start, reverse=d == 1)
                else:
                    hs, final = L.run(self.spec, p, layer_in, start, self.cfg,
                                      reverse=d == 1, parallel=parallel)
                top.append(hs)
                finals.append(final)
            if k < self.layers - 1:
                seqs = [_sequence(hs) for hs in top]
                layer_in = seqs[0] if self.directions == 1 else torch.cat(seqs, 2)
        stacked = tuple(torch.stack([f[j] for f in finals]) for j in range(parts))
        return top, (stacked if parts > 1 else stacked[0])

    def _c_over_fused(self, x: Tensor, state: State | None) -> bool:
        """Whether this forward of a fused model runs the kernel's C loops instead (the
        same math over the same parameters, to float rounding): see C_OVER_FUSED."""
        faster = C_OVER_FUSED.get(self.kernel)
        return (faster is not None and state is None
                and faster(self.hidden, x.shape[0], x.shape[1], torch.is_grad_enabled())
                and native.usable(x) and self._runs_kernel())

    def _runs_kernel(self) -> bool:
        """Whether the hand-written kernel runs this forward: not while torch.compile,
        torch.export or TorchScript traces the model (they see the step loop's ops)."""
        return bool(self.kernel) and not (torch.jit.is_tracing() or torch.jit.is_scripting()
                                          or torch.compiler.is_compiling())

    # ---- diagnostics

    def timestep_grad_norms(self, x: Tensor, y: Tensor,
                            final_step_loss: Callable[[Tensor, Tensor], Tensor],
                            state: State | None = None,
                            on_output: Callable[[Tensor], None] | None = None) -> list[float]:
        """‖∂L/∂h_t‖ of the top layer for every step t, averaged over the batch.

        L is `final_step_loss(output, y)` (the final prediction's loss, summed over the
        batch); ∂L/∂h_t is the total derivative through the recurrence and the read-out,
        with both directions' h_t taken together.  From a zero state a model with a
        hand-written kernel takes it from the kernel's backward, else the step loop gives
        every h_t as a graph node.  Runs without dropout; parameters' `.grad` are left
        alone and the train/eval mode is restored.  `on_output` gets the model's output
        for `x` (detached), which this forward computes anyway.
        """
        was_training = self.training
        self.eval()
        try:
            with torch.enable_grad():
                if state is None and self.kernel and self._runs_kernel():
                    grads = self._kernel_probe(x, y, final_step_loss, on_output)
                else:
                    top, _ = self._unroll(x, detach_state(state), parallel=False)
                    output = self.head(self.drop(self._select_steps(top)))
                    if on_output is not None:
                        on_output(output.detach())
                    loss = final_step_loss(output, y)
                    hs = [h for direction in top for h in direction]
                    found = [g if g is not None else torch.zeros_like(h) for g, h in
                             zip(torch.autograd.grad(loss, hs, allow_unused=True), hs)]
                    steps = x.shape[1]
                    grads = [torch.stack(found[d * steps:(d + 1) * steps])
                             for d in range(len(top))]
        finally:
            self.train(was_training)
        # one reduction over (T, B, H) per direction: a per-step loop was a quarter of the
        # probe on a short series (60 small ops)
        sq = grads[0].detach().pow(2).sum(2)
        for g in grads[1:]:
            sq = sq + g.detach().pow(2).sum(2)
        return sq.sqrt().mean(1).tolist()

    def _kernel_probe(self, x: Tensor, y: Tensor,
                      final_step_loss: Callable[[Tensor, Tensor], Tensor],
                      on_output: Callable[[Tensor], None] | None = None) -> list[Tensor]:
        """The top layer's ∂L/∂h_t, a (T, B, H) tensor per direction, from the kernel's
        backward (no step-wise graph, no weight gradients, no layer below)."""
        probes = [x.new_zeros(x.shape[1], x.shape[0], self.hidden)
                  for _ in range(self.directions)]
        top, _ = self._unroll(x, None, probes=probes)
        output = self.head(self.drop(self._select_steps(top)))
        if on_output is not None:
            on_output(output.detach())
        loss = final_step_loss(output, y)
        top_weights = [self.layer_params(self.layers - 1, d)["weight_hh"]
                       for d in range(self.directions)]
        # runs the top layer's backward loop, which fills the probes and stops there
        torch.autograd.grad(loss, top_weights, allow_unused=True)
        return probes


def build_model(model_cfg: ModelConfig, input_size: int, output_size: int,
                readout: Literal["last", "all"]) -> SequenceModel:
    """The model for a task (on the CPU; the engine moves it to its device)."""
    return SequenceModel(model_cfg, input_size, output_size, readout)


def _at(hs: list[Tensor] | Tensor, t: int) -> Tensor:
    return hs[t] if isinstance(hs, list) else hs[:, t]


def _sequence(hs: list[Tensor] | Tensor) -> Tensor:
    return torch.stack(hs, 1) if isinstance(hs, list) else hs
