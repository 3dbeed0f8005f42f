"""The sampler draws from softmax(logits / temperature), checked by counting draws.

Temperatures far from 1 (0.5 and 3) tell dividing by the temperature from multiplying
by it; at 1 (and near 0, argmax) the two agree.  The generator is seeded, so the counts
are the same on every run, and the bound is six binomial standard deviations, far
inside the gap between the right distribution and the wrong ones.
"""

from __future__ import annotations

import math
from functools import cache

import pytest
import torch
from torch import nn

from lstm_tui.models.sampling import generate

VOCAB = "abcd"
LOGITS = torch.tensor([0.0, 1.0, 2.0, 3.0])
DRAWS = 6000


class FixedLogits(nn.Module):
    """Whatever it reads, the next character's logits are LOGITS."""

    def forward(self, x, state=None):
        return LOGITS.expand(x.shape[0], x.shape[1], -1), state


@cache
def frequencies(temperature: float) -> list[float]:
    text = "".join(generate(FixedLogits(), lambda s: [VOCAB.index(c) for c in s],
                            lambda codes: "".join(VOCAB[i] for i in codes), len(VOCAB),
                            prime="a", length=DRAWS, temperature=temperature, seed=1234))
    assert len(text) == DRAWS
    return tuple(text.count(ch) / DRAWS for ch in VOCAB)


@pytest.mark.parametrize("temperature", [0.5, 3.0])
def test_draws_follow_softmax_of_logits_over_temperature(temperature):
    expected = torch.softmax(LOGITS / temperature, -1).tolist()
    wrong = torch.softmax(LOGITS * temperature, -1).tolist()   # multiplying instead
    seen = frequencies(temperature)
    for p, q, f in zip(expected, wrong, seen):
        bound = 6 * math.sqrt(p * (1 - p) / DRAWS) + 1e-3
        assert abs(f - p) <= bound, (seen, expected)
    # the test can tell the two apart: the wrong distribution is far outside the bound
    assert max(abs(p - q) for p, q in zip(expected, wrong)) > 0.2


def test_higher_temperature_flattens_the_distribution():
    cold, hot = frequencies(0.5), frequencies(3.0)
    assert cold[-1] > 0.8 and hot[-1] < 0.5 and min(hot) > 0.1
