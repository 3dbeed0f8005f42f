"""config.py edges that mutation testing found unchecked (see TESTING.md): field specs,
error messages, indexed choices, override blame and TOML writing."""

from __future__ import annotations

import tomllib

import pytest

from lstm_tui.config import (ConfigError, ModelConfig, RunConfig, TrainConfig, allowed,
                             check_value, field_specs, load_preset, parse_config, read_toml,
                             to_toml)


def spec(cls, name):
    return next(s for s in field_specs(cls) if s.name == name)


def task_spec(kind, name):
    from lstm_tui.tasks.registry import spec_of
    return spec(spec_of(kind, "").config, name)


def test_specs_carry_defaults_help_and_index_names():
    assert spec(ModelConfig, "hidden").default == 32
    assert spec(RunConfig, "name").help == "short name used in the run folder"
    target = task_spec("series", "target")            # a field with a default factory
    assert target.default == [] and target.help == "columns to forecast (one or more)"
    assert task_spec("weighted_sum", "weights").default == [0.6, 0.3]
    device = spec(TrainConfig, "device")
    assert device.indexed == ("cuda",)
    assert allowed(device) == "one of auto, cpu, cuda, mps or cuda:N"


def test_list_fields_convert_and_say_what_they_take():
    positions = task_spec("weighted_sum", "positions")
    got = check_value(positions, [0, -1], "f.toml", "task.positions")
    assert got == [0, -1] and all(type(v) is int for v in got)
    target = task_spec("series", "target")
    assert allowed(target) == "a list of strings"
    with pytest.raises(ConfigError) as info:
        check_value(target, [1], "f.toml", "task.target")
    assert info.value.message == "must be a list of strings, got [1]"


def test_a_choice_without_a_near_miss_gets_no_hint():
    with pytest.raises(ConfigError) as info:
        check_value(spec(ModelConfig, "cell"), "zzzzzz", "f.toml", "model.cell")
    from lstm_tui.models.cells import names
    assert info.value.message == f"must be one of {', '.join(names())}, got 'zzzzzz'"


@pytest.mark.parametrize("value,ok", [("cuda:1", True), ("cuda:0", True), ("cpu:1", False),
                                      ("mps:0", False), ("cuda:01", False), ("cuda:", False),
                                      (3, False)])
def test_only_an_indexed_choice_takes_an_index(value, ok):
    device = spec(TrainConfig, "device")
    if ok:
        assert check_value(device, value, "f.toml", "train.device") == value
    else:
        with pytest.raises(ConfigError):
            check_value(device, value, "f.toml", "train.device")


@pytest.mark.parametrize("data,key,message", [
    ({"task": 3}, "task", "must be a table"),
    ({"task": "ab"}, "task", "must be a table"),
    ({"sweep": 3}, "sweep", "must be a table"),
    ({"name": 3}, "name", "must be a string, got 3"),
    ({"description": 3}, "description", "must be a string, got 3")])
def test_top_level_faults_name_their_key(data, key, message):
    """`task = 3` used to escape as a TypeError (dict(3)) instead of a ConfigError."""
    with pytest.raises(ConfigError) as info:
        parse_config(data, "f.toml")
    assert (info.value.source, info.value.key, info.value.message) == ("f.toml", key, message)


def test_name_and_description_are_kept():
    cfg = parse_config({"name": "n1", "description": "d1"})
    assert (cfg.name, cfg.description) == ("n1", "d1")


def test_a_missing_file_is_named(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        read_toml(path)
    assert (info.value.source, info.value.key, info.value.message) == (str(path), "",
                                                                         "no such file")


def _preset(tmp_path, text):
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


def test_an_unknown_top_level_override_lists_what_is_allowed(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_preset(_preset(tmp_path, ""), ["foo=1"])
    assert info.value.message == ("unknown key (allowed: name, description, task.*, model.*, "
                                  "train.*)")


def test_a_fault_is_blamed_on_the_override_that_made_it(tmp_path):
    path = _preset(tmp_path, '[task]\nkind = "nth_element"\nseq_len = 5\nn = 2\n')
    with pytest.raises(ConfigError) as info:        # the override's own key
        load_preset(path, ["train.lr=-1", "model.hidden=4"])
    assert info.value.source == "--set train.lr=-1" and info.value.key == "train.lr"
    with pytest.raises(ConfigError) as info:        # another key, broken by the override
        load_preset(path, ["task.seq_len=2"])
    assert info.value.source == "--set" and info.value.key == "task.n"


def test_a_file_at_fault_on_its_own_is_blamed_even_with_overrides(tmp_path):
    path = _preset(tmp_path, '[task]\nkind = "nth_element"\nseq_len = 2\nn = 4\n')
    with pytest.raises(ConfigError) as info:
        load_preset(path, ["model.hidden=4"])
    assert info.value.source == str(path) and info.value.key == "task.n"


def test_toml_text_comments_each_key_and_reads_back():
    cfg = parse_config({"description": 'say "hi"\\ now', "task": {"kind": "nth_element"}})
    text = to_toml(cfg)
    lines = text.splitlines()
    assert any(line.startswith("lr_decay = ") and line.endswith(
        "# multiply lr by this every lr_decay_every steps") for line in lines)
    assert any(line.startswith("hidden = ") and line.endswith(
        "# units per layer and direction") for line in lines)
    assert any(line.startswith("seq_len = ") and line.endswith("# sequence length")
               for line in lines)
    assert parse_config(tomllib.loads(text)) == cfg
    assert "#" not in to_toml(cfg, comments=False).replace('say "hi"', "")


def test_toml_of_tables_without_a_task_and_of_unwritable_values():
    assert to_toml({"model": {"hidden": 4}}) == \
        f"[model]\n{'hidden = 4':<32} # units per layer and direction\n"
    with pytest.raises(TypeError) as info:
        to_toml({"model": {"hidden": {1, 2}}})
    assert str(info.value).startswith("cannot write model as TOML")


# ---------------------------------------------------------------- a held-out sample (seed 17)

def test_an_exclusive_minimum_refuses_the_bound_itself():
    with pytest.raises(ConfigError) as info:
        parse_config({"train": {"lr": 0.0}}, "p.toml")
    assert (info.value.source, info.value.key) == ("p.toml", "train.lr")
    assert parse_config({"train": {"lr": 1e-12}}).train.lr == 1e-12


def test_an_override_of_no_section_names_itself():
    from lstm_tui.config import apply_overrides
    with pytest.raises(ConfigError) as info:
        apply_overrides({}, ["a.b.c=1"], "--set")
    assert (info.value.source, info.value.key) == ("--set", "a.b.c")
    assert info.value.message == "names nothing (use task.KEY, model.KEY or train.KEY)"


def test_an_override_on_an_unknown_task_kind_blames_the_source():
    from lstm_tui.config import apply_overrides
    with pytest.raises(ConfigError) as info:
        apply_overrides({"task": {"kind": "nope"}}, ["task.seq_len=3"], "x.toml")
    assert (info.value.source, info.value.key) == ("x.toml", "task.kind")
