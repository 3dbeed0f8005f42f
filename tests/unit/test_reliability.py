"""Issue 12's reliability trials, one test each (most important first)."""

from __future__ import annotations

import errno
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lstm_tui import events as ev
from lstm_tui.config import ConfigError, parse_config
from lstm_tui import fsio
from lstm_tui.runs import liveness, reader
from lstm_tui.runs.behind import WriteBehind
from lstm_tui.runs.lock import FolderLock, LockHeld
from lstm_tui.runs.layout import SUMMARY, WRITER_LOCK, RunError
from lstm_tui.runs.reader import read_info
from lstm_tui.runs.summary import read_summary
from lstm_tui.runs.writer import RunWriter

DATA = Path(__file__).parents[1] / "data" / "broken_runs"


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def interrupted(tmp_path) -> Path:
    """The corpus' good run, as if its writer had been killed mid-run."""
    run = tmp_path / "runs" / "r"
    shutil.copytree(DATA / "good-run", run)
    data = json.loads((run / SUMMARY).read_text())
    data.update(status="interrupted", steps=3)
    (run / SUMMARY).write_text(json.dumps(data))
    return run


# 1. a resume of a run that is still being written is refused ---------------------------

def test_resume_of_a_live_run_is_refused_and_changes_nothing(interrupted):
    from lstm_tui.experiment import resume_run
    writer = FolderLock(interrupted / WRITER_LOCK).acquire()   # the live writer's lock
    before = digest(interrupted)
    with pytest.raises(RunError, match=f"still being written by pid {os.getpid()}"):
        resume_run(interrupted)
    assert digest(interrupted) == before
    writer.release()
    run_dir, last = resume_run(interrupted)      # once the writer is gone, it resumes
    assert isinstance(last, ev.Finished) and last.status == "completed"
    assert not (interrupted / WRITER_LOCK).exists()


def test_a_second_writer_of_one_folder_is_refused(tmp_path):
    cfg = parse_config({})
    first = RunWriter(tmp_path, cfg)
    with pytest.raises(RunError, match="still being written"):
        RunWriter(tmp_path, cfg, resume=True)
    first(ev.Failed(error="x", step=0))           # ending releases the lock
    RunWriter(tmp_path, cfg, resume=True).close()


# 2. two drivers (or writers) started at the same instant: exactly one gets in ----------

def _contend(path: str, start: float, results) -> None:
    time.sleep(max(0.0, start - time.time()))
    try:
        lock = FolderLock(Path(path)).acquire()
        results.put("got")
        time.sleep(0.5)
        lock.release()
    except LockHeld:
        results.put("refused")


def test_an_os_lock_admits_exactly_one_of_simultaneous_contenders(tmp_path):
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    start = time.time() + 0.5
    procs = [ctx.Process(target=_contend, args=(str(tmp_path / ".lock"), start, results))
             for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(20)
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    assert outcomes == ["got"] + ["refused"] * 5


# 3. a refused resume leaves the folder byte for byte as it was --------------------------

@pytest.mark.parametrize("edit", ["vocabulary", "shape"])
def test_a_refused_resume_changes_nothing(interrupted, edit):
    from lstm_tui.experiment import resume_run
    config = (interrupted / "config.toml").read_text()
    if edit == "vocabulary":
        config = config.replace('normalize = "text8"', 'normalize = "none"', 1)
    else:
        config = config.replace("hidden = 4 ", "hidden = 9 ", 1)
    (interrupted / "config.toml").write_text(config)
    before = digest(interrupted)
    with pytest.raises(RunError, match="vocabulary differs" if edit == "vocabulary"
                       else "does not fit the model"):
        resume_run(interrupted)
    assert digest(interrupted) == before


# 4. one validating reader of summary.json ---------------------------------------------

@pytest.mark.parametrize("field,value", [("steps", "abc"), ("best", "x"), ("seconds", "x"),
                                         ("pid", 99999999999), ("steps", 1e300),
                                         ("status", "sideways"), ("checkpoints", [1])])
def test_read_summary_drops_a_wrong_field_and_names_it(tmp_path, field, value):
    (tmp_path / SUMMARY).write_text(json.dumps({"status": "completed", "steps": 5,
                                                "tag": "kept", field: value}))
    summary, note = read_summary(tmp_path / SUMMARY)
    assert field not in summary and summary["tag"] == "kept"
    assert note.startswith(f"{tmp_path / SUMMARY}: {field} must be")


def test_read_summary_of_a_number_too_big_for_a_float(tmp_path):
    (tmp_path / SUMMARY).write_text('{"status": "completed", "steps": 1e400}')
    summary, note = read_summary(tmp_path / SUMMARY)
    assert summary == {"status": "completed"} and "steps must be" in note


def test_summary_json_is_read_only_through_the_validating_reader():
    src = Path(fsio.__file__).parent
    readers = [p for p in src.rglob("*.py")
               if "SUMMARY).read_text" in p.read_text() or "summary.json\").read" in p.read_text()]
    assert readers == []


# 5. serve: loopback unless told, then a token ------------------------------------------

def test_serve_refuses_a_public_address_without_the_flag():
    from typer.testing import CliRunner

    from lstm_tui.cli.main import app
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--allow-remote" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_loopback_addresses():
    from lstm_tui.tui.serve import is_loopback
    assert all(map(is_loopback, ["127.0.0.1", "localhost", "::1", "127.1.2.3", "[::1]"]))
    assert not any(map(is_loopback, ["0.0.0.0", "10.0.0.5", "::", "gpu-box"]))


def test_the_token_gate_asks_for_the_token_and_lets_it_in():
    import asyncio

    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from lstm_tui.tui.serve import COOKIE, token_middleware

    async def scenario() -> None:
        app = web.Application(middlewares=[token_middleware("s3cret")])
        async def lab(request):
            return web.Response(text="the lab")

        async def socket(request):
            return web.Response(text="socket")
        app.router.add_get("/", lab)
        app.router.add_get("/ws", socket)
        async with TestClient(TestServer(app)) as client:
            page = await client.get("/")
            assert page.status == 401 and "access token" in await page.text()
            assert (await client.get("/ws")).status == 401
            assert "Wrong token" in await (await client.get("/?token=nope")).text()
            ok = await client.get("/?token=s3cret")          # sets the cookie, redirects
            assert ok.status == 200 and await ok.text() == "the lab"
            assert client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE]
            assert (await client.get("/ws")).status == 200
    asyncio.run(scenario())


# 6. pool workers die with their driver -------------------------------------------------

MIDDLE = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "from lstm_tui.training import processes; "
                          "import time; processes.adopt(None); "
                          "processes.lifeline(poll=0.1, grace=0.5); time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""

# a driver as the pool starts its workers: from lstm_tui.training.processes' context (a
# forkserver here), each told who its caller is; the worker's parent is the server
FORKED = """
import sys, time
from lstm_tui.training import processes

def worker(caller):
    processes.adopt(caller)
    processes.lifeline(poll=0.1, grace=0.5)
    time.sleep(120)

if __name__ == "__main__":
    ctx = processes.context()
    child = ctx.Process(target=worker, args=(processes.caller(),), daemon=True)
    child.start()
    print(child.pid, flush=True)
    time.sleep(120)
"""


@pytest.mark.parametrize("how", ["spawned", "forked from the forkserver"])
def test_a_worker_ends_itself_when_its_driver_is_killed(how, tmp_path):
    if how == "spawned":
        middle = subprocess.Popen([sys.executable, "-c", MIDDLE], stdout=subprocess.PIPE,
                                  text=True)
    else:
        from lstm_tui.training import processes
        if not processes.pidfds():
            pytest.skip("no pidfds here: the processes are spawned")
        script = tmp_path / "driver.py"
        script.write_text(FORKED)
        middle = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                                  text=True)
    worker = int(middle.stdout.readline())
    server = _parent_of(worker)
    time.sleep(0.5)
    middle.kill()                                  # SIGKILL: the driver cannot clean up
    middle.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and liveness.pid_alive(worker):
        try:
            os.waitpid(worker, os.WNOHANG)         # reaped by init, or a zombie of ours
        except ChildProcessError:
            pass
        time.sleep(0.1)
    assert not liveness.pid_alive(worker) or _zombie(worker)
    if how != "spawned":                           # and the server goes with its last child
        assert server != middle.pid
        while time.monotonic() < deadline and liveness.pid_alive(server) \
                and not _zombie(server):
            time.sleep(0.1)
        assert not liveness.pid_alive(server) or _zombie(server)


def _parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[1])


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


# 7. task.text: its size is checked up front --------------------------------------------

def test_a_huge_text_is_refused_up_front_unless_max_chars(tmp_path):
    from lstm_tui.config import MAX_TEXT
    big = tmp_path / "big.txt"
    with open(big, "wb") as fh:
        fh.truncate(MAX_TEXT + 1)                  # sparse: no disk used
    with pytest.raises(ConfigError, match=r"task.text: .* is 100,000,001 bytes; at most 100,000,000 .*max_chars"):
        parse_config({"task": {"kind": "char_lm", "text": str(big)}})
    parse_config({"task": {"kind": "char_lm", "text": str(big), "max_chars": 1000}})
    with pytest.raises(ConfigError, match="task.max_chars: must be <="):
        parse_config({"task": {"kind": "char_lm", "max_chars": MAX_TEXT + 1}})


# 8. file-system errors ------------------------------------------------------------------

def test_a_full_disk_marks_the_run_failed_and_keeps_its_data(tmp_path, monkeypatch):
    from lstm_tui.experiment import start_run
    cfg = parse_config({"task": {"train_size": 64, "val_size": 32}, "model": {"hidden": 4},
                        "train": {"steps": 40, "eval_every": 10, "log_every": 5,
                                  "batch_size": 8}})
    real = fsio.atomic_write_text
    calls = {"n": 0}

    def filling(path, text):
        calls["n"] += 1
        if calls["n"] > 4:                          # the disk fills during the run
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, text)
    monkeypatch.setattr(fsio, "atomic_write_text", filling)
    real_put = WriteBehind.put

    def put_now(self, *args, **kwargs):
        # each write done before the run goes on, so the fifth is one of the run's: on a
        # busy machine the writing thread lags, and a newer summary replaces a waiting one
        real_put(self, *args, **kwargs)
        self.drain()
    monkeypatch.setattr(WriteBehind, "put", put_now)
    run_dir, last = start_run(cfg, tmp_path)
    assert isinstance(last, ev.Failed) and "No space left" in last.error
    summary = json.loads((run_dir / SUMMARY).read_text())
    assert summary["status"] == "failed" and "No space left" in summary["message"]
    assert reader.read_jsonl(run_dir / "metrics.jsonl")   # what was recorded survives
    assert not list(run_dir.glob(".*.tmp")) and not (run_dir / WRITER_LOCK).exists()


def test_runs_dir_that_is_a_file_is_one_line(tmp_path):
    from typer.testing import CliRunner

    from lstm_tui.cli.main import app
    afile = tmp_path / "file"
    afile.write_text("")
    for args in (["runs"], ["headless", "nth_element_lstm"], ["sweep", "sweep_nth_features"]):
        result = CliRunner().invoke(app, args + ["--runs-dir", str(afile)])
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.strip().splitlines() == [
            f"error: {afile}: is a file, not a folder of runs (give --runs-dir a folder) "
            "(see docs/troubleshooting.md#run-store-not-writable)"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_runs_dir_is_one_line(tmp_path):
    from typer.testing import CliRunner

    from lstm_tui.cli.main import app
    root = tmp_path / "ro"
    root.mkdir(mode=0o500)
    result = CliRunner().invoke(app, ["headless", "nth_element_lstm", "--runs-dir", str(root)])
    assert result.exit_code == 2 and "permission denied" in result.stderr


def test_a_runs_dir_that_refuses_writing_is_one_line(tmp_path, monkeypatch):
    """The read-only case for a root user (whom chmod does not stop): mkdir refused."""
    from typer.testing import CliRunner

    from lstm_tui.cli.main import app
    real = Path.mkdir

    def refused(self, *args, **kwargs):
        if str(self).startswith(str(tmp_path / "ro")):
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)
    monkeypatch.setattr(Path, "mkdir", refused)
    result = CliRunner().invoke(app, ["headless", "nth_element_lstm", "--runs-dir",
                                      str(tmp_path / "ro")])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'ro'}: permission denied "
        "(see docs/troubleshooting.md#run-store-not-writable)"]


def test_stale_temporary_files_are_cleaned_when_a_writer_starts(tmp_path):
    (tmp_path / ".summary.json.999999999.tmp").write_text("{")
    (tmp_path / f".summary.json.{os.getppid()}.tmp").write_text("{")   # a live writer's
    RunWriter(tmp_path, parse_config({})).close()
    assert [p.name for p in tmp_path.glob(".*.tmp")] == [f".summary.json.{os.getppid()}.tmp"]


# 9. a loss that explodes is diverged ---------------------------------------------------

def test_a_loss_grown_far_past_its_start_is_diverged():
    from lstm_tui.training.engine import train
    from lstm_tui.training.record import GROWTH_LIMIT
    cfg = parse_config({"task": {"kind": "weighted_sum", "seq_len": 4, "train_size": 64,
                                 "val_size": 32},
                        "model": {"cell": "rnn", "hidden": 8},
                        "train": {"optimizer": "sgd", "lr": 1000.0, "steps": 60,
                                  "log_every": 5, "seed": 0}})
    last = train(cfg, lambda e: None)
    assert last.status == "diverged" and "lower train.lr" in last.message
    assert f"{GROWTH_LIMIT:g}x its start" in last.message or "non-finite" in last.message


# 10. the lower ones ---------------------------------------------------------------------

def test_a_bad_char_lm_text_leaves_no_run_folder(tmp_path):
    from lstm_tui.experiment import start_run
    text = tmp_path / "short.txt"
    text.write_text("too short")
    cfg = parse_config({"task": {"kind": "char_lm", "text": str(text), "seq_len": 50}})
    with pytest.raises(ConfigError, match="task.seq_len"):
        start_run(cfg, tmp_path / "runs")
    assert list((tmp_path / "runs").iterdir()) == []


def test_an_unsafe_checkpoint_is_refused_in_plain_words(tmp_path):
    import torch

    from lstm_tui.runs.checkpoint import load_checkpoint
    torch.save({"model": {}, "config": {}, "evil": Path("/")}, tmp_path / "last.pt")
    with pytest.raises(ValueError, match="refused: .*could run code") as info:
        load_checkpoint(tmp_path / "last.pt")
    assert "weights_only=False" not in str(info.value)


def test_an_empty_run_is_marked_empty(tmp_path):
    writer = RunWriter(tmp_path, parse_config({}))
    writer(ev.Finished(status="interrupted", step=0, seconds=0.1, best=None, final=None,
                       message="stopped at step 0 by request"))
    assert json.loads((tmp_path / SUMMARY).read_text())["empty"] is True
    assert read_info(tmp_path).empty


def test_a_run_killed_at_start_up_is_listed_as_empty(tmp_path):
    writer = RunWriter(tmp_path, parse_config({}))
    os.close(writer.lock._fd)                     # killed before its first step
    writer.lock._fd = None
    info = read_info(tmp_path)
    assert info.status == "interrupted" and info.empty


def test_the_ensemble_applies_the_same_growth_rule():
    from lstm_tui.training.ensemble import train_ensemble
    from lstm_tui.training.engine import train
    base = {"task": {"kind": "weighted_sum", "seq_len": 4, "train_size": 64, "val_size": 32},
            "model": {"cell": "rnn", "hidden": 8},
            "train": {"optimizer": "sgd", "steps": 60, "log_every": 5, "seed": 0}}
    cfgs = []
    for lr in (1000.0, 0.001):
        data = json.loads(json.dumps(base))
        data["train"]["lr"] = lr
        cfgs.append(parse_config(data))
    results = train_ensemble(cfgs, [lambda e: None] * 2)
    alone = [train(c, lambda e: None) for c in cfgs]
    assert [r.status for r in results] == [a.status for a in alone] == ["diverged", "completed"]
    assert results[0].message == alone[0].message
