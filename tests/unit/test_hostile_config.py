"""Hostile input to presets, overrides and run configs (issue 27, item 17): a nesting
bomb is one line, never a RecursionError; seeds past what torch takes are refused when
checked; a --set value with a line break is refused instead of losing what follows."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from lstm_tui.config import ConfigError, load_preset, parse_config, parse_value
from lstm_tui.experiment import start_run
from lstm_tui.runs.reader import list_runs

BOMB = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize("item", ["train.lr=0.1\n[model]\nhidden = 9", "name=a\rb",
                                  "train.lr=0.1\r\n"])
def test_a_set_value_with_a_line_break_is_refused(tmp_path, item):
    preset = tmp_path / "p.toml"
    preset.write_text("[train]\nlr = 0.2\n")
    with pytest.raises(ConfigError) as info:
        load_preset(preset, [item])
    assert info.value.source == "--set" and "must be one line" in info.value.message
    assert "\n" not in str(info.value)


def test_a_nesting_bomb_as_a_set_value_is_one_short_line(tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text("")
    with pytest.raises(ConfigError) as info:
        load_preset(preset, [f"train.lr={BOMB}"])
    assert info.value.key == "train.lr" and len(str(info.value)) < 300
    assert parse_value(BOMB) == BOMB       # not TOML it can read: a bare string


def test_a_nesting_bomb_in_a_run_config_marks_the_run_corrupt(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    (run / "config.toml").write_text(f"[train]\nlr = {BOMB}\n")
    (run / "summary.json").write_text('{"status": "completed"}')
    [info] = list_runs(tmp_path)
    assert "nested deeper" in info.error and "\n" not in info.error


def test_the_largest_seed_trains_and_one_more_is_refused(tmp_path):
    cfg = parse_config({"task": {"kind": "char_lm", "max_chars": 400, "seq_len": 4,
                                 "sample_length": 3},
                        "model": {"hidden": 2},
                        "train": {"seed": 2 ** 64 - 1, "steps": 2, "eval_every": 1,
                                  "batch_size": 2, "device": "cpu", "threads": 1}})
    _, last = start_run(cfg, tmp_path)
    assert last.status == "completed"
    with pytest.raises(ConfigError, match="train.seed: must be an integer >= 0 and <= "):
        parse_config({"train": {"seed": 2 ** 64}})


def test_sample_refuses_a_seed_torch_cannot_take():
    result = CliRunner().invoke(app, ["sample", "whatever", "--seed", str(2 ** 64)])
    assert result.exit_code == 2 and "--seed" in result.output
    assert "Traceback" not in result.output


def test_a_sweep_whose_repeats_pass_the_largest_seed_is_refused():
    from lstm_tui.sweeps.spec import parse_sweep
    cfg = parse_config({"train": {"seed": 2 ** 64 - 1},
                        "sweep": {"seeds": 2, "grid": {"model.hidden": [2]}}}, "s.toml")
    with pytest.raises(ConfigError) as info:
        parse_sweep(cfg, "s.toml")
    assert info.value.key == "sweep.seeds" and "seed 18446744073709551616" in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_given_as_a_preset_is_refused_at_once(tmp_path):
    """A preset path that is a FIFO would make `check` wait forever for a writer."""
    import threading
    pipe = tmp_path / "preset.toml"
    os.mkfifo(pipe)
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("r", _try(pipe)), daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "load_preset waited on a named pipe"
    assert "named pipe" in box["r"] and str(pipe) in box["r"]


def _try(path):
    from lstm_tui.config import load_preset
    try:
        load_preset(path)
    except ConfigError as exc:
        return str(exc)
    return "loaded"
