"""summary.json is replaced atomically: a write that fails half-way keeps the old one.

The failure is real: a child process lowers its file-size limit (RLIMIT_FSIZE) below
the new summary's size, so whatever way the file is written, the write stops part of
the way through with EFBIG, as on a full disk.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from lstm_tui.runs.reader import read_info

resource = pytest.importorskip("resource")

CHILD = textwrap.dedent("""
    import errno, resource, signal, sys
    from pathlib import Path
    from lstm_tui import events as ev
    from lstm_tui.config import parse_config
    from lstm_tui.runs.writer import RunWriter

    run_dir = Path(sys.argv[1])
    run_dir.mkdir()
    writer = RunWriter(run_dir, parse_config({"name": "t"}))
    writer(ev.ValMetrics(step=10, epoch=1, loss=0.4, metric=0.8, best=0.8, is_best=True))
    size = (run_dir / "summary.json").stat().st_size
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 40, hard))
    try:
        writer(ev.Finished(status="completed", step=20, seconds=1.0, best=0.9, final=0.9,
                           message="x" * 20000))
    except OSError as exc:
        print("write failed", errno.errorcode.get(exc.errno))
        sys.exit(0)
    if writer.write_error:     # the writer ends a run without raising and says why
        print("write failed", writer.write_error)
        sys.exit(0)
    sys.exit(3)   # the limit did not bite: the test proves nothing
""")


def test_a_summary_write_failing_half_way_leaves_the_previous_one(tmp_path):
    run_dir = tmp_path / "run"
    done = subprocess.run([sys.executable, "-c", CHILD, str(run_dir)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "write failed" in done.stdout
    # never half a file: the previous summary, or (when it fits in the old file's own
    # blocks) a whole reduced one that says how the run ended
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["steps"], summary["best"]) in ((10, 0.8), (20, 0.9))
    assert len(summary.get("message", "")) <= 300
    info = read_info(run_dir)
    assert info.error == "" and (info.steps, info.best) in ((10, 0.8), (20, 0.9))
