"""The parallel scan in log space of Feng et al. 2024 ("Were RNNs All We Needed?",
appendix), shared by minGRU and minLSTM.

A recurrence h_t = a_t ⊙ h_{t-1} + b_t with a_t, b_t > 0 and h_0 = 0 unrolls to

    h_t = Σ_{k<=t} (Π_{k<j<=t} a_j) b_k = exp(A_t) Σ_{k<=t} exp(log b_k − A_k),
    A_t = Σ_{j<=t} log a_j,

so log h_t = A_t + logcumsumexp_k(log b_k − A_k): two cumulative ops over T instead of a
loop of T steps.  Working in logs keeps the products from underflowing.  The two
cumulative ops run in float64: A_t grows like t (hundreds after a few hundred steps), and
float32's seven digits of it would leave errors of 1e-4 in h; in float64 the scan equals
the float32 step to float32 rounding.
"""

from __future__ import annotations


def log_scan(log_a, log_b):
    """h (B, T, H) of h_t = a_t h_{t-1} + b_t from h_0 = 0, given log a and log b."""
    a_star = log_a.double().cumsum(1)
    return (a_star + (log_b.double() - a_star).logcumsumexp(1)).exp().to(log_b.dtype)


def g(x):
    """g(x) = x + 0.5 for x >= 0, σ(x) below: positive, so its log exists (the paper's
    activation of the candidate)."""
    return (x + 0.5).where(x >= 0, x.sigmoid())


def log_g(x):
    """log g(x), computed without going through g (stable for very negative x)."""
    from torch.nn import functional as F
    return (x.relu() + 0.5).log().where(x >= 0, -F.softplus(-x))
