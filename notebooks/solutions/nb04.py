"""Reference solutions for the exercises of notebook 04 (mode collapse, measured and remedied).

Try the exercises first: ``ganlib.checks.nb04`` tells you what is wrong in your version.
The library versions are ``ganlib.metrics.mode_coverage`` and ``ganlib.remedies.PackedDiscriminator``.
"""
from __future__ import annotations

import torch


def count_modes(samples: torch.Tensor, means: torch.Tensor, sigma: float) -> tuple[int, float]:
    """(modes captured, high-quality fraction) of samples (N, 2) for modes at means (K, 2), std sigma.

    A sample is high quality when its distance to the nearest mean is at most 3 sigma; a mode is
    captured when at least one high-quality sample is nearest to it.
    """
    dist = torch.cdist(samples.double(), means.double())          # (N, K) Euclidean distances
    nearest, which = dist.min(dim=1)
    good = nearest <= 3 * sigma
    return int(which[good].unique().numel()), float(good.double().mean())


def pack(x: torch.Tensor, k: int) -> torch.Tensor:
    """PacGAN packing: (m, d) -> (m // k, k * d); row j holds samples jk, ..., jk + k - 1 side by side."""
    m = x.shape[0]
    if m % k != 0:
        raise ValueError(f"batch of {m} samples cannot be packed in groups of {k}; use a multiple of {k}.")
    return x.reshape(m // k, k * x.shape[1])


def kl_from_uniform(counts: torch.Tensor) -> float:
    """KL(q || u) = sum_k q_k log(K q_k) for the mode histogram q = counts / sum(counts) (0 log 0 = 0)."""
    c = torch.as_tensor(counts, dtype=torch.float64)
    q = c / c.sum()
    k = c.numel()
    nz = q > 0
    return float((q[nz] * torch.log(k * q[nz])).sum())

