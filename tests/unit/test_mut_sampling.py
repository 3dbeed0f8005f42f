"""The sampler's contract, checked against a model whose every call is recorded
(survivors of the mutation run, see TESTING.md).

`Counter` makes the next character's logits depend on the last character read *and* on
the state (how many characters the model has read so far), so a prime that is not fed,
a state that is not carried or a stale forward pass all change what comes out.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lstm_tui.models.sampling import generate, generate_scored

VOCAB = "ab cdefg"          # the space is code 2
V = len(VOCAB)


def encode(text):
    return [VOCAB.index(c) for c in text]


def decode(codes):
    return "".join(VOCAB[i] for i in codes)


class Counter(nn.Module):
    """Logits favour (last code + characters read) mod V; records (codes, state) per call."""

    def __init__(self, readout: str = "all"):
        super().__init__()
        self.readout, self.calls = readout, []

    def logits(self, code: int, seen: int) -> torch.Tensor:
        out = torch.arange(V, dtype=torch.float32) * 0.1
        out[(code + seen) % V] += 3.0
        return out

    def forward(self, x, state=None):
        codes = x[0].argmax(-1).tolist()
        seen = 0 if state is None else int(state)
        self.calls.append((codes, None if state is None else seen))
        rows = [self.logits(c, seen + k + 1) for k, c in enumerate(codes)]
        out = torch.stack(rows)[None]
        if self.readout == "last":
            out = out[:, -1]
        return out, torch.tensor(seen + len(codes))


def reference(prime: str, length: int) -> tuple[str, list[float]]:
    """Greedy decoding by hand, with each character's probability at temperature 1."""
    model, text, probs = Counter(), prime, []
    seen = 0
    logits = None
    for c in prime:
        seen += 1
        logits = model.logits(VOCAB.index(c), seen)
    for _ in range(length):
        code = int(logits.argmax())
        probs.append(float(torch.softmax(logits, -1)[code]))
        text += VOCAB[code]
        seen += 1
        logits = model.logits(code, seen)
    return text[len(prime):], probs


@pytest.mark.parametrize("readout", ["all", "last"])
def test_greedy_text_feeds_the_prime_carries_the_state_and_scores_at_temperature_1(readout):
    model = Counter(readout)
    got = list(generate_scored(model, encode, decode, V, "bcd", 6, 0.0, seed=0))
    text, probs = reference("bcd", 6)
    assert "".join(c for c, _ in got) == text
    assert [p for _, p in got] == pytest.approx(probs)
    # one pass over the prime, then one per character but the last, each with the state
    assert model.calls[0] == ([1, 3, 4], None)
    assert [c for c, _ in model.calls[1:]] == [[VOCAB.index(ch)] for ch in text[:-1]]
    assert [s for _, s in model.calls[1:]] == list(range(3, 3 + 5))


def test_generate_yields_the_same_characters_and_takes_top_k():
    model = Counter()
    scored = "".join(c for c, _ in generate_scored(model, encode, decode, V, "a", 5, 0.0))
    assert "".join(generate(Counter(), encode, decode, V, "a", 5, 0.0)) == scored
    # top_k = 1 at a high temperature is still the argmax, through generate too
    assert "".join(generate(Counter(), encode, decode, V, "a", 5, 50.0, seed=3,
                            top_k=1)) == scored


def test_top_k_limits_the_draws_to_the_k_most_likely():
    class Fixed(nn.Module):
        def forward(self, x, state=None):
            return torch.arange(V, dtype=torch.float32).expand(1, x.shape[1], V), state
    text = "".join(generate(Fixed(), encode, decode, V, "a", 400, 100.0, seed=1, top_k=3))
    assert set(text) == set(VOCAB[-3:])
    # without top_k the same draws reach the rest of the vocabulary
    assert set("".join(generate(Fixed(), encode, decode, V, "a", 400, 100.0, seed=1))) - \
        set(VOCAB[-3:])


@pytest.mark.parametrize("length,calls", [(0, 0), (1, 1), (2, 2)])
def test_length_and_the_forward_passes_it_costs(length, calls):
    model = Counter()
    out = list(generate_scored(model, encode, decode, V, "ab", length, 0.0))
    assert len(out) == length and len(model.calls) == calls


def test_an_empty_prime_starts_from_a_space():
    model = Counter()
    text = "".join(generate(model, encode, decode, V, "", 3, 0.0))
    assert model.calls[0] == ([2], None)
    assert text == reference(" ", 3)[0]


@pytest.mark.parametrize("space_past_end", [None, 0, 5])   # no space, or one the model lacks
def test_without_a_usable_space_the_start_is_drawn_with_the_seed(space_past_end):
    vocab_size = 1000

    def enc(text):
        if text == " ":
            if space_past_end is None:
                raise KeyError(" ")
            return [vocab_size + space_past_end]
        return [0 for _ in text]

    class Rec(nn.Module):
        first: list = []

        def forward(self, x, state=None):
            self.first.append(int(x[0, 0].argmax()))
            return torch.zeros(1, x.shape[1], vocab_size), state

    for seed in (1, 2, 3):
        model = Rec()
        model.first = []
        list(generate(model, enc, lambda c: "x", vocab_size, "", 1, 0.0, seed=seed))
        expected = int(torch.randint(vocab_size, (1,),
                                     generator=torch.Generator().manual_seed(seed)))
        assert model.first == [expected]


def test_the_greedy_threshold_is_inclusive():
    """At exactly 1e-3 the sampler takes the argmax: with a tie, always the first."""
    class Tie(nn.Module):
        def forward(self, x, state=None):
            out = torch.zeros(1, x.shape[1], V)
            out[..., 4] = out[..., 6] = 5.0
            return out, state
    for seed in range(8):
        assert "".join(generate(Tie(), encode, decode, V, "a", 6, 1e-3, seed=seed)) == "d" * 6


@pytest.mark.parametrize("kwargs,message", [
    ({"temperature": -0.5}, "temperature must be >= 0, got -0.5"),
    ({"top_k": 0}, "top_k must be >= 1, got 0")])
def test_bad_arguments_say_what_is_allowed(kwargs, message):
    args = {"temperature": 1.0} | kwargs
    with pytest.raises(ValueError) as info:
        list(generate_scored(Counter(), encode, decode, V, "a", 2, **args))
    assert str(info.value) == message


def test_the_default_device_is_the_cpu():
    assert len(list(generate_scored(Counter(), encode, decode, V, "a", 2, 0.0))) == 2
