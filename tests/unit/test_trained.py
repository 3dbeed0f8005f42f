"""runs.trained.open_trained: the one way sample, inspect and resume open a trained run."""

from __future__ import annotations

import pytest
import torch

from lstm_tui.config import ConfigError, load_preset
from lstm_tui.experiment import start_run
from lstm_tui.runs.layout import RunError
from lstm_tui.runs.trained import open_trained
from tests.conftest import PRESETS

TINY = ["train.steps=20", "train.eval_every=10", "train.log_every=5", "model.hidden=8",
        "train.batch_size=8"]


@pytest.fixture(scope="module")
def nth_run(tmp_path_factory):
    cfg = load_preset(PRESETS / "nth_element_lstm.toml",
                      TINY + ["task.train_size=64", "task.val_size=32"])
    run_dir, _ = start_run(cfg, tmp_path_factory.mktemp("runs"))
    return run_dir


def test_a_run_opens_with_or_without_its_task_into_the_same_model(nth_run):
    bare = open_trained(nth_run)
    full = open_trained(nth_run, "last", with_task=True)
    assert bare.task is None and full.task is not None
    assert bare.checkpoint.name == "best.pt" and full.checkpoint.name == "last.pt"
    assert bare.step == bare.payload["step"] > 0 and bare.config.model.hidden == 8
    assert not bare.model.training and bare.vocab is None and bare.classes is None
    x, _ = next(full.task.val_batches(4))
    with torch.no_grad():   # sizes from the task's shape equal those of the built task
        assert bare.model(x.float(), None)[0].shape == full.model(x.float(), None)[0].shape


def test_missing_or_unknown_checkpoints_and_edited_configs_are_one_line(nth_run, tmp_path):
    with pytest.raises(ConfigError, match="must be one of best, last, got 'first'"):
        open_trained(nth_run, "first")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.toml").write_bytes((nth_run / "config.toml").read_bytes())
    with pytest.raises(RunError, match="no checkpoint yet .neither best.pt nor last.pt"):
        open_trained(empty)
    (empty / "last.pt").write_bytes((nth_run / "last.pt").read_bytes())
    text = (empty / "config.toml").read_text().replace("hidden = 8", "hidden = 9")
    (empty / "config.toml").write_text(text)
    with pytest.raises(RunError, match=r"last.pt: does not fit the model of .*config.toml"):
        open_trained(empty)


def test_a_classifier_opens_with_its_class_labels(tmp_path):
    cfg = load_preset(PRESETS / "classify_italy_power.toml", TINY)
    run_dir, _ = start_run(cfg, tmp_path / "runs")
    run = open_trained(run_dir)
    assert run.classes == [1, 2] and run.task is None
