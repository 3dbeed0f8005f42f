"""The seed's story of the LSTM's gates, checked on a small trained nth_element model.

Recalling the element at index n of a 5-long sequence, a trained LSTM opens its input
gate at position n (writes the element into the cell) and keeps its forget gate high
after it (holds it there), as nth_element_lstm.toml's comment describes.
"""

from __future__ import annotations

import numpy as np
import pytest

from lstm_tui.config import load_preset
from lstm_tui.experiment import start_run
from lstm_tui.inspection import source
from tests.conftest import PRESETS

N = 2


@pytest.mark.slow
def test_input_gate_writes_at_n_and_forget_gate_holds_after(tmp_path):
    cfg = load_preset(PRESETS / "nth_element_lstm.toml", [
        "train.steps=400", "train.eval_every=200", "train.log_every=100", "model.hidden=16",
        "task.train_size=2000", "task.val_size=200"])
    run_dir, last = start_run(cfg, tmp_path / "runs", [], lambda: False)
    assert last.best >= 0.95                        # it learned the task
    opened = source.open_run(run_dir)
    inputs, forgets = [], []
    for k in range(40):
        gates = source.inspect_sequence(opened, source.validation_sequence(opened, k)) \
            .trace().gates
        inputs.append(gates["input"])
        forgets.append(gates["forget"])
    i_t = np.mean(inputs, axis=(0, 2))              # mean over sequences and units, per t
    f_t = np.mean(forgets, axis=(0, 2))
    assert i_t[N] > 0.8 and i_t[N] > i_t[:N].max() + 0.25        # writes at position n
    assert f_t[N + 1:].min() > 0.75 and f_t[N + 1:].min() > f_t[:N].max() + 0.1   # holds
