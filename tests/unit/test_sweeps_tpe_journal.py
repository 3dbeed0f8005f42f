"""A damaged TPE study.journal (issue 27/8): the study is rebuilt from the trial folders.

Each case stops a real 4-trial TPE sweep after two trials finished and a third began,
damages the journal one way, and runs the sweep again: no traceback, the two finished
trials are neither trained again nor lost from results.csv, every trial number has one
folder, the sweep completes, and the damaged file is kept beside the new one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lstm_tui.runs.layout import RunError
from lstm_tui.sweeps.drive import run_sweep
from lstm_tui.sweeps.runner import PointFinished, SweepStarted, read_results

from tests.unit.test_sweeps_tpe import _spec

pytest.importorskip("optuna")


def _stopped_sweep(tmp_path: Path):
    """Two trials finished, the third stopped at its start; the sweep's folder."""
    cfg, spec = _spec()
    seen = []
    first = run_sweep("tpe.toml", cfg, spec, tmp_path, listener=seen.append,
                      should_stop=lambda: sum(type(e).__name__ == "PointStarted"
                                              for e in seen) >= 3)
    assert first.done == 2 and not first.complete
    return cfg, spec, first


def _summaries(sweep_dir: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("p*/summary.json")}


def _garbage(journal: Path) -> None:
    with open(journal, "ab") as fh:
        fh.write(b"\x00\xffnot a journal line\n")


def _cut(journal: Path) -> None:
    data = journal.read_bytes()
    journal.write_bytes(data[:-25])


def _bad_op(journal: Path) -> None:
    lines = journal.read_bytes().splitlines(keepends=True)
    lines.insert(2, b'{"op_code": 4, "worker_id": "w"}\n')     # a create without its fields
    journal.write_bytes(b"".join(lines))


def _emptied(journal: Path) -> None:
    journal.write_bytes(b"")


def _deleted(journal: Path) -> None:
    journal.unlink()


def _named_pipe(journal: Path) -> None:
    journal.unlink()
    os.mkfifo(journal)                 # reading it would wait for a writer forever


DAMAGE = {"garbage-appended": _garbage, "cut-mid-line": _cut, "bad-op-line": _bad_op,
          "emptied": _emptied, "deleted": _deleted, "named-pipe": _named_pipe}


@pytest.mark.parametrize("kind", [k for k in DAMAGE
                                  if k != "named-pipe" or hasattr(os, "mkfifo")])
def test_a_damaged_journal_is_rebuilt_from_the_trial_folders(tmp_path, kind):
    import optuna
    cfg, spec, first = _stopped_sweep(tmp_path)
    sweep_dir = first.sweep_dir
    finished = {r["run"]: r for r in first.rows}
    before = _summaries(sweep_dir)
    journal = sweep_dir / "study.journal"
    DAMAGE[kind](journal)

    events = []
    again = run_sweep("tpe.toml", cfg, spec, tmp_path, listener=events.append)
    started = next(e for e in events if isinstance(e, SweepStarted))
    assert len(started.notes) == 1 and "study.journal" in started.notes[0]
    assert "rebuilt from the 3 trial folder(s)" in started.notes[0], started.notes
    assert again.complete and len(again.rows) == 4
    # the finished trials: not trained again, their rows kept as they were
    after = _summaries(sweep_dir)
    assert {name: after[name] for name in finished} == {n: before[n] for n in finished}
    trained = [e.label for e in events if isinstance(e, PointFinished)]
    assert len(trained) == 2                       # trial 2 (interrupted) and trial 3
    rows = {r["run"]: r for r in read_results(sweep_dir / "results.csv")}
    for name, row in finished.items():
        assert rows[name]["key"] == row["key"] and rows[name]["status"] == row["status"]
        assert rows[name]["best_accuracy"] == row["best_accuracy"]
    # one folder per trial number, the numbers 0..3
    folders = sorted(p.name for p in sweep_dir.glob("p*") if p.is_dir())
    assert [name[:4] for name in folders] == ["p000", "p001", "p002", "p003"], folders
    assert sorted(r["point"] for r in again.rows) == [0, 1, 2, 3]
    # the damaged file kept beside the new one (nothing to keep when it was deleted)
    kept = list(sweep_dir.glob("study.journal.damaged-*"))
    assert len(kept) == (0 if kind == "deleted" else 1)
    # the new study agrees with the folders, and a third run has nothing to do
    study = optuna.load_study(
        study_name=sweep_dir.name,
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(journal))))
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 4
    quiet = []
    third = run_sweep("tpe.toml", cfg, spec, tmp_path, listener=quiet.append)
    assert third.complete and not any(isinstance(e, PointFinished) for e in quiet)
    assert next(e for e in quiet if isinstance(e, SweepStarted)).notes == ()


def test_a_healthy_journal_is_used_as_it_is(tmp_path):
    cfg, spec, first = _stopped_sweep(tmp_path)
    journal = first.sweep_dir / "study.journal"
    size = journal.stat().st_size
    events = []
    again = run_sweep("tpe.toml", cfg, spec, tmp_path, listener=events.append)
    assert again.complete and journal.stat().st_size > size
    assert next(e for e in events if isinstance(e, SweepStarted)).notes == ()
    assert not list(first.sweep_dir.glob("study.journal.damaged-*"))


def test_a_rebuild_keeps_a_row_whose_folder_is_gone(tmp_path):
    """A finished trial whose folder was removed lives on in results.csv: the rebuilt
    study knows it from there, its row stays, and its number is not drawn again."""
    import shutil
    cfg, spec, first = _stopped_sweep(tmp_path)
    sweep_dir = first.sweep_dir
    gone = first.rows[0]
    shutil.rmtree(sweep_dir / gone["run"])
    (sweep_dir / "study.journal").write_bytes(b"")
    again = run_sweep("tpe.toml", cfg, spec, tmp_path)
    assert again.complete and len(again.rows) == 4
    row = next(r for r in again.rows if r["key"] == gone["key"])
    assert row["status"] == gone["status"] and row["best_accuracy"] == gone["best_accuracy"]
    assert not (sweep_dir / gone["run"]).exists()      # not trained again
    assert sorted(r["point"] for r in again.rows) == [0, 1, 2, 3]


def test_an_unreadable_trial_folder_stops_a_rebuild_in_one_line(tmp_path):
    cfg, spec, first = _stopped_sweep(tmp_path)
    sweep_dir = first.sweep_dir
    broken = sweep_dir / first.rows[1]["run"]
    (broken / "config.toml").write_text("[task\n")
    journal = sweep_dir / "study.journal"
    journal.write_bytes(b"")
    before = _summaries(sweep_dir)
    with pytest.raises(RunError) as info:
        run_sweep("tpe.toml", cfg, spec, tmp_path)
    message = str(info.value)
    assert "\n" not in message and str(journal) in message and broken.name in message
    assert "lstm-lab rm" in message
    assert _summaries(sweep_dir) == before and journal.read_bytes() == b""


def test_a_pruned_trial_resumed_by_hand_is_told_as_its_folder_says(tmp_path):
    """The study said PRUNED, the folder (resumed by hand to the end) says completed:
    the folder wins, the study is rebuilt to agree and the row says completed."""
    from lstm_tui.experiment import resume_run
    import optuna
    cfg, spec = _spec(scheduler="median", grace=1)
    first = run_sweep("tpe.toml", cfg, spec, tmp_path)
    pruned = [r for r in first.rows if r["status"] == "pruned"]
    if not pruned:
        pytest.skip("no trial was pruned in this draw")
    folder = first.sweep_dir / pruned[0]["run"]
    _, last = resume_run(folder)
    assert last.status == "completed"
    events = []
    again = run_sweep("tpe.toml", cfg, spec, tmp_path, listener=events.append)
    row = next(r for r in again.rows if r["run"] == folder.name)
    assert row["status"] == "completed"
    assert "is pruned, but" in next(e for e in events if isinstance(e, SweepStarted)).notes[0]
    study = optuna.load_study(
        study_name=first.sweep_dir.name,
        storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(
            str(first.sweep_dir / "study.journal"))))
    assert study.trials[pruned[0]["point"]].state.name == "COMPLETE"


def test_the_cli_says_what_it_repaired(tmp_path):
    from typer.testing import CliRunner

    from lstm_tui.cli.main import app
    from lstm_tui.config import to_toml
    cfg, spec, first = _stopped_sweep(tmp_path)
    (first.sweep_dir / "study.journal").write_bytes(b"garbage")
    preset = tmp_path / "tpe.toml"
    preset.write_text(to_toml(cfg))
    result = CliRunner().invoke(app, ["sweep", str(preset), "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "repaired" in text and "line 1 is cut short; rebuilt from the 3 trial" in text
    assert len(read_results(first.sweep_dir / "results.csv")) == 4


def test_a_trial_written_by_another_process_is_skipped(tmp_path):
    """Issue 27/6 for tpe: the trial a stop left running is being resumed by hand; the
    driver leaves it to that writer, trains a new trial, and takes it up next time."""
    from tests.unit.test_sweeps_runner import hold_writer_lock, release
    cfg, spec, first = _stopped_sweep(tmp_path)
    running = sorted(p for p in first.sweep_dir.glob("p002-*"))
    assert len(running) == 1
    holder = hold_writer_lock(running[0])
    before = {p.name: p.read_bytes() for p in running[0].iterdir() if p.is_file()}
    try:
        second = run_sweep("tpe.toml", cfg, spec, tmp_path)
        assert second.skipped == [running[0].name] and not second.complete
        assert {p.name: p.read_bytes() for p in running[0].iterdir() if p.is_file()} == before
        assert sorted(r["point"] for r in second.rows) == [0, 1, 3]
    finally:
        release(holder)
    third = run_sweep("tpe.toml", cfg, spec, tmp_path)
    assert third.complete and sorted(r["point"] for r in third.rows) == [0, 1, 2, 3]
    assert len(list(first.sweep_dir.glob("p002-*"))) == 1
