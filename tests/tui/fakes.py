"""A fake trainer for the app: scripted engine events, delivered synchronously.

It goes through the same path as the real one (inbox + TrainingEvents message), so the
app cannot tell them apart; no process, no torch, no clock.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

from lstm_tui import events as ev
from lstm_tui.config import RunConfig, config_to_dict
from lstm_tui.models.summary import summarize
from lstm_tui.tasks.shapes import describe_task
from lstm_tui.tui.inbox import EventInbox
from lstm_tui.tui.worker import RunCreated, post_events


def started(cfg: RunConfig, run_id: str = "fake-run", total_steps: int = 1000) -> ev.RunStarted:
    shape = describe_task(cfg.task)
    summary = summarize(cfg.model, shape.input_size, shape.output_size, shape.seq_len,
                        shape.readout)
    return ev.RunStarted(run_id=run_id, config=config_to_dict(cfg), summary=summary,
                         device="cpu", total_steps=total_steps, steps_per_epoch=100,
                         dataset_size=shape.train_size, metric=shape.metric, goal=shape.goal)


def step(cfg: RunConfig, n: int, loss: float | None = None) -> ev.StepMetrics:
    """A deterministic train record at step n (loss falls, metric rises)."""
    loss = 2.3 * math.exp(-n / 300) + 0.05 if loss is None else loss
    layers = cfg.model.layers
    norms = {f"rnn.weight_hh_l{k}": 0.5 / (k + 1) * math.exp(-n / 500) + 0.01
             for k in range(layers)}
    norms |= {f"rnn.weight_ih_l{k}": 0.2 / (k + 1) for k in range(layers)}
    norms |= {"head.weight": 0.3 * math.exp(-n / 400) + 0.02, "head.bias": 0.05}
    return ev.StepMetrics(step=n, epoch=n // 100, loss=loss, metric=1 - loss / 2.4, lr=0.01,
                          grad_norm=1.5 * math.exp(-n / 400) + 0.05, grad_norms=norms,
                          grad_means={k: v / 10 for k, v in norms.items()},
                          mean_abs_grad=0.01, steps_per_sec=250.0, seconds=n / 250)


def validation(n: int, seq_len: int = 5, best: float = 0.9) -> list:
    loss = 2.3 * math.exp(-n / 300) + 0.1
    return [ev.ValMetrics(step=n, epoch=n // 100, loss=loss, metric=1 - loss / 2.4,
                          best=best, is_best=True, seconds=n / 250),
            ev.TimestepGradients(step=n, norms=tuple(10 ** (-(seq_len - 1 - t) * (1 + n / 500))
                                                     for t in range(seq_len)))]


def training_script(cfg: RunConfig, steps: int = 400, every: int = 10,
                    finish: bool = False, run_id: str = "fake-run",
                    root: Path = Path("runs")) -> list:
    """RunCreated, RunStarted, train records every `every` steps, a validation every 100."""
    events: list = [RunCreated(str(root / run_id)), started(cfg, run_id)]
    for n in range(every, steps + 1, every):
        events.append(step(cfg, n))
        if n % 100 == 0:
            events += validation(n, getattr(cfg.task, "seq_len", 5), best=1 - 0.1 * 100 / n)
    if cfg.task.kind == "char_lm":
        events.append(ev.TextSample(step=steps, temperature=0.8, text="the quick brown fox"))
    if finish:
        events.append(ev.Finished(status="completed", step=steps, seconds=steps / 250,
                                  best=0.9, final=0.88))
    return events


class FakeHandle:
    def __init__(self, key: str, post) -> None:
        self.key = key
        self.inbox = EventInbox()
        self.post = post
        self.stopped = False
        self.ended = False

    def emit(self, *events) -> None:
        post_events(self.post, self.key, self.inbox, list(events))
        self.ended = self.ended or any(isinstance(e, (ev.Finished, ev.Failed)) for e in events)

    def stop(self) -> None:
        self.stopped = True
        self.emit(ev.Finished(status="interrupted", step=0, seconds=0.0, best=None,
                              final=None, message="stopped from the app"))

    def wait(self, timeout: float) -> bool:
        return True

    @property
    def alive(self) -> bool:
        return not self.ended


class FakeTrainer:
    """start() emits `script(cfg)` at once; the handles are kept for the test to drive."""

    def __init__(self, script: Callable[[RunConfig], list] | None = None) -> None:
        self.script = script or (lambda cfg: training_script(cfg))
        self.handles: list[FakeHandle] = []
        self.configs: list[RunConfig] = []

    def start(self, cfg: RunConfig, root: Path, post) -> FakeHandle:
        handle = FakeHandle(f"fake-{len(self.handles) + 1}", post)
        self.handles.append(handle)
        self.configs.append(cfg)
        handle.emit(*self.script(cfg))
        return handle
