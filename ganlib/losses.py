"""GAN losses from discriminator logits a: binary cross-entropy (BCE) with logits, written with softplus.

With D(x) = sigmoid(a), -log sigmoid(a) = softplus(-a) and -log(1 - sigmoid(a)) = softplus(a): no
log(0) is ever formed, however sure D is. (``F.binary_cross_entropy_with_logits`` computes the
same numbers; softplus keeps the arithmetic the course's presets and stated numbers were measured with.)

* Discriminator: maximise V = E log D(x) + E log(1 - D(G(z))), i.e. minimise
      L_D = BCE(a_real, 1) + BCE(a_fake, 0) = E softplus(-a_real) + E softplus(a_fake).
* Saturating generator (the minimax game as written): minimise E log(1 - D(G(z))) = -E softplus(a_fake).
  Its gradient w.r.t. a is -sigmoid(a): it vanishes when D confidently rejects fakes (a -> -inf).
* Non-saturating generator (Goodfellow et al. 2014, section 3): maximise E log D(G(z)), i.e.
  minimise -E log D(G(z)) = E softplus(-a_fake). Its gradient w.r.t. a is -(1 - sigmoid(a)): about -1 there.
* One-sided label smoothing (Salimans et al. 2016): D's target for real data is t < 1 (e.g. 0.9),
  L_D = E[t softplus(-a_real) + (1 - t) softplus(a_real)] + E softplus(a_fake); the optimum becomes
  D*(x) = t p_data / (p_data + p_g), so D cannot push real logits to +inf. Fakes keep target 0.

Logits (m,) or (m, 1) in (float32: ``train.InBF16`` returns float32 logits), a scalar out.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor, real_label: float = 1.0) -> Tensor:
    """L_D = E softplus(-a_real) + E softplus(a_fake) = -(E log D(x) + E log(1 - D(G(z)))); with
    ``real_label`` t < 1 the real term is BCE against t, E[t softplus(-a) + (1 - t) softplus(a)]."""
    real_term = F.softplus(-real_logits).mean()
    if real_label != 1.0:
        real_term = real_label * real_term + (1.0 - real_label) * F.softplus(real_logits).mean()
    return real_term + F.softplus(fake_logits).mean()


def generator_loss_saturating(fake_logits: Tensor) -> Tensor:
    """L_G = E log(1 - D(G(z))) = -E softplus(a_fake) (minimised; the original minimax objective)."""
    return -F.softplus(fake_logits).mean()


def generator_loss_nonsaturating(fake_logits: Tensor) -> Tensor:
    """L_G = -E log D(G(z)) = E softplus(-a_fake) (minimised; the 'maximise log D(G(z))' fix)."""
    return F.softplus(-fake_logits).mean()


GENERATOR_LOSSES: dict[str, Callable[[Tensor], Tensor]] = {
    "non-saturating": generator_loss_nonsaturating,
    "saturating": generator_loss_saturating,
}


def get_generator_loss(name: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """A generator loss by name ('non-saturating', also 'ns'; 'saturating', also 'minimax'), or a callable."""
    if callable(name):
        return name
    key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
    key = {"ns": "non-saturating", "nonsaturating": "non-saturating", "minimax": "saturating"}.get(key, key)
    if key not in GENERATOR_LOSSES:
        raise ValueError(f"g_loss={name!r} is not known; use one of {sorted(GENERATOR_LOSSES)} or a callable.")
    return GENERATOR_LOSSES[key]


def get_discriminator_loss(name: str | Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    """The discriminator loss by name ('bce'), or a callable (real_logits, fake_logits) -> loss."""
    if callable(name):
        return name
    if str(name).strip().lower() != "bce":
        raise ValueError(f"d_loss={name!r} is not known; use 'bce' or a callable (real_logits, fake_logits) -> loss.")
    return discriminator_loss
