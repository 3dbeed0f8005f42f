"""One run of an ensemble group: its config and listeners, its own task, model and
optimizer (built exactly as ``engine.build`` builds its run), its record and its result.

The member's own ``SequenceModel`` is where its row of the stacks is loaded for what
runs rarely: validations, checkpoints, the final report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, RunConfig
from lstm_tui.training import engine
from lstm_tui.training.optim import learning_rate
from lstm_tui.training.record import Emit, Record, SaveCheckpoint, failed

Result = ev.Finished | ev.Failed


@dataclass
class _Member:
    """One run of the group: its objects, its listeners, its record and its result."""
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

    def fail(self, exc: BaseException, step: int) -> None:
        """End the member with a Failed event (its listener may be what failed)."""
        self.result = failed(exc, step)
        try:
            self.emit(self.result)
        except Exception:
            pass

    def load_row(self, row: Tensor, numels: list[int]) -> None:
        """Copy the member's row of the stacks into its own SequenceModel."""
        with torch.no_grad():
            for param, piece in zip(self.exp.model.parameters(), row.detach().split(numels)):
                param.copy_(piece.view(param.shape))

    def model_state(self) -> dict:
        """Its model's state_dict, copied to the CPU: a checkpoint never holds device
        memory after it is written."""
        return {k: v.detach().to("cpu", copy=True)
                for k, v in self.exp.model.state_dict().items()}


def build_members(configs: list[RunConfig], emits: list[Emit],
                  saves: list[SaveCheckpoint | None], run_ids: list[str],
                  stops: list[Callable[[], Any] | None]) -> list[_Member]:
    """Every config's member, built as ``engine.build`` builds its run (its own task and
    data from its seed, its own init, its own batch-order generator); one that cannot be
    built has failed at step 0, as its engine run would."""
    members = []
    for cfg, emit, save, run_id, stop in zip(configs, emits, saves, run_ids, stops):
        try:
            exp = engine.build(cfg)        # exactly the engine's data, init and optimizer
        except ConfigError:
            raise
        except Exception as exc:           # this run fails, as its engine run would
            mb = _Member(cfg, emit, save, None, None, cfg.train.lr, run_id=run_id)
            mb.fail(exc, 0)
        else:
            mb = _Member(cfg, emit, save, exp, torch.Generator().manual_seed(cfg.train.seed),
                         learning_rate(cfg.train, 0), run_id=run_id)
        mb.stop = stop
        members.append(mb)
    return members
