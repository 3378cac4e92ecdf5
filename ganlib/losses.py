"""GAN losses computed from discriminator logits, in numerically stable form.

With D(x) = sigmoid(a) for a logit a, the identities log sigmoid(a) = -softplus(-a) and
log(1 - sigmoid(a)) = -softplus(a) avoid log(0) when D saturates (seed notes 000, 002).

* Discriminator (maximises V = E log D(x) + E log(1 - D(G(z)))), so it minimises
      L_D = -E[log D(x)] - E[log(1 - D(G(z)))] = E softplus(-a_real) + E softplus(a_fake),
  which is BCEWithLogits(real, 1) + BCEWithLogits(fake, 0) as in seed 002's PyTorch code.
* Saturating generator (the minimax game as written): minimise E log(1 - D(G(z))) = -E softplus(a_fake).
  Its gradient w.r.t. a is -sigmoid(a): it vanishes when D confidently rejects fakes (a -> -inf).
* Non-saturating generator (the paper's practical fix): maximise E log D(G(z)), i.e. minimise
  -E log D(G(z)) = E softplus(-a_fake). Its gradient w.r.t. a is -(1 - sigmoid(a)): about -1 there.

* One-sided label smoothing (Salimans et al. 2016, "Improved Techniques for Training GANs"): D's
  target for real data is ``real_label`` = t < 1 (e.g. 0.9) instead of 1, so
      L_D = E[t softplus(-a_real) + (1 - t) softplus(a_real)] + E softplus(a_fake).
  For a fixed G the optimum becomes D*(x) = t p_data / (p_data + p_g): D can no longer push the
  logits of real data to +inf, which keeps it from becoming over-confident. Fakes keep target 0
  ("one-sided"): smoothing them too would reward G for samples where p_data = 0.

All functions take logits of shape (m,) or (m, 1) and return a scalar tensor.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor, real_label: float = 1.0) -> Tensor:
    """L_D = E softplus(-a_real) + E softplus(a_fake) = -(E log D(x) + E log(1 - D(G(z)))).

    With ``real_label`` t < 1 (one-sided label smoothing) the real term is
    E[t softplus(-a_real) + (1 - t) softplus(a_real)], binary cross-entropy against target t.
    """
    real_term = F.softplus(-real_logits).mean()
    if real_label != 1.0:
        real_term = real_label * real_term + (1.0 - real_label) * F.softplus(real_logits).mean()
    return real_term + F.softplus(fake_logits).mean()


def check_real_label(real_label: float) -> float:
    """``real_label`` must be a number in [0.5, 1] (1 = no smoothing; 0.9 is the usual choice)."""
    if not (isinstance(real_label, (int, float)) and not isinstance(real_label, bool) and 0.5 <= real_label <= 1):
        raise ValueError(f"real_label must be a number in [0.5, 1] (1: no smoothing, 0.9: one-sided "
                         f"label smoothing), got {real_label!r}.")
    return float(real_label)


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
DISCRIMINATOR_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "bce": discriminator_loss,
}


def get_generator_loss(name: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """Look up a generator loss by name ('non-saturating' or 'saturating'), or pass a callable through."""
    if callable(name):
        return name
    key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
    key = {"ns": "non-saturating", "nonsaturating": "non-saturating", "minimax": "saturating"}.get(key, key)
    if key not in GENERATOR_LOSSES:
        raise ValueError(f"g_loss={name!r} is not known; use one of {sorted(GENERATOR_LOSSES)} or a callable.")
    return GENERATOR_LOSSES[key]


def get_discriminator_loss(name: str | Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    """Look up a discriminator loss by name ('bce'), or pass a callable (real_logits, fake_logits) -> loss."""
    if callable(name):
        return name
    key = str(name).strip().lower()
    if key not in DISCRIMINATOR_LOSSES:
        raise ValueError(f"d_loss={name!r} is not known; use one of {sorted(DISCRIMINATOR_LOSSES)} or a callable.")
    return DISCRIMINATOR_LOSSES[key]
