"""Remedies for mode collapse that plug into the one training loop (``ganlib.train.GANTrainer``).

Each remedy changes only what the loop already lets us change: the discriminator module, the
loss callables and the ``d_penalty`` hook. The loop itself is untouched.

* **Packing** (PacGAN, Lin et al. 2018): D judges ``pack`` samples at once. A minibatch (m, d) is
  reshaped into (m / pack, pack * d), so D sees whether a *group* looks like independent draws
  from the data. A generator that puts all its mass on one mode produces groups of near-copies,
  which real groups almost never are, so collapse is penalised. m must be divisible by ``pack``.
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

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .config import check_choice, check_int, check_number
from .models import ToyDiscriminator

Tensor = torch.Tensor


def groups(x: Tensor, size: int) -> Tensor:
    """(m, d) -> (m / size, size, d): consecutive samples in groups; ValueError unless size divides m."""
    m = x.shape[0]
    if m % size:
        raise ValueError(f"batch_size={m} cannot be split into groups of {size} samples: use a multiple of {size} "
                         f"(e.g. {m - m % size or size} or {m - m % size + size}).")
    return x.reshape(m // size, size, *x.shape[1:])


# ----------------------------------------------------------------------------- packing
class PackedDiscriminator(nn.Module):
    """PacGAN's packed discriminator: (m, d) -> (m/pack, pack*d) -> inner D -> (m/pack, 1) logits.

    ``inner`` must accept pack * d inputs (e.g. ``ToyDiscriminator(x_dim=pack * d)``). Consecutive
    samples form a pack; the trainer's minibatches are i.i.d., so every pack is a fresh group.
    """

    def __init__(self, inner: nn.Module, pack: int) -> None:
        super().__init__()
        self.inner, self.pack = inner, check_int("pack", pack)

    def forward(self, x: Tensor) -> Tensor:
        return self.inner(groups(x, self.pack).flatten(1))

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
        self.inner, self.group = inner, check_int("group", group, low=2)

    @staticmethod
    def group_std(x: Tensor, group: int) -> Tensor:
        """(m, d) -> (m / group,): the per-coordinate std within each group, averaged over coordinates."""
        return (groups(x, group).var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=1)

    def forward(self, x: Tensor) -> Tensor:
        s = self.group_std(x, self.group).repeat_interleave(self.group)[:, None]
        return self.inner(torch.cat([x, s], dim=1))

    def pointwise(self, x: Tensor, reference: Tensor | None = None) -> Tensor:
        """D on single points, with the std feature taken from ``reference`` (e.g. a generated batch)."""
        if reference is None or reference.shape[0] < self.group:
            s = torch.zeros(x.shape[0], 1, device=x.device, dtype=x.dtype)
        else:
            n = reference.shape[0] - reference.shape[0] % self.group
            s = self.group_std(reference[:n], self.group).mean().expand(x.shape[0], 1)
        return self.inner(torch.cat([x, s], dim=1))


# ----------------------------------------------------------------------------- spectral norm
def spectral_normalize(module: nn.Module) -> nn.Module:
    """Apply spectral normalisation to every nn.Linear / nn.Conv2d inside ``module`` (in place); return it.

    W is replaced by W / sigma_max(W), sigma_max estimated by one power iteration per forward
    pass in training mode (``torch.nn.utils.parametrizations.spectral_norm``).
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
    check_number("weight", weight, 0, open_low=True)

    def penalty(D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
        x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
        out = D(x_hat)
        (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
        return weight * ((grad.reshape(out.shape[0], -1).norm(dim=1) - 1) ** 2).mean()

    return penalty


# ----------------------------------------------------------------------------- bundles
@dataclass(frozen=True)
class Remedy:
    """A combination of remedies for the toy experiments.

    summary: a few words (the explorer's menu shows ``name (summary)``). pack: PacGAN degree (1 =
    off). minibatch_std: group size of the minibatch-std feature (0 = off). spectral_norm:
    spectral normalisation on D's layers. gp_weight: WGAN-GP penalty weight (0 = off; on, the
    Wasserstein losses replace the generator-loss choice).
    """

    name: str
    summary: str
    pack: int = 1
    minibatch_std: int = 0
    spectral_norm: bool = False
    gp_weight: float = 0.0

    def __post_init__(self) -> None:
        check_int("pack", self.pack)
        if self.minibatch_std:
            check_int("minibatch_std (0 = off, or a group size)", self.minibatch_std, low=2)
            if self.pack > 1:
                raise ValueError("minibatch_std combines with pack=1 only (its feature is per sample, a pack is not).")
        check_number("gp_weight", self.gp_weight, 0)

    @property
    def wasserstein(self) -> bool:
        return self.gp_weight > 0

    @property
    def group(self) -> int:
        """The number of samples D judges together: m must be a multiple of it (1: any m)."""
        return max(self.pack, self.minibatch_std, 1)

    def discriminator(self, x_dim: int, hidden: int, depth: int = 2,
                      activation: type[nn.Module] = nn.Tanh) -> nn.Module:
        """The toy D for this remedy: an inner ToyDiscriminator with the right number of inputs, wrapped."""
        in_dim = check_int("x_dim", x_dim) * self.pack + (1 if self.minibatch_std else 0)
        D: nn.Module = ToyDiscriminator(x_dim=in_dim, hidden=hidden, depth=depth, activation=activation)
        if self.spectral_norm:
            spectral_normalize(D)
        if self.minibatch_std:
            D = MinibatchStdDiscriminator(D, self.minibatch_std)
        return PackedDiscriminator(D, self.pack) if self.pack > 1 else D

    def trainer_kwargs(self, g_loss: str = "non-saturating") -> dict:
        """Options for GANTrainer: the losses and d_penalty this remedy needs (g_loss passes through).
        The critic uses Adam's betas (0.5, 0.9), as Gulrajani et al. do."""
        if self.wasserstein:
            return {"g_loss": wasserstein_g_loss, "d_loss": wasserstein_d_loss,
                    "d_penalty": gradient_penalty(self.gp_weight), "betas": (0.5, 0.9)}
        return {"g_loss": g_loss}


#: The remedies the explorer offers, by name.
REMEDIES: dict[str, Remedy] = {r.name: r for r in (
    Remedy("none", "plain GAN"),
    Remedy("pack2", "PacGAN: pairs", pack=2),
    Remedy("pack4", "PacGAN: groups of 4", pack=4),
    Remedy("minibatch-std", "spread of groups of 4", minibatch_std=4),
    Remedy("spectral-norm", "of D's layers", spectral_norm=True),
    Remedy("wgan-gp", "critic + gradient penalty", gp_weight=0.1),
    Remedy("pack2+sn", "PacGAN2 + spectral norm", pack=2, spectral_norm=True),
)}


def get(name: str | Remedy) -> Remedy:
    """Look up a remedy by name (see ``REMEDIES``), or pass a ``Remedy`` through."""
    return name if isinstance(name, Remedy) else REMEDIES[check_choice("remedy", name, REMEDIES)]


def pointwise_logits(D: nn.Module, x: Tensor, reference: Tensor | None = None) -> Tensor:
    """D's output for each single point of x (n, d) -> (n, 1), for drawing D as a field.

    A packed D judges groups, so a single point is shown as a pack of its copies; a minibatch-std D
    gets the std feature of ``reference`` (e.g. the current generated batch). Plain D: D(x).
    """
    return D.pointwise(x, reference) if hasattr(D, "pointwise") else D(x)
