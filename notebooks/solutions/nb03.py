"""Reference solutions for notebook 03's exercises (saturating vs non-saturating generator loss).

Look here only after trying: the checks in ``ganlib.checks.nb03`` tell you what is wrong first.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def grad_saturating(a: torch.Tensor) -> torch.Tensor:
    """d/da log(1 - sigmoid(a)) = -sigmoid(a) (elementwise; a has any shape)."""
    return -torch.sigmoid(a)


def grad_nonsaturating(a: torch.Tensor) -> torch.Tensor:
    """d/da log sigmoid(a) = 1 - sigmoid(a) (elementwise; a has any shape)."""
    return 1 - torch.sigmoid(a)


def nonsaturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """L_G = -E log D(G(z)) = E softplus(-a) from logits a of shape (m,) or (m, 1); a scalar."""
    return F.softplus(-fake_logits).mean()
