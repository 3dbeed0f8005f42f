"""What a validation measures of a model: loss and metric over the validation set, the
gradient per time step, and a text sample for tasks with a vocabulary.

Both engines (training/engine.py, training/ensemble/) measure through these, on a normal
``SequenceModel``, so a validation figure is the same whichever engine trained the run.
"""

from __future__ import annotations

import copy
from typing import Callable

import torch

PROBE_BATCH = 256   # sequences used for the gradient-per-time-step view


def measure(model: torch.nn.Module, task, batch_size: int,
            on_first: Callable[[torch.Tensor], None] | None = None
            ) -> tuple[float, float, list[float]]:
    """One validation's figures: :func:`evaluate`'s (mean loss, metric), then
    :func:`probe_timestep_grads`' norms.

    When the probe's batch is the first validation batch (a stateless task validated in
    batches of PROBE_BATCH), the probe's forward gives that batch's output too: a forward
    fewer per validation (3% of a run of the sunspots preset).  That output comes from the
    probe's path (the kernel or the step loop), not the one evaluate would take (the fused
    module, a scan): the same math, to float rounding."""
    shared = not task.stateful and _val_batch(task, batch_size) == PROBE_BATCH
    outputs: list[torch.Tensor] = []
    norms = probe_timestep_grads(model, task, outputs.append if shared else None)
    loss, metric = evaluate(model, task, batch_size, on_first, outputs[0] if shared else None)
    return loss, metric, norms


def _val_batch(task, batch_size: int) -> int:
    """Sequences per validation batch: max(training batch, PROBE_BATCH), and no larger:
    the loss summed over them rounds by batch, so another size would change the recorded
    figure.  A stateful task keeps the training batch, which sets its streams."""
    return batch_size if task.stateful else max(batch_size, PROBE_BATCH)


@torch.inference_mode()
def evaluate(model: torch.nn.Module, task, batch_size: int,
             on_first: Callable[[torch.Tensor], None] | None = None,
             first: torch.Tensor | None = None) -> tuple[float, float]:
    """(mean loss, task metric) over the whole validation set; `on_first(output)` gets the
    first batch's output (a task's forecast view reads it instead of a forward of its own);
    `first`, when given, is that output already computed.

    Inference mode rather than no_grad: the same kernels (the same numbers) without
    autograd's bookkeeping, 10-30% faster here.  Batches of :func:`_val_batch` sequences."""
    was_training = model.training
    model.eval()
    loss_total, n, metric_total, metric_count, state = 0.0, 0, 0.0, 0, None
    for x, y in task.val_batches(_val_batch(task, batch_size)):
        if n == 0 and first is not None:
            output = first
        else:
            output, state = model(x, state if task.stateful else None)
        if on_first is not None and n == 0:
            on_first(output)
        rows = x.shape[0]
        loss_total = loss_total + task.loss(output, y) * rows
        n += rows
        total, count = task.metric_sum(output, y)
        metric_total = metric_total + total
        metric_count += count
    model.train(was_training)
    loss = float(loss_total) / max(n, 1)
    return loss, task.reduce_metric(float(metric_total), metric_count)


def probe_timestep_grads(model: torch.nn.Module, task,
                         on_output: Callable[[torch.Tensor], None] | None = None
                         ) -> list[float]:
    """‖∂L_T/∂h_t‖ per time step on the first validation batch (the vanishing-gradient
    view); `on_output` gets the model's output for that batch."""
    x, y = next(iter(task.val_batches(PROBE_BATCH)))
    return model.timestep_grad_norms(x[:PROBE_BATCH], y[:PROBE_BATCH], task.final_step_loss,
                                     on_output=on_output)


def sample_text(model: torch.nn.Module, task, task_cfg, seed: int) -> str:
    """`task_cfg.sample_length` characters drawn from the model at the configured
    temperature.  One character at a time costs two host syncs each on a GPU: it samples
    from a CPU copy."""
    from lstm_tui.models.sampling import generate
    return "".join(generate(cpu_copy(model), task.encode, task.decode, len(task.vocab),
                            prime="", length=task_cfg.sample_length,
                            temperature=task_cfg.sample_temperature, seed=seed,
                            device=torch.device("cpu")))


def cpu_copy(model: torch.nn.Module) -> torch.nn.Module:
    """The model itself when it is on the CPU, else a CPU copy of it (same weights and
    mode) for work that runs step by step, such as sampling text."""
    first = next(model.parameters(), None)
    if first is None or first.device.type == "cpu":
        return model
    return copy_to_cpu(model)


def copy_to_cpu(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of `model` whose tensors are copied straight to the CPU (no second copy on
    the device on the way)."""
    memo: dict[int, object] = {}
    for p in model.parameters():
        memo[id(p)] = torch.nn.Parameter(p.detach().to("cpu", copy=True),
                                         requires_grad=p.requires_grad)
    for b in model.buffers():
        memo[id(b)] = b.detach().to("cpu", copy=True)
    return copy.deepcopy(model, memo)
