"""The recurrent layer kernels: one direction of one layer of PyTorch's LSTM, GRU or RNN
math, for M models at once (M = 1 for a single model), in hand-written autograd
functions.

Autograd over a step loop costs more than the arithmetic at these sizes (a dozen ops and
their backward nodes per time step).  Here the forward loop writes each step into reused
buffers (workspace.py), the backward is its own loop of a few batched ops per step, and
the weight gradients are one matmul each over all steps (``Recurrent``); on the CPU the
two time loops run in C where that can be built (native.py, ``NativeCell``).  Measured in
benchmarks/RESULTS.md ("Hand-written cells near the fused speed", "The ensemble, faster").

Used by the ensemble (every member's layer at once: training/ensemble/recurrence.py) and
by a single model whose cell has PyTorch's layout but no fused module for its options
(softsign, or ``model.fused`` turned off): :func:`run_model_layer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from lstm_tui.models.kernels import native
from lstm_tui.models.kernels.workspace import Workspace

# The fused modules whose math these kernels compute, over PyTorch's parameter layout.
LAYOUTS = {"torch.nn:LSTM": "LSTM", "torch.nn:GRU": "GRU", "torch.nn:RNN": "RNN"}
PYTORCH_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def layout_of(spec: Any, param_names: tuple[str, ...]) -> str:
    """The kernel that computes a cell with these parameters (LSTM | GRU | RNN), or ""
    for none: its spec names a fused module here and it has PyTorch's four parameters
    (no peepholes, no extra weights)."""
    return LAYOUTS.get(spec.fused, "") if tuple(param_names) == PYTORCH_PARAMS else ""


def run(layout: str, activation: str, x: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor,
        b_hh: Tensor, *, only_last: bool, reverse: bool, workspace: Workspace,
        key: tuple, probe: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
    """One direction of one layer for M models from the zero state: x (M, T, B, I) and
    the (M, ...) stacked parameters -> h_t (M, T, B, H) (a view of `workspace`), or the
    final h (M, B, H) when `only_last`; and the LSTM's final cell state (M, B, H),
    outside the graph (None for the GRU and RNN).  `probe` (M, T, B, H), when given,
    receives every step's total ∂L/∂h_t during the backward (the gradient probe)."""
    act = activation_on(activation, x.device)
    spec = Layer(layout, act, only_last, reverse, workspace, key, probe)
    in_c = act in ("tanh", "softsign") and native.usable(x)
    out = (NativeCell if in_c else Recurrent).apply(x, w_ih, w_hh, b_ih, b_hh, spec)
    cell = None
    if layout == "LSTM":
        t = x.shape[1]
        cs = workspace.buffers[key + ("c",)]
        # Recurrent keeps k·c with k = 2 under tanh on the CPU (see Recurrent)
        k = 2.0 if act == "tanh" and not in_c else 1.0
        cell = cs[:, 1 if reverse else t].detach() / k
    return out, cell


def run_model_layer(layout: str, activation: str, p: dict[str, Tensor], x: Tensor,
                    reverse: bool, workspace: Workspace, key: tuple,
                    probe: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, ...]]:
    """One direction of one layer of a single model over x (B, T, I) from the zero
    state: h_t (B, T, H) in time order and the final state ((h, c) for the LSTM, (h,)
    else; c outside the graph), as ``layers.run`` gives them from a scan.

    The buffers are `workspace`'s while no graph still holds them for this layer (see
    Workspace.lend), so a second forward before the first's backward is still right.
    `probe` (T, B, H): as :func:`run`'s, in time order."""
    keeps = torch.is_grad_enabled() and (x.requires_grad or any(
        p[name].requires_grad for name in PYTORCH_PARAMS))
    ws = workspace.lend(key, keeps)
    xm = x.transpose(0, 1).unsqueeze(0).contiguous()         # (1, T, B, I): time-major
    w = [p[name].unsqueeze(0) for name in PYTORCH_PARAMS]
    hs, cell = run(layout, activation, xm, *w, only_last=False, reverse=reverse,
                   workspace=ws, key=key, probe=None if probe is None else probe.unsqueeze(0))
    seq = hs[0].transpose(0, 1)                                # (B, T, H), a view
    final = seq[:, 0 if reverse else -1].clone()               # outlives the buffers
    return seq, (final,) if cell is None else (final, cell[0])


def _squash(x: Tensor, out: Tensor, activation: str, minus_one: Tensor) -> Tensor:
    """out = the cell activation of x, where x was computed doubled for tanh:
    tanh(z) = 2·sigmoid(2z) − 1, ~3× faster than torch.tanh on the CPU (and one
    sigmoid serves all four LSTM gates), within 2e-7 of it.  `out` may be `x`.
    "torch_tanh" is plain torch.tanh of an undoubled x: what the GPU path uses, where
    the trick gains nothing (see activation_on)."""
    if activation == "torch_tanh":
        return torch.tanh(x, out=out)
    if activation == "softsign":
        if out is not x:
            out.copy_(x)
        return out.div_(out.abs().add_(1))
    return torch.add(minus_one, torch.sigmoid(x, out=out), alpha=2, out=out)


def _dact(y: Tensor, activation: str, out: Tensor) -> Tensor:
    """f'(x) written in terms of y = f(x), into `out`."""
    if activation == "softsign":
        return torch.abs(y, out=out).neg_().add_(1).square_()
    return torch.addcmul(y.new_ones(()), y, y, value=-1, out=out)


def _sigmoid_slope(a: Tensor, out: Tensor) -> Tensor:
    """sigmoid'(z) = a (1 − a) from a = sigmoid(z), into `out`."""
    return torch.addcmul(a, a, a, value=-1, out=out)


def activation_on(name: str, device: torch.device) -> str:
    """The activation the recurrence computes: the sigmoid-based tanh pays only on the CPU."""
    return "torch_tanh" if name == "tanh" and device.type != "cpu" else name


@dataclass(frozen=True)
class Layer:
    """What a Recurrent call computes (the non-tensor arguments)."""
    layout: str           # LSTM | GRU | RNN
    activation: str
    only_last: bool       # return only the final h (the top layer's "last" read-out)
    reverse: bool         # the backward direction of a bidirectional layer
    workspace: Workspace
    key: tuple            # (layer, direction): its own buffers in the workspace
    probe: Tensor | None = None   # (M, T, B, H): backward writes every step's ∂L/∂h here
                                  # (and computes no other gradient)


class Recurrent(torch.autograd.Function):
    """One direction of one layer for all members, from a zero state.

    x (M, T, B, I) -> h_t (M, T, B, H), or the final h (M, B, H) when `only_last`.
    PyTorch's nn.LSTM/GRU/RNN math (gate orders i f g o and r z n).  The forward loop
    writes every step into workspace buffers; the coefficients the backward needs are
    then computed for all steps at once, so the backward loop is a handful of batched
    ops per step; the weight gradients are one bmm each over all steps.

    Time slots: buffers of states hold T + 2 slots, slot s + 1 being step s, with zeros
    in slots 0 and T + 1 (the initial state of the forward and of the reverse direction).
    With tanh, the pre-activations that go through tanh are computed doubled (their
    weight rows scaled by 2, see _squash) and the LSTM cell state is stored doubled.
    """

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, spec: Layer):
        ws, key, act, layout = spec.workspace, spec.key, spec.activation, spec.layout
        m, t, b, _ = x.shape
        hidden, gates = w_hh.shape[2], w_hh.shape[1]
        minus_one = x.new_full((), -1.0)
        k = 2.0 if act == "tanh" else 1.0            # the scale of what goes through tanh
        scale = x.new_ones(gates)
        if k != 1.0:
            scale[{"LSTM": slice(2 * hidden, 3 * hidden), "GRU": slice(2 * hidden, None),
                   "RNN": slice(None)}[layout]] = k
        b_hh = b_hh * scale
        bias = b_ih * scale if layout == "GRU" else b_ih * scale + b_hh   # GRU: b_hn in r·()
        xp = ws.get(key + ("xp",), (m, t, b, gates), x)
        torch.baddbmm(bias.unsqueeze(1), x.reshape(m, t * b, -1),
                      (w_ih * scale.unsqueeze(1)).transpose(1, 2), out=xp.view(m, t * b, gates))
        w_hh_t = (w_hh * scale.unsqueeze(1)).transpose(1, 2)
        hs = ws.get(key + ("h",), (m, t + 2, b, hidden), x)
        order = range(t - 1, -1, -1) if spec.reverse else range(t)
        prev = 2 if spec.reverse else 0             # slot of h_{s-1} is s + prev
        h_prev = hs[:, prev:prev + t]
        z = ws.get(key + ("z",), (m, b, gates), x)
        # per-step views made once (slicing inside the loop costs more than the math)
        h_s, x_s = hs.unbind(1), xp.unbind(1)
        if layout == "LSTM":
            a_all = ws.get(key + ("a",), (m, t, b, gates), x)
            g_all = ws.get(key + ("g",), (m, t, b, hidden), x)
            tc_all = ws.get(key + ("tc",), (m, t, b, hidden), x)
            cs = ws.get(key + ("c",), (m, t + 2, b, hidden), x)    # k * c
            z_g = z[..., 2 * hidden:3 * hidden]
            c_s, a_s, g_s, tc_s = cs.unbind(1), a_all.unbind(1), g_all.unbind(1), tc_all.unbind(1)
            blocks = [a_all[..., j * hidden:(j + 1) * hidden] for j in range(4)]
            i_s, f_s, ag_s, o_s = (blk.unbind(1) for blk in blocks)
            for s in order:
                torch.baddbmm(x_s[s], h_s[s + prev], w_hh_t, out=z)
                torch.sigmoid(z, out=a_s[s])
                if act == "tanh":     # the g rows were doubled: tanh(z_g) = 2·sigmoid(2 z_g) − 1
                    g = torch.add(minus_one, ag_s[s], alpha=2, out=g_s[s])
                else:
                    g = _squash(z_g, g_s[s], act, minus_one)
                c = torch.mul(f_s[s], c_s[s + prev], out=c_s[s + 1]).addcmul_(i_s[s], g, value=k)
                tc = _squash(c, tc_s[s], act, minus_one)
                torch.mul(o_s[s], tc, out=h_s[s + 1])
            # backward: d pre-activations = cat(dc, dc, dc, dh) * q ;  dc_s += dh_s * p
            q = ws.get(key + ("q",), (m, t, b, gates), x)
            q_i, q_f, q_g, q_o = (q[..., j * hidden:(j + 1) * hidden] for j in range(4))
            _sigmoid_slope(blocks[0], q_i).mul_(g_all)
            _sigmoid_slope(blocks[1], q_f).mul_(cs[:, prev:prev + t])
            if k != 1.0:
                q_f.mul_(1 / k)
            _dact(g_all, act, q_g).mul_(blocks[0])
            _sigmoid_slope(blocks[3], q_o).mul_(tc_all)
            p = _dact(tc_all, act, ws.get(key + ("p",), (m, t, b, hidden), x)).mul_(blocks[3])
            saved = (q, p, blocks[1])
        elif layout == "GRU":
            b_hh_u = b_hh.unsqueeze(1)
            rz_all = ws.get(key + ("rz",), (m, t, b, 2 * hidden), x)
            n_all = ws.get(key + ("n",), (m, t, b, hidden), x)
            hpn_all = ws.get(key + ("hpn",), (m, t, b, hidden), x)   # k * (W_hn h + b_hn)
            hp_rz, hp_n = z[..., :2 * hidden], z[..., 2 * hidden:]
            rz_s, n_s, hpn_s = rz_all.unbind(1), n_all.unbind(1), hpn_all.unbind(1)
            xrz_s, xn_s = xp[..., :2 * hidden].unbind(1), xp[..., 2 * hidden:].unbind(1)
            r_all, z_all = rz_all[..., :hidden], rz_all[..., hidden:]
            r_s, z_s = r_all.unbind(1), z_all.unbind(1)
            for s in order:
                torch.baddbmm(b_hh_u, h_s[s + prev], w_hh_t, out=z)
                torch.add(xrz_s[s], hp_rz, out=rz_s[s]).sigmoid_()
                hpn_s[s].copy_(hp_n)
                n = torch.addcmul(xn_s[s], r_s[s], hp_n, out=n_s[s])
                _squash(n, n, act, minus_one)
                torch.lerp(n, h_s[s + prev], z_s[s], out=h_s[s + 1])
            # backward: d x-projection = cat(dh, dh, dh) * kc ; d h-projection = that * v
            kc = ws.get(key + ("k",), (m, t, b, gates), x)
            tmp = ws.get(key + ("tmp",), (m, t, b, hidden), x)
            k_r, k_z, k_n = kc[..., :hidden], kc[..., hidden:2 * hidden], kc[..., 2 * hidden:]
            _dact(n_all, act, k_n)
            torch.addcmul(k_n, k_n, z_all, value=-1, out=k_n)             # (1 - z) f'(n)
            _sigmoid_slope(r_all, k_r).mul_(hpn_all).mul_(k_n)            # r' hp_n dn
            if k != 1.0:
                k_r.mul_(1 / k)
            _sigmoid_slope(z_all, k_z).mul_(torch.sub(h_prev, n_all, out=tmp))  # z' (h - n)
            v = ws.get(key + ("v",), (m, t, b, gates), x, fill=1.0)      # (1, 1, r)
            v[..., 2 * hidden:].copy_(r_all)
            saved = (kc, v, z_all)
        else:
            for s in order:
                torch.baddbmm(x_s[s], h_s[s + prev], w_hh_t, out=z)
                _squash(z, h_s[s + 1], act, minus_one)
            saved = (_dact(hs[:, 1:t + 1], act, ws.get(key + ("d",), (m, t, b, hidden), x)),)
        ctx.spec, ctx.saved, ctx.h_prev = spec, saved, h_prev
        ctx.save_for_backward(x, w_ih, w_hh)
        return _output(hs, spec, t)

    @staticmethod
    def backward(ctx, grad):
        x, w_ih, w_hh = ctx.saved_tensors
        spec, ws, h_prev = ctx.spec, ctx.spec.workspace, ctx.h_prev
        m, t, b, _ = x.shape
        gates = w_hh.shape[1]
        order = range(t) if spec.reverse else range(t - 1, -1, -1)   # backward in time
        step = -1 if spec.reverse else 1                            # s + step: the next step
        d_x_proj = ws.get(spec.key + ("dxp",), (m, t, b, gates), x)
        d_h_proj = d_x_proj
        if spec.layout == "GRU":
            d_h_proj = ws.get(spec.key + ("dhp",), (m, t, b, gates), x)
        joined = ws.get(spec.key + ("joined",), (m, b, gates), x)   # cat(dc, dc, dc, dh) etc.
        grads = None if spec.only_last else grad.unbind(1)
        saved = [u.unbind(1) for u in ctx.saved]
        dxp_s, dhp_s = d_x_proj.unbind(1), d_h_proj.unbind(1)
        dh_rec = dc = None
        for s in order:
            if spec.only_last:
                dh = grad if dh_rec is None else dh_rec
            else:
                dh = grads[s] if dh_rec is None else dh_rec + grads[s]
            if spec.probe is not None:
                spec.probe[:, s].copy_(dh)
            last = s == order[-1]
            if spec.layout == "LSTM":
                q, p, f = saved
                dc = dh * p[s] if dc is None else torch.addcmul(dc * f[s + step], dh, p[s])
                dz = torch.mul(torch.cat((dc, dc, dc, dh), -1, out=joined), q[s], out=dxp_s[s])
                if not last:
                    dh_rec = torch.bmm(dz, w_hh)
            elif spec.layout == "GRU":
                k, v, z = saved
                dxp = torch.mul(torch.cat((dh, dh, dh), -1, out=joined), k[s], out=dxp_s[s])
                dhp = torch.mul(dxp, v[s], out=dhp_s[s])
                if not last:
                    dh_rec = torch.baddbmm(dh * z[s], dhp, w_hh)
            else:
                dpre = torch.mul(dh, saved[0][s], out=dxp_s[s])
                if not last:
                    dh_rec = torch.bmm(dpre, w_hh)
        spec.workspace.release(spec.key)
        if spec.probe is not None:   # the probe wants ∂L/∂h_t only (models.network)
            return (None,) * 6
        return _input_grads(ctx, x, w_ih, h_prev, d_x_proj, d_h_proj)


def _output(hs: Tensor, spec: Layer, t: int) -> Tensor:
    """What a layer's forward returns from its state slots hs (M, T + 2, B, H): every
    step's h (a view of the buffer), or a copy of the final h when `only_last`."""
    if spec.only_last:
        return hs[:, 1 if spec.reverse else t].clone()
    return hs[:, 1:t + 1]


def _input_grads(ctx, x: Tensor, w_ih: Tensor, h_prev: Tensor, d_x_proj: Tensor,
                 d_h_proj: Tensor) -> tuple:
    """What a layer's backward returns, from the gradients of its pre-activations' two
    parts, x W_ih^T + b_ih (M, T, B, G) and h_prev W_hh^T + b_hh (one tensor for both
    when they enter the gates added): batched matmuls over all steps at once."""
    m, t, b, _ = x.shape
    dxp = d_x_proj.view(m, t * b, -1)
    dhp = d_h_proj.view(m, t * b, -1)
    # (x^T dxp)^T: ~5x faster than dxp^T x for these shapes on the CPU
    d_w_ih = torch.bmm(x.reshape(m, t * b, -1).transpose(1, 2), dxp).transpose(1, 2)
    d_w_hh = torch.bmm(h_prev.reshape(m, t * b, -1).transpose(1, 2), dhp).transpose(1, 2)
    d_b_ih = dxp.sum(1)
    # the two biases' gradients are equal, never one tensor: a parameter's .grad may be
    # the very tensor returned here, and clipping scales each .grad in place
    d_b_hh = d_b_ih.clone() if d_h_proj is d_x_proj else dhp.sum(1)
    d_x = None
    if ctx.needs_input_grad[0]:
        d_x = ctx.spec.workspace.get(ctx.spec.key + ("dx",), x.shape, x)
        torch.bmm(dxp, w_ih, out=d_x.view(m, t * b, -1))
    return d_x, d_w_ih, d_w_hh, d_b_ih, d_b_hh, None


class NativeCell(torch.autograd.Function):
    """Recurrent with its two time loops in C (native.py, time_loops.c), tanh or softsign:
    the input projection and the weight and input gradients stay the same batched torch
    matmuls.  No doubled pre-activations here: the C code computes tanh itself."""

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, spec: Layer):
        ws, key, layout = spec.workspace, spec.key, spec.layout
        soft = spec.activation == "softsign"
        m, t, b, _ = x.shape
        hidden, gates = w_hh.shape[2], w_hh.shape[1]
        bias = b_ih if layout == "GRU" else b_ih + b_hh      # GRU: b_hn in r·()
        xp = ws.get(key + ("xp",), (m, t, b, gates), x)
        torch.baddbmm(bias.unsqueeze(1), x.reshape(m, t * b, -1), w_ih.transpose(1, 2),
                      out=xp.view(m, t * b, gates))
        hs = ws.get(key + ("h",), (m, t + 2, b, hidden), x)
        if layout == "LSTM":
            saved = (ws.get(key + ("c",), (m, t + 2, b, hidden), x),
                     ws.get(key + ("a",), (m, t, b, gates), x),
                     ws.get(key + ("tc",), (m, t, b, hidden), x))
            native.forward(layout, xp, w_hh.detach(), (hs, *saved), spec.reverse, soft)
        elif layout == "GRU":
            saved = (hs, ws.get(key + ("a",), (m, t, b, gates), x),
                     ws.get(key + ("hpn",), (m, t, b, hidden), x))
            native.forward(layout, xp, w_hh.detach(), (b_hh.detach().contiguous(), *saved),
                           spec.reverse, soft)
        else:
            saved = (hs,)
            native.forward(layout, xp, w_hh.detach(), saved, spec.reverse, soft)
        prev = 2 if spec.reverse else 0
        ctx.spec, ctx.h_prev, ctx.saved = spec, hs[:, prev:prev + t], saved
        ctx.save_for_backward(x, w_ih, w_hh)
        return _output(hs, spec, t)

    @staticmethod
    def backward(ctx, grad):
        x, w_ih, w_hh = ctx.saved_tensors
        spec = ctx.spec
        m, t, b, _ = x.shape
        shape = (m, t, b, w_hh.shape[1])
        d_x_proj = spec.workspace.get(spec.key + ("dxp",), shape, x)
        d_h_proj = d_x_proj       # the LSTM's and RNN's h W_hh^T is added to x W_ih^T
        if spec.layout == "GRU":
            d_h_proj = spec.workspace.get(spec.key + ("dhp",), shape, x)
        outputs = (d_x_proj, d_h_proj) if spec.layout == "GRU" else (d_x_proj,)
        native.backward(spec.layout, grad, w_hh.detach(), (*ctx.saved, *outputs),
                        spec.reverse, spec.only_last, spec.activation == "softsign",
                        spec.probe)
        spec.workspace.release(spec.key)
        if spec.probe is not None:   # the probe wants ∂L/∂h_t only (models.network)
            return (None,) * 6
        return _input_grads(ctx, x, w_ih, ctx.h_prev, d_x_proj, d_h_proj)
