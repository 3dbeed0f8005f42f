"""Loading a series file: lstm-lab's reader vs plain ``pandas.read_csv``.

Writes a 1,000,000-row x 5-column CSV (a time column and four float columns) once, then
measures, each in a fresh subprocess so that peak memory is that step's alone:

- plain:   ``pandas.read_csv(path)`` (the reference);
- lab:     ``tasks.series.read_table`` + ``prepare`` (read, check, split, normalize: what
           ``check``, the Dataset pane and a run do before training).

It prints seconds and peak resident memory above the process's start (after imports),
as a multiple of the numeric data's size (1e6 x 5 float64 = 40 MB).  Targets (issue 8):
under 5 s and under 4x.

    python benchmarks/bench_series_load.py [--rows 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
from lstm_tui.tasks import registry
from lstm_tui.tasks.series import SeriesTask, prepare, read_table
registry.kinds()

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()

path, mode = sys.argv[1], sys.argv[2]
before = rss()
t0 = time.perf_counter()
if mode == "plain":
    frame = pd.read_csv(path)
else:
    prep = prepare(SeriesTask(path=path, target=["load"], time="time", window=48))
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak": peak - before}))
"""


def write_csv(path: Path, rows: int) -> None:
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(0)
    t = np.arange(rows)
    frame = pd.DataFrame({"time": t,
                          "load": 100 + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, rows),
                          "temp": 20 + rng.normal(0, 3, rows),
                          "wind": rng.gamma(2.0, 2.0, rows),
                          "price": 50 + rng.normal(0, 5, rows)})
    frame.to_csv(path, index=False, float_format="%.6f")


def measure(path: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import pandas as pd
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "series.csv"
        write_csv(path, args.rows)
        numeric = args.rows * 5 * 8
        print(f"pandas {pd.__version__}, python {platform.python_version()}, "
              f"{args.rows:,} rows x 5 columns, file {path.stat().st_size / 2**20:.1f} MiB, "
              f"numeric data {numeric / 2**20:.1f} MiB; median of {args.rounds} rounds")
        results = {}
        for _ in range(args.rounds):        # interleaved: both see the same machine load
            for mode in ("plain", "lab"):
                results.setdefault(mode, []).append(measure(path, mode))
        print(f"{'':28}{'seconds':>9}{'peak MiB':>10}{'peak / data':>13}")
        for mode, label in (("plain", "pandas.read_csv"), ("lab", "read_table + prepare")):
            secs = statistics.median(r["seconds"] for r in results[mode])
            peak = statistics.median(r["peak"] for r in results[mode])
            print(f"{label:28}{secs:9.2f}{peak / 2**20:10.1f}{peak / numeric:13.2f}")
        ratio = (statistics.median(r["seconds"] for r in results["lab"])
                 / statistics.median(r["seconds"] for r in results["plain"]))
        print(f"lab / plain time: {ratio:.2f}x")


if __name__ == "__main__":
    main()
