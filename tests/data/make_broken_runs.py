"""Rebuild tests/data/broken_runs and tests/data/broken_sweeps (run from the repo root):

    python tests/data/make_broken_runs.py

Each folder is a real tiny run (or sweep) damaged one way, as found in issue 12's
crash, corruption and hostile-input trials.  tests/cli/test_broken_corpus.py runs every
command against each; the folder name says what is wrong with it.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).parent
RUNS, SWEEPS = HERE / "broken_runs", HERE / "broken_sweeps"

CHAR = {"name": "tiny", "task": {"kind": "char_lm", "max_chars": 3000, "seq_len": 8,
                                 "sample_length": 0},
        "model": {"cell": "lstm", "hidden": 4},
        "train": {"steps": 6, "batch_size": 4, "eval_every": 3, "log_every": 3,
                  "device": "cpu", "threads": 1}}


def folder(path: Path) -> None:
    """A folder where a file belongs (with a file in it, so that git keeps it)."""
    path.mkdir()
    (path / ".keep").write_text("")


def main() -> None:
    from lstm_tui.config import load_preset, parse_config, to_toml
    from lstm_tui.experiment import start_run
    from lstm_tui.sweeps.runner import run_points
    from lstm_tui.sweeps.spec import parse_sweep

    for d in (RUNS, SWEEPS):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    tmp = HERE / "_build"
    shutil.rmtree(tmp, ignore_errors=True)
    good, _ = start_run(parse_config(CHAR), tmp)
    other = json.loads(json.dumps(CHAR))
    other["model"]["hidden"] = 6
    wider, _ = start_run(parse_config(other), tmp)

    def case(name: str) -> Path:
        dst = RUNS / name
        shutil.copytree(good, dst, ignore=shutil.ignore_patterns(".*lock"))
        return dst

    def summary(dst: Path, **changes) -> None:
        data = json.loads((dst / "summary.json").read_text())
        data.update(changes)
        (dst / "summary.json").write_text(json.dumps(data))

    case("good-run")
    summary(case("summary-steps-string"), steps="abc")
    summary(case("summary-best-string"), best="x")
    summary(case("summary-seconds-string"), seconds="x")
    summary(case("summary-pid-huge"), pid=99999999999, status="running")
    dst = case("summary-steps-1e400")
    (dst / "summary.json").write_text(
        (dst / "summary.json").read_text().replace('"steps": 6', '"steps": 1e400'))
    (case("summary-not-json") / "summary.json").write_text('{"status": "compl')
    (case("summary-a-list") / "summary.json").write_text("[1, 2, 3]\n")
    dst = case("summary-is-a-folder")
    (dst / "summary.json").unlink()
    folder((dst / "summary.json"))
    dst = case("config-cut-mid-file")
    text = (dst / "config.toml").read_text()
    (dst / "config.toml").write_text(text[:text.index("[train]") + 40].rsplit("\n", 1)[0] + "\n")
    (case("config-empty") / "config.toml").write_text("")
    dst = case("config-is-a-folder")
    (dst / "config.toml").unlink()
    folder((dst / "config.toml"))
    dst = case("config-key-missing")      # a line gone: the end line still counts it
    (dst / "config.toml").write_text("".join(
        line for line in (dst / "config.toml").read_text().splitlines(True)
        if not line.startswith("hidden = ")))
    dst = case("config-hidden-edited")
    (dst / "config.toml").write_text((dst / "config.toml").read_text()
                                     .replace("hidden = 4 ", "hidden = 5 ", 1))
    dst = case("metrics-odd-records")
    with open(dst / "metrics.jsonl", "a") as fh:
        fh.write('[1, 2]\n"text"\n{"step": "x", "split": "val"}\n{"step": 7, "split": 3}\n'
                 '{"step": 8, "split": "val", "loss": "high", "perplexity": [1]}\n\xff\xfe\n')
    dst = case("metrics-is-a-folder")
    (dst / "metrics.jsonl").unlink()
    folder((dst / "metrics.jsonl"))
    dst = case("checkpoint-other-shape")
    for tag in ("best", "last"):
        shutil.copy(wider / f"{tag}.pt", dst / f"{tag}.pt")
    dst = case("checkpoint-garbage")
    for tag in ("best", "last"):
        (dst / f"{tag}.pt").write_bytes(b"\x00garbage" * 50)
    dst = case("empty-interrupted-at-start")
    for name in ("metrics.jsonl", "best.pt", "last.pt", "diagnostics.jsonl"):
        (dst / name).unlink(missing_ok=True)
    summary(dst, status="interrupted", steps=0, best=None, final=None, empty=True,
            checkpoints={})
    dst = case("stale-tmp-files")
    (dst / ".summary.json.999999999.tmp").write_text('{"half": ')
    (dst / ".last.pt.999999999.tmp").write_bytes(b"\x00" * 10)
    summary(dst, status="interrupted")   # killed mid-write: resumable
    shutil.rmtree(tmp)

    # sweeps: a real two-point sweep, then damaged copies
    preset = HERE / "tiny_sweep.toml"
    preset.write_text(to_toml(parse_config(CHAR)) + "\n[sweep]\n"
                      "metric = \"perplexity\"\n[sweep.grid]\n\"model.hidden\" = [3, 4]\n")
    cfg = load_preset(preset)
    result = run_points(preset, cfg, parse_sweep(cfg, str(preset)), tmp)
    preset.unlink()

    def sweep_case(name: str) -> Path:
        dst = SWEEPS / name
        shutil.copytree(result.sweep_dir, dst, ignore=shutil.ignore_patterns(".*lock"))
        return dst

    toml = result.sweep_dir / "sweep.toml"   # no paths of the machine that built it
    toml.write_text("".join(l for l in toml.read_text().splitlines(True)
                            if not l.startswith("# ")))
    sweep_case("good-sweep")
    (sweep_case("results-garbage-bytes") / "results.csv").write_bytes(
        b"\x00\xff\xfe garbage \x00\n\x01\x02,,,\n" * 20)
    dst = sweep_case("results-wrong-types")
    rows = list(csv.DictReader(open(dst / "results.csv")))
    rows[0]["best_perplexity"] = "abc"
    rows[0]["steps"] = "[1,"
    rows[1]["status"] = "sideways"
    with open(dst / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    dst = sweep_case("results-run-escapes")      # run cells that are paths, not names
    rows = list(csv.DictReader(open(dst / "results.csv")))
    rows[0]["run"] = "../../../../outside"
    rows[1]["run"] = "/etc"
    with open(dst / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    dst = sweep_case("results-is-a-folder")
    (dst / "results.csv").unlink()
    folder((dst / "results.csv"))
    dst = sweep_case("point-summary-wrong-types")
    point = sorted(p for p in dst.iterdir() if p.is_dir())[0]
    data = json.loads((point / "summary.json").read_text())
    data.update(steps="abc", best="x")
    (point / "summary.json").write_text(json.dumps(data))
    shutil.rmtree(tmp)
    print(f"wrote {len(list(RUNS.iterdir()))} run folders and "
          f"{len(list(SWEEPS.iterdir()))} sweep folders", file=sys.stderr)


if __name__ == "__main__":
    main()
