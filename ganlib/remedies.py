"""Remedies for mode collapse that plug into the one training loop (``ganlib.train.GANTrainer``).

Each remedy changes only what the loop already lets us change: the discriminator module, the
loss callables and the ``d_penalty`` hook. The loop itself is untouched.

* **Packing** (PacGAN, Lin et al. 2018): D judges ``pack`` samples at once. A minibatch (m, d) is
  reshaped into (m / pack, pack * d), so D sees whether a *group* looks like independent draws
  from the data. A generator that puts all its mass on one mode produces groups of near-copies,
  which real groups almost never are, so collapse is penalised. D is built with ``pack * d``
  inputs; m must be divisible by ``pack``.
* **Minibatch standard deviation** (Karras et al. 2018, ProGAN): each sample gets one extra input,
  the standard deviation of its group of ``group`` samples (averaged over coordinates). A
  collapsed generator's groups have std near 0; real groups do not.
* **Spectral normalisation** (Miyato et al. 2018): every linear layer of D is divided by its
  largest singular value, so D is 1-Lipschitz per layer and cannot become arbitrarily sharp.
* **WGAN-GP** (Gulrajani et al. 2017): D becomes a critic f with the Wasserstein losses
  L_D = E f(G(z)) - E f(x) and L_G = -E f(G(z)), plus the gradient penalty
  lambda * E (||grad f(x_hat)|| - 1)^2 at random points x_hat between real and fake samples.

A ``Remedy`` bundles these switches (they combine, e.g. packing + spectral norm) and builds the
discriminator and the trainer options for the toy experiments of notebook 04.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .config import check_int as _check_int
from .models import ToyDiscriminator

Tensor = torch.Tensor


def check_divisible(batch_size: int, group: int, what: str) -> None:
    """Raise ValueError unless batch_size is a multiple of group (packing and minibatch std need it)."""
    _check_int("batch_size", batch_size)
    if batch_size % group != 0:
        lower = (batch_size // group) * group
        options = f"{lower} or {lower + group}" if lower > 0 else f"{group}"
        raise ValueError(
            f"batch_size={batch_size} cannot be split into groups of {group} for {what}: "
            f"use a multiple of {group} (e.g. {options})."
        )


# ----------------------------------------------------------------------------- packing
class PackedDiscriminator(nn.Module):
    """PacGAN's packed discriminator: (m, d) -> reshape (m/pack, pack*d) -> inner D -> (m/pack, 1) logits.

    ``inner`` must accept pack * d inputs (e.g. ``ToyDiscriminator(x_dim=pack * d)``). Consecutive
    samples form a pack; the trainer's minibatches are i.i.d., so every pack is a fresh group.
    With pack = 1 this is the ordinary discriminator.
    """

    def __init__(self, inner: nn.Module, pack: int) -> None:
        super().__init__()
        _check_int("pack", pack)
        self.inner, self.pack = inner, pack

    def forward(self, x: Tensor) -> Tensor:
        m = x.shape[0]
        if m % self.pack != 0:
            check_divisible(m, self.pack, f"packing (pack={self.pack})")
        return self.inner(x.reshape(m // self.pack, -1))

    def pointwise(self, x: Tensor, reference: Tensor | None = None) -> Tensor:
        """D's verdict on each single point: the pack made of ``pack`` copies of it; (n, d) -> (n, 1)."""
        return self.inner(x.repeat(1, self.pack))


# ----------------------------------------------------------------------------- minibatch std
class MinibatchStdDiscriminator(nn.Module):
    """Minibatch standard deviation: append s_g = mean_j std_{i in group g}(x_ij) to each sample.

    (m, d) -> (m, d + 1) -> inner D -> (m, 1). Groups are ``group`` consecutive samples
    (Karras et al. use 4); m must be divisible by ``group``. ``inner`` takes d + 1 inputs.
    """

    def __init__(self, inner: nn.Module, group: int = 4) -> None:
        super().__init__()
        _check_int("group", group, low=2)
        self.inner, self.group = inner, group

    @staticmethod
    def group_std(x: Tensor, group: int) -> Tensor:
        """(m, d) -> (m / group,): the per-coordinate std within each group, averaged over coordinates."""
        g = x.reshape(-1, group, x.shape[1])
        return (g.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=1)

    def forward(self, x: Tensor) -> Tensor:
        m = x.shape[0]
        if m % self.group != 0:
            check_divisible(m, self.group, f"minibatch std (group={self.group})")
        s = self.group_std(x, self.group).repeat_interleave(self.group)[:, None]
        return self.inner(torch.cat([x, s], dim=1))

    def pointwise(self, x: Tensor, reference: Tensor | None = None) -> Tensor:
        """D on single points, with the std feature taken from ``reference`` (e.g. a generated batch)."""
        if reference is None or reference.shape[0] < self.group:
            s = torch.zeros(x.shape[0], 1, device=x.device, dtype=x.dtype)
        else:
            n = (reference.shape[0] // self.group) * self.group
            s = self.group_std(reference[:n], self.group).mean().expand(x.shape[0], 1)
        return self.inner(torch.cat([x, s], dim=1))


# ----------------------------------------------------------------------------- spectral norm
def spectral_normalize(module: nn.Module) -> nn.Module:
    """Apply spectral normalisation to every nn.Linear / nn.Conv2d inside ``module`` (in place); return it.

    W is replaced by W / sigma_max(W), sigma_max estimated by one power iteration per forward
    pass (``torch.nn.utils.parametrizations.spectral_norm``).
    """
    from torch.nn.utils.parametrizations import spectral_norm

    targets = [(parent, name) for parent in module.modules() for name, child in parent.named_children()
               if isinstance(child, (nn.Linear, nn.Conv2d))]
    if not targets:
        raise ValueError("spectral_normalize found no nn.Linear or nn.Conv2d layer in the module.")
    for parent, name in targets:
        setattr(parent, name, spectral_norm(getattr(parent, name)))
    return module


# ----------------------------------------------------------------------------- WGAN-GP
def wasserstein_d_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Critic loss L_D = E f(G(z)) - E f(x) (minimised: the critic raises real scores, lowers fake ones)."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_g_loss(fake_scores: Tensor) -> Tensor:
    """Generator loss L_G = -E f(G(z)) (minimised: G raises the critic's score of its samples)."""
    return -fake_scores.mean()


def gradient_penalty(weight: float = 1.0) -> Callable[[nn.Module, Tensor, Tensor], Tensor]:
    """A ``d_penalty`` hook: weight * E (||grad_x f(x_hat)||_2 - 1)^2 with x_hat = e x + (1 - e) G(z).

    e ~ U(0, 1) per sample. When D packs or groups samples, the norm is taken per output row
    (over the whole pack), so the penalty constrains exactly the function D computes.
    Gulrajani et al. use weight 10 for images; 2-D toys with unit-scale data work with ~0.1-1.
    """
    if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight > 0):
        raise ValueError(f"weight must be a positive number, got {weight!r}.")

    def penalty(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
        x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
        out = D(x_hat)
        (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
        norms = grad.reshape(out.shape[0], -1).norm(dim=1)
        return weight * ((norms - 1) ** 2).mean()

    penalty.weight = weight  # type: ignore[attr-defined]
    return penalty


# ----------------------------------------------------------------------------- bundles
@dataclass(frozen=True)
class Remedy:
    """A combination of remedies for the toy experiments.

    pack: PacGAN degree (1 = off). minibatch_std: group size of the minibatch-std feature (0 = off).
    spectral_norm: spectral normalisation on D's layers. gp_weight: WGAN-GP penalty weight
    (0 = off; on, the Wasserstein losses replace the generator-loss choice).
    """

    name: str
    summary: str
    pack: int = 1
    minibatch_std: int = 0
    spectral_norm: bool = False
    gp_weight: float = 0.0

    def __post_init__(self) -> None:
        _check_int("pack", self.pack)
        if self.minibatch_std not in (0,) and (not isinstance(self.minibatch_std, int) or self.minibatch_std < 2):
            raise ValueError(f"minibatch_std must be 0 (off) or a group size >= 2, got {self.minibatch_std!r}.")
        if self.pack > 1 and self.minibatch_std:
            raise ValueError("minibatch_std combines with pack=1 only (its feature is per sample, a pack is not).")
        if not (self.gp_weight >= 0 and math.isfinite(self.gp_weight)):
            raise ValueError(f"gp_weight must be >= 0, got {self.gp_weight!r}.")

    @property
    def wasserstein(self) -> bool:
        return self.gp_weight > 0

    def check_batch_size(self, batch_size: int) -> None:
        """ValueError (with a suggestion) when the minibatch cannot be packed or grouped."""
        _check_int("batch_size", batch_size)
        if self.pack > 1:
            check_divisible(batch_size, self.pack, f"packing (pack={self.pack})")
        if self.minibatch_std:
            check_divisible(batch_size, self.minibatch_std, f"minibatch std (group={self.minibatch_std})")

    def discriminator(self, x_dim: int, hidden: int, depth: int = 2,
                      activation: type[nn.Module] = nn.Tanh) -> nn.Module:
        """Build the toy D for this remedy: inner ToyDiscriminator with the right number of inputs, wrapped."""
        _check_int("x_dim", x_dim)
        in_dim = x_dim * self.pack + (1 if self.minibatch_std else 0)
        inner: nn.Module = ToyDiscriminator(x_dim=in_dim, hidden=hidden, depth=depth, activation=activation)
        if self.spectral_norm:
            spectral_normalize(inner)
        D = inner
        if self.minibatch_std:
            D = MinibatchStdDiscriminator(D, self.minibatch_std)
        if self.pack > 1:
            D = PackedDiscriminator(D, self.pack)
        return D

    def trainer_kwargs(self, g_loss: str = "non-saturating") -> dict:
        """Options for GANTrainer: the losses and d_penalty this remedy needs (g_loss passes through)."""
        if self.wasserstein:
            return {"g_loss": wasserstein_g_loss, "d_loss": wasserstein_d_loss,
                    "d_penalty": gradient_penalty(self.gp_weight), "betas": (0.5, 0.9)}
        return {"g_loss": g_loss}


#: The remedies the explorer offers, by name.
REMEDIES: dict[str, Remedy] = {r.name: r for r in (
    Remedy("none", "plain GAN: one sample per decision"),
    Remedy("pack2", "PacGAN2: D judges pairs of samples", pack=2),
    Remedy("pack4", "PacGAN4: D judges groups of four samples", pack=4),
    Remedy("minibatch-std", "minibatch std: D sees each group-of-4's spread", minibatch_std=4),
    Remedy("spectral-norm", "spectral normalisation of D's layers", spectral_norm=True),
    Remedy("wgan-gp", "WGAN-GP: Wasserstein critic with gradient penalty", gp_weight=0.1),
    Remedy("pack2+sn", "PacGAN2 with spectral normalisation", pack=2, spectral_norm=True),
)}


def get(name: str | Remedy) -> Remedy:
    """Look up a remedy by name (see ``REMEDIES``), or pass a ``Remedy`` through."""
    if isinstance(name, Remedy):
        return name
    if name not in REMEDIES:
        raise ValueError(f"remedy={name!r} is not known; use one of {list(REMEDIES)}.")
    return REMEDIES[name]


def pointwise_logits(D: nn.Module, x: Tensor, reference: Tensor | None = None) -> Tensor:
    """D's output for each single point of x (n, d) -> (n, 1), for drawing D as a field.

    A packed D judges groups, so a single point is shown as a pack of its copies; a minibatch-std D
    gets the std feature of ``reference`` (e.g. the current generated batch). Plain D: D(x).
    """
    if hasattr(D, "pointwise"):
        return D.pointwise(x, reference)
    return D(x)
