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
import shutil
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
