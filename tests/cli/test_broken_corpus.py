"""Every command against every broken run and sweep folder of tests/data (issue 12).

The corpus (tests/data/make_broken_runs.py rebuilds it) holds real tiny runs and sweeps,
each damaged one way: wrong types in summary.json, a config cut short or emptied, odd
metrics records, folders where files belong, checkpoints of another shape or of garbage,
a run stopped before its first step, stale temporary files.  Whatever the damage, a
command answers with output or with one line on stderr and exit 1 or 2, never a
traceback; the good runs stay listed; a refused resume leaves the folder as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from lstm_tui.runs.reader import list_runs

DATA = Path(__file__).parents[1] / "data"
RUNS = sorted(p.name for p in (DATA / "broken_runs").iterdir() if p.is_dir())
SWEEPS = sorted(p.name for p in (DATA / "broken_sweeps").iterdir() if p.is_dir())
BROKEN = [r for r in RUNS if r != "good-run"]
# what `runs` must say about each folder: a note naming the damage, or the empty mark
NOTED = {r for r in BROKEN if r.startswith(("summary-", "config-"))} - {"summary-pid-huge",
                                                                        "config-hidden-edited"}
runner = CliRunner()


@pytest.fixture
def store(tmp_path) -> Path:
    root = tmp_path / "runs"
    shutil.copytree(DATA / "broken_runs", root)
    return root


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"{args}: {result.exception!r}"
    assert "Traceback" not in result.output
    return result


def one_line_error(result, *codes: int) -> str:
    assert result.exit_code in codes, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_runs_lists_every_folder_with_a_note_and_the_good_run_intact(store):
    result = invoke("runs", "--runs-dir", str(store))
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert set(RUNS) <= set(listed), listed     # every folder has its row, damaged or not
    infos = {r.name: r for r in list_runs(store)}
    assert set(infos) == set(RUNS)
    good = infos["good-run"]
    assert good.status == "completed" and not good.error and good.steps == 6
    for name in NOTED:
        assert infos[name].error and "\n" not in infos[name].error, name
    assert infos["summary-steps-string"].steps == 0 and "steps must be" in \
        infos["summary-steps-string"].error
    assert infos["summary-pid-huge"].status == "interrupted"
    assert "cut short" in infos["config-cut-mid-file"].error
    assert "cut short" in infos["config-empty"].error and infos["config-empty"].task == "?"
    assert infos["empty-interrupted-at-start"].empty
    assert not any(i.empty for n, i in infos.items() if n != "empty-interrupted-at-start")


@pytest.mark.parametrize("case", BROKEN)
def test_compare_and_sample_answer_or_refuse_in_one_line(store, case):
    result = invoke("compare", "good-run", case, "--runs-dir", str(store))
    if result.exit_code != 0:
        assert case in one_line_error(result, 2)
    result = invoke("sample", case, "--length", "5", "--seed", "1", "--runs-dir", str(store))
    if result.exit_code != 0:
        assert case in one_line_error(result, 2)
    if case.startswith(("config-", "checkpoint-")) or case == "empty-interrupted-at-start":
        assert result.exit_code == 2, (case, result.output)


@pytest.mark.parametrize("case", RUNS)
def test_resume_refuses_in_one_line_and_touches_nothing(store, case):
    before = digest(store / case)
    result = invoke("headless", case, "--resume", "--runs-dir", str(store))
    if result.exit_code == 0:      # a usable folder may resume (here: 0 steps left)
        assert case in ("summary-pid-huge", "stale-tmp-files", "metrics-odd-records",
                        "summary-seconds-string", "summary-best-string", "summary-a-list",
                        "summary-not-json"), case
        return
    line = one_line_error(result, 2)
    assert case in line or "good-run" == case
    assert digest(store / case) == before, f"{case}: a refused resume changed the folder"


def test_a_resume_cleans_stale_temporary_files(store):
    case = store / "stale-tmp-files"
    result = invoke("headless", "stale-tmp-files", "--resume", "--runs-dir", str(store))
    assert not list(case.glob(".*.tmp")), result.output


@pytest.mark.parametrize("case", SWEEPS)
def test_sweep_report_and_resume_of_each_sweep(tmp_path, case):
    from lstm_tui.config import load_preset
    from lstm_tui.sweeps.runner import sweep_dir_for
    from lstm_tui.sweeps.spec import parse_sweep
    src = DATA / "broken_sweeps" / case
    cfg = load_preset(src / "sweep.toml")
    folder = sweep_dir_for(tmp_path / "runs", parse_sweep(cfg, "x"))
    shutil.copytree(src, folder)
    result = invoke("sweep-report", str(folder))
    if result.exit_code != 0:
        one_line_error(result, 1, 2)
    else:
        assert "hidden" in result.output or "no results yet" in result.output
    result = invoke("sweep", str(folder / "sweep.toml"), "--runs-dir", str(tmp_path / "runs"))
    if case == "results-is-a-folder":
        assert "results.csv" in one_line_error(result, 1, 2)
        return
    assert result.exit_code == 0, result.output   # rows rebuilt from the run folders
    assert "2 of 2" in result.output or "0 to run" in result.output or \
        result.output.count("completed") >= 2


# ---------------------------------------------------------------- issue 27, item 11

@pytest.mark.parametrize("case", ["config-cut-mid-file", "config-empty", "config-key-missing"])
def test_an_incomplete_run_config_used_as_a_preset_is_refused(store, case, tmp_path):
    """A run's config.toml is complete by construction: cut, emptied or missing a key,
    it is corrupt (exit 2), never a preset trained with defaults."""
    config = store / case / "config.toml"
    for args in (["check"], ["headless", "--runs-dir", str(tmp_path / "new")]):
        result = invoke(*args, str(config))
        line = one_line_error(result, 2)
        assert str(config) in line and "corrupt" in line, line
    assert not (tmp_path / "new").exists()
    assert invoke("check", str(store / "good-run" / "config.toml")).exit_code == 0


def test_a_run_config_missing_a_key_is_listed_corrupt(store):
    infos = {r.name: r for r in list_runs(store)}
    assert "1 of its 35 keys are missing" in infos["config-key-missing"].error


# ---------------------------------------------------------------- special files (issue 27/15)
# A named pipe cannot live in git: these cases are made from the good run at test time.

FIFO_FILES = ("summary.json", "metrics.jsonl", "config.toml", "annotations.json",
              ".writer.lock", "last.pt")


def _with_fifos(root: Path) -> dict[str, Path]:
    """A copy of the good run per file, that file a named pipe (nothing ever writes it)."""
    made = {}
    for name in FIFO_FILES:
        case = root / f"fifo-{name.strip('.').replace('.', '-')}"
        shutil.copytree(root / "good-run", case)
        (case / name).unlink(missing_ok=True)
        os.mkfifo(case / name)
        made[name] = case
    return made


def _promptly(call, seconds: float = 30.0):
    """call() in a thread; fails (instead of hanging the suite) when it does not return."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:     # raised again in the test's thread
            box["error"] = exc
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{call}: still waiting after {seconds}s (a named pipe?)"
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_in_a_run_folder_never_hangs_the_listing(store):
    cases = _with_fifos(store)
    result = subprocess.run([sys.executable, "-m", "lstm_tui", "runs", "--json",
                             "--runs-dir", str(store)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    listed = {r["name"]: r for r in json.loads(result.stdout)["runs"]}
    assert listed["good-run"]["status"] == "completed"
    for name, case in cases.items():
        row = listed[case.name]
        assert row["status"] == "corrupt", (name, row)
        assert name in row["error"] and "named pipe" in row["error"], row["error"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_every_reader_of_a_run_file_refuses_a_named_pipe_at_once(store):
    from lstm_tui.fsio import read_json_object
    from lstm_tui.runs.layout import RunError
    from lstm_tui.runs.listing import read_config
    from lstm_tui.runs.lock import holder_pid, is_held
    from lstm_tui.runs.reader import check_run_config, read_info, read_jsonl
    from lstm_tui.runs.summary import read_summary
    from lstm_tui.runs.tags import TagChange, change_tags
    from lstm_tui.sweeps.runner import read_results
    cases = _with_fifos(store)
    assert _promptly(lambda: read_jsonl(cases["metrics.jsonl"] / "metrics.jsonl")) == []
    summary, note = _promptly(lambda: read_summary(cases["summary.json"] / "summary.json"))
    assert summary == {} and "named pipe" in note
    with pytest.raises(RunError, match="config.toml: corrupt .a named pipe"):
        _promptly(lambda: check_run_config(cases["config.toml"] / "config.toml"))
    assert _promptly(lambda: read_config(cases["config.toml"])) == {}
    assert _promptly(lambda: read_json_object(cases["annotations.json"] /
                                              "annotations.json")) is None
    lock = cases[".writer.lock"] / ".writer.lock"
    assert _promptly(lambda: (is_held(lock), holder_pid(lock))) == (False, 0)
    assert _promptly(lambda: read_info(cases["last.pt"]).error).startswith(
        str(cases["last.pt"] / "last.pt"))
    with pytest.raises(RunError):         # annotating through a pipe: refused, not stuck
        os.mkfifo(cases["summary.json"] / ".annotations.lock")
        _promptly(lambda: change_tags(cases["summary.json"], TagChange(("x",), ())))
    pipe = store / "results.csv"
    os.mkfifo(pipe)
    with pytest.raises(RunError, match="named pipe"):
        _promptly(lambda: read_results(pipe))
    # commands that open a run: one line, promptly, and the folder as it was
    result = _promptly(lambda: invoke("sample", "fifo-config-toml", "--length", "5",
                                      "--runs-dir", str(store)))
    assert "fifo-config-toml" in one_line_error(result, 2)
    # (headless takes Ctrl-C, so it runs in this thread: the readers above cannot wait)
    result = invoke("headless", "fifo-last-pt", "--resume", "--runs-dir", str(store))
    assert "fifo-last-pt" in one_line_error(result, 2)
    assert stat.S_ISFIFO(os.stat(cases["last.pt"] / "last.pt").st_mode)
