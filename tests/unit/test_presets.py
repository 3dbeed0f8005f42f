"""Every shipped preset trains for a few steps, end to end, into a run folder."""

from __future__ import annotations

import pytest

from lstm_tui.config import load_preset
from lstm_tui.experiment import start_run
from lstm_tui.presets import resolve_preset, shipped_presets
from lstm_tui.runs.reader import load_run
from tests.conftest import PRESETS

FEW_STEPS = ["train.steps=6", "train.eval_every=3", "train.log_every=3"]


@pytest.mark.parametrize("path", sorted(PRESETS.glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_preset_trains_a_few_steps(path, tmp_path):
    overrides = list(FEW_STEPS)
    cfg = load_preset(path, overrides)
    if cfg.task.kind == "char_lm":  # the whole corpus is fine, but a slice is faster
        if cfg.task.text == "text8":    # never downloaded here (tests/unit/test_text8.py)
            overrides += ["task.text=''", "task.val_fraction=0.1"]
        cfg = load_preset(path, overrides + ["task.max_chars=20000"])
    run_dir, last = start_run(cfg, tmp_path)
    assert last.status == "completed", last
    run = load_run(run_dir)
    assert [r["step"] for r in run.metrics if r["split"] == "val"] == [3, 6]


def test_shipped_presets_are_found_by_name():
    names = {p.name for p in shipped_presets()}
    assert {"nth_element_lstm", "nth_element_gru", "char_lm_udacity", "tuning_knobs",
            "adding_problem", "copy_task"} <= names
    assert resolve_preset("nth_element_lstm") == PRESETS / "nth_element_lstm.toml"
    assert resolve_preset("nth_element_lstm.toml") == PRESETS / "nth_element_lstm.toml"


def test_a_misspelt_shipped_preset_name_gets_a_did_you_mean():
    from lstm_tui.config import ConfigError
    from lstm_tui.presets import resolve_preset
    with pytest.raises(ConfigError) as info:
        resolve_preset("nth_element_lstn")
    assert "did you mean 'nth_element_lstm'?" in info.value.message
    with pytest.raises(ConfigError) as info:
        resolve_preset("zzzz")
    assert "did you mean" not in info.value.message
