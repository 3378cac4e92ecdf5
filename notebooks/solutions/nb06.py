"""Reference solutions for the exercises of notebook 06 (a DCGAN on MNIST, measured).

Try the exercises first: ``ganlib.checks.nb06`` tells you what is wrong in your version.
"""
from __future__ import annotations

import math

import torch


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation: sin((1 - t) W) / sin W * z0 + sin(t W) / sin W * z1.

    W is the angle between z0 and z1: cos W = <z0, z1> / (||z0|| ||z1||). z0, z1: (d,) -> (d,).
    """
    cos_w = torch.dot(z0, z1) / (z0.norm() * z1.norm())
    w = torch.arccos(cos_w.clamp(-1.0, 1.0))
    return (torch.sin((1 - t) * w) * z0 + torch.sin(t * w) * z1) / torch.sin(w)


def classifier_score(probs: torch.Tensor) -> float:
    """exp(E_x KL(p(y|x) || p(y))) with p(y) = E_x p(y|x); probs: (n, 10) rows summing to 1."""
    p_y = probs.mean(dim=0, keepdim=True)
    kl = (probs * (torch.log(probs + 1e-12) - torch.log(p_y + 1e-12))).sum(dim=1)
    return float(torch.exp(kl.mean()))


def frechet_1d(mu1: float, sigma1: float, mu2: float, sigma2: float) -> float:
    """Squared Frechet distance between N(mu1, sigma1^2) and N(mu2, sigma2^2) (sigmas: standard deviations).

    The FID formula with 1x1 covariances S = sigma^2: (mu1 - mu2)^2 + sigma1^2 + sigma2^2 - 2 sigma1 sigma2.
    """
    return (mu1 - mu2) ** 2 + sigma1 ** 2 + sigma2 ** 2 - 2 * math.sqrt(sigma1 ** 2 * sigma2 ** 2)
