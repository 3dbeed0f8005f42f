"""The ensemble backend: many same-shape runs trained at once as one batched model.

Over 600 lines because the batched recurrence, its hand-written backward pass and the
per-member bookkeeping are one hot path, measured as one unit by bench_ensemble.py;
splitting them would put the step's tensors behind module boundaries on every step.

Sweep points that share every tensor shape and the training schedule (task shapes, cell,
hidden, layers, batch, steps, log and validation intervals, optimizer type) but differ in
learning rate, seed, init, optimizer hyperparameters, noise, clipping or patience train
as M *members* of one model:

- every member is built exactly as ``engine.build`` builds its run (its own task and
  data from its seed, its own init under ``torch.manual_seed(seed)``, its own batch-order
  generator), and its parameters are copied into one flat ``(M, P)`` tensor;
- the members' batches are drawn in the order their own ``task.train_batches`` would
  draw them (one gather per step from stacked copies of their data, checked against the
  task's own batches at start-up, else the tasks' own iterators);
- the recurrent layers run all members at once with batched matmuls (``bmm``/``baddbmm``
  over the member axis) in a hand-written autograd function (``_Recurrent``): the
  forward loop writes each step into reused buffers, the backward is its own loop of a
  few batched ops per step (``torch.func.vmap`` cannot batch ``nn.LSTM``, and autograd
  over step-wise ops costs more than the arithmetic at these sizes);
- one backward of the sum of the members' mean losses gives every member the gradient
  of its own run; the gradient figures, clipping, the optimizers (SGD, momentum, Adam,
  RMSprop, Adagrad, with ``torch.optim``'s formulas) and the learning-rate schedule are
  applied per member on the flat stacks;
- each member emits exactly the events its own ``engine.train`` run would (windowed
  train metrics, per-parameter gradient figures under the single model's parameter
  names, validations, early stopping, divergence advice, checkpoints that a normal
  ``SequenceModel`` and ``engine.train(resume=...)`` load), so a RunWriter per member
  writes a normal run folder.  Losses equal the separate runs' to float rounding
  (~1e-6 after 50 steps; chaotic settings such as RMSprop at a high lr amplify it).

A member that diverges, stops early or fails (e.g. its listener raises) is finished and
its rows are dropped from the stacks; the others go on.  What a member reports is its
``training.record.Record``, the engine's own: validation is rare, so it loads the member's
row into its own ``SequenceModel`` and the record validates that, as for an engine run.

Not batched (such a config gets a group key of its own, and ``train_ensemble`` hands it
to ``engine.train``): lbfgs (a closure per run), dropout (its masks come from the global
RNG, so members could not equal their separate runs), and task kinds whose spec declares
no ``member_fields`` (char_lm carries its state across batches).  How a batch of members'
outputs is scored is the task's own ``member_scores``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

import torch
from torch import Tensor
from torch.nn import functional as F

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, RunConfig, config_to_dict
from lstm_tui.models import summarize
from lstm_tui.tasks import build_task, registry
from lstm_tui.tasks.shapes import describe_task
from lstm_tui.training import engine, placement
from lstm_tui.training.optim import learning_rate, set_lr
from lstm_tui.training.record import Emit, Record, SaveCheckpoint, failed
from lstm_tui.training.window import Gradients, Window
from lstm_tui.training.threads import apply_threads, step_work

Result = ev.Finished | ev.Failed

OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop", "adagrad")
CELLS = ("lstm", "gru", "rnn")
# Task fields members may differ in are the task spec's member_fields (registry).
MEMBER_MODEL_FIELDS = {"init", "forget_bias"}
MEMBER_TRAIN_FIELDS = {"lr", "momentum", "weight_decay", "lr_decay", "lr_decay_every",
                       "grad_clip", "patience", "monitor", "min_delta", "seed"}
# torch.optim's defaults, which optim.build_optimizer keeps
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8
RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-8
ADAGRAD_EPS = 1e-10
# Bytes of batched buffers one ensemble may hold; bigger groups train in chunks.
WORKSPACE_BUDGET = 2 * 2 ** 30
GPU_FREE_SHARE = 0.7     # of a GPU's free memory (the allocator's cache and cuBLAS need room)
PARAM_COPIES = 8         # per parameter: model, stacks, grad, 2 optimizer states, temporaries


# ---------------------------------------------------------------- grouping

def unbatchable_reason(cfg: RunConfig) -> str | None:
    """Why `cfg` cannot be an ensemble member (None when it can)."""
    spec = registry.get(cfg.task.kind)
    if spec is None or not spec.batchable:
        return f"task {cfg.task.kind} is not batched (stateful or unsupported)"
    if cfg.train.optimizer not in OPTIMIZERS:
        return f"optimizer {cfg.train.optimizer} needs a closure per run"
    if cfg.model.dropout > 0:
        return "dropout draws its masks from the global RNG"
    if cfg.model.cell not in CELLS:
        return f"unknown cell {cfg.model.cell}"
    return None


def group_key(cfg: RunConfig) -> Hashable:
    """Equal keys <=> the configs can train together as one ensemble.

    The key holds every field that shapes tensors or the training schedule; fields in
    the MEMBER_* sets may differ.  A config that cannot be batched gets a key of its
    own (its whole config), and `train_ensemble` trains such a group with the engine.
    """
    data = config_to_dict(cfg)
    for key in ("name", "description", "sweep"):
        data.pop(key, None)
    if unbatchable_reason(cfg) is not None:
        return ("engine", json.dumps(data, sort_keys=True, default=str))
    for name in registry.spec_of(cfg.task.kind).member_fields:
        data["task"].pop(name, None)
    for name in MEMBER_MODEL_FIELDS:
        data["model"].pop(name, None)
    for name in MEMBER_TRAIN_FIELDS:
        data["train"].pop(name, None)
    if data["train"]["steps"]:
        data["train"].pop("epochs")
    return ("ensemble", json.dumps(data, sort_keys=True, default=str))


def train_ensemble(configs: Sequence[RunConfig], emits: Sequence[Emit],
                   should_stop: Callable[[], bool] = lambda: False,
                   save_checkpoints: Sequence[SaveCheckpoint | None] | None = None,
                   *, run_ids: Sequence[str] | None = None,
                   member_stops: Sequence[Callable[[], Any]] | None = None) -> list[Result]:
    """Train configs of one group together; member i reports through emits[i] exactly as
    ``engine.train(configs[i], emits[i], should_stop, save_checkpoint=...)`` would.

    Returns each member's last event (Finished or Failed), in order.  A group of one, or
    of configs that cannot be batched, is trained run after run by the engine.
    ``member_stops[i]()``, asked after each of member i's validations, returns
    (status, why) to end that member there (a sweep scheduler's verdict): it leaves the
    stacks and the others go on.
    """
    configs, emits = list(configs), list(emits)
    saves = list(save_checkpoints) if save_checkpoints is not None else [None] * len(configs)
    ids = list(run_ids) if run_ids is not None else [""] * len(configs)
    stops = list(member_stops) if member_stops is not None else [None] * len(configs)
    if not (len(configs) == len(emits) == len(saves) == len(ids) == len(stops)):
        raise ValueError("train_ensemble: configs, emits and save_checkpoints differ in length")
    if not configs:
        return []
    keys = {group_key(c) for c in configs}
    if len(keys) > 1:
        raise ValueError("train_ensemble: the configs are not one group (group_key differs)")
    if len(configs) == 1 or unbatchable_reason(configs[0]) is not None:
        return [engine.train(c, e, _either(m, should_stop), run_id=i, save_checkpoint=s)
                for c, e, s, i, m in zip(configs, emits, saves, ids, stops)]
    size = max(1, workspace_budget(engine.select_device(configs[0].train.device))
               // member_bytes(configs[0]))
    if len(configs) > size:   # too big for one batch of buffers: chunk after chunk
        return [r for k in range(0, len(configs), size)
                for r in train_ensemble(configs[k:k + size], emits[k:k + size], should_stop,
                                        saves[k:k + size], run_ids=ids[k:k + size],
                                        member_stops=stops[k:k + size])]
    return _Ensemble(configs, emits, saves, ids, stops).run(should_stop)


def _either(member_stop: Callable[[], Any] | None, should_stop: Callable[[], bool]):
    if member_stop is None:
        return should_stop
    return lambda: member_stop() or should_stop()


def member_bytes(cfg: RunConfig) -> int:
    """About how many bytes one member adds to an ensemble on its device: the batched
    buffers of the recurrence (states, gates and their gradients of every step), its
    data (the stacked copy of its training set and its own validation set), and its
    parameters (its own model, its row of the stacks, the gradient, optimizer states
    and the update's temporaries), all float32 but the data as stored."""
    shape = describe_task(cfg.task)
    per_layer = 24 * cfg.model.hidden * shape.seq_len * cfg.train.batch_size * 4
    buffers = per_layer * cfg.model.layers * (2 if cfg.model.bidirectional else 1)
    task = build_task(cfg.task, cfg.train.seed)     # on the CPU: only its sizes are read
    data = 2 * sum(v.numel() * v.element_size() for v in vars(task).values()
                   if isinstance(v, Tensor))   # its task's tensors and the stacked copy
    params = summarize(cfg.model, task.input_size, task.output_size, task.seq_len,
                       task.readout).total
    return buffers + data + params * 4 * PARAM_COPIES


def workspace_budget(device: torch.device) -> int:
    """Bytes an ensemble may hold on `device`: WORKSPACE_BUDGET on the CPU; on a GPU,
    a share of what is free there now (within this process's memory fraction, when one
    was set), so a big group on a small card trains in chunks."""
    if device.type != "cuda":
        return WORKSPACE_BUDGET
    free, total = torch.cuda.mem_get_info(device)
    fraction = placement.memory_fraction()
    if fraction is not None:
        free = min(free, int(fraction * total) - torch.cuda.memory_reserved(device))
    return max(0, int(free * GPU_FREE_SHARE))


# ---------------------------------------------------------------- the batched recurrence

def _squash(x: Tensor, out: Tensor, activation: str, minus_one: Tensor) -> Tensor:
    """out = the cell activation of x, where x was computed doubled for tanh:
    tanh(z) = 2·sigmoid(2z) − 1, ~3× faster than torch.tanh on the CPU (and one
    sigmoid serves all four LSTM gates), within 2e-7 of it.  `out` may be `x`.
    "torch_tanh" is plain torch.tanh of an undoubled x: what the GPU path uses, where
    the trick gains nothing (see _activation)."""
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


def _activation(name: str, device: torch.device) -> str:
    """The activation the recurrence computes: the sigmoid-based tanh pays only on the CPU."""
    return "torch_tanh" if name == "tanh" and device.type != "cpu" else name


class _Workspace:
    """Big buffers kept from one step to the next.

    A fresh tensor of megabytes costs more in page faults than the arithmetic done in it
    (measured 12× on a 10 MB multiply), so the recurrence writes into these with `out=`.
    Buffers start as zeros (or `fill`); the recurrence relies on that for its
    h_{-1} = c_{-1} = 0 slots.
    """

    def __init__(self) -> None:
        self.buffers: dict[tuple, Tensor] = {}

    def get(self, key: tuple, shape: tuple[int, ...], like: Tensor, fill: float = 0.0) -> Tensor:
        buf = self.buffers.get(key)
        if buf is None or buf.shape != shape or buf.device != like.device:
            buf = self.buffers[key] = like.new_full(shape, fill)
        return buf


@dataclass(frozen=True)
class _Layer:
    """What a _Recurrent call computes (the non-tensor arguments)."""
    cell: str
    activation: str
    only_last: bool       # return only the final h (the top layer's "last" read-out)
    reverse: bool         # the backward direction of a bidirectional layer
    workspace: _Workspace
    key: tuple            # (layer, direction): its own buffers in the workspace


class _Recurrent(torch.autograd.Function):
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
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, spec: _Layer):
        ws, key, act, cell = spec.workspace, spec.key, spec.activation, spec.cell
        m, t, b, _ = x.shape
        hidden, gates = w_hh.shape[2], w_hh.shape[1]
        minus_one = x.new_full((), -1.0)
        k = 2.0 if act == "tanh" else 1.0            # the scale of what goes through tanh
        scale = x.new_ones(gates)
        if k != 1.0:
            scale[{"lstm": slice(2 * hidden, 3 * hidden), "gru": slice(2 * hidden, None),
                   "rnn": slice(None)}[cell]] = k
        b_hh = b_hh * scale
        bias = b_ih * scale if cell == "gru" else b_ih * scale + b_hh   # GRU: b_hn inside r·()
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
        if cell == "lstm":
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
        elif cell == "gru":
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
        if spec.only_last:
            return hs[:, 1 if spec.reverse else t].clone()
        return hs[:, 1:t + 1]

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
        if spec.cell == "gru":
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
            last = s == order[-1]
            if spec.cell == "lstm":
                q, p, f = saved
                dc = dh * p[s] if dc is None else torch.addcmul(dc * f[s + step], dh, p[s])
                dz = torch.mul(torch.cat((dc, dc, dc, dh), -1, out=joined), q[s], out=dxp_s[s])
                if not last:
                    dh_rec = torch.bmm(dz, w_hh)
            elif spec.cell == "gru":
                k, v, z = saved
                dxp = torch.mul(torch.cat((dh, dh, dh), -1, out=joined), k[s], out=dxp_s[s])
                dhp = torch.mul(dxp, v[s], out=dhp_s[s])
                if not last:
                    dh_rec = torch.baddbmm(dh * z[s], dhp, w_hh)
            else:
                dpre = torch.mul(dh, saved[0][s], out=dxp_s[s])
                if not last:
                    dh_rec = torch.bmm(dpre, w_hh)
        dxp = d_x_proj.view(m, t * b, gates)
        dhp = d_h_proj.view(m, t * b, gates)
        # (x^T dxp)^T: ~5x faster than dxp^T x for these shapes on the CPU
        d_w_ih = torch.bmm(x.reshape(m, t * b, -1).transpose(1, 2), dxp).transpose(1, 2)
        d_w_hh = torch.bmm(h_prev.reshape(m, t * b, -1).transpose(1, 2), dhp).transpose(1, 2)
        d_b_ih = dxp.sum(1)
        d_b_hh = d_b_ih if dhp is dxp else dhp.sum(1)
        d_x = None
        if ctx.needs_input_grad[0]:
            d_x = ws.get(spec.key + ("dx",), x.shape, x)
            torch.bmm(dxp, w_ih, out=d_x.view(m, t * b, -1))
        return d_x, d_w_ih, d_w_hh, d_b_ih, d_b_hh, None


# ---------------------------------------------------------------- one member's bookkeeping

@dataclass
class _Member:
    """One run of the group: its objects, its stopping state and its listeners."""
    cfg: RunConfig
    emit: Emit
    save: SaveCheckpoint | None
    exp: engine.Experiment | None    # task, model (validation, checkpoints), optimizer
    generator: torch.Generator | None
    lr: float
    result: Result | None = None
    run_id: str = ""
    record: Record | None = None      # what it reports: made when it starts
    stop: Callable[[], Any] | None = None   # a sweep scheduler's verdict, after validations


class _Ensemble:
    """The group's shared state: flat parameters, optimizer state, windows, members."""

    def __init__(self, configs: list[RunConfig], emits: list[Emit],
                 saves: list[SaveCheckpoint | None], run_ids: list[str],
                 stops: list[Callable[[], Any] | None] | None = None):
        self.configs, self.emits, self.saves, self.run_ids = configs, emits, saves, run_ids
        self.stops = stops or [None] * len(configs)
        self.members: list[_Member] = []     # in input order, never shrinks
        self.active: list[_Member] = []      # rows of the stacks, in order
        self.step = 0
        self.started = time.perf_counter()   # reset when training starts

    # ---- building

    def _setup(self) -> None:
        """The shared stacks, from the members' own models (built by engine.build)."""
        tc = self.configs[0].train
        first = self.active[0]
        task, model = first.exp.task, first.exp.model
        self.device = first.exp.device
        if any(mb.exp.device != self.device for mb in self.active):
            raise ValueError("train_ensemble: members resolved to different devices")
        self.names = [n for n, _ in model.named_parameters()]
        self.shapes = [tuple(p.shape) for p in model.parameters()]
        self.numels = [p.numel() for p in model.parameters()]
        self.n_params = sum(self.numels)
        # the group trains as one model of all its members: that is the work to thread
        apply_threads(tc.threads, step_work(self.n_params * len(self.active), tc.batch_size))
        self.kind, self.readout = task.kind, task.readout
        self.cell, self.activation = model.cell, model.activation
        self.layers, self.directions = model.layers, model.directions
        self.batch_size = tc.batch_size
        self.steps_per_epoch = task.steps_per_epoch(tc.batch_size)
        self.total_steps = tc.steps or tc.epochs * self.steps_per_epoch
        self.eval_every = tc.eval_every or self.steps_per_epoch
        self.log_every = tc.log_every
        self.optimizer = tc.optimizer
        # (P, K) 0/1 matrix: per-parameter sums of a flat (M, P) tensor in one matmul
        seg = torch.repeat_interleave(torch.arange(len(self.numels)), torch.tensor(self.numels))
        self.segments = F.one_hot(seg, len(self.numels)).float().to(self.device)
        self.theta = torch.stack([
            torch.cat([p.detach().reshape(-1) for p in mb.exp.model.parameters()])
            for mb in self.active]).requires_grad_()
        self.state = {name: torch.zeros_like(self.theta) for name in self._state_names()}
        self.workspace = _Workspace()
        self.data = _batches(self.active, self.batch_size, self.workspace)
        self._per_member_tensors()
        self.grads: Gradients | None = None   # of the last logging step, until its log

    def _state_names(self) -> tuple[str, ...]:
        return {"sgd": (), "momentum": ("momentum_buffer",), "adam": ("exp_avg", "exp_avg_sq"),
                "rmsprop": ("square_avg",), "adagrad": ("sum",)}[self.optimizer]

    def _column(self, values: list[float]) -> Tensor:
        return torch.tensor(values, dtype=self.theta.dtype, device=self.device).unsqueeze(1)

    def _per_member_tensors(self) -> None:
        """(M, 1) hyperparameters of the active members, in row order."""
        tcs = [mb.cfg.train for mb in self.active]
        self.lr = self._column([mb.lr for mb in self.active])
        self.weight_decay = self._column([t.weight_decay for t in tcs])
        self.any_decay = any(t.weight_decay > 0 for t in tcs)
        self.momentum = self._column([t.momentum for t in tcs])
        self.clip = self._column([t.grad_clip for t in tcs])
        self.any_clip = any(t.grad_clip > 0 for t in tcs)
        self.target_scale = self._column(
            [float(getattr(mb.exp.task, "target_scale", 1.0)) for mb in self.active]).squeeze(1)

    def _keep_only(self, rows: list[int]) -> None:
        """Drop the finished members' rows from every stack."""
        kept = {id(self.active[r]) for r in rows}
        for mb in self.active:
            if id(mb) not in kept:
                mb.exp = None          # its model and data: nothing reads them once it ended
        if not rows:
            self.active = []
            return
        index = torch.tensor(rows, dtype=torch.long, device=self.device)
        self.theta = self.theta.detach().index_select(0, index).requires_grad_()
        self.state = {k: v.index_select(0, index) for k, v in self.state.items()}
        if self.grads is not None:
            self.grads = self.grads.keep(index)
        self.active = [self.active[r] for r in rows]
        self.data.keep(rows)
        self._per_member_tensors()

    # ---- the model on the stacks

    def _params(self) -> dict[str, Tensor]:
        m = self.theta.shape[0]
        pieces = self.theta.split(self.numels, 1)
        return {n: p.view(m, *s) for n, p, s in zip(self.names, pieces, self.shapes)}

    def _forward(self, x: Tensor) -> Tensor:
        """x (M, T, B, I) -> output (M, B, O), or (M, T, B, O) when every step is read."""
        params = self._params()
        layer_in = x
        for k in range(self.layers):
            only_last = self.readout == "last" and k == self.layers - 1
            outs = []
            for d in range(self.directions):
                suffix = f"_l{k}{'_reverse' if d else ''}"
                w_ih, w_hh, b_ih, b_hh = (params[f"rnn.{kind}{suffix}"] for kind in
                                          ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                spec = _Layer(self.cell, _activation(self.activation, self.device), only_last,
                              d == 1, self.workspace,
                              (k, d))
                outs.append(_Recurrent.apply(layer_in, w_ih, w_hh, b_ih, b_hh, spec))
            layer_in = outs[0] if len(outs) == 1 else torch.cat(outs, -1)
        w, b = params["head.weight"], params["head.bias"]
        m = layer_in.shape[0]
        out = torch.baddbmm(b.unsqueeze(1), layer_in.reshape(m, -1, layer_in.shape[-1]),
                            w.transpose(1, 2))
        return out.view(*layer_in.shape[:-1], w.shape[1])

    def _score(self, out: Tensor, y: Tensor) -> tuple[Tensor, Tensor, int]:
        """Per-member (mean loss, metric sum) and the metric's count per member, as
        task.loss and task.metric_sum compute them (the order of the terms aside)."""
        return self.active[0].exp.task.member_scores(out, y, self.target_scale)

    # ---- gradients and optimizers

    def _update(self, grad: Tensor, step: int) -> None:
        """One optimizer step per member on the flat stacks (torch.optim's formulas)."""
        p, s, lr = self.theta.data, self.state, self.lr
        if self.any_decay:
            grad = grad.add(p * self.weight_decay)
        if self.optimizer == "sgd":
            p.sub_(lr * grad)
        elif self.optimizer == "momentum":
            buf = s["momentum_buffer"].mul_(self.momentum).add_(grad)
            p.sub_(lr * buf)
        elif self.optimizer == "adam":
            (beta1, beta2) = ADAM_BETAS
            s["exp_avg"].lerp_(grad, 1 - beta1)
            s["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = (s["exp_avg_sq"].sqrt() / math.sqrt(1 - beta2 ** step)).add_(ADAM_EPS)
            p.sub_(s["exp_avg"] / denom * (lr / (1 - beta1 ** step)))
        elif self.optimizer == "rmsprop":
            s["square_avg"].mul_(RMSPROP_ALPHA).addcmul_(grad, grad, value=1 - RMSPROP_ALPHA)
            p.sub_(grad / s["square_avg"].sqrt().add_(RMSPROP_EPS) * lr)
        elif self.optimizer == "adagrad":
            s["sum"].addcmul_(grad, grad)
            p.sub_(grad / s["sum"].sqrt().add_(ADAGRAD_EPS) * lr)

    def _optimizer_state(self, member: _Member, row: int) -> dict:
        """The member's optimizer state as its own torch optimizer's state_dict, so that
        ``engine.train(resume=...)`` continues from it.  The optimizer built for the member
        by ``engine.build`` is never stepped: at step 0 its state is the engine's."""
        opt = member.exp.optimizer
        set_lr(opt, member.lr)
        if self.step and self.state:
            slices = {k: v[row].detach().split(self.numels) for k, v in self.state.items()}
            for j, param in enumerate(member.exp.model.parameters()):
                state = {k: slices[k][j].view(self.shapes[j]).to("cpu", copy=True)
                         for k in slices}
                if self.optimizer != "momentum":
                    state["step"] = torch.tensor(float(self.step), dtype=torch.float32)
                opt.state[param] = state
        saved = opt.state_dict()
        opt.state.clear()      # the payload holds the only reference until it is written
        return saved

    # ---- the loop

    def run(self, should_stop: Callable[[], bool]) -> list[Result]:
        for cfg, emit, save, run_id, stop in zip(self.configs, self.emits, self.saves,
                                                 self.run_ids, self.stops):
            try:
                exp = engine.build(cfg)        # exactly the engine's data, init and optimizer
            except ConfigError:
                raise
            except Exception as exc:           # this run fails, as its engine run would
                mb = _Member(cfg, emit, save, None, None, cfg.train.lr, run_id=run_id)
                self._fail(mb, exc)
            else:
                mb = _Member(cfg, emit, save, exp, torch.Generator().manual_seed(cfg.train.seed),
                             learning_rate(cfg.train, 0), run_id=run_id)
            mb.stop = stop
            self.members.append(mb)
        self.active = [mb for mb in self.members if mb.result is None]
        if not self.active:
            return [mb.result for mb in self.members]
        try:
            self._setup()
            self._each(self._started)
            self._loop(should_stop)
        except ConfigError:
            raise
        except Exception as exc:  # a shared step that fails fails every member still going
            going = [mb for mb in self.active if mb.result is None]
            if not going:
                raise                 # nobody left to report it to: a bug, not a run's failure
            for mb in going:
                self._fail(mb, exc)
            self.active = []
        return [mb.result for mb in self.members]

    def _started(self, mb: _Member, row: int) -> None:
        mb.record = Record(mb.cfg, mb.exp.task, mb.exp.device, mb.emit, mb.save,
                           names=self.names, n_params=self.n_params,
                           steps_per_epoch=self.steps_per_epoch, clock=self._elapsed)
        mb.record.announce(mb.run_id, self.total_steps, 0, mb.exp.model)

    def _loop(self, should_stop: Callable[[], bool]) -> None:
        self.started = time.perf_counter()
        self.window = Window()
        while self.step < self.total_steps and self.active:
            self.data.new_epoch()
            while self.step < self.total_steps and self.active:
                batch = self.data.next()
                if batch is None:          # the epoch is over (equal for every member)
                    break
                if should_stop():
                    self._prepare_log()
                    self._each(self._interrupt)
                    return
                self._train_step(*batch)
        self._each(lambda mb, row: self._finish(mb, "completed", f"trained {self.step} steps"))

    def _train_step(self, x: Tensor, y: Tensor) -> None:
        """One optimizer step of every member, then its logs and validations."""
        lrs = [learning_rate(mb.cfg.train, self.step) for mb in self.active]
        if any(lr != mb.lr for lr, mb in zip(lrs, self.active)):
            for lr, mb in zip(lrs, self.active):
                mb.lr = lr
            self.lr = self._column(lrs)
        self.step += 1
        step = self.step
        logging_step = step % self.log_every == 0 or step == self.total_steps
        self.theta.grad = None
        losses, metric, count = self._score(self._forward(x), y)
        losses.sum().backward()   # member i's gradient is that of its own mean loss
        with torch.no_grad():
            grad = self.theta.grad
            if logging_step or self.any_clip:
                sq_sums = (grad * grad) @ self.segments                    # (M, K)
                total = sq_sums.sum(1).sqrt()
            if logging_step:   # before clipping: the raw gradient is what the seed plots
                abs_sums = grad.abs() @ self.segments
                self.grads = Gradients(
                    norm=total, norms=sq_sums.sqrt().t(),
                    means=abs_sums.t() / grad.new_tensor(self.numels).unsqueeze(1),
                    abs_total=abs_sums.sum(1))
            if self.any_clip:
                coef = (self.clip / (total.unsqueeze(1) + 1e-6)).clamp(max=1.0)
                grad.mul_(torch.where(self.clip > 0, coef, torch.ones_like(coef)))
            self._update(grad, step)
        self.window.add(losses.detach(), metric, count)
        eval_step = step % self.eval_every == 0 or step == self.total_steps
        if logging_step or eval_step:
            self._prepare_log()
            self._each(self._log)
            self.window = Window()
        if eval_step:
            t0 = time.perf_counter()
            self._each(self._validate)
            self.window.paused += time.perf_counter() - t0

    # ---- per-member events

    def _guard(self, mb: _Member, fn: Callable, *args) -> None:
        """Run one member's part; an exception (e.g. in its listener) fails only it."""
        try:
            fn(*args)
        except ConfigError:
            raise
        except Exception as exc:
            if mb.result is None:
                self._fail(mb, exc)

    def _each(self, fn: Callable[[_Member, int], None]) -> None:
        """`fn(member, row)` for every active member, then drop the ones that finished."""
        for row, mb in enumerate(list(self.active)):
            if mb.result is None:
                self._guard(mb, fn, mb, row)
        rows = [r for r, mb in enumerate(self.active) if mb.result is None]
        if len(rows) < len(self.active):
            self._keep_only(rows)

    def _fail(self, mb: _Member, exc: BaseException) -> None:
        mb.result = failed(exc, self.step)
        try:
            mb.emit(mb.result)
        except Exception:
            pass

    def _finish(self, mb: _Member, status: str, message: str = "") -> None:
        mb.result = mb.record.finish(status, message, self.step, mb.exp.model)

    def _elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _interrupt(self, mb: _Member, row: int) -> None:
        if self._log(mb, row):
            return
        self._checkpoint(mb, row, "last")
        self._finish(mb, "interrupted", f"stopped at step {self.step} by request")

    def _prepare_log(self) -> None:
        """The window's figures of every member, with one host sync for all of them."""
        self._figures = self.window.figures(self.grads) if self.window.count else []

    def _log(self, mb: _Member, row: int) -> bool:
        """Emit this member's window record; True when it diverged (and was finished)."""
        if not self._figures:
            return False
        stop = mb.record.log(self.step, self._figures[row], mb.lr)
        if stop:
            self._finish(mb, *stop)
        return stop is not None

    def _load_row(self, mb: _Member, row: int) -> None:
        """Copy the member's parameters from the stacks into its own SequenceModel."""
        with torch.no_grad():
            for param, piece in zip(mb.exp.model.parameters(),
                                    self.theta[row].detach().split(self.numels)):
                param.copy_(piece.view(param.shape))

    def _checkpoint(self, mb: _Member, row: int, tag: str) -> None:
        def states() -> tuple[dict, dict]:
            self._load_row(mb, row)
            # copied to the CPU: a checkpoint never holds device memory after it is written
            model = {k: v.detach().to("cpu", copy=True)
                     for k, v in mb.exp.model.state_dict().items()}
            return model, self._optimizer_state(mb, row)
        mb.record.checkpoint(tag, self.step, states, mb.generator)

    def _validate(self, mb: _Member, row: int) -> None:
        """The record's validation of one member, on its own SequenceModel; then its
        sweep scheduler's verdict."""
        self._load_row(mb, row)
        stop = mb.record.validate(self.step, mb.exp.model, mb.lr,
                                  lambda tag: self._checkpoint(mb, row, tag))
        if stop:
            self._finish(mb, *stop)
        elif mb.stop is not None and self.step < self.total_steps:
            verdict = mb.stop()
            if verdict:
                self._finish(mb, *verdict)


# ---------------------------------------------------------------- the members' batches

def _batches(members: list[_Member], batch_size: int, workspace: _Workspace):
    """The fast stacked batches when they reproduce task.train_batches exactly (checked
    on the first member's first batch), else each member's own task.train_batches."""
    try:
        fast = _StackedBatches(members, batch_size, workspace)
    except (AttributeError, ValueError, RuntimeError):
        return _TaskBatches(members, batch_size, workspace)
    task, gen = members[0].exp.task, members[0].generator
    probe = _StackedBatches(members[:1], batch_size, _Workspace(),
                            [torch.Generator().set_state(gen.get_state())])
    probe.new_epoch()
    mine = probe.next()
    theirs = _TaskBatches.layout(
        [next(iter(task.train_batches(batch_size, torch.Generator().set_state(gen.get_state()))))],
        _Workspace())
    if all(u.shape == v.shape and u.dtype == v.dtype and torch.equal(u, v)
           for u, v in zip(mine, theirs)):
        return fast
    return _TaskBatches(members, batch_size, workspace)


class _TaskBatches:
    """Each member's own `task.train_batches`, stacked per step (any task)."""

    def __init__(self, members: list[_Member], batch_size: int, workspace: _Workspace):
        self.members, self.batch_size, self.workspace = list(members), batch_size, workspace
        self.iters: list = []

    def new_epoch(self) -> None:
        self.iters = [mb.exp.task.train_batches(self.batch_size, mb.generator)
                      for mb in self.members]

    def next(self) -> tuple[Tensor, Tensor] | None:
        try:
            return self.layout([next(it) for it in self.iters], self.workspace,
                               self.members[0].exp.task.readout == "all")
        except StopIteration:
            return None

    def keep(self, rows: list[int]) -> None:
        self.members = [self.members[r] for r in rows]
        self.iters = [self.iters[r] for r in rows]

    @staticmethod
    def layout(batches: list[tuple[Tensor, Tensor]], workspace: _Workspace,
               per_step: bool = True):
        """Batches stacked time-major within each member: x (M, T, B, I) and y (M, B),
        or (M, T, B) when there is a target per step (`per_step`), or (M, B, O) when a
        single read-out has several targets."""
        xs = [bx.transpose(0, 1) for bx, _ in batches]
        x = workspace.get(("x",), (len(xs), *xs[0].shape), xs[0])
        torch.stack(xs, out=x)
        y = torch.stack([by.transpose(0, 1) if by.dim() > 1 and per_step else by
                         for _, by in batches])
        return x, y


class _StackedBatches:
    """All members' batches at once from stacked copies of their data.

    Reproduces what the tasks' train_batches do (shuffled_batches: one randperm per
    epoch from the member's generator, full batches in that order; integer codes made
    one-hot) with one gather per step instead of a few small ops per member.
    """

    MAX_BYTES = 512 * 2 ** 20

    def __init__(self, members: list[_Member], batch_size: int, workspace: _Workspace,
                 generators: list[torch.Generator] | None = None):
        tasks = [mb.exp.task for mb in members]
        if any(not registry.spec_of(t.kind).batchable or not hasattr(t, "x") for t in tasks):
            raise ValueError("not a stackable task")
        self.x = torch.stack([t.x for t in tasks])
        self.y = torch.stack([t.y for t in tasks])
        if self.x.numel() * self.x.element_size() > self.MAX_BYTES:
            raise ValueError("too big to stack")
        self.width = 0 if self.x.is_floating_point() else tasks[0].input_size
        self.classify = not self.y.is_floating_point()
        self.generators = generators or [mb.generator for mb in members]
        self.workspace = workspace
        n = self.x.shape[1]
        self.size = min(batch_size, n)
        self.starts = list(range(0, n - self.size + 1, self.size))
        self.perms: Tensor | None = None
        self.position = 0

    def new_epoch(self) -> None:
        n = self.x.shape[1]
        self.perms = torch.stack([torch.randperm(n, generator=g)
                                  for g in self.generators]).to(self.x.device)
        self.position = 0

    def next(self) -> tuple[Tensor, Tensor] | None:
        if self.position >= len(self.starts):
            return None
        start = self.starts[self.position]
        self.position += 1
        idx = self.perms[:, start:start + self.size]                       # (M, B)
        rows = torch.arange(idx.shape[0], device=idx.device).unsqueeze(1)
        xb, yb = self.x[rows, idx].transpose(1, 2), self.y[rows, idx]    # (M, T, B, ...)
        if self.width:
            x = self.workspace.get(("x",), (*xb.shape, self.width),
                                   torch.empty(0, device=xb.device))
            x.zero_().scatter_(-1, xb.long().unsqueeze(-1), 1.0)
        else:
            x = self.workspace.get(("x",), tuple(xb.shape), xb)
            x.copy_(xb)
        if yb.dim() > 2:
            yb = yb.transpose(1, 2)
        return x, (yb.long() if self.classify else yb)

    def keep(self, rows: list[int]) -> None:
        index = torch.tensor(rows, dtype=torch.long, device=self.x.device)
        self.x, self.y = self.x.index_select(0, index), self.y.index_select(0, index)
        self.generators = [self.generators[r] for r in rows]
        if self.perms is not None:
            self.perms = self.perms.index_select(0, index)


__all__ = ["group_key", "member_bytes", "train_ensemble", "unbatchable_reason"]
