"""The process's numeric policy, set once when an experiment is built: FP32 or TF32, and
whether kernels must be deterministic.

One policy for every path.  Left alone, torch 2.13 runs cuDNN RNNs in TF32 while matmuls
stay FP32, so the fused ``nn.LSTM`` and the step-wise cells (or the ensemble's batched
matmuls) would round differently on one GPU; ``train.tf32`` switches both together.
On the CPU none of this changes a result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

# cuBLAS needs a fixed workspace to be deterministic (see torch's reproducibility notes)
CUBLAS_WORKSPACE = ":4096:8"


@dataclass(frozen=True)
class Policy:
    tf32: bool = False
    deterministic: bool = False

    @property
    def fp32_precision(self) -> str:
        return "tf32" if self.tf32 else "ieee"


def apply(policy: Policy) -> Policy:
    """Set the policy for this process (every call sets every flag, so a process that
    trains several runs in turn never keeps the previous run's settings)."""
    precision = policy.fp32_precision
    if hasattr(torch.backends.cudnn, "rnn"):     # torch >= 2.9: one setting per backend
        torch.backends.cuda.matmul.fp32_precision = precision
        torch.backends.cudnn.rnn.fp32_precision = precision
    else:                                       # older torch: cuDNN has one switch for all
        torch.backends.cuda.matmul.allow_tf32 = policy.tf32
        torch.backends.cudnn.allow_tf32 = policy.tf32
    if policy.deterministic:
        # read by torch when it sets up cuBLAS; set before the first CUDA matmul
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.use_deterministic_algorithms(policy.deterministic)
    torch.backends.cudnn.deterministic = policy.deterministic
    torch.backends.cudnn.benchmark = False   # autotuning picks kernels by timing: not repeatable
    return policy


def current() -> Policy:
    """The policy now in force (what a run records and what the tests check)."""
    if hasattr(torch.backends.cudnn, "rnn"):
        tf32 = (torch.backends.cuda.matmul.fp32_precision == "tf32"
                and torch.backends.cudnn.rnn.fp32_precision == "tf32")
    else:
        tf32 = torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    return Policy(tf32=tf32, deterministic=torch.are_deterministic_algorithms_enabled())


def from_config(train_cfg) -> Policy:
    return Policy(tf32=bool(train_cfg.tf32), deterministic=bool(train_cfg.deterministic))
