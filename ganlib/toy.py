"""Toy target distributions with exact densities: 1-D Gaussians and mixtures, 2-D rings and grids.

Every target is an isotropic Gaussian mixture in ``dim`` dimensions,

    p(x) = sum_k w_k N(x; mu_k, sigma_k^2 I),

with ``sample(n, generator=)`` returning a float32 tensor of shape (n, dim) and ``pdf`` /
``log_pdf`` accepting a NumPy array or a torch tensor of shape (n,) for 1-D or (n, dim) and
returning the same kind, shape (n,). The log-density uses log-sum-exp, so it stays finite far
in the tails where the density itself underflows to 0.

The 2-D targets follow the protocol of the mode-collapse papers (VEEGAN, Srivastava et al. 2017;
PacGAN, Lin et al. 2018): a ring of 8 Gaussians of radius 1 with sigma = 0.01 and a 5x5 grid
with means in {-4, -2, 0, 2, 4}^2 and sigma = 0.05.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from scipy import special, stats

from . import config

ArrayLike = "np.ndarray | torch.Tensor"


class GaussianMixture:
    """An isotropic Gaussian mixture p(x) = sum_k w_k N(x; mu_k, sigma_k^2 I).

    Args:
        means: (K, dim) or (K,) for 1-D; the component means mu_k.
        sigmas: a positive float (shared) or K positive floats; the standard deviations.
        weights: K non-negative floats summing to 1 (default: uniform).
        name: a short label used in plots and tables.
    """

    def __init__(self, means: Sequence, sigmas: float | Sequence[float],
                 weights: Sequence[float] | None = None, name: str = "mixture") -> None:
        mu = np.asarray(means, dtype=np.float64)
        if mu.ndim == 1:
            mu = mu[:, None]
        if mu.ndim != 2 or mu.shape[0] < 1:
            raise ValueError(f"means must have shape (K,) or (K, dim) with K >= 1, got {np.shape(means)}.")
        if not np.all(np.isfinite(mu)):
            raise ValueError("means must be finite numbers.")
        k = mu.shape[0]
        sig = np.broadcast_to(np.asarray(sigmas, dtype=np.float64), (k,)).copy() \
            if np.ndim(sigmas) == 0 else np.asarray(sigmas, dtype=np.float64)
        if sig.shape != (k,):
            raise ValueError(f"sigmas must be one number or {k} numbers (one per mean), got {np.shape(sigmas)}.")
        if not np.all(np.isfinite(sig)) or np.any(sig <= 0):
            raise ValueError(f"sigmas must be > 0, got {sig.tolist()}.")
        w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (k,):
            raise ValueError(f"weights must have {k} entries (one per mean), got {np.shape(weights)}.")
        if np.any(w < 0) or not math.isclose(float(w.sum()), 1.0, abs_tol=1e-6):
            raise ValueError(f"weights must be >= 0 and sum to 1, got {w.tolist()} (sum {w.sum():.6g}).")
        self.means = mu
        self.sigmas = sig
        self.weights = w / w.sum()
        self.name = name

    # ----------------------------------------------------------------- properties
    @property
    def dim(self) -> int:
        """Dimension of x."""
        return int(self.means.shape[1])

    @property
    def n_modes(self) -> int:
        """Number of mixture components K."""
        return int(self.means.shape[0])

    def __repr__(self) -> str:
        return f"GaussianMixture(name={self.name!r}, K={self.n_modes}, dim={self.dim})"

    # ----------------------------------------------------------------- sampling
    def sample(self, n: int, generator: torch.Generator | None = None,
               device: torch.device | str | None = None) -> torch.Tensor:
        """Draw n samples, float32 tensor of shape (n, dim): pick k ~ Categorical(w), x = mu_k + sigma_k eps."""
        n = config.check_int("n", n)
        dev = torch.device(device) if device is not None else (
            generator.device if generator is not None else torch.device("cpu"))
        w = torch.as_tensor(self.weights, dtype=torch.float32, device=dev)
        mu = torch.as_tensor(self.means, dtype=torch.float32, device=dev)
        sig = torch.as_tensor(self.sigmas, dtype=torch.float32, device=dev)
        if self.n_modes == 1:
            idx = torch.zeros(n, dtype=torch.long, device=dev)
        else:
            idx = torch.multinomial(w, int(n), replacement=True, generator=generator)
        eps = torch.randn(int(n), self.dim, generator=generator, device=dev)
        return mu[idx] + sig[idx, None] * eps

    # ----------------------------------------------------------------- densities
    def log_pdf(self, x):
        """log p(x) by log-sum-exp over components; x: (n,) [1-D] or (n, dim) -> (n,), same library as x."""
        if isinstance(x, torch.Tensor):
            xt = x.to(torch.float64)
            if xt.ndim == 1:
                xt = xt[:, None]
            self._check_dim(xt.shape[-1])
            mu = torch.as_tensor(self.means, dtype=torch.float64, device=x.device)
            sig = torch.as_tensor(self.sigmas, dtype=torch.float64, device=x.device)
            logw = torch.log(torch.as_tensor(self.weights, dtype=torch.float64, device=x.device))
            d2 = ((xt[:, None, :] - mu[None]) ** 2).sum(-1)                   # (n, K)
            comp = -0.5 * d2 / sig**2 - self.dim * (torch.log(sig) + 0.5 * math.log(2 * math.pi))
            return torch.logsumexp(comp + logw, dim=1).to(x.dtype if x.is_floating_point() else torch.float64)
        xa = np.asarray(x, dtype=np.float64)
        if xa.ndim == 0:
            xa = xa[None]
        if xa.ndim == 1:
            xa = xa[:, None]
        self._check_dim(xa.shape[-1])
        d2 = ((xa[:, None, :] - self.means[None]) ** 2).sum(-1)
        comp = -0.5 * d2 / self.sigmas**2 - self.dim * (np.log(self.sigmas) + 0.5 * np.log(2 * np.pi))
        with np.errstate(divide="ignore"):
            return special.logsumexp(comp + np.log(self.weights), axis=1)

    def pdf(self, x):
        """p(x) = exp(log p(x)); x: (n,) [1-D] or (n, dim) -> (n,). Underflows to 0 far in the tails."""
        lp = self.log_pdf(x)
        return lp.exp() if isinstance(lp, torch.Tensor) else np.exp(lp)

    def cdf(self, x):
        """1-D only: F(x) = sum_k w_k Phi((x - mu_k)/sigma_k); x: array (n,) -> (n,)."""
        self._require_1d("cdf")
        xa = np.asarray(x, dtype=np.float64)
        return (self.weights * stats.norm.cdf((xa[..., None] - self.means[:, 0]) / self.sigmas)).sum(-1)

    def quantile(self, q: float) -> float:
        """1-D only: the x with F(x) = q (0 < q < 1), by bracketing and Brent's method."""
        self._require_1d("quantile")
        if not 0.0 < q < 1.0:
            raise ValueError(f"q must lie in (0, 1), got {q!r}.")
        from scipy.optimize import brentq
        lo = float((self.means[:, 0] - 40 * self.sigmas).min())
        hi = float((self.means[:, 0] + 40 * self.sigmas).max())
        return float(brentq(lambda t: float(self.cdf(np.array([t]))[0]) - q, lo, hi, xtol=1e-12))

    def central_interval(self, mass: float = 0.95) -> tuple[float, float]:
        """1-D only: (F^-1((1-mass)/2), F^-1((1+mass)/2)), the central interval holding ``mass``."""
        if not 0.0 < mass < 1.0:
            raise ValueError(f"mass must lie in (0, 1), got {mass!r}.")
        return self.quantile((1 - mass) / 2), self.quantile((1 + mass) / 2)

    def grid(self, n: int = 2001, pad: float = 6.0) -> np.ndarray:
        """1-D only: n evenly spaced points covering every component's mean +- pad sigmas."""
        self._require_1d("grid")
        lo = float((self.means[:, 0] - pad * self.sigmas).min())
        hi = float((self.means[:, 0] + pad * self.sigmas).max())
        return np.linspace(lo, hi, n)

    # ----------------------------------------------------------------- helpers
    def _check_dim(self, d: int) -> None:
        if d != self.dim:
            raise ValueError(f"x must have {self.dim} coordinate(s) per point for {self.name!r}, got {d}.")

    def _require_1d(self, what: str) -> None:
        if self.dim != 1:
            raise ValueError(f"{what} is defined for 1-D targets only; {self.name!r} has dim={self.dim}.")


# --------------------------------------------------------------------- constructors
def gaussian(mu: float = 0.0, sigma: float = 1.0) -> GaussianMixture:
    """A 1-D Gaussian N(mu, sigma^2)."""
    return GaussianMixture([mu], [sigma], name=f"N({mu:g}, {sigma:g}^2)")


def mixture_1d(means: Sequence[float] = (-2.0, 2.0), sigmas: float | Sequence[float] = 0.5,
               weights: Sequence[float] | None = None) -> GaussianMixture:
    """A 1-D Gaussian mixture (default: two equal modes at -2 and 2 with sigma 0.5)."""
    return GaussianMixture(list(means), sigmas, weights, name=f"{len(means)}-mode 1-D mixture")


def ring(n_modes: int = 8, radius: float = 1.0, sigma: float = 0.01) -> GaussianMixture:
    """2-D ring: means (r cos 2 pi k/K, r sin 2 pi k/K), k = 0..K-1 (VEEGAN/PacGAN: K=8, r=1, sigma=0.01)."""
    if not isinstance(n_modes, int) or n_modes < 2:
        raise ValueError(f"n_modes must be an int >= 2, got {n_modes!r}.")
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return GaussianMixture(means, sigma, name=f"ring of {n_modes}")


def grid(n_side: int = 5, spacing: float = 2.0, sigma: float = 0.05) -> GaussianMixture:
    """2-D grid: means in {-(n-1)/2 .. (n-1)/2}^2 * spacing (PacGAN: 5x5, {-4,-2,0,2,4}^2, sigma=0.05)."""
    if not isinstance(n_side, int) or n_side < 2:
        raise ValueError(f"n_side must be an int >= 2, got {n_side!r}.")
    ticks = (np.arange(n_side) - (n_side - 1) / 2) * spacing
    xx, yy = np.meshgrid(ticks, ticks, indexing="ij")
    return GaussianMixture(np.stack([xx.ravel(), yy.ravel()], 1), sigma, name=f"{n_side}x{n_side} grid")


class Sampler:
    """A resumable sampler of real data for the training loop: ``sampler(m) -> (m, dim)``.

    Owns its own ``torch.Generator`` so the data stream does not depend on other random draws,
    and exposes ``state_dict()`` / ``load_state_dict()`` so a checkpointed run resumes exactly.
    """

    def __init__(self, target: GaussianMixture, seed: int = 0,
                 device: torch.device | str = "cpu") -> None:
        self.target = target
        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(seed))

    def __call__(self, m: int) -> torch.Tensor:
        return self.target.sample(m, generator=self.generator, device=self.device)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
