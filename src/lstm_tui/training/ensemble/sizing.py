"""How many members one ensemble may hold: the bytes a member adds on its device, and
the budget of that device (``train_ensemble`` trains a bigger group in chunks)."""

from __future__ import annotations

import torch
from torch import Tensor

from lstm_tui.config import RunConfig
from lstm_tui.models import summarize
from lstm_tui.tasks import build_task
from lstm_tui.tasks.shapes import describe_task
from lstm_tui.training import placement

# Bytes of batched buffers one ensemble may hold; bigger groups train in chunks.
WORKSPACE_BUDGET = 2 * 2 ** 30
GPU_FREE_SHARE = 0.7     # of a GPU's free memory (the allocator's cache and cuBLAS need room)
PARAM_COPIES = 8         # per parameter: model, stacks, grad, 2 optimizer states, temporaries


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
