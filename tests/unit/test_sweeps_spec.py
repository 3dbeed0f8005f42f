"""The [sweep] table: grid and random expansion, seeds, stable keys, every kind of bad input."""

from __future__ import annotations

import math

import pytest

from lstm_tui.config import ConfigError, config_to_dict, load_preset, parse_config
from lstm_tui.sweeps.spec import MAX_POINTS, MAX_POINTS_YES, parse_sweep, point_key
from tests.conftest import PRESETS

SOURCE = "s.toml"


def _cfg(sweep: dict, task: dict | None = None, **sections) -> object:
    data = {"name": "t", "task": task or {"kind": "nth_element", "seq_len": 5},
            "train": {"seed": 3, **sections.get("train", {})}, "sweep": sweep}
    if "model" in sections:
        data["model"] = sections["model"]
    return parse_config(data, SOURCE)


def test_grid_expands_to_product_times_seeds_with_seeds_offset():
    cfg = _cfg({"grid": {"task.seq_len": [5, 10, 20], "model.hidden": [8, 16]}, "seeds": 2})
    spec = parse_sweep(cfg, SOURCE)
    points = spec.points()
    assert len(points) == spec.size == 3 * 2 * 2
    assert spec.axes == ["task.seq_len", "model.hidden"]
    # seed-major: every combination at seed 3, then at seed 4
    assert [p.seed for p in points] == [3] * 6 + [4] * 6
    assert [p.index for p in points] == list(range(12))
    assert [tuple(p.values.values()) for p in points[:6]] == [
        (5, 8), (5, 16), (10, 8), (10, 16), (20, 8), (20, 16)]
    for p in points:
        assert p.config.task.seq_len == p.values["task.seq_len"]
        assert p.config.model.hidden == p.values["model.hidden"]
        assert p.config.train.seed == p.seed
        assert p.config.sweep is None                       # each point is a plain run
        assert parse_config(config_to_dict(p.config)) == p.config   # fully valid
    assert len({p.key for p in points}) == 12
    assert points[0].label() == "seq_len=5 hidden=8 seed=3"


def test_keys_are_stable_and_depend_on_values_and_seed():
    cfg = _cfg({"grid": {"task.seq_len": [5, 10]}})
    first = [p.key for p in parse_sweep(cfg, SOURCE).points()]
    again = [p.key for p in parse_sweep(_cfg({"grid": {"task.seq_len": [5, 10]}}),
                                        SOURCE).points()]
    assert first == again
    assert point_key({"task.seq_len": 5}, 3) == first[0]
    assert point_key({"task.seq_len": 5}, 4) != first[0]
    # reordering the grid keeps the key of each point
    reordered = parse_sweep(_cfg({"grid": {"task.seq_len": [10, 5]}}), SOURCE).points()
    assert {p.key for p in reordered} == set(first)


def test_a_swept_seed_is_the_base_of_the_repeats():
    spec = parse_sweep(_cfg({"grid": {"train.seed": [10, 20]}, "seeds": 2}), SOURCE)
    assert [p.seed for p in spec.points()] == [10, 20, 11, 21]


def test_float_axis_values_are_converted_and_lists_not_shared():
    cfg = _cfg({"grid": {"train.lr": [1, 0.1]}})
    points = parse_sweep(cfg, SOURCE).points()
    assert [p.config.train.lr for p in points] == [1.0, 0.1]
    assert isinstance(points[0].values["train.lr"], float)
    ws = _cfg({"grid": {"task.seq_len": [3, 4]}}, task={"kind": "weighted_sum"})
    a, b = parse_sweep(ws, SOURCE).points()
    a.config.task.weights.append(9.0)
    assert b.config.task.weights == [0.6, 0.3]


def test_random_samples_are_deterministic_and_in_range():
    sweep = {"grid": {"model.hidden": [8, 16]},
             "random": {"train.lr": {"low": 1e-4, "high": 1e-1, "log": True},
                        "model.layers": {"low": 1, "high": 3},
                        "model.cell": ["lstm", "gru"], "samples": 5},
             "seeds": 2}
    spec = parse_sweep(_cfg(sweep), SOURCE)
    points = spec.points()
    assert len(points) == 2 * 5 * 2
    assert spec.axes == ["model.hidden", "train.lr", "model.layers", "model.cell"]
    lrs = [p.values["train.lr"] for p in points]
    assert all(1e-4 <= v <= 1e-1 for v in lrs)
    assert len(set(lrs)) == 10                      # fresh draws per grid point and sample
    assert all(isinstance(p.values["model.layers"], int) and 1 <= p.values["model.layers"] <= 3
               for p in points)
    assert {p.values["model.cell"] for p in points} <= {"lstm", "gru"}
    # the seeds repeat the very same draws
    assert [p.values for p in points[:10]] == [p.values for p in points[10:]]
    # the same preset draws the same values; another random.seed draws others
    again = parse_sweep(_cfg(sweep), SOURCE).points()
    assert [p.values for p in again] == [p.values for p in points]
    other = parse_sweep(_cfg({**sweep, "random": {**sweep["random"], "seed": 99}}), SOURCE)
    assert [p.values["train.lr"] for p in other.points()] != lrs
    # log-uniform: about as many draws below the geometric middle as above it
    many = parse_sweep(_cfg({"random": {"train.lr": {"low": 1e-4, "high": 1.0, "log": True},
                                        "samples": 400}}), SOURCE).points()
    below = sum(p.values["train.lr"] < 1e-2 for p in many)
    assert 150 < below < 250


def test_random_only_sweep_and_defaults():
    spec = parse_sweep(_cfg({"random": {"train.lr": [0.1, 0.01], "samples": 3}}), SOURCE)
    assert len(spec.points()) == 3 and spec.grid == {}
    assert (spec.metric, spec.goal, spec.seeds) == ("accuracy", "max", 1)
    assert (spec.cpus, spec.gpus, spec.retries) == (1, 0, 2)     # ray's default retries
    ws = parse_sweep(_cfg({"grid": {"task.seq_len": [3]}}, task={"kind": "weighted_sum"}),
                     SOURCE)
    assert (ws.metric, ws.goal) == ("mad", "min")
    loss = parse_sweep(_cfg({"grid": {"task.seq_len": [3]}, "metric": "loss", "cpus": 0.5,
                             "gpus": 1, "retries": 2}), SOURCE)
    assert (loss.metric, loss.goal, loss.cpus, loss.gpus, loss.retries) == \
        ("loss", "min", 0.5, 1, 2)


BAD = [
    ({"grid": {"task.seq_lne": [5]}}, "sweep.grid.task.seq_lne", "did you mean 'task.seq_len'"),
    ({"grid": {"seq_len": [5]}}, "sweep.grid.seq_len", "did you mean 'task.seq_len'"),
    ({"grid": {"modle.hidden": [5]}}, "sweep.grid.modle.hidden", "names nothing"),
    ({"grid": {"task.kind": ["copy"]}}, "sweep.grid.task.kind", "cannot be swept"),
    ({"grid": {}}, "sweep.grid", "is empty"),
    ({}, "sweep.grid", "is empty"),
    ({"grid": {"task.seq_len": []}}, "sweep.grid.task.seq_len", "non-empty list"),
    ({"grid": {"task.seq_len": 5}}, "sweep.grid.task.seq_len", "non-empty list"),
    ({"grid": {"model.hidden": [8, "big"]}}, "sweep.grid.model.hidden",
     "must be an integer >= 1 and <= 100000, got 'big'"),
    ({"grid": {"model.hidden": [8, 1.5]}}, "sweep.grid.model.hidden", "an integer >= 1"),
    ({"grid": {"model.cell": ["lstm", "lstn"]}}, "sweep.grid.model.cell", "did you mean 'lstm'"),
    ({"grid": {"model.hidden": [8, 8]}}, "sweep.grid.model.hidden", "lists 8 twice"),
    ({"grid": "task.seq_len"}, "sweep.grid", "must be a table"),
    ({"gird": {"task.seq_len": [5]}}, "sweep.gird", "did you mean 'grid'"),
    ({"grid": {"task.seq_len": [5]}, "seeds": 0}, "sweep.seeds", "an integer >= 1"),
    ({"grid": {"task.seq_len": [5]}, "seeds": 1.5}, "sweep.seeds", "an integer >= 1"),
    ({"grid": {"task.seq_len": [5]}, "metric": "acc"}, "sweep.metric", "did you mean 'accuracy'"),
    ({"grid": {"task.seq_len": [5]}, "goal": "up"}, "sweep.goal", "one of max, min"),
    ({"grid": {"task.seq_len": [5]}, "cpus": -1}, "sweep.cpus", "a number >= 0"),
    ({"grid": {"task.seq_len": [5]}, "gpus": "one"}, "sweep.gpus", "a number >= 0"),
    ({"grid": {"task.seq_len": [5]}, "retries": 0.5}, "sweep.retries", "an integer >= 0"),
    ({"grid": {"task.seq_len": [5, 2]}}, "sweep",
     "the point task.seq_len=2 is invalid: task.n: must be < task.seq_len (2)"),
    ({"random": {"train.lr": [0.1]}}, "sweep.random.samples", "missing"),
    ({"random": {"train.lr": [0.1], "samples": 0}}, "sweep.random.samples", ">= 1"),
    ({"random": {"sample": 3, "train.lr": [0.1]}}, "sweep.random.sample",
     "did you mean 'samples'"),
    ({"random": {"samples": 2}}, "sweep.random", "has no axes"),
    ({"random": {"train.lr": {"low": 0.1, "high": 0.01}, "samples": 2}}, "sweep.random.train.lr",
     "needs low < high"),
    ({"random": {"train.lr": {"low": 0.0, "high": 0.1, "log": True}, "samples": 2}},
     "sweep.random.train.lr.low", "must be a number > 0"),
    ({"random": {"train.weight_decay": {"low": 0.0, "high": 0.1, "log": True}, "samples": 2}},
     "sweep.random.train.weight_decay.low", "must be > 0 for a log range"),
    ({"random": {"train.lr": {"low": 0.1, "hgih": 1.0}, "samples": 2}},
     "sweep.random.train.lr.hgih", "did you mean 'high'"),
    ({"random": {"model.cell": {"low": 0, "high": 1}, "samples": 2}}, "sweep.random.model.cell",
     "give a list of choices"),
    ({"random": {"train.lr": 0.1, "samples": 2}}, "sweep.random.train.lr",
     "a list of choices or a range"),
    ({"grid": {"train.lr": [0.1]}, "random": {"train.lr": [0.2], "samples": 1}},
     "sweep.random.train.lr", "already a grid axis"),
]


@pytest.mark.parametrize("sweep,key,fragment", BAD)
def test_bad_sweep_is_one_line_naming_the_key(sweep, key, fragment):
    with pytest.raises(ConfigError) as info:
        parse_sweep(_cfg(sweep), SOURCE)
    message = str(info.value)
    assert info.value.key == key
    assert fragment in message
    assert message.startswith(f"{SOURCE}: {key}")
    assert "\n" not in message


def test_more_than_max_points_needs_yes():
    grid = {"task.seq_len": list(range(3, 104)), "model.hidden": list(range(1, 101))}
    with pytest.raises(ConfigError) as info:
        parse_sweep(_cfg({"grid": grid}), SOURCE)
    assert info.value.key == "sweep" and "10,100 points" in str(info.value)
    assert "--yes" in str(info.value)
    # the limit is checked before anything is expanded, and --yes lifts it
    small = {"task.seq_len": list(range(3, 103)), "model.hidden": list(range(1, 101))}
    assert parse_sweep(_cfg({"grid": small}), SOURCE).size == MAX_POINTS
    spec = parse_sweep(_cfg({"grid": {"task.seq_len": list(range(3, 104)),
                                      "model.hidden": list(range(1, 3))}, "seeds": 50}),
                       SOURCE, yes=True)
    assert spec.size == 10_100 and len(spec.points()) == 10_100


def test_a_billion_point_grid_is_refused_before_anything_is_expanded():
    """Issue 27/16: --yes does not lift the hard limit; the count is arithmetic, so the
    refusal is immediate and takes no memory (expanding 10^9 points would take ~1 TB)."""
    import time
    import tracemalloc
    axis = list(range(1, 1001))
    grid = {"task.seq_len": axis, "model.hidden": axis, "train.batch_size": axis}
    cfg = _cfg({"grid": grid})
    tracemalloc.start()
    start = time.monotonic()
    for yes in (True, False):
        with pytest.raises(ConfigError) as info:
            parse_sweep(cfg, SOURCE, yes=yes)
        message = str(info.value)
        assert info.value.key == "sweep" and "1,000,000,000 points" in message
        assert f"at most {MAX_POINTS_YES:,} even with --yes" in message and "\n" not in message
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.monotonic() - start < 5 and peak < 20_000_000
    # just past the hard limit with --yes: refused too
    over = {"task.seq_len": list(range(3, 104)), "model.hidden": list(range(1, 101))}
    with pytest.raises(ConfigError, match="even with --yes"):
        parse_sweep(_cfg({"grid": over, "seeds": 10}), SOURCE, yes=True)


def test_a_sweep_only_read_is_not_expanded(monkeypatch):
    """Points are made when first asked for: sweep-report and the Sweep screen read a
    sweep's results without building its points."""
    from lstm_tui.sweeps import spec as spec_module
    made = []
    real = spec_module._point
    monkeypatch.setattr(spec_module, "_point", lambda *a: made.append(1) or real(*a))
    spec = parse_sweep(_cfg({"grid": {"task.seq_len": [3, 4, 5]}, "seeds": 2}), SOURCE,
                       reading=True)
    assert spec.size == 6 and not made
    assert len(spec.points()) == 6 and len(made) == 6
    assert len(spec.points()) == 6 and len(made) == 6      # expanded once


def test_missing_sweep_table():
    with pytest.raises(ConfigError) as info:
        parse_sweep(parse_config({}), SOURCE)
    assert info.value.key == "sweep"


SEED_LENGTHS = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 19, 21, 23, 25, 27, 29, 30,
                33, 36, 39, 42, 45]


def test_shipped_sweep_presets_parse_and_reproduce_the_seeds():
    shipped = {p.stem: p for p in PRESETS.glob("sweep_*.toml")}
    assert {"sweep_nth_seq_len_cells", "sweep_nth_features", "sweep_nth_dataset_size",
            "sweep_rnn_vs_lstm_seq_len", "sweep_char_lm_unrollings_nodes"} <= set(shipped)
    specs = {}
    for name, path in shipped.items():
        cfg = load_preset(path)
        assert cfg.description and path.read_text().startswith("#"), name
        specs[name] = parse_sweep(cfg, str(path))
        assert 0 < specs[name].size <= 120, name         # small enough for 2 CPU cores
    rnn = specs["sweep_rnn_vs_lstm_seq_len"]
    assert rnn.grid["task.seq_len"] == SEED_LENGTHS
    assert rnn.grid["model.cell"] == ["rnn", "lstm"]
    assert rnn.base.model.hidden == 6 and rnn.base.task.kind == "weighted_sum"
    assert rnn.metric == "mad"
    sizes = specs["sweep_nth_dataset_size"].grid["task.train_size"]
    assert sizes == [100, 300, 1000, 3000, 10000]
    assert all(math.isclose(math.log10(b / a), 0.5, abs_tol=0.03) for a, b in zip(sizes, sizes[1:]))
    cells = specs["sweep_nth_seq_len_cells"]
    assert cells.grid["model.cell"] == ["lstm", "gru"] and "model.hidden" in cells.grid
    assert "task.features" in specs["sweep_nth_features"].grid
    lm = specs["sweep_char_lm_unrollings_nodes"]
    assert set(lm.grid) == {"task.seq_len", "model.hidden"} and lm.metric == "perplexity"


def test_a_sweep_read_back_from_its_sweep_toml_draws_the_same_points():
    """The axes' order decides the random draws: a range written before a list must stay
    before it in the sweep.toml a sweep folder keeps (tomli-w would move sub-tables last)."""
    from lstm_tui.config import parse_config, to_toml
    from lstm_tui.tomlfile import loads_toml
    data = {"task": {"kind": "nth_element"}, "train": {"steps": 5},
            "sweep": {"random": {"train.lr": {"low": 1e-3, "high": 1e-1, "log": True},
                                 "model.cell": ["lstm", "gru"], "samples": 4},
                      "seeds": 1}}
    cfg = parse_config(data, "p.toml")
    again = parse_config(loads_toml(to_toml(cfg)), "sweep.toml")
    assert list(again.sweep["random"]) == ["train.lr", "model.cell", "samples"]
    assert [p.values for p in parse_sweep(again, "sweep.toml").points()] == \
        [p.values for p in parse_sweep(cfg, "p.toml").points()]


def test_keys_added_after_0_1_leave_an_old_sweeps_folder_name_alone():
    """A sweep started with 0.1.0 resumes in its folder: the cell registry's new [model]
    keys count in the fingerprint only when they are set."""
    data = {"task": {"kind": "nth_element"}, "train": {"steps": 5},
            "sweep": {"grid": {"model.hidden": [4, 8]}}}
    plain = parse_sweep(parse_config(data, "p.toml"), "p.toml").fingerprint()
    assert plain == "751d357c"              # as lstm-lab 0.1.0 named it
    data["model"] = {"peepholes": True}
    assert parse_sweep(parse_config(data, "p.toml"), "p.toml").fingerprint() != plain
