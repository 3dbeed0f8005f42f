"""The sequence model: a stack of recurrent layers and a linear read-out.

The recurrent parameters always live in a PyTorch ``nn.LSTM``/``nn.GRU``/``nn.RNN``
(``self.rnn``), so names, layout and counts are PyTorch's.  With tanh the forward pass is
that fused module (oneDNN on CPU, cuDNN on CUDA); with softsign it is the hand-written
step-wise path of :mod:`lstm_tui.models.cells` over the same parameters.  The step-wise
path also serves :meth:`SequenceModel.timestep_grad_norms`, which needs every h_t as a
graph node (the fused kernels do not expose them).
"""

from __future__ import annotations

from typing import Callable, Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from lstm_tui.config import ModelConfig
from lstm_tui.models.cells import ACTIVATIONS, unroll

State = Tensor | tuple[Tensor, Tensor]
RNN_MODULES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


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
        if cfg.cell not in RNN_MODULES:
            raise ValueError(f"unknown cell {cfg.cell!r} (lstm, gru or rnn)")
        if cfg.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {cfg.activation!r} (tanh or softsign)")
        self.cell, self.activation, self.readout = cfg.cell, cfg.activation, readout
        self.hidden, self.layers = cfg.hidden, cfg.layers
        self.directions = 2 if cfg.bidirectional else 1
        self.inter_dropout = cfg.dropout if cfg.layers > 1 else 0.0
        # nn.RNN's default nonlinearity is tanh, which is what the fused path needs.
        self.rnn = RNN_MODULES[cfg.cell](
            input_size, cfg.hidden, num_layers=cfg.layers, batch_first=True,
            bidirectional=cfg.bidirectional, dropout=self.inter_dropout)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden * self.directions, output_size)
        self._fused = cfg.activation == "tanh"
        # Parameter names per (layer, direction), in the state's order layer * dirs + d.
        self._names = [tuple(f"{kind}_l{k}{'_reverse' if d else ''}"
                             for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                       for k in range(cfg.layers) for d in range(self.directions)]
        self._init_weights(cfg.init, cfg.forget_bias)

    # ---- construction

    @property
    def fused(self) -> bool:
        """Whether forward uses the fused PyTorch module (only possible with tanh)."""
        return self._fused

    @fused.setter
    def fused(self, value: bool) -> None:
        if value and self.activation != "tanh":
            raise ValueError("the fused module only computes tanh; softsign needs the "
                             "step-wise path")
        self._fused = bool(value)

    def _init_weights(self, scheme: str, forget_bias: float) -> None:
        """Apply the config's init; uses torch's global RNG only (the engine seeds it)."""
        h = self.hidden
        with torch.no_grad():
            if scheme not in ("default", "xavier", "orthogonal"):
                raise ValueError(f"unknown init {scheme!r} (default, xavier or orthogonal)")
            if scheme != "default":
                for name, p in self.rnn.named_parameters():
                    if name.startswith("bias"):
                        p.zero_()
                        continue
                    # Per gate block: each block is its own (H, fan_in) matrix.
                    fill = (nn.init.orthogonal_ if scheme == "orthogonal"
                            and name.startswith("weight_hh") else nn.init.xavier_uniform_)
                    for block in p.split(h):
                        fill(block)
                nn.init.xavier_uniform_(self.head.weight)
                self.head.bias.zero_()
            if self.cell == "lstm":
                # b_ih + b_hh is what the gate sees: put all of the forget bias in b_ih.
                for name, p in self.rnn.named_parameters():
                    if name.startswith("bias_ih"):
                        p[h:2 * h].fill_(forget_bias)
                    elif name.startswith("bias_hh"):
                        p[h:2 * h].zero_()

    # ---- forward

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """x (B, T, input_size) -> (output, final state in nn.LSTM/GRU/RNN's format)."""
        if self._fused:
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

    def _select_steps(self, top: list[list[Tensor]]) -> Tensor:
        """Read-out features from the step-wise path's per-direction h_t lists."""
        if self.readout == "last":
            if self.directions == 1:
                return top[0][-1]
            return torch.cat((top[0][-1], top[1][0]), 1)
        seqs = [torch.stack(hs, 1) for hs in top]
        return seqs[0] if self.directions == 1 else torch.cat(seqs, 2)

    def _unroll(self, x: Tensor, state: State | None) -> tuple[list[list[Tensor]], State]:
        """The step-wise stack: the top layer's h_t per direction, and the final state."""
        is_lstm = self.cell == "lstm"
        batch, n = x.shape[0], self.layers * self.directions
        if state is None:
            h0 = x.new_zeros(n, batch, self.hidden)
            c0 = h0 if is_lstm else None
        elif is_lstm:
            h0, c0 = state
        else:
            h0, c0 = state, None
        act = ACTIVATIONS[self.activation]
        h_n, c_n = [], []
        layer_in = x
        for k in range(self.layers):
            if k and self.inter_dropout and self.training:
                layer_in = F.dropout(layer_in, self.inter_dropout, training=True)
            top = []
            for d in range(self.directions):
                i = k * self.directions + d
                w_ih, w_hh, b_ih, b_hh = (getattr(self.rnn, name) for name in self._names[i])
                hs, h, c = unroll(self.cell, layer_in, w_ih, w_hh, b_ih, b_hh, h0[i],
                                  c0[i] if is_lstm else None, act, reverse=d == 1)
                top.append(hs)
                h_n.append(h)
                c_n.append(c)
            if k < self.layers - 1:
                seqs = [torch.stack(hs, 1) for hs in top]
                layer_in = seqs[0] if self.directions == 1 else torch.cat(seqs, 2)
        h_n = torch.stack(h_n)
        return top, ((h_n, torch.stack(c_n)) if is_lstm else h_n)

    # ---- diagnostics

    def timestep_grad_norms(self, x: Tensor, y: Tensor,
                            final_step_loss: Callable[[Tensor, Tensor], Tensor],
                            state: State | None = None) -> list[float]:
        """‖∂L/∂h_t‖ of the top layer for every step t, averaged over the batch.

        L is `final_step_loss(output, y)` (the final prediction's loss, summed over the
        batch); ∂L/∂h_t is the total derivative through the recurrence and the read-out,
        with both directions' h_t taken together.  Runs the step-wise path without
        dropout; parameters' `.grad` are left alone and the train/eval mode is restored.
        """
        was_training = self.training
        self.eval()
        try:
            with torch.enable_grad():
                top, _ = self._unroll(x, detach_state(state))
                output = self.head(self.drop(self._select_steps(top)))
                loss = final_step_loss(output, y)
                hs = [h for direction in top for h in direction]
                grads = torch.autograd.grad(loss, hs, allow_unused=True)
        finally:
            self.train(was_training)
        steps = len(top[0])
        sq = torch.zeros(steps, x.shape[0], device=x.device)
        for j, g in enumerate(grads):
            if g is not None:
                sq[j % steps] += g.detach().pow(2).sum(1)
        return sq.sqrt().mean(1).tolist()


def build_model(model_cfg: ModelConfig, input_size: int, output_size: int,
                readout: Literal["last", "all"]) -> SequenceModel:
    """The model for a task (on the CPU; the engine moves it to its device)."""
    return SequenceModel(model_cfg, input_size, output_size, readout)
