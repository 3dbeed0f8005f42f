"""A run in MLflow, through ``MlflowClient`` (never the fluent API: its one active run per
process cannot hold the several runs an ensemble trains at once).

Where: ``MLFLOW_TRACKING_URI`` (else MLflow's own default, ``sqlite:///mlflow.db`` in the
current folder), the experiment ``MLFLOW_EXPERIMENT_ID`` or ``MLFLOW_EXPERIMENT_NAME``
(else ``lstm-lab``).  A sweep's points are children of one parent run per sweep folder,
found again through the folder's trackers.json.  A server that is down must cost seconds,
so the HTTP retries and timeout are cut unless the environment sets them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from filelock import FileLock

from lstm_tui.fsio import atomic_write_json, read_json_object
from lstm_tui.trackers.listen import RECORD, End, Group, Start

EXPERIMENT = "lstm-lab"
QUICK = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",     # MLflow's default: 7, backoff 2 (minutes)
         "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
         "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}         # MLflow's default: 120 s a request
STATUS = {"completed": "FINISHED", "stopped_early": "FINISHED", "pruned": "FINISHED",
          "interrupted": "KILLED", "diverged": "FAILED", "failed": "FAILED"}
BATCH = 1000           # metrics per log_batch call (MLflow takes up to 1000)
MAX_PARAM = 6000       # characters of a param value MLflow keeps


def destination() -> str:
    """Which MLflow this process logs to (a failure is remembered per destination)."""
    return os.environ.get("MLFLOW_TRACKING_URI", "") or "default"


def open_sink(start: Start) -> MlflowSink:
    for key, value in QUICK.items():
        os.environ.setdefault(key, value)
    from mlflow import MlflowClient
    return MlflowSink(MlflowClient(), start)


class MlflowSink:
    def __init__(self, client: Any, start: Start):
        from mlflow.entities import Param
        self.client = client
        self.uri = client.tracking_uri
        previous = start.previous
        self.parent = None
        if previous.get("run_id") and previous.get("uri") == self.uri:   # a resumed run
            self.run_id = previous["run_id"]
            self.experiment_id = previous.get("experiment_id", "")
            client.update_run(self.run_id, status="RUNNING")
            self.parent = previous.get("parent")
        else:
            self.experiment_id = experiment(client)
            tags = {"lstm_lab.run_dir": str(start.run_dir.resolve()),
                    **{t: "" for t in start.tags}}
            if start.description:
                tags["mlflow.note.content"] = start.description
            if start.group is not None:
                self.parent = parent_run(client, self.experiment_id, start.group)
                tags.update({"mlflow.parentRunId": self.parent,
                             "lstm_lab.sweep": start.group.name})
            run = client.create_run(self.experiment_id, run_name=start.run_name, tags=tags)
            self.run_id = run.info.run_id
            params = [Param(k, str(v)[:MAX_PARAM]) for k, v in start.params.items()]
            for i in range(0, len(params), 100):
                client.log_batch(self.run_id, params=params[i:i + 100])
        if self.parent:
            client.update_run(self.parent, status="RUNNING")
        self.record = {"uri": self.uri, "experiment_id": self.experiment_id,
                       "run_id": self.run_id, "parent": self.parent}

    def log(self, rows: list[tuple[int, dict[str, float]]]) -> None:
        from mlflow.entities import Metric
        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, step) for step, values in rows
                   for key, value in values.items()]
        for i in range(0, len(metrics), BATCH):
            self.client.log_batch(self.run_id, metrics=metrics[i:i + BATCH])

    def close(self, end: End) -> None:
        from mlflow.entities import RunTag
        if end.numbers:
            self.log([(end.step, end.numbers)])
        tags = [RunTag(t, "") for t in end.tags]
        tags.append(RunTag("lstm_lab.status", end.status))
        for verdict in end.summary.get("expectations") or []:
            if isinstance(verdict, dict) and isinstance(verdict.get("key"), str):
                tags.append(RunTag(f"expect.{verdict['key']}",
                                   "met" if verdict.get("met") else "missed"))
        if end.note:
            tags.append(RunTag("mlflow.note.content", end.note))
        self.client.log_batch(self.run_id, tags=tags)
        for path in end.files:
            self.client.log_artifact(self.run_id, str(path))
        self.client.set_terminated(self.run_id, STATUS.get(end.status, "FAILED"))
        if self.parent:      # the last point to end leaves it finished
            self.client.set_terminated(self.parent, "FINISHED")


def experiment(client: Any) -> str:
    """The experiment's id: MLFLOW_EXPERIMENT_ID, else the one named by
    MLFLOW_EXPERIMENT_NAME (or lstm-lab), made when missing."""
    if os.environ.get("MLFLOW_EXPERIMENT_ID"):
        return os.environ["MLFLOW_EXPERIMENT_ID"]
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:        # made meanwhile by a run beside this one
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def parent_run(client: Any, experiment_id: str, group: Group) -> str:
    """The sweep's parent run: the one its folder names, else a new one (under the folder's
    lock, so points starting together in several processes make only one)."""
    folder = Path(group.folder)
    with FileLock(folder / ".trackers.lock"):     # an OS lock on every platform
        data = read_json_object(folder / RECORD) or {}
        known = data.get("mlflow") if isinstance(data.get("mlflow"), dict) else {}
        if known.get("uri") == client.tracking_uri and \
                known.get("experiment_id") == experiment_id and known.get("run_id"):
            return known["run_id"]
        run = client.create_run(experiment_id, run_name=group.name,
                                tags={"lstm_lab.sweep_dir": str(folder.resolve())})
        data["mlflow"] = {"uri": client.tracking_uri, "experiment_id": experiment_id,
                          "run_id": run.info.run_id}
        atomic_write_json(folder / RECORD, data)
        return run.info.run_id
