"""Issue 27's security items on the command line: a results.csv run cell never leads out
of its sweep folder."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from lstm_tui.cli.main import app
from lstm_tui.config import load_preset
from lstm_tui.sweeps.runner import is_run_name, sweep_dir_for
from lstm_tui.sweeps.spec import parse_sweep
from lstm_tui.sweeps.surface import load_records, load_sweep

DATA = Path(__file__).parents[1] / "data"
runner = CliRunner()


def escaping_sweep(tmp_path: Path) -> tuple[Path, Path]:
    """The good sweep whose first row's run cell points at a folder beside the sweep."""
    src = DATA / "broken_sweeps" / "good-sweep"
    folder = sweep_dir_for(tmp_path / "runs",
                           parse_sweep(load_preset(src / "sweep.toml"), "x"))
    shutil.copytree(src, folder)
    outside = tmp_path / "runs" / "outside"
    outside.mkdir()
    (outside / "metrics.jsonl").write_text(json.dumps(
        {"split": "val", "epoch": 7, "step": 1, "perplexity": 12345.0}) + "\n")
    rows = list(csv.DictReader(open(folder / "results.csv")))
    rows[0]["run"] = "../outside"
    rows[1]["run"] = str(outside)
    with open(folder / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return folder, outside


def test_a_run_cell_is_a_name_never_a_path():
    assert is_run_name("p000-hidden3-s0")
    for bad in ("", ".", "..", "../x", "/etc", "a/b", "..\\x", "x\0y", None, 3):
        assert not is_run_name(bad), bad


def test_sweep_report_never_reads_a_run_outside_the_sweep(tmp_path):
    folder, outside = escaping_sweep(tmp_path)
    data = load_sweep(folder)
    assert data.rows == []                          # neither row names a folder in it
    assert load_records(folder, data.rows) == {}
    result = runner.invoke(app, ["sweep-report", str(folder), "--epochs", "hidden", "--json"])
    assert result.exit_code == 0, result.output
    assert "12345" not in result.stdout and "outside" not in result.stdout


def test_a_resumed_sweep_rebuilds_the_rows_from_its_folders(tmp_path):
    folder, _ = escaping_sweep(tmp_path)
    result = runner.invoke(app, ["sweep", str(folder / "sweep.toml"),
                                 "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    runs = [r["run"] for r in csv.DictReader(open(folder / "results.csv"))]
    assert runs == ["p000-hidden3-s0", "p001-hidden4-s0"]


# ---------------------------------------------------------------- --force, --csv -

def good_store(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    shutil.copytree(DATA / "broken_runs" / "good-run", root / "good-run")
    return root


def one_line(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


def test_force_replaces_regular_files_only(tmp_path):
    import os
    store = good_store(tmp_path)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    link = tmp_path / "null.svg"
    link.symlink_to("/dev/null")
    for args in (["export", "good-run", "--csv", str(fifo), "--force"],
                 ["export", "good-run", "--csv", "/dev/null", "--force"],
                 ["compare", "good-run", "--output", str(link), "--force"],
                 ["inspect", "good-run", "--output", str(link), "--force"]):
        result = runner.invoke(app, [*args, "--runs-dir", str(store)])
        one_line(result, "not a regular file", "--force replaces regular files only")
    assert fifo.exists() and not fifo.is_file() and link.is_symlink()


def test_inspect_output_needs_force_to_replace_a_file(tmp_path):
    store = good_store(tmp_path)
    kept = tmp_path / "kept.svg"
    kept.write_text("mine")
    base = ["inspect", "good-run", "--gate", "forget", "--runs-dir", str(store)]
    one_line(runner.invoke(app, [*base, "--output", str(kept)]), "exists; pass --force")
    assert kept.read_text() == "mine"
    result = runner.invoke(app, [*base, "--output", str(kept), "--force"])
    assert result.exit_code == 0, result.output
    assert kept.read_text().lstrip().startswith("<svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.svg", "runs"]   # no temp file


def test_csv_dash_is_standard_output(tmp_path, monkeypatch):
    store = good_store(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["export", "good-run", "--csv", "-", "--runs-dir", str(store)])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "-").exists()
    rows = list(csv.reader(result.stdout.splitlines()))
    assert rows[0][:5] == ["run", "step", "split", "metric", "value"] and len(rows) > 10
    assert result.stderr == ""


def test_export_survives_a_surrogate_key_and_a_step_past_int64(tmp_path):
    store = good_store(tmp_path)
    with open(store / "good-run" / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 7, "split": "val", "\\ud800": 1.5, "loss": 1.0}\n')
        fh.write('{"step": 1000000000000000000000000, "split": "val", "loss": 2.0}\n')
        fh.write('{"step": 1e24, "split": "val", "loss": 2.0}\n')
    target = tmp_path / "out.csv"
    result = runner.invoke(app, ["export", "good-run", "--csv", str(target),
                                 "--runs-dir", str(store)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(target, encoding="utf-8")))
    assert {"metric": "\\ud800", "value": "1.5"}.items() <= next(
        r for r in rows if r["step"] == "7" and r["metric"] != "loss").items()
    assert max(int(r["step"]) for r in rows) == 7        # the garbage steps are not placed
    result = runner.invoke(app, ["export", "good-run", "--tensorboard", str(tmp_path / "tb"),
                                 "--runs-dir", str(store)])
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "tb" / "good-run").glob("events.out.tfevents.*"))


# ---------------------------------------------------------------- control characters

EVIL = "\x1b]0;pwned\x07\x9b2J\r\u202e[/]"
RAW = ("\x1b", "\x07", "\x9b", "\r", "\u202e")


def assert_safe(text: str) -> None:
    assert not [c for c in RAW if c in text], repr(text)


def test_control_characters_in_user_text_are_escaped_on_every_command(tmp_path):
    from lstm_tui.textsafe import printable
    store = good_store(tmp_path)
    shutil.copytree(store / "good-run", store / f"other{EVIL}")
    config = store / f"other{EVIL}" / "config.toml"
    config.write_text(config.read_text().replace(
        'description = ""', 'description = "d\\u001b]0;x\\u0007[/]"'))
    args = ["--runs-dir", str(store)]
    result = runner.invoke(app, ["note", "good-run", f"note{EVIL}", *args])
    assert result.exit_code == 0, result.output
    (store / "good-run" / "annotations.json").write_text(json.dumps(
        {"tags": [f"t{EVIL}"], "note": f"note{EVIL}"}))
    result = runner.invoke(app, ["note", "good-run", *args])
    assert result.exit_code == 0 and "note\\x1b]0;pwned" in result.stdout
    assert_safe(result.output)
    for command in (["runs"], ["runs", "--columns", "note,tags,description"],
                    ["compare", "good-run", f"other{EVIL}"], ["tag", "good-run"],
                    ["runs", "--where", f"note~{EVIL}"], ["note", f"nope{EVIL}"]):
        result = runner.invoke(app, [*command, *args])
        assert "Traceback" not in result.output and result.exception is None or \
            isinstance(result.exception, SystemExit), (command, result.exception)
        assert result.exit_code in (0, 2), (command, result.output)
        assert_safe(result.output)
    assert printable(EVIL) == "\\x1b]0;pwned\\x07\\x9b2J\\x0d\\u202e[/]"
    assert json.loads((store / "good-run" / "annotations.json").read_text())["note"] == \
        f"note{EVIL}"                                     # what is saved is unchanged


def test_the_console_escapes_text_but_keeps_its_own_cursor_moves():
    """The net under every CLI print: user text is escaped; rich's control segments (a
    live progress bar's cursor moves) pass as they are."""
    import io
    from rich.control import Control
    from lstm_tui.cli.console import CliConsole
    buffer = io.StringIO()
    con = CliConsole(file=buffer, force_terminal=True, width=200)
    con.print(f"name {EVIL}", markup=False, highlight=False)
    con.control(Control.move_to_column(0))
    text = buffer.getvalue()
    assert "name \\x1b]0;pwned" in text and "\x9b" not in text and "\u202e" not in text
    assert text.endswith("\x1b[1G")                    # the cursor move itself, unescaped


# ---------------------------------------------------------------- results.csv rows

def sweep_copy(tmp_path: Path, case: str = "good-sweep") -> Path:
    src = DATA / "broken_sweeps" / case
    folder = sweep_dir_for(tmp_path / "runs", parse_sweep(load_preset(src / "sweep.toml"), "x"))
    shutil.copytree(src, folder)
    return folder


def test_a_duplicated_row_is_one_result_not_two_seeds(tmp_path):
    folder = sweep_copy(tmp_path)
    lines = (folder / "results.csv").read_text().splitlines(keepends=True)
    (folder / "results.csv").write_text("".join(lines + lines[1:2] + lines[1:2]))
    data = load_sweep(folder)
    assert len(data.rows) == 2
    from lstm_tui.sweeps.surface import groups
    assert all(g.stat.n == 1 for g in groups(data.rows, data.axes, data.column))


def test_damaged_rows_are_rebuilt_from_their_folders(tmp_path):
    good = list(csv.DictReader(open(DATA / "broken_sweeps" / "good-sweep" / "results.csv")))
    folder = sweep_copy(tmp_path, "results-wrong-types")
    rows = list(csv.DictReader(open(folder / "results.csv")))
    rows[1]["status"] = "completed"                # sideways: would be skipped anyway
    rows[1]["model.hidden"] = "99"                 # a value the point does not have
    with open(folder / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    trained = {p: (p / "metrics.jsonl").read_bytes() for p in folder.iterdir() if p.is_dir()}
    result = runner.invoke(app, ["sweep", str(folder / "sweep.toml"),
                                 "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert {p: (p / "metrics.jsonl").read_bytes() for p in trained} == trained   # not retrained
    again = list(csv.DictReader(open(folder / "results.csv")))
    for before, after in zip(good, again):
        for column in ("run", "model.hidden", "best_perplexity", "steps", "status"):
            assert after[column] == before[column], (column, after[column])
