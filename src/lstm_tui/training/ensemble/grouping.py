"""Which configs can train together as one ensemble (no torch here: the sweep driver and
its scheduler group points before anything trains).

Sweep points that share every tensor shape and the training schedule (task shapes, cell,
hidden, layers, batch, steps, log and validation intervals, optimizer type) but differ in
learning rate, seed, init, optimizer hyperparameters, noise, clipping or patience train
as members of one model.

Not batched (such a config gets a group key of its own, and ``train_ensemble`` hands it
to ``engine.train``): lbfgs (a closure per run), dropout (its masks come from the global
RNG, so members could not equal their separate runs), and task kinds whose spec declares
no ``member_fields`` (char_lm carries its state across batches).
"""

from __future__ import annotations

import json
from typing import Hashable

from lstm_tui.config import RunConfig, config_to_dict
from lstm_tui.models.cells import registry as cells
from lstm_tui.tasks import registry

OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop", "adagrad")   # ensemble/optim.py's
# Task fields members may differ in are the task spec's member_fields (registry).
MEMBER_MODEL_FIELDS = {"init", "forget_bias"}
MEMBER_TRAIN_FIELDS = {"lr", "momentum", "weight_decay", "lr_decay", "lr_decay_every",
                       "grad_clip", "patience", "monitor", "min_delta", "seed"}


def unbatchable_reason(cfg: RunConfig) -> str | None:
    """Why `cfg` cannot be an ensemble member (None when it can)."""
    spec = registry.get(cfg.task.kind)
    if spec is None or not spec.batchable:
        return f"task {cfg.task.kind} is not batched (stateful or unsupported)"
    if cfg.train.optimizer not in OPTIMIZERS:
        return f"optimizer {cfg.train.optimizer} needs a closure per run"
    if cfg.model.dropout > 0:
        return "dropout draws its masks from the global RNG"
    if cells.get(cfg.model.cell) is None:       # every registered cell batches (generic.py)
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
