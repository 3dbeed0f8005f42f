"""A run in Weights & Biases, through ``wandb.init(reinit="create_new")`` (an ensemble
trains several runs in one process; each keeps its own W&B run).

W&B's own environment is honoured: ``WANDB_MODE`` (offline writes under ``WANDB_DIR``,
else ``./wandb``; ``wandb sync`` uploads later), ``WANDB_PROJECT`` (else ``lstm-lab``),
``WANDB_ENTITY``, ``WANDB_API_KEY``.  A sweep's points share one group, the sweep folder's
name.  Unless the environment says otherwise, W&B stays quiet (our progress bar is the
output), does not capture the console, and gives up on a server after 30 s at the start
and 60 s at the end (what was not sent stays on disk for ``wandb sync``).
"""

from __future__ import annotations

import os
import re
from typing import Any

from lstm_tui.trackers.listen import End, Start

PROJECT = "lstm-lab"
DEFAULTS = {"console": ("WANDB_CONSOLE", "off"),
            "init_timeout": ("WANDB_INIT_TIMEOUT", 30.0),
            "finish_timeout": ("WANDB_FINISH_TIMEOUT", 60.0)}
OK = ("completed", "stopped_early", "pruned")


def destination() -> str:
    return f"{os.environ.get('WANDB_MODE', 'online')}:{os.environ.get('WANDB_BASE_URL', '')}"


def open_sink(start: Start) -> WandbSink:
    os.environ.setdefault("WANDB_SILENT", "true")     # its login lines too, not only init's
    import wandb
    return WandbSink(wandb, start)


class WandbSink:
    def __init__(self, wandb: Any, start: Start):
        self.wandb = wandb
        settings = wandb.Settings(**{name: value for name, (env, value) in DEFAULTS.items()
                                     if env not in os.environ})
        previous = start.previous.get("id") if start.previous.get("project") else None
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT") or PROJECT, name=start.run_name,
            group=start.group.name if start.group else None,
            job_type="sweep-point" if start.group else None,
            config={**start.params, "lstm_lab.run_dir": str(start.run_dir.resolve())},
            tags=list(start.tags) or None, notes=start.description or None,
            id=previous, resume="allow" if previous else None,
            reinit="create_new", settings=settings)
        self.name = start.run_name
        self.record = {"id": self.run.id, "project": self.run.project,
                       "mode": os.environ.get("WANDB_MODE", "online")}

    def log(self, rows: list[tuple[int, dict[str, float]]]) -> None:
        for step, values in rows:
            self.run.log(values, step=step)

    def close(self, end: End) -> None:
        summary = dict(end.numbers)
        summary["status"] = end.status
        if end.summary.get("expectations"):
            summary["expectations"] = end.summary["expectations"]
        self.run.summary.update(summary)
        if end.tags:
            self.run.tags = tuple(dict.fromkeys([*(self.run.tags or ()), *end.tags]))
        if end.note:
            self.run.notes = end.note
        if end.files:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"lstm-lab-{self.name}")[:120]
            artifact = self.wandb.Artifact(name, type="model",
                                           metadata={"status": end.status, "step": end.step})
            for path in end.files:
                artifact.add_file(str(path), name=path.name)
            self.run.log_artifact(artifact)
        self.run.finish(exit_code=0 if end.status in OK else 1)
