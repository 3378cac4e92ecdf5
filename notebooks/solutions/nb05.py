"""Reference solutions for the exercises of notebook 05 (an MLP GAN on MNIST).

Try the exercises first: ``ganlib.checks.nb05`` tells you what is wrong in your version.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def prepare_batch(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (m, 1, 28, 28) in 0..255 -> float32 vectors (m, 784) in [-1, 1].

    x = u / 127.5 - 1 maps 0 -> -1 and 255 -> +1, the range of G's tanh output; each
    image becomes one row of 784 pixels (row after row), as the MLP discriminator sees it.
    """
    x = images.to(torch.float32) / 127.5 - 1
    return x.reshape(images.shape[0], -1)


def discriminator_loss_step(D: nn.Module, G: nn.Module, real: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss on one minibatch, from logits, with G held fixed (Goodfellow et al. 2014).

    L_D = BCE(D(x), 1) + BCE(D(G(z)).detach()..., 0) = mean softplus(-a_real) + mean softplus(a_fake),
    i.e. -(1/m) sum [log D(x) + log(1 - D(G(z)))]. ``.detach()`` stops the gradient at G's output
    so that the discriminator's update does not touch (or even compute gradients for) G.
    real: (m, ...) ; z: (m, z_dim); returns a scalar tensor.
    """
    fake = G(z).detach()
    real_logits, fake_logits = D(real), D(fake)
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def equilibrium_losses() -> tuple[float, float]:
    """(L_D, L_G) when D(x) = D(G(z)) = 1/2 everywhere, with the non-saturating L_G.

    L_D = -log(1/2) - log(1 - 1/2) = 2 log 2 ~ 1.386;  L_G = -log D(G(z)) = log 2 ~ 0.693.
    """
    return 2 * math.log(2), math.log(2)
