"""What leaves the lab: compare and sweep-report in files (no ANSI, no split rows, heatmaps
that fit), --json documents, --output figures, `export --csv/--tensorboard`, bad input."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from tests.cli.output_data import fake_run, fake_sweep, three_runs

runner = CliRunner()
ANSI = re.compile(r"\x1b\[")


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch):
    """As a user's shell: COLUMNS not exported, colour allowed unless a test says so."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


def invoke(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def bad(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for f in fragments:
        assert f in lines[0], lines[0]
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def runs(runs_dir):
    return three_runs(runs_dir)


# ---------------------------------------------------------------- compare in a file

@pytest.mark.parametrize("no_color", [False, True])
def test_compare_into_a_file_is_plain_whole_and_legible(runs, no_color):
    result = invoke("compare", *(p.name for p in runs), env={"NO_COLOR": "1"} if no_color
                    else None)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert not ANSI.search(text)
    chart = text[text.index("val accuracy"):].splitlines()
    assert all(len(line) <= 120 for line in chart)
    rows = [line for line in chart if "┤" in line or line.lstrip().startswith("│")]
    assert len(rows) >= 10 and len({len(r.rstrip()) for r in rows}) == 1   # none split
    for run in runs:   # the full name, date first, in the legend
        assert any(run.name in line for line in chart[:6]), run.name
    # without colour each run has its own marker, so the lines can be told apart
    markers = [re.search(r"(\S)\1 " + re.escape(r.name), text).group(1) for r in runs]
    assert len(set(markers)) == 3


def test_compare_unknown_metric_names_what_was_recorded(runs):
    line = bad(invoke("compare", runs[0].name, runs[1].name, "--metric", "foo"),
               "--metric foo: no val records")
    assert "metric: metric" not in line
    recorded = line.split("have: ", 1)[1]
    assert "accuracy" in recorded and "loss" in recorded
    assert "epoch" not in recorded and "time" not in recorded and "step" not in recorded


def test_compare_json(runs_dir):
    a = fake_run(runs_dir, "a-run", cell="lstm")
    b = fake_run(runs_dir, "b-run", cell="gru", diverge=True)
    result = invoke("compare", a.name, b.name, "--metric", "loss", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)   # strict: json.loads would take NaN, so check below
    assert "NaN" not in result.stdout
    assert doc["version"] == 1 and doc["metric"] == "loss" and doc["split"] == "val"
    assert [r["name"] for r in doc["runs"]] == ["a-run", "b-run"]
    assert doc["runs"][1]["config"]["model.cell"] == "gru"
    assert doc["differing"] == {"model.cell": ["lstm", "gru"]}
    curve = doc["curves"][0]
    assert curve["run"] == "a-run" and curve["steps"][:2] == [10, 20]
    assert len(curve["values"]) == 10
    assert doc["curves"][1]["values"][-1] is None or len(doc["curves"][1]["values"]) == 9


def test_json_errors_are_one_line_on_stderr_and_nothing_on_stdout(runs):
    result = invoke("compare", runs[0].name, "nope", "--json")
    bad(result, "nope: no such run")
    assert result.stdout == ""


# ---------------------------------------------------------------- figures

MAGIC = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}


@pytest.mark.parametrize("ext", ["png", "svg", "pdf", "html"])
def test_compare_writes_a_figure(runs, tmp_path, ext):
    target = tmp_path / f"curves.{ext}"
    result = invoke("compare", *(p.name for p in runs), "--output", target)
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    if ext == "html":
        page = data.decode()
        # self-contained: plotly.js inline, no script fetched from anywhere
        assert "<script src" not in page and "Plotly.newPlot('chart0'" in page
        assert len(page) > 1_000_000 and all(r.name in page for r in runs)
    else:
        assert data.startswith(MAGIC[ext]) and len(data) > 5_000
    if ext == "svg":
        assert all(r.name in data.decode() for r in runs)   # text kept as text
    assert not list(tmp_path.glob(".*.tmp"))


def test_figure_bad_input_loses_nothing(runs, tmp_path):
    names = [p.name for p in runs]
    bad(invoke("compare", *names, "--output", tmp_path / "c.gif"), "unknown extension '.gif'",
        ".png, .svg, .pdf, .html")
    bad(invoke("compare", *names, "-o", tmp_path / "c"), "unknown extension '(none)'")
    bad(invoke("compare", *names, "-o", tmp_path / "nodir" / "c.png"), "does not exist")
    kept = tmp_path / "c.png"
    kept.write_bytes(b"mine")
    bad(invoke("compare", *names, "-o", kept), "exists; pass --force")
    assert kept.read_bytes() == b"mine"
    assert invoke("compare", *names, "-o", kept, "--force").exit_code == 0
    assert kept.read_bytes().startswith(MAGIC["png"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "runs"]


def test_a_missing_extra_is_one_line_with_the_install_hint(runs, tmp_path, monkeypatch):
    import builtins
    real = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib") or name.startswith("plotly"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    for ext in ("png", "html"):
        bad(invoke("compare", runs[0].name, runs[1].name, "-o", tmp_path / f"c.{ext}"),
            "pip install 'lstm-lab[plots]'")
    assert not (tmp_path / "c.png").exists()


# ---------------------------------------------------------------- sweep-report

SEQ = list(range(2, 29))   # 27 values, as in the report


def test_a_27_value_heatmap_is_transposed_to_fit_120_columns(tmp_path):
    sweep = fake_sweep(tmp_path, {"task.seq_len": SEQ, "model.cell": ["lstm", "gru"]})
    for env in ({"COLUMNS": "120"}, None):   # a 120-column terminal's width, and a file
        result = invoke("sweep-report", sweep, "--x", "seq_len", "--y", "cell", env=env)
        assert result.exit_code == 0, result.output
        text = result.stdout
        assert "…" not in text and "transposed to fit 120 columns" in " ".join(text.split())
        assert max(len(line) for line in text.splitlines()) <= 120
        rows = [line for line in text.splitlines() if line.startswith("│ ")]
        assert [int(r.split()[1]) for r in rows] == SEQ        # seq_len down the rows


def test_a_heatmap_too_wide_either_way_is_split_into_parts(tmp_path):
    sweep = fake_sweep(tmp_path, {"task.seq_len": SEQ, "model.hidden": list(range(1, 15))},
                       seeds=1)
    result = invoke("sweep-report", sweep, "--x", "seq_len", "--y", "hidden",
                    env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 100
    parts = re.findall(r"columns (\d+)-(\d+) of (\d+) \(split to fit 100 columns\)",
                       " ".join(text.split()))
    assert len(parts) >= 2
    covered = [v for lo, hi, _ in parts for v in range(int(lo), int(hi) + 1)]
    assert covered == list(range(1, int(parts[0][2]) + 1))   # every column once, in order


def test_sweep_report_json_for_every_view(tmp_path):
    sweep = fake_sweep(tmp_path, {"task.seq_len": [4, 8, 16], "model.cell": ["lstm", "gru"]},
                       with_runs=True)
    docs = {}
    for view, args in {"heatmap": ["--x", "seq_len", "--y", "cell"],
                       "lines": ["--x", "seq_len", "--by", "cell"],
                       "epochs": ["--epochs", "cell"], "default": []}.items():
        result = invoke("sweep-report", sweep, *args, "--json")
        assert result.exit_code == 0, result.output
        docs[view] = json.loads(result.stdout)
    h = docs["heatmap"]["heatmap"]
    assert docs["heatmap"]["view"] == "heatmap" and h["xs"] == [4, 8, 16]
    assert h["ys"] == ["lstm", "gru"] and len(h["cells"]) == 6
    cell = next(c for c in h["cells"] if c["x"] == 4 and c["y"] == "gru")
    assert cell["n"] == 2 and cell["mean"] == pytest.approx((0.95 + 0.96) / 2 + 0.004 * 0)
    lines = docs["lines"]["lines"]
    assert lines["by"] == "model.cell" and [ln["label"] for ln in lines["lines"]] == \
        ["cell=lstm", "cell=gru"]
    assert docs["epochs"]["lines"]["lines"][0]["xs"] == [1, 2, 3]
    d = docs["default"]
    assert d["view"] == "heatmap" and len(d["points"]) == 6 and d["rows"] == 12
    assert d["points"][0]["values"] == {"task.seq_len": 4, "model.cell": "gru"}


@pytest.mark.parametrize("args,ext", [
    (["--x", "seq_len", "--y", "cell"], "png"), (["--x", "seq_len", "--by", "cell"], "pdf"),
    (["--epochs", "cell"], "svg"), ([], "html"), (["--x", "seq_len", "--by", "cell"], "html"),
])
def test_sweep_report_figures_for_every_view(tmp_path, args, ext):
    sweep = fake_sweep(tmp_path, {"task.seq_len": [4, 8, 16], "model.cell": ["lstm", "gru"]},
                       with_runs=True)
    target = tmp_path / f"view.{ext}"
    result = invoke("sweep-report", sweep, *args, "--output", target)
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    if ext == "html":
        page = data.decode()
        assert "<script src" not in page
        assert '"type": "surface"' in page          # the 3-D surface of the two axes
        assert ('"type": "heatmap"' in page) == (args == [])
    else:
        assert data.startswith(MAGIC[ext])


def test_sweep_report_bad_output(tmp_path):
    sweep = fake_sweep(tmp_path, {"task.seq_len": [4, 8], "model.cell": ["lstm", "gru"]})
    bad(invoke("sweep-report", sweep, "-o", tmp_path / "x.jpeg"), "unknown extension")
    bad(invoke("sweep-report", sweep, "--where", "cell=lstm", "--where", "seq_len=4",
               "-o", tmp_path / "x.png"), "nothing to draw")
    assert not (tmp_path / "x.png").exists()


# ---------------------------------------------------------------- check, presets

def test_check_and_presets_json():
    result = invoke("check", "char_lm_udacity", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["task"] == "char_lm" and doc["metric"] == "perplexity"
    assert doc["parameters"]["total"] == 4 * (64 * 27 + 64 * 64 + 128) + 64 * 27 + 27
    assert sum(layer["params"] for layer in doc["layers"]) == doc["parameters"]["total"]
    assert doc["config"]["model"]["hidden"] == 64 and doc["sweep"] is None
    sweep = json.loads(invoke("check", "sweep_nth_seq_len_cells", "--json").stdout)["sweep"]
    assert sweep["points"] > 1 and "task.seq_len" in sweep["axes"]
    presets = json.loads(invoke("presets", "--json").stdout)["presets"]
    names = {p["name"]: p for p in presets}
    assert names["nth_element_lstm"]["kind"] == "run"
    assert names["sweep_nth_seq_len_cells"]["kind"] == "sweep"
    assert all(p["description"] for p in presets)
    result = invoke("check", "no_such_preset", "--json")
    bad(result, "no_such_preset")
    assert result.stdout == ""


# ---------------------------------------------------------------- export

def test_export_csv_long_table(runs_dir, tmp_path):
    a = fake_run(runs_dir, "a-run", cell="lstm", steps=30)
    b = fake_run(runs_dir, "b-run", cell="gru", steps=20, diverge=True)
    target = tmp_path / "long.csv"
    result = invoke("export", a.name, b.name, a.name, "--csv", target)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    header = list(rows[0])
    assert header[:5] == ["run", "step", "split", "metric", "value"]
    assert "model.cell" in header and "train.lr" in header and "description" not in header
    # a train record: loss accuracy lr grad_norm mean_abs_grad steps_per_sec + 2 + 2 nested;
    # a val record: loss accuracy
    assert len(rows) == 3 * 12 + 2 * 12
    assert {r["run"] for r in rows} == {"a-run", "b-run"}
    val = [r for r in rows if r["run"] == "a-run" and r["split"] == "val" and
           r["metric"] == "accuracy"]
    assert [int(r["step"]) for r in val] == [10, 20, 30]
    assert float(val[0]["value"]) == pytest.approx(1 - 2.718281828 ** (-1 / 3), rel=1e-6)
    assert {r["model.cell"] for r in rows if r["run"] == "b-run"} == {"gru"}
    nested = [r for r in rows if r["metric"] == "grad_norms/rnn.weight_ih_l0"]
    assert len(nested) == 5
    assert any(r["metric"] == "grad_norms/head.bias" and r["value"] == "" for r in rows)
    diverged = [r for r in rows if r["run"] == "b-run" and r["metric"] == "loss"
                and r["step"] == "20"]
    assert [r["value"] for r in diverged] == ["", ""]      # not finite: an empty cell


def test_export_refuses_to_overwrite_without_force(runs_dir, tmp_path):
    a = fake_run(runs_dir, "a-run")
    target = tmp_path / "out.csv"
    target.write_text("precious\n")
    bad(invoke("export", a.name, "--csv", target), "exists; pass --force")
    assert target.read_text() == "precious\n"
    bad(invoke("export", a.name), "--csv FILE and/or --tensorboard DIR")
    bad(invoke("export", "nope", "--csv", tmp_path / "n.csv"), "nope: no such run")
    assert not (tmp_path / "n.csv").exists()
    assert invoke("export", a.name, "--csv", target, "--force").exit_code == 0
    assert target.read_text().startswith("run,step,split,metric,value")


def test_export_tensorboard_reads_back_with_tensorboard(runs_dir, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    a = fake_run(runs_dir, "a-run", cell="lstm", steps=30)
    b = fake_run(runs_dir, "b-run", cell="gru", steps=20)
    logdir = tmp_path / "tb"
    result = invoke("export", a.name, b.name, "--tensorboard", logdir)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in logdir.iterdir()) == ["a-run", "b-run"]
    acc = EventAccumulator(str(logdir / "a-run"))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert {"train/loss", "val/accuracy", "train/grad_norms/rnn.weight_ih_l0",
            "hparam/best_accuracy", "hparam/final_accuracy"} <= set(tags)
    val = acc.Scalars("val/accuracy")
    records = [json.loads(line) for line in (a / "metrics.jsonl").read_text().splitlines()]
    expected = [(r["step"], r["accuracy"]) for r in records if r["split"] == "val"]
    assert [(e.step, pytest.approx(e.value, rel=1e-6)) for e in val] == expected
    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["model.cell"].string_value == "lstm"
    assert start.hparams["model.hidden"].number_value == 16
    assert start.hparams["model.bidirectional"].string_value == "false"
    experiment = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/experiment"]).experiment
    assert {m.name.tag for m in experiment.metric_infos} == {"hparam/best_accuracy",
                                                             "hparam/final_accuracy"}
    # again: refused without --force (nothing touched), replaced with it
    before = sorted(p.name for p in (logdir / "a-run").iterdir())
    bad(invoke("export", a.name, "--tensorboard", logdir), "a-run/ exists; pass --force")
    assert sorted(p.name for p in (logdir / "a-run").iterdir()) == before
    assert invoke("export", a.name, "--tensorboard", logdir, "--force").exit_code == 0
    assert len(list((logdir / "a-run").iterdir())) == 1
    # a folder of someone else's files is never replaced
    (logdir / "b-run" / "notes.txt").write_text("mine")
    bad(invoke("export", b.name, "--tensorboard", logdir, "--force"), "not replacing it")
    assert (logdir / "b-run" / "notes.txt").read_text() == "mine"


def test_sweep_report_json_before_any_result(tmp_path):
    sweep = fake_sweep(tmp_path, {"task.seq_len": [4, 8], "model.cell": ["lstm", "gru"]})
    (sweep / "results.csv").write_text("")
    result = invoke("sweep-report", sweep, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["rows"] == 0 and doc["points"] == [] and doc["total"] == 8
    bad(invoke("sweep-report", sweep, "-o", tmp_path / "x.png"), "no results yet")


def test_a_folder_that_cannot_be_written_is_one_line(runs_dir):
    a = fake_run(runs_dir, "a-run")
    bad(invoke("export", a.name, "--csv", "/proc/lstm-lab-export.csv"), "cannot write it")
    bad(invoke("export", a.name, "--tensorboard", "/proc/lstm-lab-tb"), "cannot write it")
