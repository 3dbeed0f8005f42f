"""The cell registry: bad input is one line naming the key, nothing trained; a broken
plugin cell is one line and the lab goes on."""

from __future__ import annotations

import dataclasses

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from lstm_tui.config import ConfigError, ModelConfig, parse_config
from lstm_tui.models.cells import CellSpec, Param, registry
from lstm_tui.models.cells.base import project_input

runner = CliRunner()


def parse(**model):
    return parse_config({"task": {"kind": "adding", "seq_len": 5}, "model": model}, "p.toml")


@pytest.mark.parametrize("model,key,fragment", [
    ({"cell": "mingrue"}, "model.cell", "got 'mingrue' (did you mean 'mingru'?)"),
    ({"cell": "gru", "peepholes": True}, "model.peepholes",
     "the gru cell does not take peepholes (leave it at false; cells that take it: lstm, "),
    ({"cell": "mingru", "activation": "softsign"}, "model.activation",
     "the mingru cell does not take activation (leave it at \"tanh\"; cells that take it: "
     "rnn, lstm, gru, "),
    ({"cell": "rnn", "forget_bias": 0.0}, "model.forget_bias", "the rnn cell does not take"),
    ({"cell": "lstm", "heads": 2}, "model.heads", "cells that take it: slstm)"),
    ({"cell": "gru", "recurrent_max": 1.0}, "model.recurrent_max",
     "cells that take it: indrnn)"),
    ({"cell": "slstm", "hidden": 6, "heads": 4}, "model.heads",
     "must divide model.hidden (6), got 4"),
    ({"cell": "lstm_nfg", "forget_bias": 2.0}, "model.forget_bias", "lstm_nfg cell does not"),
])
def test_bad_cell_options_name_the_key(model, key, fragment):
    with pytest.raises(ConfigError) as info:
        parse(**model)
    assert info.value.key == key and fragment in str(info.value)
    assert str(info.value).startswith("p.toml: " + key)


def test_options_a_cell_takes_are_accepted():
    assert parse(cell="lstm_cifg", peepholes=True, activation="softsign").model.peepholes
    assert parse(cell="slstm", hidden=8, heads=4, forget_bias=2.0).model.heads == 4
    assert parse(cell="indrnn", recurrent_max=1.1).model.recurrent_max == 1.1


def test_the_cli_says_it_in_one_line_and_trains_nothing(tmp_path):
    result = runner.invoke(app, ["headless", "adding_problem", "--runs-dir", str(tmp_path),
                                 "--set", "model.cell=gru", "--set", "model.peepholes=true"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "model.peepholes: the gru cell does not take peepholes" in lines[0]
    assert not list(tmp_path.iterdir())
    check = runner.invoke(app, ["check", "adding_problem", "--set", "model.cell=lstn"])
    assert check.exit_code == 2 and "did you mean 'lstm'?" in check.output


def test_a_sweep_over_cells_checks_each_point():
    data = {"task": {"kind": "adding", "seq_len": 5},
            "sweep": {"grid": {"model.cell": ["lstm", "mingru", "slstm"]}}}
    from lstm_tui.sweeps.spec import parse_sweep
    spec = parse_sweep(parse_config(data, "s.toml"), "s.toml")
    assert [p.config.model.cell for p in spec.points()] == ["lstm", "mingru", "slstm"]
    data["model"] = {"peepholes": True}
    with pytest.raises(ConfigError) as info:
        parse_sweep(parse_config(data, "s.toml"), "s.toml")
    assert "peepholes" in str(info.value) and "mingru" in str(info.value)


# ---------------------------------------------------------------- plugins

@pytest.fixture
def scratch(monkeypatch):
    registry.names()
    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))
    monkeypatch.setattr(registry, "_PLUGINS", dict(registry._PLUGINS))
    monkeypatch.setattr(registry, "_PROBLEMS", [])
    monkeypatch.setattr(registry, "_TRIALS", {})


def twice(p, xp, state, cfg):
    h = state[0]
    return (h.repeat(1, 2),), {"hidden": h}


def linear(p, xp, state, cfg):
    h = (xp + state[0] @ p["weight_hh"].T).tanh()
    return (h,), {"hidden": h}


def spec(name, step=linear, **kw):
    return CellSpec(name=name, label=name, summary="s", paper="p",
                    params=lambda i, h, cfg: (Param("weight_ih", (h, i), "input"),
                                              Param("weight_hh", (h, h), "recurrent"),
                                              Param("bias_ih", (h,), "bias")),
                    project=project_input, step=step, **kw)


def test_a_plugin_cell_trains_and_a_wrong_one_is_named(scratch):
    assert registry.register(spec("elman2"), "cell plugin 'elman2' (x:SPEC)")
    cfg = parse(cell="elman2")
    assert cfg.model.cell == "elman2" and "elman2" in registry.names()
    assert registry.register(spec("wide", step=twice), "cell plugin 'wide' (y:SPEC)")
    with pytest.raises(ConfigError) as info:
        parse(cell="wide")
    assert info.value.key == "model.cell"
    assert "cell plugin 'wide' (y:SPEC): cell 'wide': step returns h of shape (2, 64), " \
           "expected (2, 32)" in str(info.value)
    assert registry.broken_plugins(lambda name: ModelConfig(cell=name)) == [
        "cell plugin 'wide' (y:SPEC): cell 'wide': step returns h of shape (2, 64), "
        "expected (2, 32)"]


@pytest.mark.parametrize("bad,problem", [
    ("not a spec", "not a CellSpec (got str)"),
    (spec("Bad-Name"), "cell name 'Bad-Name' must be lower-case letters, digits and _"),
    (spec("lstm"), "cell 'lstm' is already registered; ignored"),
    (spec("x1", options=frozenset({"dropout"})), "unknown options dropout"),
    (spec("x2", gates=("out",)), "gates must name 'hidden'"),
    (spec("x3", state=("c", "h")), "state must start with 'h'"),
])
def test_a_bad_spec_is_one_recorded_line(scratch, bad, problem):
    assert not registry.register(bad, "cell plugin 'p' (m:SPEC)")
    (line,) = registry.problems()
    assert line.startswith("cell plugin 'p' (m:SPEC): ") and problem in line


def test_a_step_that_raises_is_a_problem_not_a_crash(scratch):
    def boom(p, xp, state, cfg):
        raise RuntimeError("no\nmore")
    registry.register(spec("boom", step=boom), "cell plugin 'boom' (b:SPEC)")
    assert registry.trial(registry.get("boom"), ModelConfig(cell="boom")) == \
        "cell 'boom' fails: RuntimeError: no"


def test_an_unregistered_cell_is_refused_by_the_model(scratch):
    cfg = dataclasses.replace(ModelConfig(), cell="gone")
    from lstm_tui.models import build_model
    with pytest.raises(ConfigError):
        build_model(cfg, 2, 1, "last")


def test_a_config_of_a_built_in_cell_is_checked_without_the_other_cells_or_the_scan():
    """What the lab's first frame does: `model.cell = "gru"` is checked by importing the
    gru module alone, without importlib.metadata (the scan for plugins); listing the
    choices then loads every cell, the built-ins first in their order."""
    import subprocess
    import sys
    code = ("import sys\nfrom lstm_tui.config import parse_config, field_specs, ModelConfig\n"
            "parse_config({'model': {'cell': 'gru'}})\n"
            "early = sorted(m for m in sys.modules if m.startswith('lstm_tui.models.cells.')"
            " or m == 'importlib.metadata')\n"
            "cells = list(next(s for s in field_specs(ModelConfig) if s.name == 'cell').choices)\n"
            "print(repr((early, cells)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    early, cells = eval(out.stdout)
    assert early == ["lstm_tui.models.cells.base", "lstm_tui.models.cells.gru",
                     "lstm_tui.models.cells.registry"]
    assert cells[:3] == ["rnn", "lstm", "gru"] and cells[:len(registry.BUILTIN)] == \
        list(registry.BUILTIN)
