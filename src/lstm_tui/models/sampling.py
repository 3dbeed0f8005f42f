"""Text generation from a character language model, one character at a time.

The model reads one-hot characters of width `vocab_size` (what the char LM task feeds)
and its logits for the last step give the next character's distribution.  Generation is
a generator so a UI can stream the text as it comes.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

GREEDY_TEMPERATURE = 1e-3  # at or below this, sampling is argmax


def generate(model: nn.Module, encode: Callable[[str], Sequence[int]],
             decode: Callable[[Sequence[int]], str], vocab_size: int, prime: str,
             length: int, temperature: float, seed: int | None = None,
             device: torch.device | str = "cpu", top_k: int | None = None) -> Iterator[str]:
    """Yield `length` new characters that continue `prime` (see :func:`generate_scored`)."""
    for char, _ in generate_scored(model, encode, decode, vocab_size, prime, length,
                                   temperature, seed, device, top_k):
        yield char


def generate_scored(model: nn.Module, encode: Callable[[str], Sequence[int]],
                    decode: Callable[[Sequence[int]], str], vocab_size: int, prime: str,
                    length: int, temperature: float, seed: int | None = None,
                    device: torch.device | str = "cpu",
                    top_k: int | None = None) -> Iterator[tuple[str, float]]:
    """Yield `length` new characters that continue `prime` (the prime is not yielded),
    each with the probability the model gave it (softmax of its logits at temperature 1,
    before temperature and top-k reshape the distribution it is drawn from).

    `encode` maps a string to symbol indices (a list or a tensor), `decode` indices to a
    string.  The prime is run through the model to build its state.  With an empty
    prime, or one with no character in the vocabulary, generation starts from a space
    (the separator of every text8-style vocabulary, so the first sampled character
    reads like the start of a word); when the vocabulary cannot encode a space, from a
    symbol drawn uniformly with the seeded generator.  Each step samples from
    softmax(logits / temperature) with a ``torch.Generator`` seeded by `seed` (None:
    fresh entropy); temperature <= 1e-3, 0 included, takes the argmax instead.  With
    `top_k`, only the k most likely characters can be drawn.  Each
    step runs without gradients in eval mode and the model's mode is restored before the
    character is yielded, so a paused stream leaves the model as it was.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if length <= 0:
        return
    gen = torch.Generator()  # on the CPU: the sampled distribution is small
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    codes = _codes(encode, prime) or _start_symbol(encode, vocab_size, gen)

    with _inference(model):
        logits, state = _step(model, codes, vocab_size, device, None)
    for n in range(length):
        code = _sample(logits, temperature, gen, top_k)
        prob = float(torch.softmax(logits, -1)[code])
        if n < length - 1:  # the last character needs no further forward pass
            with _inference(model):
                logits, state = _step(model, [code], vocab_size, device, state)
        yield decode([code]), prob


def _codes(encode: Callable[[str], Sequence[int]], text: str) -> list[int]:
    """Plain ints (encode may return a list or a tensor); [] when nothing encodes."""
    if not text:
        return []
    try:
        return [int(c) for c in encode(text)]
    except (KeyError, ValueError, IndexError):
        return []


def _start_symbol(encode: Callable[[str], Sequence[int]], vocab_size: int,
                  gen: torch.Generator) -> list[int]:
    codes = _codes(encode, " ")
    if len(codes) == 1 and 0 <= codes[0] < vocab_size:
        return codes
    return [int(torch.randint(vocab_size, (1,), generator=gen))]


@contextmanager
def _inference(model: nn.Module) -> Iterator[None]:
    """Eval mode and no autograd, for one step only (never held across a yield)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _step(model: nn.Module, codes: Sequence[int], vocab_size: int,
          device: torch.device | str, state: Any) -> tuple[Tensor, Any]:
    """Feed `codes` as one-hot (1, T, V); return the last step's logits (on the CPU)."""
    idx = torch.tensor(codes, dtype=torch.long, device=device)
    x = F.one_hot(idx, vocab_size).float().unsqueeze(0)
    out, state = model(x, state)
    logits = out[0, -1] if out.dim() == 3 else out[0]  # readout "all" or "last"
    return logits.float().cpu(), state


def _sample(logits: Tensor, temperature: float, gen: torch.Generator,
            top_k: int | None = None) -> int:
    if temperature <= GREEDY_TEMPERATURE:
        return int(logits.argmax())
    if top_k is not None and top_k < logits.numel():
        kth = logits.topk(top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits / temperature, dim=-1)
    return int(torch.multinomial(probs, 1, generator=gen))
