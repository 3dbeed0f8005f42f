"""Issue 27's "exit codes and words": one line, the right exit code, the true words."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from lstm_tui.cli.main import app

runner = CliRunner()


def test_a_bracketed_serve_host_is_bad_input(tmp_path):
    result = runner.invoke(app, ["serve", "--host", "[::1]", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "--host ::1" in result.stderr


# ---------------------------------------------------------------- fixtures

DATA = Path(__file__).parents[1] / "data" / "broken_runs"


def one_line(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def store_of(tmp_path: Path, *names: str) -> Path:
    root = tmp_path / "runs"
    for name in names:
        shutil.copytree(DATA / name, root / name)
    return root


def test_compare_says_corrupt_for_a_corrupt_run(tmp_path):
    root = store_of(tmp_path, "good-run", "summary-not-json")
    result = runner.invoke(app, ["compare", "good-run", "summary-not-json",
                                 "--runs-dir", str(root)])
    assert result.exit_code == 0, result.output
    status = next(line for line in result.stdout.splitlines() if "status" in line)
    assert "corrupt" in status and "interrupted" not in status
    assert result.stderr.startswith("corrupt: ") and "summary.json" in result.stderr
    doc = json.loads(runner.invoke(app, ["compare", "good-run", "summary-not-json", "--json",
                                         "--runs-dir", str(root)]).stdout)
    assert [r["status"] for r in doc["runs"]] == ["completed", "corrupt"]


def test_rm_on_a_read_only_store_is_one_line_and_exit_2(tmp_path, monkeypatch):
    root = store_of(tmp_path, "good-run")
    import lstm_tui.runs.trash as trash

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(trash.os, "rename", read_only)
    line = one_line(runner.invoke(app, ["rm", "good-run", "--yes", "--runs-dir", str(root)]))
    assert "read-only" in line and "nothing was removed" in line
    assert (root / "good-run" / "config.toml").is_file()
    assert not any((root / ".trash").iterdir())           # no half-made entry left


def test_restore_or_rm_with_a_file_as_runs_dir_is_bad_input(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for command in (["restore"], ["restore", "latest"], ["rm", "--purge", "--yes"]):
        line = one_line(runner.invoke(app, [*command, "--runs-dir", str(afile)]))
        assert "is a file, not a folder of runs" in line


def test_help_texts_keep_their_toml_table_names():
    said = {c: " ".join(runner.invoke(app, [c, "--help"], env={"COLUMNS": "200"}).stdout.split())
            for c in ("verify", "headless", "sweep")}
    assert "against its [expect]:" in said["verify"]
    assert "shipped run preset with [expect])" in said["verify"]
    assert "the presets' [quick] forms" in said["verify"]
    assert "of the preset's [expect]" in said["headless"]
    assert "[expect]" in said["sweep"]


def test_check_prints_nothing_on_stdout_before_an_error(tmp_path):
    preset = tmp_path / "bad_sweep.toml"
    preset.write_text('[task]\nkind = "nth_element"\n[sweep]\nmetric = "nope"\n'
                      '[sweep.grid]\n"model.hidden" = [4, 8]\n')
    for extra in ([], ["--json"]):
        result = runner.invoke(app, ["check", str(preset), *extra])
        assert "sweep.metric" in one_line(result)
        assert result.stdout == ""


def test_a_complex_array_is_refused_not_cast(tmp_path):
    import numpy as np
    series = tmp_path / "complex.npy"
    np.save(series, (np.arange(200.0) + 1j * np.arange(200.0)).reshape(100, 2))
    line = one_line(runner.invoke(app, ["check", "series_sunspots", "--set",
                                        f"task.path={series}", "--set", "task.target=[\"0\"]"]))
    assert "real numbers" in line and "complex128" in line
    labelled = tmp_path / "complex.npz"
    np.savez(labelled, X=np.ones((20, 8), dtype=np.complex64), y=np.arange(20) % 2)
    line = one_line(runner.invoke(app, ["check", "classify_italy_power", "--set",
                                        f"task.path={labelled}", "--set", "task.test_path="]))
    assert "X must hold real numbers" in line and "complex64" in line


def test_a_step_past_a_shortened_run_is_not_recorded(tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text('[task]\nkind = "nth_element"\ntrain_size = 64\nval_size = 32\n'
                      '[model]\nhidden = 4\n[train]\nsteps = 600\neval_every = 2\n'
                      '[expect]\n"val.loss@step500" = { max = 100 }\n'
                      '"val.loss@step2" = { max = 100 }\n')
    result = runner.invoke(app, ["headless", str(preset), "--set", "train.steps=4",
                                 "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    said = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in result.stdout.splitlines() if "expect val" in line}
    assert said["expect val.loss@step500"].startswith("not recorded")
    assert said["expect val.loss@step2"].endswith("met")
    (run,) = (tmp_path / "runs").iterdir()
    got = {v["key"]: v for v in json.loads((run / "summary.json").read_text())["expectations"]}
    assert got["val.loss@step500"]["observed"] is None


def test_a_full_disk_mid_run_says_so_and_keeps_the_step_count(tmp_path, monkeypatch):
    import torch
    saves = []
    real_save = torch.save

    def full_disk(payload, fh, *args, **kwargs):
        saves.append(payload.get("step"))
        if len(saves) < 2:
            return real_save(payload, fh, *args, **kwargs)
        try:     # what torch does when the file write under it fails
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos "
                               "704 vs 598")
    monkeypatch.setattr(torch, "save", full_disk)
    # every validation's checkpoint queued (by default one a second: this run is shorter)
    from lstm_tui.runs import writer
    monkeypatch.setattr(writer, "CHECKPOINT_EVERY", 0.0)
    result = runner.invoke(app, ["headless", "nth_element_lstm", "--set", "train.steps=200",
                                 "--set", "train.eval_every=2", "--set", "train.log_every=1",
                                 "--set", "model.hidden=2", "--set", "task.train_size=64",
                                 "--set", "task.val_size=32",
                                 "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 1, result.output
    assert "disk is full" in result.stderr and "inline_container" not in result.output
    (run,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and "disk is full" in summary["message"]
    # the checkpoint is written behind the training loop, so its failure stops the run
    # at the writer's next call: some steps after the one it saved (how many is the
    # threads' timing), never before it, and long before the planned 200
    assert 0 < saves[-1] <= summary["steps"] < 200 and not summary.get("empty")
    assert not list(run.glob(".*.tmp"))


def test_the_result_table_has_no_note_that_repeats_the_steps_row():
    import io
    from rich.console import Console
    from lstm_tui import events as ev
    from lstm_tui.cli.progress import HeadlessDisplay

    def table_text(event) -> str:
        con = Console(file=io.StringIO(), width=100)
        con.print(HeadlessDisplay(con).final_table(event))
        return con.file.getvalue()
    done = table_text(ev.Finished("completed", 50, 1.0, 0.5, 0.5, "trained 50 steps"))
    assert "trained 50 steps" not in done and "note" not in done and "50" in done
    early = table_text(ev.Finished("stopped_early", 30, 1.0, 0.5, 0.5,
                                   "no improvement for 5 evaluations"))
    assert "note" in early and "no improvement" in early
