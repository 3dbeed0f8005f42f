"""kind = "sequence_classification": UCR files and .npz, stratified split, masking, figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from lstm_tui.tasks import build_task, describe_task
from lstm_tui.tasks.sequence_classification import SequenceClassificationTask, stratified

runner = CliRunner()


def ucr(path, n: int = 60, unequal: bool = False, labels=("up", "down", "flat"), seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        c = labels[i % len(labels)]
        length = int(rng.integers(8, 17)) if unequal else 16
        t = np.linspace(0, 1, length)
        v = {0: t, 1: -t, 2: 0 * t}[i % 3] + rng.normal(0, 0.1, length)
        rows.append([str(c)] + [f"{x:.4f}" for x in v] + ["NaN"] * (16 - length))
    sep = "\t" if str(path).endswith(".tsv") else ","
    path.write_text("\n".join(sep.join(r) for r in rows) + "\n")
    return str(path)


def preset(tmp_path, task: dict, name: str = "c.toml") -> str:
    body = {"kind": "sequence_classification", **task}
    lines = ["[task]"] + [f"{k} = {json.dumps(v)}" for k, v in body.items()]
    lines += ["[model]", "hidden = 8", "[train]", "steps = 6", "eval_every = 3",
              "batch_size = 8", "log_every = 3"]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_stratified_split_keeps_class_shares():
    labels = np.array(["a"] * 50 + ["b"] * 10)
    split = stratified(labels, 0.2, 0)
    assert (labels[split.val] == "a").sum() == 10 and (labels[split.val] == "b").sum() == 2
    assert len(set(split.train) | set(split.val)) == 60


def test_unequal_lengths_are_right_aligned_with_a_mask_channel(tmp_path):
    cfg = SequenceClassificationTask(path=ucr(tmp_path / "g_TRAIN.tsv", unequal=True))
    task = build_task(cfg, 0)
    assert task.input_size == 2 and task.masked and not torch.isnan(task.x).any()
    mask = task.x[..., 1]
    assert (mask[:, -1] == 1).all()                               # the read-out step is real
    assert ((mask[:, 1:] - mask[:, :-1]) >= 0).all()              # padding only before it
    assert describe_task(cfg).input_size == task.input_size


def test_int_and_string_labels_and_npz(tmp_path):
    task = build_task(SequenceClassificationTask(
        path=ucr(tmp_path / "i.csv", labels=(3, 1, 2))), 0)
    assert task.classes == [1, 2, 3] and task.input_size == 1
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(60, 12, 3)), y=np.arange(60) % 2)
    task = build_task(SequenceClassificationTask(path=str(tmp_path / "d.npz")), 0)
    assert task.input_size == 3 and task.seq_len == 12 and task.classes == [0, 1]


def test_a_run_keeps_classes_baseline_test_and_confusion(tmp_path):
    train, test = ucr(tmp_path / "g_TRAIN.tsv"), ucr(tmp_path / "g_TEST.tsv", 30, seed=1)
    root = tmp_path / "runs"
    result = runner.invoke(app, ["headless", preset(tmp_path, {"path": train,
                                                               "test_path": test}),
                                 "--runs-dir", str(root)])
    assert result.exit_code == 0, result.output
    assert "majority baseline accuracy" in result.output and "confusion" in result.output
    (run_dir,) = root.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["classes"] == ["down", "flat", "up"]
    assert summary["baselines"]["majority"]["accuracy"] == pytest.approx(1 / 3, abs=0.01)
    assert 0 <= summary["test"]["accuracy"] <= 1
    assert sum(map(sum, summary["confusion"]["matrix"])) == 30
    payload = torch.load(run_dir / "best.pt", weights_only=True)
    assert payload["classes"] == ["down", "flat", "up"]


def bad_cases(tmp_path):
    good = ucr(tmp_path / "g_TRAIN.tsv")
    text = tmp_path / "notes.md"
    text.write_text("x")
    empty = tmp_path / "e.tsv"
    empty.write_text("")
    word = tmp_path / "w.tsv"
    word.write_text("a\t1\t2\nb\t1\tzz\n")
    hole = tmp_path / "h.tsv"
    lines = (tmp_path / "g_TRAIN.tsv").read_text().splitlines()
    lines[4] = "up\t1\tNaN\t3" + "\t1" * 13
    hole.write_text("\n".join(lines) + "\n")
    one = ucr(tmp_path / "one.tsv", labels=("x",))
    small = ucr(tmp_path / "small.tsv", n=9)
    stranger = ucr(tmp_path / "t.tsv", labels=("up", "down", "sideways"))
    npz = tmp_path / "n.npz"
    np.savez(npz, X=np.zeros((20, 5)))
    return [
        ({"path": str(tmp_path / "nope.tsv")}, ["task.path", "no such file"]),
        ({"path": str(text)}, ["task.path", "not a CSV/TSV/NPZ"]),
        ({"path": str(empty)}, ["task.path", "is empty"]),
        ({"path": str(word)}, ["task.path", "row 2", "not a number", "'zz'"]),
        ({"path": str(hole)}, ["task.path", "row 5", "inside the sequence"]),
        ({"path": one}, ["task.path", "single class"]),
        ({"path": small}, ["task.val_fraction", "needs >= 10"]),
        ({"path": good, "test_path": stranger}, ["task.test_path", "'sideways'"]),
        ({"path": good, "test_path": str(tmp_path / "no.tsv")}, ["task.test_path", "no such"]),
        ({"path": str(npz)}, ["task.path", "X and y"]),
    ]


@pytest.mark.parametrize("case", range(10))
def test_every_bad_input_is_one_line_exit_2_and_no_run_folder(tmp_path, case):
    task, words = bad_cases(tmp_path)[case]
    path = preset(tmp_path, task, f"bad{case}.toml")
    root = tmp_path / "runs"
    for command in ("check", "headless"):
        args = [command, path] + (["--runs-dir", str(root)] if command == "headless" else [])
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and path in lines[0], lines
        assert all(w in lines[0] for w in words), lines[0]
    assert not root.exists() or not any(root.iterdir())


def test_ensemble_members_equal_their_runs(tmp_path):
    from lstm_tui.config import parse_config
    from lstm_tui.training.ensemble import group_key, train_ensemble
    from lstm_tui.training.engine import train
    path = ucr(tmp_path / "g_TRAIN.tsv", unequal=True)
    configs = [parse_config({"task": {"kind": "sequence_classification", "path": path},
                             "model": {"hidden": 6},
                             "train": {"steps": 8, "eval_every": 4, "log_every": 4,
                                       "batch_size": 8, "lr": lr, "seed": seed}})
               for lr, seed in ((0.01, 0), (0.003, 1))]
    assert group_key(configs[0]) == group_key(configs[1])
    got = [[], []]
    train_ensemble(configs, [got[0].append, got[1].append])
    for cfg, events in zip(configs, got):
        alone = []
        train(cfg, alone.append)
        losses = lambda evs: [e.loss for e in evs if type(e).__name__ == "ValMetrics"]
        assert losses(events) == pytest.approx(losses(alone), rel=1e-4)
        assert [type(e).__name__ for e in events] == [type(e).__name__ for e in alone]
