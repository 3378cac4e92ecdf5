"""The library pieces notebook 03 builds its experiment from: ``train.g_step`` with either generator loss.

The experiment itself (pre-train a confident D, then train G with each loss from the same start)
is written in the notebook's cells; its ``# NBVAL_CHECK_OUTPUT`` cells pin what it shows (under
nbval in ``make test``). Here: the step passes the loss through and leaves in G's ``.grad`` exactly
the chain rule of notebook 03's section 1, for an affine G and an affine D where every factor is
known in closed form.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from ganlib import losses, train


def _affine(w: float, b: float) -> nn.Linear:
    lin = nn.Linear(1, 1).double()
    with torch.no_grad():
        lin.weight.fill_(w)
        lin.bias.fill_(b)
    return lin


@pytest.mark.parametrize("name, factor", [
    ("saturating", lambda a: -torch.sigmoid(a)),             # d/da log(1 - sigmoid(a)), G minimises the mean
    ("non-saturating", lambda a: -(1 - torch.sigmoid(a))),   # d/da of -log sigmoid(a)
])
def test_g_step_gradient_is_the_loss_factor_times_the_chain(name, factor):
    # G(z) = w z + b, D's logit a = c x + d: dL/db = mean(factor(a)) * c, dL/dw = mean(factor(a) * z) * c.
    G, D = _affine(0.5, -1.0), _affine(3.0, -6.0)             # D rejects G's samples: a ~ -9, D(G(z)) ~ 1e-4
    z = torch.linspace(-1, 1, 16, dtype=torch.float64)[:, None]
    a = 3.0 * (0.5 * z - 1.0) - 6.0
    opt_g = torch.optim.SGD(G.parameters(), lr=0.0)            # keep G as is; read the gradient
    _, fake_logits = train.g_step(G, D, opt_g, z, g_loss=losses.get_generator_loss(name))
    torch.testing.assert_close(fake_logits, a)
    torch.testing.assert_close(G.bias.grad, (factor(a).mean() * 3.0).reshape(1))
    torch.testing.assert_close(G.weight.grad, (factor(a) * z).mean().reshape(1, 1) * 3.0)
    assert all(p.grad is None for p in D.parameters())


def test_confident_d_starves_only_the_saturating_generator():
    G, D = _affine(0.5, -1.0), _affine(3.0, -6.0)
    z = torch.linspace(-1, 1, 16, dtype=torch.float64)[:, None]
    norms = {}
    for name in ("saturating", "non-saturating"):
        opt_g = torch.optim.SGD(G.parameters(), lr=0.0)
        train.g_step(G, D, opt_g, z, g_loss=losses.get_generator_loss(name))
        norms[name] = torch.nn.utils.get_total_norm([p.grad for p in G.parameters()]).item()
    assert norms["saturating"] < 1e-3 and norms["non-saturating"] > 1.0
    assert norms["non-saturating"] > 1000 * norms["saturating"]
