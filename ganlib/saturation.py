"""Notebook 03: why log(1 - D(G(z))) stops teaching the generator, and how the non-saturating loss fixes it.

The analytic picture (Goodfellow et al. 2014, Section 3; seed notes 000 and 004). Write the
discriminator's output on a fake sample as D = sigmoid(a), with a the logit. Then

    d/da log(1 - sigmoid(a)) = -sigmoid(a)       (saturating generator loss, minimised by G)
    d/da log sigmoid(a)      = 1 - sigmoid(a)    (non-saturating loss, maximised by G)

Early in training D rejects fakes confidently: D(G(z)) ~ 0, a << 0. The first derivative is
then ~ D(G(z)) ~ 0 (no signal for G), the second ~ 1. By the chain rule the generator's
gradient is this factor times da/dx times dx/dtheta, so the factor multiplies G's whole gradient.

The experiment (``compare_generator_losses``): build one G and one D with a fixed seed,
pre-train D with G frozen (``GANTrainer(train_g=False)``) until it is confident, deep-copy that
pair twice, and train one copy with each generator loss on the same data and noise streams and
the same budget. Record G's gradient norm per step and JSD(p_data || p_g) at the end.

The 1-D toy uses plain SGD with momentum (the paper's optimiser): its update is proportional to
the gradient, so a vanishing gradient means a stuck generator. Adam divides by a running gradient
scale and partly hides the effect, which is why the toy run does not use it.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import nn

from . import config, models, toy, train
from . import losses as L

Tensor = torch.Tensor

#: Generator losses compared here, in plotting order.
LOSS_NAMES = ("saturating", "non-saturating")


# ============================================================================ analytic picture
def loss_gradients_wrt_logit(a: np.ndarray | Tensor) -> dict[str, np.ndarray]:
    """Closed-form d/da of each generator objective at logits a (any shape), as float64 arrays.

    saturating:     d/da log(1 - sigmoid(a)) = -sigmoid(a)
    non-saturating: d/da log sigmoid(a)      = 1 - sigmoid(a)
    Also returns ``D`` = sigmoid(a) for plotting against D(G(z)).
    """
    at = torch.as_tensor(a, dtype=torch.float64)
    d = torch.sigmoid(at)
    return {"a": at.numpy(), "D": d.numpy(), "saturating": (-d).numpy(), "non-saturating": (1 - d).numpy()}


def autograd_gradients_wrt_logit(a: np.ndarray | Tensor) -> dict[str, np.ndarray]:
    """The same two derivatives by autograd through ganlib.losses (float64, elementwise).

    ``generator_loss_saturating`` returns mean log(1 - D) and ``generator_loss_nonsaturating``
    returns -mean log D over a batch of n logits; n times the mean is the sum, whose derivative
    w.r.t. a_i is the per-point derivative (with a sign flip for -log D).
    """
    out = {}
    for name, fn, sign in (("saturating", L.generator_loss_saturating, 1.0),
                           ("non-saturating", L.generator_loss_nonsaturating, -1.0)):
        at = torch.as_tensor(a, dtype=torch.float64).detach().clone().reshape(-1, 1).requires_grad_(True)
        total = fn(at) * at.shape[0]
        (sign * total).backward()
        out[name] = at.grad.reshape(np.shape(a)).numpy()
    return out


# ============================================================================ the 1-D experiment
@dataclass
class ToySetup:
    """Settings of the 1-D toy comparison (all defaults are what the notebook and tests use).

    The target N(4, 0.5^2) sits far from where a fresh G puts its mass (around 0), so a
    pre-trained D separates them easily: the early-training regime of the paper.
    SGD with momentum as in Algorithm 1 (the paper uses momentum; 0.5 here); lr_g < lr_d keeps the
    non-saturating run from overshooting the target. With these values mean D(G(z)) is ~0.01 after
    pre-training for seeds 0-4.
    """

    mu: float = 4.0
    sigma: float = 0.5
    hidden: int = 32
    batch_size: int = 128
    optimizer: str = "sgd"
    lr_d: float = 0.01
    lr_g: float = 0.003
    momentum: float = 0.5
    pretrain_steps: int = 300
    steps: int = 1000

    def target(self) -> toy.GaussianMixture:
        return toy.gaussian(self.mu, self.sigma)


def build_toy_models(seed: int, setup: ToySetup | None = None) -> tuple[nn.Module, nn.Module]:
    """A fresh (G, D) pair from ``seed``: tanh G (1 -> 1), leaky-ReLU D (1 -> logit).

    D uses LeakyReLU so its logit is piecewise linear in x and da/dx does not vanish far from the
    data; the only vanishing factor left is the loss's own, which is what this notebook isolates.
    """
    s = setup or ToySetup()
    config.set_seed(seed)
    G = models.ToyGenerator(hidden=s.hidden)
    D = models.ToyDiscriminator(hidden=s.hidden, activation=nn.LeakyReLU)
    return G, D


def pretrain_confident_d(G: nn.Module, D: nn.Module, sample_real, steps: int, *, seed: int = 0,
                         **trainer_kwargs: Any) -> train.History:
    """Train D alone for ``steps`` steps with G frozen (in place); return that History.

    History.d_fake then holds mean D(G(z)), which falls towards 0 as D grows confident.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}.")
    trainer = train.GANTrainer(G, D, sample_real, train_g=False, seed=seed, **trainer_kwargs)
    return trainer.run(steps)


def binned_jsd(G: nn.Module, target: toy.GaussianMixture, bins: int = 1400,
               lo: float | None = None, hi: float | None = None, n_z: int = 20001) -> float:
    """JSD(p_data || p_g) in nats between the two distributions binned on [lo, hi] (1-D, z ~ N(0, 1)).

    p_g's bin masses come from pushing a fine quantile grid of z through G (deterministic, no
    sampling noise); p_data's from the target's CDF. Mass outside [lo, hi] is put in the end
    bins. JSD lies in [0, log 2]; log 2 = 0.693 means the supports do not overlap at all.
    """
    if lo is None or hi is None:
        lo0, hi0 = target.central_interval(1 - 1e-9)
        lo = lo0 - 8.0 if lo is None else lo
        hi = hi0 + 8.0 if hi is None else hi
    edges = np.linspace(lo, hi, bins + 1)
    q = (np.arange(n_z) + 0.5) / n_z                        # equal-mass quantiles of N(0, 1)
    z = torch.tensor(stats.norm.ppf(q), dtype=torch.float32)[:, None]
    with torch.no_grad():
        x = G(z).reshape(-1).double().numpy()
    if not np.all(np.isfinite(x)):
        return float("nan")
    pg = np.histogram(np.clip(x, edges[0], edges[-1] - 1e-12), bins=edges)[0] / n_z
    cdf = target.cdf(edges)
    pd = np.diff(cdf)
    pd[0] += cdf[0]
    pd[-1] += 1 - cdf[-1]
    m = 0.5 * (pg + pd)

    def kl(p: np.ndarray, r: np.ndarray) -> float:
        k = p > 0
        return float((p[k] * np.log(p[k] / r[k])).sum())

    return 0.5 * kl(pd, m) + 0.5 * kl(pg, m)


@dataclass
class Comparison:
    """Result of ``compare_generator_losses``: one entry per loss name in LOSS_NAMES."""

    seed: int
    pretrain: train.History
    histories: dict[str, train.History]
    jsd: dict[str, float]
    generators: dict[str, nn.Module]
    discriminators: dict[str, nn.Module]
    jsd_start: float = float("nan")

    def grad_ratio(self, n: int = 100) -> float:
        """Median over the first n G steps of ||grad||_non-saturating / ||grad||_saturating (per step)."""
        gs = np.asarray(self.histories["saturating"].g_grad_norm[:n], dtype=np.float64)
        gn = np.asarray(self.histories["non-saturating"].g_grad_norm[:n], dtype=np.float64)
        return float(np.median(gn / np.maximum(gs, 1e-30)))

    def median_grad(self, loss: str, n: int = 100) -> float:
        """Median of ||grad_G L_G|| over the first n generator steps of one run."""
        return float(np.median(self.histories[loss].g_grad_norm[:n]))


def compare_generator_losses(seed: int = 0, setup: ToySetup | None = None, steps: int | None = None) -> Comparison:
    """The 1-D toy comparison for one seed (see the module docstring).

    Same initial G and pre-trained D (deep copies), same data stream (seed + 1000) and noise
    stream (seed + 1) for both losses; ``steps`` generator steps (default ``setup.steps``).
    """
    s = setup or ToySetup()
    steps = s.steps if steps is None else steps
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}.")
    target = s.target()
    G, D = build_toy_models(seed, s)
    kw = dict(batch_size=s.batch_size, optimizer=s.optimizer, lr_d=s.lr_d, lr_g=s.lr_g, momentum=s.momentum)
    pre = pretrain_confident_d(G, D, toy.Sampler(target, seed=seed), s.pretrain_steps, seed=seed, **kw)
    jsd0 = binned_jsd(G, target)
    hists, jsds, gens, discs = {}, {}, {}, {}
    for name in LOSS_NAMES:
        G2, D2 = copy.deepcopy(G), copy.deepcopy(D)
        tr = train.GANTrainer(G2, D2, toy.Sampler(target, seed=seed + 1000), g_loss=name, seed=seed + 1, **kw)
        hists[name] = tr.run(steps)
        jsds[name] = binned_jsd(G2, target)
        gens[name], discs[name] = G2, D2
    return Comparison(seed, pre, hists, jsds, gens, discs, jsd_start=jsd0)


def generator_samples_density(G: nn.Module, x: np.ndarray, n: int = 200_000, seed: int = 0) -> np.ndarray:
    """Histogram estimate of p_g on the grid x (n,) from n samples, as a density (for plotting)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        s = G(torch.randn(n, 1, generator=g)).reshape(-1).numpy()
    edges = np.concatenate([[x[0] - (x[1] - x[0]) / 2], (x[1:] + x[:-1]) / 2, [x[-1] + (x[-1] - x[-2]) / 2]])
    h, _ = np.histogram(s, bins=edges)
    return h / (n * np.diff(edges))


# ============================================================================ MNIST, MLP GAN
@dataclass
class MnistComparison:
    """Result of ``compare_on_mnist``: per-loss History, sample images (n, 1, 28, 28) in [-1, 1]."""

    pretrain: train.History
    histories: dict[str, train.History]
    samples: dict[str, Tensor]

    def median_grad(self, loss: str, n: int = 100) -> float:
        """Median of ||grad_G L_G|| over the first n generator steps of one run."""
        return float(np.median(self.histories[loss].g_grad_norm[:n]))

    def grad_ratio(self, n: int = 100) -> float:
        """Median over the first n G steps of ||grad||_non-saturating / ||grad||_saturating (per step)."""
        gs = np.asarray(self.histories["saturating"].g_grad_norm[:n], dtype=np.float64)
        gn = np.asarray(self.histories["non-saturating"].g_grad_norm[:n], dtype=np.float64)
        return float(np.median(gn / np.maximum(gs, 1e-30)))


def compare_on_mnist(steps: int = 200, pretrain_steps: int = 100, *, seed: int = 0, batch_size: int = 64,
                     lr: float = 1e-3, n_samples: int = 64, device: torch.device | str | None = None,
                     real=None) -> MnistComparison:
    """The same comparison with seed 002's MLP GAN on MNIST (Adam, betas (0.5, 0.999)).

    lr defaults to 1e-3 rather than seed 002's 2e-4 so that a budget of a few hundred steps on
    a CPU already shows the non-saturating run drawing strokes while the saturating one is stuck.

    D is pre-trained for ``pretrain_steps`` with G frozen, then each loss trains a deep copy
    of (G, D) for ``steps`` iterations on the same data (seed + 1) and noise (seed + 1) streams.
    ``real`` may be a ready ``data.DeviceBatches`` (re-seeded copies are made from it).
    """
    from . import data
    for name, v in (("steps", steps), ("pretrain_steps", pretrain_steps), ("n_samples", n_samples)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be an int >= 1, got {v!r}.")
    dev = config.get_device() if device is None else torch.device(device)
    config.set_seed(seed)
    G, D = models.mnist_pair("mlp")
    G, D = G.to(dev), D.to(dev)
    base = real if real is not None else data.mnist_batches(dev, seed=seed)
    kw = dict(batch_size=batch_size, optimizer="adam", lr_d=lr, lr_g=lr, log_every=50)
    pre = pretrain_confident_d(G, D, base, pretrain_steps, seed=seed, **kw)
    # One sampler (the dataset lives on the device once); rewinding its state gives both runs the same batches.
    start = copy.deepcopy(base.state_dict()) if hasattr(base, "state_dict") else None
    z = torch.randn(n_samples, G.z_dim, generator=torch.Generator().manual_seed(seed + 7)).to(dev)
    hists, samples = {}, {}
    for name in LOSS_NAMES:
        G2, D2 = copy.deepcopy(G), copy.deepcopy(D)
        if start is not None:
            base.load_state_dict(copy.deepcopy(start))
        tr = train.GANTrainer(G2, D2, base, g_loss=name, seed=seed + 1, **kw)
        hists[name] = tr.run(steps)
        G2.eval()
        with torch.no_grad():
            samples[name] = G2(z).cpu()
    return MnistComparison(pre, hists, samples)


# ============================================================================ the optimal-D view
def optimal_d_gradients(target: toy.GaussianMixture, mu: float, s: float, *, h: float = 1e-4,
                        n_nodes: int = 200) -> dict[str, np.ndarray]:
    """Generator gradients with D = D* held fixed, for p_g = N(mu, s^2), G(z) = mu + s z, theta = (mu, s).

    With D*(x) = p_data(x) / (p_data(x) + p_g0(x)) frozen at the current theta0 = (mu, s)
    (Arjovsky & Bottou 2017, Theorem 2.5; Goodfellow et al. 2014, Theorem 1):

        saturating:      grad E_z log(1 - D*(G(z)))  =  grad 2 JSD(p_g || p_data)
        non-saturating:  grad E_z [-log D*(G(z))]    =  grad [KL(p_g || p_data) - 2 JSD(p_g || p_data)]

    Left sides: autograd through Gauss-Hermite quadrature over z ~ N(0, 1) (``n_nodes`` nodes),
    with D*'s logit a*(x) = log p_data(x) - log p_g0(x) and the losses -softplus(a*), softplus(-a*).
    Right sides: central differences (step ``h``) of ``theory.jsd`` and ``theory.kl``.
    Returns four arrays [d/dmu, d/ds]: 'saturating', '2 JSD', 'non-saturating', 'KL - 2 JSD'.
    """
    from . import theory

    for name, v in (("s", s), ("h", h)):
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive number, got {v!r}.")
    if not (isinstance(mu, (int, float)) and np.isfinite(mu)):
        raise ValueError(f"mu must be a finite number, got {mu!r}.")
    if not isinstance(n_nodes, int) or isinstance(n_nodes, bool) or n_nodes < 2:
        raise ValueError(f"n_nodes must be an int >= 2, got {n_nodes!r}.")
    if not isinstance(target, toy.GaussianMixture) or target.dim != 1:
        raise ValueError(f"target must be a 1-D toy.GaussianMixture, got {target!r}.")
    z, w = np.polynomial.hermite_e.hermegauss(n_nodes)        # nodes/weights for exp(-z^2/2)
    z_t = torch.tensor(z, dtype=torch.float64)
    w_t = torch.tensor(w / w.sum(), dtype=torch.float64)
    p_g0 = toy.gaussian(float(mu), float(s))                  # D* uses theta0's density: a constant here
    theta = torch.tensor([mu, s], dtype=torch.float64, requires_grad=True)
    x = theta[0] + theta[1] * z_t
    logit = target.log_pdf(x).reshape(-1) - p_g0.log_pdf(x).reshape(-1)
    sat = (w_t * -torch.nn.functional.softplus(logit)).sum()  # E log(1 - D*(G(z)))
    ns = (w_t * torch.nn.functional.softplus(-logit)).sum()   # E -log D*(G(z))
    g_sat = torch.autograd.grad(sat, theta, retain_graph=True)[0].numpy()
    g_ns = torch.autograd.grad(ns, theta)[0].numpy()

    def two_jsd(m: float, sd: float) -> float:
        return 2 * theory.jsd(toy.gaussian(m, sd), target)

    def kl_minus_two_jsd(m: float, sd: float) -> float:
        q = toy.gaussian(m, sd)
        return theory.kl(q, target) - 2 * theory.jsd(q, target)

    def central(f) -> np.ndarray:
        return np.array([(f(mu + h, s) - f(mu - h, s)) / (2 * h), (f(mu, s + h) - f(mu, s - h)) / (2 * h)])

    return {"saturating": g_sat, "2 JSD": central(two_jsd),
            "non-saturating": g_ns, "KL - 2 JSD": central(kl_minus_two_jsd)}
