"""`lstm-lab inspect` and `sample --show-probs/--top-k`: every option end to end on tiny
trained runs, the JSON schema, SVG/HTML files, and bad input as one line with exit 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app

runner = CliRunner()
TINY = ["--set", "train.steps=20", "--set", "train.eval_every=10", "--set", "train.log_every=5"]
LM = ["--set", "task.max_chars=3000", "--set", "task.seq_len=12", "--set", "model.hidden=8",
      "--set", "train.batch_size=8"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("inspect") / "runs"
    runs = {
        "nth": ["nth_element_lstm", "--set", "model.hidden=6"],
        "lm": ["char_lm_udacity", *LM],
        "add": ["adding_problem", "--set", "model.cell=gru", "--set", "model.layers=2",
                "--set", "model.bidirectional=true", "--set", "model.hidden=5",
                "--set", "task.seq_len=10"],
        "copy": ["copy_task", "--set", "model.cell=rnn", "--set", "model.hidden=4"],
        "soft": ["nth_element_lstm", "--set", "model.activation=softsign",
                 "--set", "model.hidden=4"],
    }
    for name, args in runs.items():
        result = runner.invoke(app, ["headless", *args, *TINY, "--set", f"name={name}",
                                     "--runs-dir", str(root)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    paths = {p.name.split("-")[2]: p for p in root.iterdir()}
    return root, paths


def inspect(store, *args: str):
    root, paths = store
    args = [str(paths.get(a, a)) if i == 0 else a for i, a in enumerate(args)]
    return runner.invoke(app, ["inspect", *args, "--runs-dir", str(root)],
                         catch_exceptions=False)


def test_heatmaps_show_every_lstm_quantity_with_inputs_and_colour_bar(store):
    result = inspect(store, "nth")
    assert result.exit_code == 0, result.output
    out = result.output
    for name in ("input", "forget", "candidate", "output", "cell", "hidden", "saliency"):
        assert f"\n{name}" in out
    assert "validation sequence 0, 5 steps" in " ".join(out.split())
    assert "forget: +0" in out and "(0 in the middle)" in out     # the colour bars
    assert "u5" in out and "u6" not in out and "target" in out
    # not a terminal: shade glyphs, no escape codes
    assert "\x1b[" not in out and any(g in out for g in "░▒▓█")


def test_json_schema(store):
    result = inspect(store, "nth", "--json", "--index", "3")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"run", "checkpoint", "cell", "layer", "tokens", "gates", "saliency",
            "predictions"} <= set(data)
    assert data["cell"] == "lstm" and data["layer"] == 0 and data["checkpoint"] == "best.pt"
    assert list(data["gates"]) == ["input", "forget", "candidate", "output", "cell", "hidden"]
    assert len(data["tokens"]) == 5 and len(data["saliency"]) == 5
    assert all(len(row) == 6 for row in data["gates"]["forget"])
    assert len(data["gates"]["forget"]) == 5
    (pred,) = data["predictions"]
    assert pred["step"] == 4 and len(pred["top"]) == 3
    assert sum(c["prob"] for c in pred["top"]) <= 1.0 + 1e-6
    assert pred["target"] == int(data["tokens"][2])   # nth_element, n = 2
    assert data["sequence"] == {"source": "index", "index": 3}


def test_gru_bidirectional_layers_and_regression_predictions(store):
    result = inspect(store, "add", "--json", "--layer", "1", "--direction", "backward")
    data = json.loads(result.output)
    assert list(data["gates"]) == ["reset", "update", "candidate", "hidden"]
    assert data["layer"] == 1 and data["direction"] == "backward" and data["bidirectional"]
    assert [(x["layer"], x["direction"]) for x in data["layers"]] == [
        (0, "forward"), (0, "backward"), (1, "forward"), (1, "backward")]
    (pred,) = data["predictions"]
    assert isinstance(pred["value"], float) and isinstance(pred["target"], float)
    assert "|" in data["tokens"][0]      # value|marker of the adding problem
    text = inspect(store, "add", "--layer", "1", "--direction", "backward", "--top", "2")
    assert text.exit_code == 0 and "predicted" in text.output and "(2 of 5 units)" in text.output


def test_rnn_on_a_per_step_task(store):
    data = json.loads(inspect(store, "copy", "--json").output)
    assert list(data["gates"]) == ["hidden"] and data["cell"] == "rnn"
    assert len(data["predictions"]) == len(data["tokens"])   # a prediction at every step


def test_softsign_run(store):
    data = json.loads(inspect(store, "soft", "--json").output)
    assert data["activation"] == "softsign"


def test_text_units_find_and_random(store):
    result = inspect(store, "lm", "--text", "Hello, World!", "--json")
    data = json.loads(result.output)
    assert "".join(data["tokens"]) == "hello world "
    assert any("normalized like the training text" in n for n in data["notes"])
    assert data["predictions"][-1]["target"] is None
    assert data["predictions"][0]["target_label"] == "e"
    shown = inspect(store, "lm", "--text", "Hello, World!", "--units", "1,3")
    assert shown.exit_code == 0 and "note: normalized" in shown.output
    assert "hello␣world␣" in shown.output and "(2 of 8 units)" in shown.output
    unit = inspect(store, "lm", "--unit", "2", "--gate", "hidden")
    assert unit.exit_code == 0 and "unit 2 (hidden)" in unit.output
    find = inspect(store, "lm", "--find", "space", "--top", "3")
    assert find.exit_code == 0 and find.output.count("r = ") == 3
    a = json.loads(inspect(store, "lm", "--random", "--seed", "4", "--json").output)
    b = json.loads(inspect(store, "lm", "--random", "--seed", "4", "--json").output)
    assert a["tokens"] == b["tokens"] and a["sequence"]["source"] == "random"


def test_output_files_are_self_contained(store, tmp_path):
    for name in ("pic.svg", "pic.html"):
        result = inspect(store, "nth", "--output", str(tmp_path / name), "--gate", "forget")
        assert result.exit_code == 0, result.output
        body = (tmp_path / name).read_text()
        assert "forget" in body and "url(\"http" not in body and "<script" not in body
    assert (tmp_path / "pic.svg").read_text().lstrip().startswith("<svg")


@pytest.mark.parametrize("args,fragment", [
    (["nth", "--text", "abc"], "--text: text: needs a char_lm run"),
    (["nth", "--unit", "6"], "unit 6 is out of range: this layer has 6 units"),
    (["nth", "--units", "0,9"], "unit 9 is out of range"),
    (["nth", "--index", "1000"], "1000 is past the validation set (1000 sequences"),
    (["nth", "--layer", "1"], "--layer: layer: 1 is out of range"),
    (["nth", "--direction", "backward"], "backward needs a bidirectional model"),
    (["nth", "--gate", "reset"], "a lstm has input, forget"),
    (["nth", "--find", "space"], "needs a char_lm run"),
    (["nth", "--find", "vowel"], "must be one of quote, space, newline, position"),
    (["nth", "--index", "1", "--random"], "choose one of --index, --text and --random"),
    (["nth", "--seed", "1"], "goes with --random"),
    (["nth", "--output", "x.png"], "must end in .svg or .html"),
    (["nth", "--checkpoint", "worst"], "must be one of best, last"),
    (["nope"], "nope: no such run"),
])
def test_bad_input_is_one_line_exit_2(store, args, fragment):
    result = inspect(store, *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]


def test_a_run_without_a_checkpoint(store, tmp_path):
    root, paths = store
    run = paths["nth"]
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.toml", "summary.json"):
        (bare / name).write_bytes((run / name).read_bytes())
    result = runner.invoke(app, ["inspect", str(bare)])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "bare: no checkpoint yet (neither best.pt nor last.pt" in line
    (bare / "best.pt").write_bytes(b"not a checkpoint")
    result = runner.invoke(app, ["inspect", str(bare)])
    assert result.exit_code == 2 and "corrupt checkpoint" in result.stderr


def test_sample_show_probs_and_top_k(store):
    root, paths = store
    lm = str(paths["lm"])
    shown = runner.invoke(app, ["sample", lm, "--show-probs", "--length", "30", "--seed", "2",
                                "--prime", "the "])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == "the " and len(lines[1]) == 30
    assert set(lines[2]) <= set(" ░▒▓█")          # the glyph line under the text
    assert "probability: +0" in shown.output and "mean probability" in shown.output
    plain = runner.invoke(app, ["sample", lm, "--length", "30", "--seed", "2",
                                "--prime", "the "])
    assert plain.output.rstrip("\n") == "the " + lines[1]   # the same characters
    greedy = runner.invoke(app, ["sample", lm, "--length", "30", "--temperature", "0"])
    top1 = runner.invoke(app, ["sample", lm, "--length", "30", "--top-k", "1", "--seed", "5"])
    assert top1.output == greedy.output
    assert runner.invoke(app, ["sample", lm, "--top-k", "0"]).exit_code == 2
