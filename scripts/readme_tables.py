"""The result tables of the README and the manual, generated from a `lstm-lab verify` run
(never hand-copied).

    python scripts/readme_tables.py run [--backend ensemble]
        trains the sweep presets behind the tables (all of them: the tables come from one
        run) with `lstm-lab verify --json` into a temporary runs folder, stores what the
        tables need in readme_tables.json (next to this script) and rewrites the tables of
        every target file from it (about 5 minutes on 2 CPU cores)
    python scripts/readme_tables.py collect --runs-dir DIR --verify-json FILE --command CMD
        the same from a verify run made by hand (`verify ... --runs-dir DIR --json > FILE`)
    python scripts/readme_tables.py render [--check]
        rewrites the target files from the stored readme_tables.json; --check only compares
        (exit 1 when one differs: a hand-edited table)

The targets (PLACES): README.md holds the headline figures (the `summary` block: one
measured figure per seed experiment), docs/sweeps/seed-experiments.md every result table.
In each, a block sits between ``<!-- verify:NAME start -->`` and ``<!-- verify:NAME end -->``
(NAME a preset, `summary`, or `run`: the line naming the run); everything else (the prose
reading the tables) stays as written.  tests/unit/test_readme_tables.py checks that each
target is exactly what `render` makes of the stored JSON, so the figures cannot drift
from the run that produced them.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
README = REPO / "README.md"
MANUAL = REPO / "docs" / "sweeps" / "seed-experiments.md"
STORED = HERE / "readme_tables.json"
WIDTH = 120                  # the tables' width (what any editor shows)

# preset -> (x, y): the heatmap's columns and rows, as the README has always shown them
TABLES = {
    "sweep_nth_seq_len_cells": ("task.seq_len", "model.hidden"),
    "sweep_nth_features": ("model.hidden", "task.features"),
    "sweep_nth_dataset_size": ("model.cell", "task.train_size"),
    "sweep_rnn_vs_lstm_seq_len": ("model.cell", "task.seq_len"),
    "sweep_char_lm_unrollings_nodes": ("model.hidden", "task.seq_len"),
}
# preset -> (what it measures, the expectation whose figure the README's summary quotes)
HEADLINES = {
    "sweep_nth_seq_len_cells": ("nth-element recall over sequence length × hidden units", 3),
    "sweep_nth_features": ("nth-element recall over feature count × hidden units", 2),
    "sweep_nth_dataset_size": ("nth-element recall over data set size, LSTM vs GRU", 2),
    "sweep_rnn_vs_lstm_seq_len": ("weighted sum, RNN vs LSTM over sequence length", 0),
    "sweep_char_lm_unrollings_nodes": ("char LM perplexity over unrollings × nodes", 0),
}
# target file -> the blocks it holds (each exactly once; a block may be in several files)
PLACES = {README: ("run", "summary"), MANUAL: ("run", "summary", *TABLES)}
BLOCK = re.compile(r"(<!-- verify:(?P<name>[\w-]+) start -->\n)(?P<body>.*?)"
                   r"(<!-- verify:(?P=name) end -->)", re.S)


# ---------------------------------------------------------------- collecting

def collect(runs_dir: Path, verify_rows: list[dict], command: str, date: str,
            environment: str) -> dict:
    """What the tables need from a verify run: each sweep's rows (axes, seed, status,
    metric), its verdicts and seconds, and the command and date that produced them."""
    from lstm_tui.config import load_preset
    from lstm_tui.presets import resolve_preset
    from lstm_tui.sweeps.runner import sweep_dir_for
    from lstm_tui.sweeps.spec import parse_sweep
    from lstm_tui.sweeps.surface import load_sweep
    tables = []
    for preset, (x, y) in TABLES.items():
        mine = [r for r in verify_rows if r["preset"] == preset]
        if not mine:
            continue
        folder = mine[0].get("folder")
        if not folder:      # a verify of before the JSON named the folder: find it
            path = resolve_preset(preset)
            folder = sweep_dir_for(runs_dir, parse_sweep(load_preset(path), str(path), yes=True))
        data = load_sweep(Path(folder))
        keep = [*data.axes, "seed", "status", data.column]
        tables.append({
            "preset": preset, "x": x, "y": y, "axes": data.axes, "metric": data.metric,
            "goal": data.goal, "column": data.column, "total": data.total,
            "seconds": round(mine[0]["seconds"], 1),
            "rows": [{k: r.get(k) for k in keep} for r in data.rows],
            "verdicts": [{k: r[k] for k in ("expectation", "observed", "band", "verdict", "note")}
                         for r in mine]})
    return {"command": command, "date": date, "environment": environment, "tables": tables}


def run_verify(presets: list[str], backend: str) -> dict:
    """Train the presets with `lstm-lab verify --json` in a temporary folder; collect."""
    with tempfile.TemporaryDirectory(prefix="readme-tables-") as tmp:
        argv = ["lstm-lab", "verify", *presets, "--backend", backend, "--runs-dir", tmp,
                "--json"]
        shown = " ".join(shlex.quote(a) for a in argv).replace(tmp, "RUNS")
        print(f"running {shown} ...", file=sys.stderr)
        done = subprocess.run([sys.executable, "-m", "lstm_tui", *argv[1:]], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
        if done.returncode not in (0, 3):       # 3: something missed, still a result
            sys.exit(f"verify failed (exit {done.returncode})")
        rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        return collect(Path(tmp), rows, shown, today(), environment())


def today() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def environment() -> str:
    import torch
    return f"torch {torch.__version__}, {os.cpu_count()} CPU cores"


# ---------------------------------------------------------------- rendering

def render_table(table: dict) -> str:
    """One preset's block: a line naming it, the heatmap as `sweep-report --x X --y Y`
    prints it (mean ±std over seeds), and its expectations as verify judged them."""
    from rich.console import Console
    from lstm_tui.render import sweep_tables
    from lstm_tui.sweeps import surface as sf
    s = sf.surface(table["rows"], table["axes"], table["x"], table["y"], table["column"],
                   table["goal"], metric=table["column"].replace("_", " "))
    console = Console(file=io.StringIO(), width=WIDTH, color_system=None, force_terminal=False,
                      legacy_windows=False, emoji=False, highlight=False)
    for part in sweep_tables.heatmap_tables(s, WIDTH):
        console.print(part)
    heatmap = "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())
    met = sum(v["verdict"] == "met" for v in table["verdicts"])
    runs = len(table["rows"])
    head = (f"`{table['preset']}`: {runs} runs, {table['seconds']:g} s; "
            f"`sweep-report --x {leaf(table['x'])} --y {leaf(table['y'])}`; "
            f"expectations {met} of {len(table['verdicts'])} met.")
    lines = [head, "", "```", heatmap, "```", "",
             "| expectation | observed | band | verdict |", "|---|---|---|---|"]
    for v in table["verdicts"]:
        observed = "-" if v["observed"] is None else f"{v['observed']:.4g}"
        verdict = v["verdict"] if v["verdict"] == "met" else f"**{v['verdict'].upper()}**"
        if v.get("note"):
            verdict += f" ({v['note']})"
        lines.append(f"| `{v['expectation']}` | {observed} | {v['band']} | {verdict} |")
    return "\n".join(lines) + "\n"


def render_run(stored: dict) -> str:
    return (f"Generated by `scripts/readme_tables.py` from one `lstm-lab verify` run "
            f"({stored['date']}, {stored['environment']}, shared with other jobs): "
            f"`{stored['command']}`. Each block below is that run's result table and "
            "expectations, unedited.\n")


def render_summary(stored: dict) -> str:
    """The README's headline figures: per seed experiment its runs and seconds, one measured
    figure against its band, and how many of its expectations were met."""
    lines = ["| seed experiment | preset | runs | one measured figure | expectations |",
             "|---|---|---|---|---|"]
    for table in stored["tables"]:
        title, index = HEADLINES[table["preset"]]
        verdicts = table["verdicts"]
        v = verdicts[min(index, len(verdicts) - 1)]
        observed = "-" if v["observed"] is None else f"{v['observed']:.4g}"
        met = sum(x["verdict"] == "met" for x in verdicts)
        lines.append(f"| {title} | `{table['preset']}` | {len(table['rows'])} in "
                     f"{table['seconds']:g} s | `{v['expectation']}` = {observed} "
                     f"(band {v['band']}) | {met} of {len(verdicts)} met |")
    return "\n".join(lines) + "\n"


def leaf(axis: str) -> str:
    return axis.rsplit(".", 1)[-1]


def blocks(stored: dict) -> dict[str, str]:
    found = {"run": render_run(stored), "summary": render_summary(stored)}
    found.update({t["preset"]: render_table(t) for t in stored["tables"]})
    return found


def rewrite(text: str, rendered: dict[str, str], names=None) -> str:
    """`text` with each marked block replaced by its rendering.  `names`: the blocks the
    text must hold (default: every rendering); one missing, or a block without a
    rendering, is an error (nothing half-updated)."""
    found = [m["name"] for m in BLOCK.finditer(text)]
    wanted = set(rendered if names is None else names)
    missing = sorted(wanted - set(found))
    unknown = sorted(set(found) - set(rendered))
    if missing or unknown:
        raise ValueError(f"markers do not match the stored tables: missing "
                         f"{missing or '-'}, unknown {unknown or '-'}")
    return BLOCK.sub(lambda m: m[1] + rendered[m["name"]] + m[4], text)


def rewrite_all(texts: dict[Path, str], rendered: dict[str, str]) -> dict[Path, str]:
    """Every target's text rewritten (each must hold the blocks PLACES gives it)."""
    return {path: rewrite(text, rendered, PLACES[path]) for path, text in texts.items()}


def read_targets() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in PLACES}


def load_stored(path: Path = STORED) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def save_stored(stored: dict, path: Path = STORED) -> None:
    path.write_text(json.dumps(stored, indent=1) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="train the presets with verify, store, render")
    run.add_argument("--backend", default="ensemble")
    got = sub.add_parser("collect", help="store a verify run made by hand, render")
    got.add_argument("--runs-dir", type=Path, required=True)
    got.add_argument("--verify-json", type=Path, required=True)
    got.add_argument("--command", required=True, help="the verify command line, as run")
    got.add_argument("--date", default=today())
    show = sub.add_parser("render", help="rewrite the targets from the stored JSON")
    show.add_argument("--check", action="store_true", help="only compare (exit 1 if stale)")
    args = parser.parse_args(argv)
    if args.action == "run":
        save_stored(run_verify(list(TABLES), args.backend))
    elif args.action == "collect":
        rows = [json.loads(line) for line in args.verify_json.read_text().splitlines()
                if line.startswith("{")]
        save_stored(collect(args.runs_dir, rows, args.command, args.date, environment()))
    texts = read_targets()
    new = rewrite_all(texts, blocks(load_stored()))
    stale = [path for path in texts if new[path] != texts[path]]
    if getattr(args, "check", False):
        for path in stale:
            print(f"{path.relative_to(REPO)}'s result tables differ from "
                  "scripts/readme_tables.json (run: python scripts/readme_tables.py render)",
                  file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(new[path], encoding="utf-8")
    print(f"rewrote {', '.join(str(p.relative_to(REPO)) for p in stale) or 'nothing'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
