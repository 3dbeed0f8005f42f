"""config.toml is written by tomli-w (issue 27, item 9): every field of every task kind,
holding hostile text (control characters, quotes, non-ASCII) or extreme numbers, reads
back through tomllib exactly as it was written, and a run named so stays readable."""

from __future__ import annotations

import dataclasses
import math
import tomllib

import pytest

from lstm_tui.config import (ConfigError, ModelConfig, RunConfig, TrainConfig, config_to_dict,
                             field_specs, parse_config, to_toml)
from lstm_tui.tasks.registry import config_classes

HOSTILE = ["\r", "a\rb\nc", "\x1b]0;title\x07", "\x00nul", "\x7f\x08\t", "\u2028\u2029",
           "é漢字🙂", '"""', "'''", "\\", '\\"', "[task]", "# not a comment", "x = 1", ""]
INTS = [0, 1, 2 ** 31, 2 ** 53 + 1, 2 ** 63 - 1, 2 ** 64 - 1, 10 ** 30]
FLOATS = [0.0, -0.0, 5e-324, 1e-300, 0.1, 1 / 3, 1e300, 1.7976931348623157e308, -2.5e-7]


def _values(kind: str) -> list:
    if kind in ("str", "choice"):
        return HOSTILE
    if kind == "list[str]":
        return [HOSTILE, []]
    if kind == "int":
        return INTS
    if kind == "float":
        return FLOATS
    if kind == "list[float]":
        return [FLOATS, []]
    if kind == "list[int]":
        return [INTS, []]
    if kind == "bool":
        return [True, False]
    raise AssertionError(kind)


def _sections(task_cls: type) -> dict[str, type]:
    return {"task": task_cls, "model": ModelConfig, "train": TrainConfig}


@pytest.mark.parametrize("kind", sorted(config_classes()))
def test_every_field_round_trips_through_tomllib(kind):
    """Field by field (types only: the values need not be valid settings) and value by
    value, the written text parses back to the same tables."""
    base = config_to_dict(RunConfig(task=config_classes()[kind]()))
    cases = [("name", v) for v in HOSTILE] + [("description", v) for v in HOSTILE]
    for section, cls in _sections(config_classes()[kind]).items():
        for spec in field_specs(cls):
            cases += [(f"{section}.{spec.name}", v) for v in _values(spec.kind)]
    for key, value in cases:
        data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
        section, _, leaf = key.rpartition(".")
        (data[section] if section else data)[leaf] = value
        for comments in (True, False):
            back = tomllib.loads(to_toml(data, comments=comments))
            for name in ("name", "description"):   # an empty one is left out: the default
                back.setdefault(name, "")
            assert back == data, (key, value)


def test_sweep_and_expect_tables_with_hostile_keys_round_trip():
    data = config_to_dict(RunConfig(name="n", description="d"))
    data["sweep"] = {"metric": "accuracy", "grid": {"model.hidden": [1, 2 ** 63 - 1],
                                                   "\x1b[31m\u00e9 key": ["\r\n", "\x00"]},
                     "tpe": {"trials": 3, "nested": {"deep": {"deeper": [1.5, -0.0]}}}}
    data["expect"] = {"accuracy": ">= 0.5", "odd \"key\"": [{"a": 1}, {"b": "\x07"}]}
    assert tomllib.loads(to_toml(data)) == data


def test_non_finite_floats_are_written_as_toml_keywords():
    data = {"train": {"lr": math.inf, "min_delta": -math.inf, "grad_clip": math.nan}}
    back = tomllib.loads(to_toml(data))["train"]
    assert back["lr"] == math.inf and back["min_delta"] == -math.inf
    assert math.isnan(back["grad_clip"])


def test_a_hostile_name_and_description_read_back_as_the_same_config():
    for text in HOSTILE:
        cfg = parse_config({"name": text, "description": text + "\x00" + text})
        assert parse_config(tomllib.loads(to_toml(cfg))) == cfg


def test_text_no_file_can_hold_is_refused_in_one_line():
    """`--set name=$'\\xff'` arrives as a lone surrogate: refused, never a crash when
    config.toml is written."""
    with pytest.raises(ConfigError) as info:
        parse_config({"name": "bad \udcff"})
    assert info.value.key == "name" and "UTF-8" in info.value.message
    with pytest.raises(ConfigError) as info:
        parse_config({"task": {"kind": "series", "target": ["\ud800"]}})
    assert info.value.key == "task.target"


def test_a_run_named_with_control_characters_is_listed_intact(tmp_path):
    from lstm_tui.experiment import start_run
    from lstm_tui.runs.reader import list_runs, load_run
    name = "evil\r\x1b]0;pwned\x07\x00 é"
    cfg = parse_config({"name": name, "description": "line\nbreak\x1b[2J",
                        "task": {"kind": "nth_element", "seq_len": 3, "n": 1,
                                 "train_size": 32, "val_size": 16},
                        "model": {"hidden": 2},
                        "train": {"steps": 1, "batch_size": 8, "device": "cpu",
                                  "threads": 1}})
    run_dir, _ = start_run(cfg, tmp_path)
    [info] = list_runs(tmp_path)
    assert not info.error and info.status == "completed"
    again = load_run(run_dir).run_config()
    assert again.name == name and dataclasses.asdict(again) == dataclasses.asdict(cfg)
