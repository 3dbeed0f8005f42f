"""The parallel scan in log space of Feng et al. 2024 ("Were RNNs All We Needed?",
appendix), shared by minGRU and minLSTM.

A recurrence h_t = a_t ⊙ h_{t-1} + b_t with a_t, b_t > 0 and h_0 = 0 unrolls to

    h_t = Σ_{k<=t} (Π_{k<j<=t} a_j) b_k = exp(A_t) Σ_{k<=t} exp(log b_k − A_k),
    A_t = Σ_{j<=t} log a_j,

so log h_t = A_t + logcumsumexp_k(log b_k − A_k): two cumulative ops over T instead of a
loop of T steps.  Working in logs keeps the products from underflowing.
"""

from __future__ import annotations


def log_scan(log_a, log_b):
    """h (B, T, H) of h_t = a_t h_{t-1} + b_t from h_0 = 0, given log a and log b."""
    a_star = log_a.cumsum(1)
    return (a_star + (log_b - a_star).logcumsumexp(1)).exp()


def g(x):
    """g(x) = x + 0.5 for x >= 0, σ(x) below: positive, so its log exists (the paper's
    activation of the candidate)."""
    return (x + 0.5).where(x >= 0, x.sigmoid())


def log_g(x):
    """log g(x), computed without going through g (stable for very negative x)."""
    from torch.nn import functional as F
    return (x.relu() + 0.5).log().where(x >= 0, -F.softplus(-x))
