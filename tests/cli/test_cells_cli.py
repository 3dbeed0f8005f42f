"""Every shipped cell end to end: trained headless, inspected by the names its spec
gives (JSON, --gate, the SVG), counted by the parameter table."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lstm_tui.cli.main import app
from lstm_tui.models.cells import names, spec_of

runner = CliRunner()
TINY = ["--set", "train.steps=6", "--set", "train.eval_every=6", "--set", "train.log_every=3",
        "--set", "task.seq_len=4", "--set", "model.hidden=4", "--set", "task.train_size=64",
        "--set", "task.val_size=16", "--set", "train.batch_size=16"]
OPTIONS = {"slstm": ["--set", "model.heads=2"], "lstm_cifg": ["--set", "model.peepholes=true"]}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("cells") / "runs"
    for cell in names():
        result = runner.invoke(app, ["headless", "adding_problem", *TINY,
                                     "--set", f"model.cell={cell}", *OPTIONS.get(cell, []),
                                     "--set", f"name={cell}", "--runs-dir", str(root)],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert f"{cell}_1 ({spec_of(cell).label})" in result.output      # the table
    return root, {p.name.split("-")[2]: p for p in root.iterdir()}


@pytest.mark.parametrize("cell", names())
def test_inspect_names_the_cells_own_gates(store, cell):
    root, paths = store
    result = runner.invoke(app, ["inspect", str(paths[cell]), "--json", "--runs-dir", str(root)],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    spec = spec_of(cell)
    assert doc["cell"] == cell and list(doc["gates"]) == list(spec.gates)
    assert doc["bounded"] == [g for g in spec.gates if g in spec.bounded]
    assert all(len(rows) == 4 and len(rows[0]) == 4 for rows in doc["gates"].values())


def test_a_gate_the_cell_does_not_name_is_refused_with_its_names(store, tmp_path):
    root, paths = store
    result = runner.invoke(app, ["inspect", str(paths["mingru"]), "--gate", "forget",
                                 "--runs-dir", str(root)])
    assert result.exit_code == 2
    assert "a mingru has update, candidate, hidden; got 'forget'" in result.output
    svg = tmp_path / "s.svg"
    shown = runner.invoke(app, ["inspect", str(paths["slstm"]), "--gate", "normalizer",
                                "--gate", "stabilizer", "--output", str(svg),
                                "--runs-dir", str(root)], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert "normalizer" in shown.output and "stabilizer" in svg.read_text()
