"""`--log-to mlflow|wandb` for real: runs and sweeps logged to a local MLflow sqlite store
(read back with MlflowClient) and to W&B offline (its run files read back); a tracker that
is down; a missing extra.  Nothing leaves this machine."""

from __future__ import annotations

import json
import socket
import struct
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from lstm_tui.runs.listing import read_config
from lstm_tui.runs.reader import read_jsonl
from lstm_tui.trackers import listen

pytestmark = pytest.mark.slow
runner = CliRunner()

TINY = """
name = "tiny"
description = "a tiny run for the trackers"
[task]
kind = "nth_element"
seq_len = 4
features = 5
n = 1
train_size = 64
val_size = 32
[model]
hidden = 4
[train]
steps = 10
eval_every = 5
log_every = 5
batch_size = 16
threads = 1
"""
EXPECT = '\n[expect]\n"val.loss" = { max = 1e9 }\n"val.accuracy" = { min = 2.0 }\n'
SWEEP = '\n[sweep]\ngrid = { "model.hidden" = [3, 4] }\n'
SET_BY_TRACKERS = ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
                   "MLFLOW_HTTP_REQUEST_TIMEOUT", "WANDB_SILENT")


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def _preset(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module", autouse=True)
def _installed():
    """Both trackers, imported when this module's first test runs rather than when it is
    collected (2 s in every test process, most of which run none of these)."""
    pytest.importorskip("mlflow")
    pytest.importorskip("wandb")


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    listen.reset_failures()
    for key in SET_BY_TRACKERS:         # the trackers set these: undone after each test
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)         # MLflow's artifacts and W&B's files land here
    yield
    listen.reset_failures()


# ---------------------------------------------------------------- MLflow

@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory) -> str:
    """One sqlite store for the module (making its tables takes seconds)."""
    import mlflow
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    mlflow.MlflowClient(uri).search_experiments()
    return uri


@pytest.fixture
def client(mlflow_uri, monkeypatch, request, tmp_path):
    """An experiment of the test's own, its artifacts under tmp_path (MLflow's default
    root is the folder its store was first opened in, which may be the repository)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", request.node.name)
    import mlflow
    client = mlflow.MlflowClient(mlflow_uri)
    client.create_experiment(request.node.name, artifact_location=str(tmp_path / "artifacts"))
    return client


def _runs(client, name: str) -> list:
    experiment = client.get_experiment_by_name(name)
    return client.search_runs([experiment.experiment_id], order_by=["attributes.run_name"])


def _steps(client, run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in sorted(client.get_metric_history(run_id, key),
                                              key=lambda m: m.step)]


def test_headless_logs_params_metrics_summary_expectations_and_files_to_mlflow(
        tmp_path, client, request):
    preset = _preset(tmp_path, TINY + EXPECT)
    result = _invoke("headless", preset, "--log-to", "mlflow", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    (run,) = _runs(client, request.node.name)
    assert run.info.run_name == run_dir.name and run.info.status == "FINISHED"
    # params: the flat config, as `lstm-lab runs` flattens it
    config = read_config(run_dir)
    assert run.data.params == {k: str(v) for k, v in config.items()
                               if k.startswith(("name", "task.", "model.", "train."))}
    assert run.data.params["train.log_to"] == "['mlflow']"
    # metrics: every record, at its step
    records = read_jsonl(run_dir / "metrics.jsonl")
    train = [(r["step"], r["loss"]) for r in records if r["split"] == "train"]
    val = [(r["step"], r["accuracy"]) for r in records if r["split"] == "val"]
    assert _steps(client, run.info.run_id, "train/loss") == pytest.approx(train)
    assert _steps(client, run.info.run_id, "val/accuracy") == pytest.approx(val)
    assert [s for s, _ in train] == [5, 10] and [s for s, _ in val] == [5, 10]
    # the summary's numbers at the last step, the verdicts and the status as tags
    summary = json.loads((run_dir / "summary.json").read_text())
    assert run.data.metrics["best"] == pytest.approx(summary["best"])
    assert _steps(client, run.info.run_id, "steps") == [(10, 10.0)]
    tags = run.data.tags
    assert tags["lstm_lab.status"] == "completed"
    assert tags["expect.val.loss"] == "met" and tags["expect.val.accuracy"] == "missed"
    assert tags["mlflow.note.content"] == "a tiny run for the trackers"
    assert tags["lstm_lab.run_dir"] == str(run_dir.resolve())
    # files: config, summary and the best checkpoint
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert names == {"config.toml", "summary.json", "best.pt"}
    local = client.download_artifacts(run.info.run_id, "summary.json", str(tmp_path))
    assert json.loads(Path(local).read_text()) == summary
    assert json.loads((run_dir / "trackers.json").read_text())["mlflow"]["run_id"] == \
        run.info.run_id


def test_tags_from_lstm_lab_tag_and_a_resume_land_in_the_same_mlflow_run(
        tmp_path, client, request):
    from lstm_tui.config import load_preset
    from lstm_tui.experiment import start_run
    cfg = load_preset(_preset(tmp_path, TINY), ["train.steps=30", "train.log_to=['mlflow']"])
    calls = []
    run_dir, last = start_run(cfg, tmp_path / "runs",
                              should_stop=lambda: calls.append(1) or len(calls) > 15)
    assert last.status == "interrupted"
    (run,) = _runs(client, request.node.name)
    assert run.info.status == "KILLED"
    result = _invoke("tag", run_dir, "+keeper", "+lstm", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    result = _invoke("headless", run_dir, "--resume", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    (run,) = _runs(client, request.node.name)       # the same run, continued
    assert run.info.status == "FINISHED"
    assert {"keeper", "lstm"} <= set(run.data.tags)
    steps = [s for s, _ in _steps(client, run.info.run_id, "train/loss")]
    assert steps[0] == 5 and steps[-1] == 30 and 15 in steps


@pytest.mark.parametrize("backend,workers", [("sequential", 1), ("processes", 2),
                                             ("ensemble", 1)])
def test_a_sweep_logs_each_point_as_a_child_of_one_parent_run(tmp_path, client, request,
                                                             backend, workers):
    preset = _preset(tmp_path, TINY + SWEEP)
    result = _invoke("sweep", preset, "--backend", backend, "--workers", workers,
                     "--log-to", "mlflow", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr, result.stderr
    (sweep_dir,) = (tmp_path / "runs").iterdir()
    runs = _runs(client, request.node.name)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert [p.info.run_name for p in parents] == [sweep_dir.name]
    assert parents[0].info.status == "FINISHED"
    assert sorted(c.info.run_name for c in children) == sorted(
        p.name for p in sweep_dir.iterdir() if p.is_dir())
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert child.info.status == "FINISHED"
        assert child.data.params["model.hidden"] in ("3", "4")
        assert [s for s, _ in _steps(client, child.info.run_id, "val/accuracy")] == [5, 10]
        assert {a.path for a in client.list_artifacts(child.info.run_id)} == \
            {"config.toml", "summary.json", "best.pt"}


def test_the_ray_driver_logs_each_point_and_ends_a_lost_try_as_killed(tmp_path, client,
                                                                     request):
    """The Ray backend's trackers live on the driver, beside its RunWriters (a stand-in
    for Ray plays the workers' real event streams; tests/unit/test_ray_backend.py)."""
    pytest.importorskip("ray")
    from tests.unit.test_ray_backend import _FakeRay, _real_items, _spec, _tasks
    from lstm_tui.sweeps.backends import ray as rb
    _, spec = _spec({"model.hidden": [3, 4]}, train={"log_to": ["mlflow"]})
    tasks = _tasks(tmp_path, spec)
    import ray
    crash = ray.exceptions.WorkerCrashedError()

    def script(configs, run_ids, call):
        items = _real_items(configs, run_ids)
        if run_ids == ["p0"] and call == 1:        # lost half-way, then tried again
            return items[:len(items) // 2], crash
        return items, None

    fake = _FakeRay(script)
    rb.Driver(fake, fake, [[t] for t in tasks], rb.RayOptions(retries=1), lambda m: None,
              lambda: False, workers=2).run()
    runs = _runs(client, request.node.name)
    by_status = sorted((r.info.run_name, r.info.status) for r in runs
                       if "mlflow.parentRunId" in r.data.tags)
    assert by_status == [("p0", "FINISHED"), ("p0", "KILLED"), ("p1", "FINISHED")]


def test_a_tracker_that_is_down_costs_seconds_and_one_warning(tmp_path, monkeypatch):
    with socket.socket() as sock:            # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    preset = _preset(tmp_path, TINY.replace("steps = 10", "steps = 40"))
    began = time.monotonic()
    result = _invoke("headless", preset, "--log-to", "mlflow", "--runs-dir", tmp_path / "runs")
    seconds = time.monotonic() - began
    assert result.exit_code == 0, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("warning: mlflow: ") and f"127.0.0.1:{port}" in lines[0]
    assert lines[0].endswith("not logging to mlflow again in this process (the run goes "
                             "on, its own folder complete)")
    assert seconds < 30        # MLflow's own retries would take minutes
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 40
    assert (run_dir / "best.pt").is_file() and not (run_dir / "trackers.json").exists()


# ---------------------------------------------------------------- W&B, offline

@pytest.fixture
def wandb_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_PROJECT", "lab-tests")
    yield tmp_path / "wandb"
    import wandb
    wandb.teardown()        # its settings (WANDB_DIR) are read once per process otherwise


def wandb_records(path: Path):
    """The records of a W&B run file (.wandb: a LevelDB-style log of protobuf Records),
    read with wandb's own protobuf definitions."""
    from wandb.proto import wandb_internal_pb2 as pb
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, block, buffer = 7, 32768, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:                         # a block's tail too short for a header
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if length == 0 and kind == 0:
            pos += left
            continue
        chunk = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        buffer = chunk if kind in (1, 2) else buffer + chunk     # FULL/FIRST, MIDDLE/LAST
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(buffer)
            yield record


def wandb_run(run_file: Path) -> dict:
    """What a W&B offline run holds: its run record, history rows, summary, artifacts."""
    out = {"history": [], "summary": {}, "artifacts": [], "exit": None}
    for record in wandb_records(run_file):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out["run"] = record.run
            out["config"] = {u.key: json.loads(u.value_json) for u in record.run.config.update}
        elif kind == "history":
            out["history"].append({"/".join(i.nested_key) or i.key: json.loads(i.value_json)
                                   for i in record.history.item})
        elif kind == "summary":
            for u in record.summary.update:
                out["summary"]["/".join(u.nested_key) or u.key] = json.loads(u.value_json)
        elif kind == "artifact":
            out["artifacts"].append(record.artifact)
        elif kind == "exit":
            out["exit"] = record.exit.exit_code
    return out


def test_headless_logs_to_wandb_offline(tmp_path, wandb_dir):
    preset = _preset(tmp_path, TINY + EXPECT)
    result = _invoke("headless", preset, "--log-to", "wandb", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr and "wandb:" not in result.stderr, result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    (run_file,) = wandb_dir.glob("offline-run-*/run-*.wandb")
    run = wandb_run(run_file)
    assert run["run"].display_name == run_dir.name and run["run"].project == "lab-tests"
    assert run["run"].notes == "a tiny run for the trackers"
    config = read_config(run_dir)
    assert {k: run["config"][k] for k in config if k.startswith(("task.", "model.", "train."))} \
        == {k: v for k, v in config.items() if k.startswith(("task.", "model.", "train."))}
    records = read_jsonl(run_dir / "metrics.jsonl")
    val = [(r["step"], r["accuracy"]) for r in records if r["split"] == "val"]
    assert [(h["_step"], h["val/accuracy"]) for h in run["history"] if "val/accuracy" in h] \
        == pytest.approx(val)
    assert [h["_step"] for h in run["history"] if "train/loss" in h] == [5, 10]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert run["summary"]["best"] == pytest.approx(summary["best"])
    assert run["summary"]["status"] == "completed"
    assert [v["met"] for v in run["summary"]["expectations"]] == [True, False]
    (artifact,) = run["artifacts"]
    assert artifact.type == "model" and artifact.name == f"lstm-lab-{run_dir.name}"
    assert {e.path for e in artifact.manifest.contents} == {"config.toml", "summary.json",
                                                            "best.pt"}
    assert run["exit"] == 0
    assert json.loads((run_dir / "trackers.json").read_text())["wandb"]["id"] == \
        run["run"].run_id


def test_a_sweep_groups_its_points_in_wandb(tmp_path, wandb_dir):
    preset = _preset(tmp_path, TINY + SWEEP)
    result = _invoke("sweep", preset, "--log-to", "wandb", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    (sweep_dir,) = (tmp_path / "runs").iterdir()
    runs = [wandb_run(p) for p in wandb_dir.glob("offline-run-*/run-*.wandb")]
    assert sorted(r["run"].display_name for r in runs) == sorted(
        p.name for p in sweep_dir.iterdir() if p.is_dir())
    assert {r["run"].run_group for r in runs} == {sweep_dir.name}
    assert sorted(r["config"]["model.hidden"] for r in runs) == [3, 4]


def test_a_wandb_server_that_is_down_is_one_warning_and_the_run_goes_on(tmp_path, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("WANDB_API_KEY", "0" * 40)
    monkeypatch.setenv("WANDB_INIT_TIMEOUT", "5")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    began = time.monotonic()
    result = _invoke("headless", _preset(tmp_path, TINY), "--log-to", "wandb",
                     "--runs-dir", tmp_path / "runs")
    import wandb
    wandb.teardown()
    assert result.exit_code == 0, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: wandb: "), result.stderr
    assert time.monotonic() - began < 60
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "completed"


# ---------------------------------------------------------------- bad input

def test_a_missing_extra_is_one_line_with_the_pip_command_and_exit_2(tmp_path, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "wandb" else real(name, *a))
    for command, text in (("headless", TINY), ("sweep", TINY + SWEEP)):
        preset = _preset(tmp_path, text)
        result = _invoke(command, preset, "--log-to", "wandb", "--runs-dir", tmp_path / "runs")
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == ("error: logging to wandb needs its extra: "
                                         "pip install 'lstm-lab[wandb]' "
                                         "(see docs/troubleshooting.md#missing-extra)")
        assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_an_unknown_tracker_is_one_line_with_a_hint(tmp_path):
    result = _invoke("headless", _preset(tmp_path, TINY), "--log-to", "mlfow")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: --log-to: must name trackers among mlflow, wandb, "
                                     "got 'mlfow' (did you mean 'mlflow'?)")

