"""Presets: parsing, overrides, every kind of bad input, and TOML round trips."""

from __future__ import annotations

import pytest

from lstm_tui.config import (CharLMTask, ConfigError, ModelConfig, NthElementTask, RunConfig,
                             TrainConfig, WeightedSumTask, apply_overrides, field_specs,
                             load_preset, parse_config, read_toml, to_toml)
from tests.conftest import BAD_PRESETS, PRESETS

BAD = [
    ("unknown_key.toml", "model.hiden", "did you mean 'hidden'"),
    ("wrong_type.toml", "train.lr", "must be a number > 0, got 'fast'"),
    ("out_of_range.toml", "model.hidden", "an integer >= 1"),
    ("unknown_choice.toml", "model.cell", "one of rnn, lstm, gru, lstm_nig, "),
    ("invalid_toml.toml", "", "invalid TOML"),
    ("missing_text.toml", "task.text", "no such file 'no/such/corpus.txt'"),
    ("n_not_below_seq_len.toml", "task.n", "must be < task.seq_len (5)"),
    ("unknown_section.toml", "modle", "did you mean 'model'"),
    ("bool_as_int.toml", "model.bidirectional", "true or false, got 1"),
    ("dropout_one.toml", "model.dropout", "< 1"),
    ("unknown_task_kind.toml", "task.kind", "did you mean 'nth_element'"),
    ("weights_positions_mismatch.toml", "task.weights", "as many entries as task.positions"),
    ("bidirectional_lm.toml", "model.bidirectional", "must be false for char_lm"),
    ("float_for_int.toml", "train.seed", "an integer >= 0 and <= 18446744073709551615, got 1.5"),
    ("section_not_table.toml", "model", "must be a table"),
    ("expect_unknown_metric.toml", "expect.val.acuracy", "no val metric 'acuracy'"),
    ("expect_bound_type.toml", "expect.val.accuracy.min", "must be a finite number"),
    ("expect_epoch_past_run.toml", "expect.val.accuracy@epoch9", "epoch 9 is past the run"),
    ("expect_figure_task_lacks.toml", "expect.test.mae", "records no such figure"),
    ("nesting_bomb.toml", "", "nested deeper than 20 levels"),
    ("nesting_deep_tables.toml", "", "nested deeper than 20 levels"),
    ("seed_too_big.toml", "train.seed", "<= 18446744073709551615, got 18446744073709551616"),
]


@pytest.mark.parametrize("filename,key,fragment", BAD)
def test_bad_preset_names_file_key_and_what_is_allowed(filename, key, fragment):
    path = BAD_PRESETS / filename
    with pytest.raises(ConfigError) as info:
        load_preset(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert info.value.key == key
    assert fragment in message
    assert "\n" not in message


def test_every_bad_preset_is_covered():
    assert {p.name for p in BAD_PRESETS.glob("*.toml")} == {b[0] for b in BAD}


def test_every_shipped_preset_parses():
    shipped = list(PRESETS.glob("*.toml"))
    assert len(shipped) >= 9
    for path in shipped:
        cfg = load_preset(path)
        assert cfg.description, f"{path} has no description"
        assert read_toml(path)  # and is valid TOML


def test_defaults_and_sections():
    cfg = parse_config({})
    assert isinstance(cfg.task, NthElementTask)
    assert cfg.model == ModelConfig() and cfg.train == TrainConfig()
    cfg = parse_config({"task": {"kind": "weighted_sum", "seq_len": 7}})
    assert isinstance(cfg.task, WeightedSumTask) and cfg.task.seq_len == 7
    assert cfg.task.weights == [0.6, 0.3] and cfg.task.positions == [0, -1]


def test_int_accepted_for_float_fields():
    cfg = parse_config({"train": {"lr": 1}})
    assert cfg.train.lr == 1.0 and isinstance(cfg.train.lr, float)


def test_overrides_are_typed():
    data = apply_overrides({}, ["task.seq_len=30", "train.lr=3e-3", "model.bidirectional=true",
                               "model.cell=gru"])
    cfg = parse_config(data, "--set")
    assert cfg.task.seq_len == 30 and cfg.train.lr == 0.003
    assert cfg.model.bidirectional is True and cfg.model.cell == "gru"


def test_override_switching_task_kind_uses_that_kinds_keys():
    data = apply_overrides({"task": {"kind": "nth_element", "n": 2}},
                           ["task.kind=char_lm", "task.seq_len=12"])
    cfg = parse_config(data)
    assert isinstance(cfg.task, CharLMTask) and cfg.task.seq_len == 12


@pytest.mark.parametrize("override,fragment", [
    ("train.lrr=1", "did you mean 'lr'"),
    ("nothing.here=1", "names nothing"),
    ("train.lr", "must look like section.key=value"),
    ("hidden=3", "unknown key"),
])
def test_bad_overrides(override, fragment):
    with pytest.raises(ConfigError) as info:
        apply_overrides({}, [override])
    assert fragment in str(info.value)


def test_override_with_wrong_type_is_reported_against_the_file(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("[train]\nlr = 0.1\n")
    with pytest.raises(ConfigError) as info:
        load_preset(path, ["train.epochs=many"])
    assert "train.epochs" in str(info.value) and "an integer >= 1" in str(info.value)


def test_toml_round_trip_for_every_shipped_preset(tmp_path):
    for path in PRESETS.glob("*.toml"):
        cfg = load_preset(path)
        again = tmp_path / path.name
        again.write_text(to_toml(cfg))
        assert load_preset(again) == cfg


def test_field_specs_describe_every_field_with_help():
    for cls in (NthElementTask, WeightedSumTask, CharLMTask, ModelConfig, TrainConfig):
        for spec in field_specs(cls):
            assert spec.help, f"{cls.__name__}.{spec.name} has no help"
    kinds = {s.name: s.kind for s in field_specs(ModelConfig)}
    assert kinds["cell"] == "choice" and kinds["hidden"] == "int"
    assert kinds["bidirectional"] == "bool" and kinds["dropout"] == "float"
    assert {s.name for s in field_specs(RunConfig)} == {"name", "description"}
