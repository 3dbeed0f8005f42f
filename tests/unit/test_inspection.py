"""The inspection core: gates recomputed from the weights equal PyTorch's modules; the
analysis helpers; sequence choice and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm_tui.config import ConfigError, ModelConfig
from lstm_tui.inspection import analysis
from lstm_tui.inspection.record import run_sequence, trace_stack
from lstm_tui.models.cells import spec_of
from lstm_tui.models.network import SequenceModel

CASES = [(cell, layers, bi) for cell in ("lstm", "gru", "rnn") for layers in (1, 3)
         for bi in (False, True)]


def model_for(cell, layers, bi, activation="tanh", readout="last", seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(cell=cell, hidden=7, layers=layers, bidirectional=bi,
                      activation=activation, dropout=0.0)
    return SequenceModel(cfg, 5, 3, readout).eval()


@pytest.mark.parametrize("cell,layers,bi", CASES)
def test_recomputed_states_equal_the_fused_module(cell, layers, bi):
    model = model_for(cell, layers, bi)
    x = torch.randn(1, 11, 5)
    with torch.no_grad():
        traces, top = trace_stack(model, x)
        seq, state = model.rnn(x)
    dirs = 2 if bi else 1
    assert [(k, d) for k, d, _ in traces] == [(k, d) for k in range(layers)
                                              for d in ("forward", "backward")[:dirs]]
    assert list(traces[0][2]) == list(spec_of(cell).gates)
    mine = torch.cat([torch.cat(h) for h in top], 1)            # (T, H*dirs) of the top
    torch.testing.assert_close(mine, seq[0], atol=1e-5, rtol=0)
    h_n = state[0] if cell == "lstm" else state
    for i, (_, d, q) in enumerate(traces):
        last = -1 if d == "forward" else 0     # the backward direction ends at step 0
        torch.testing.assert_close(q["hidden"][last][0], h_n[i, 0], atol=1e-5, rtol=0)
        if cell == "lstm":
            torch.testing.assert_close(q["cell"][last][0], state[1][i, 0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_every_step_of_every_layer_equals_the_fused_module(cell):
    """Layer k's h_t (all steps) is the fused module's output for the first k+1 layers."""
    model = model_for(cell, 2, True)
    x = torch.randn(1, 9, 5)
    with torch.no_grad():
        traces, _ = trace_stack(model, x)
        one = type(model.rnn)(5, 7, num_layers=1, batch_first=True, bidirectional=True)
        one.load_state_dict({k: v for k, v in model.rnn.state_dict().items() if "_l0" in k})
        seq, _ = one(x)
    layer0 = torch.cat([torch.cat(q["hidden"]) for k, _, q in traces if k == 0], 1)
    torch.testing.assert_close(layer0, seq[0], atol=1e-5, rtol=0)
    for _, _, q in traces:      # gates lie in their ranges
        for name, seq_t in q.items():
            values = torch.cat(seq_t)
            if name in spec_of(cell).bounded:
                assert values.min() >= 0 and values.max() <= 1


def test_lstm_gates_reproduce_the_cell_state_update():
    model = model_for("lstm", 1, False)
    traces, _ = trace_stack(model, torch.randn(1, 6, 5))
    q = {k: torch.cat(v).detach() for k, v in traces[0][2].items()}
    c_prev = torch.cat((torch.zeros(1, 7), q["cell"][:-1]))
    torch.testing.assert_close(q["cell"], q["forget"] * c_prev + q["input"] * q["candidate"])
    torch.testing.assert_close(q["hidden"], q["output"] * torch.tanh(q["cell"]))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_softsign_uses_the_hand_written_cells_activation(cell):
    model = model_for(cell, 2, True, activation="softsign", readout="all")
    x = torch.randn(1, 8, 5)
    with torch.no_grad():
        expected, _ = model(x)                       # the step-wise softsign path
        traces, top = trace_stack(model, x)
    got = model.head(model._select_steps(top))
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    if cell == "lstm":
        q = {k: torch.cat(v) for k, v in traces[0][2].items()}
        torch.testing.assert_close(q["hidden"], q["output"] * torch.nn.functional.softsign(
            q["cell"]))
        assert not torch.allclose(q["hidden"], q["output"] * torch.tanh(q["cell"]))


def test_saliency_is_the_gradient_of_the_predicted_output():
    model = model_for("lstm", 1, False)
    x = torch.randn(1, 6, 5)
    result = run_sequence(model, x)
    xg = x.clone().requires_grad_(True)
    out, _ = model(xg)
    out[0, out[0].argmax()].backward()
    np.testing.assert_allclose(result.saliency, xg.grad[0].norm(dim=-1).tolist(), atol=1e-5)
    assert result.readout_steps == [5] and len(result.output) == 1
    assert model.training is False


def test_units_and_features():
    assert analysis.parse_units("0, 5,7,5", 8) == [0, 5, 7]
    assert analysis.parse_units("2-4,0", 8) == [2, 3, 4, 0]
    for bad in ("8", "x", "-1", ","):
        with pytest.raises(ConfigError):
            analysis.parse_units(bad, 8)
    values = np.zeros((4, 3))
    values[:, 2] = [0, 1, 0, 1]
    values[:, 0] = [0, 0.1, 0, 0]
    assert analysis.top_by_variance(values, 2) == [2, 0]
    text = 'a "bc" d\nef'
    assert analysis.text_feature(text, "quote").tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    assert analysis.text_feature(text, "position").tolist()[-3:] == [8, 0, 1]
    assert analysis.text_feature(text, "newline").sum() == 1
    acts = np.stack([analysis.text_feature(text, "space"), np.arange(11.0),
                     np.ones(11)], 1)
    ranked = analysis.rank_by_feature(acts, text, "space", 3)
    assert ranked[0][0] == 0 and ranked[0][1] == pytest.approx(1.0)
    assert ranked[-1] == (2, 0.0)      # a constant unit correlates with nothing
    with pytest.raises(ConfigError):
        analysis.text_feature(text, "vowel")


def test_json_has_no_nan():
    from lstm_tui.inspection.schema import LayerTrace, Record
    record = Record("r", "best.pt", 1, "nth_element", "rnn", "tanh", 1, 1, 1, ["1"], None,
                    [LayerTrace(0, "forward", {"hidden": [[float("nan")]]})],
                    [float("inf")], [{"step": 0, "value": 1.5, "target": 2.0}])
    data = record.to_json()
    assert data["gates"]["hidden"] == [[None]] and data["saliency"] == [None]
    assert data["predictions"][0]["value"] == 1.5
