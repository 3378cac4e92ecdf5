"""Toy mode coverage: how many modes of a Gaussian mixture a generator captures, and how well.

The protocol of the mode-collapse papers (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al.
2018), applied to ``N = 2,500`` generated samples x_1..x_N of a target with means mu_k and
standard deviations sigma_k (k = 1..K):

* a sample is **high quality** when it lies within 3 sigma of some mode:
  ``min_k ||x_i - mu_k|| / sigma_k <= 3``; it is then assigned to that (nearest, in sigma units) mode;
* a mode is **captured** when at least one high-quality sample is assigned to it, and
  **captured (strict)** when at least ``strict_fraction`` of all N samples are (default 1 %,
  25 of 2,500; PacGAN-style: a mode that receives only a handful of stray samples is lost);
* the **high-quality fraction** is (number of high-quality samples) / N;
* the **KL of the mode histogram from uniform** is
  ``KL(q || u) = sum_k q_k log(K q_k)``, where q_k is the share of high-quality samples assigned
  to mode k. It is 0 when every mode gets the same share and log K when one mode gets all.

With sigma = 0.01 on the radius-1 ring, "within 3 sigma" means within 0.03 of a mean: a
generator has to be precise as well as diverse to score well.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from . import theory
from .config import check_number
from .toy import GaussianMixture

#: The number of generated samples the papers evaluate on (VEEGAN Table 1, PacGAN Table 1).
N_EVAL: int = 2500


@dataclass(frozen=True)
class ModeCoverage:
    """Mode-coverage numbers for one set of samples (see the module docstring for definitions)."""

    modes: int              # modes with at least one high-quality sample (out of n_modes)
    modes_strict: int       # modes with at least strict_count high-quality samples
    n_modes: int            # K, the number of modes of the target
    high_quality: float     # fraction of samples within 3 sigma of some mode, in [0, 1]
    kl_uniform: float       # KL(q || uniform) of the high-quality mode histogram, in [0, log K]; NaN if none
    counts: tuple[int, ...]  # high-quality samples per mode, K ints
    n_samples: int          # N, the number of samples evaluated
    strict_count: int       # the per-mode count that modes_strict requires

    def as_dict(self) -> dict:
        """A plain dict (counts as a list), e.g. for a History snapshot or a table row."""
        d = asdict(self)
        d["counts"] = list(self.counts)
        return d

    def summary(self) -> str:
        """One line, e.g. ``modes 8/8 (strict 8/8), high quality 93.1 %, KL 0.004``."""
        kl = "n/a" if math.isnan(self.kl_uniform) else f"{self.kl_uniform:.3f}"
        return (f"modes {self.modes}/{self.n_modes} (strict {self.modes_strict}/{self.n_modes}), "
                f"high quality {100 * self.high_quality:.1f} %, KL {kl}")


def _as_points(samples, dim: int) -> np.ndarray:
    """Samples as a float64 array of shape (N, dim); ValueError for anything else."""
    if isinstance(samples, torch.Tensor):
        x = samples.detach().to("cpu", torch.float64).numpy()
    else:
        try:
            x = np.asarray(samples, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"samples must be numbers of shape (N, {dim}); got {type(samples).__name__}.") from exc
    if dim == 1 and x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"samples must have shape (N, {dim}) for this target, got {tuple(x.shape)}.")
    if x.shape[0] < 1:
        raise ValueError("samples must hold at least one point (the papers use N = 2,500).")
    return x


def assign_modes(samples, target: GaussianMixture, n_sigma: float = 3.0) -> np.ndarray:
    """The mode of each sample, or -1 when it is not within ``n_sigma`` sigma of any mode.

    Distances are measured in units of each mode's sigma, d_ik = ||x_i - mu_k|| / sigma_k, and a
    sample goes to argmin_k d_ik when that minimum is <= n_sigma. samples: (N, dim) -> (N,) int64.
    """
    if not isinstance(target, GaussianMixture):
        raise ValueError(f"target must be a toy.GaussianMixture (e.g. toy.ring()), got {type(target).__name__}.")
    check_number("n_sigma", n_sigma, 0, open_low=True)
    x = _as_points(samples, target.dim)
    # (N, K) distances in sigma units; N * K is small (2,500 x 25) so no chunking is needed.
    d = np.linalg.norm(x[:, None, :] - target.means[None], axis=-1) / target.sigmas[None]
    nearest = d.argmin(axis=1)
    inside = d[np.arange(len(x)), nearest] <= n_sigma
    return np.where(inside, nearest, -1)


def mode_coverage(samples, target: GaussianMixture, n_sigma: float = 3.0,
                  strict_fraction: float = 0.01) -> ModeCoverage:
    """Modes captured, high-quality fraction and KL(mode histogram || uniform) of ``samples``.

    Args:
        samples: (N, dim) generated points, a tensor or an array (the papers use N = 2,500).
        target: the GaussianMixture they should cover (``toy.ring()``, ``toy.grid()``).
        n_sigma: a sample is high quality within this many sigma of a mode (3 in the papers).
        strict_fraction: a mode counts in ``modes_strict`` when it receives at least
            ceil(strict_fraction * N) high-quality samples (default 1 %: 25 of 2,500).
    """
    check_number("strict_fraction", strict_fraction, 0, 1, open_low=True)
    labels = assign_modes(samples, target, n_sigma)
    n, k = len(labels), target.n_modes
    counts = np.bincount(labels[labels >= 0], minlength=k)
    strict_count = max(1, math.ceil(strict_fraction * n - 1e-9))
    hq = int(counts.sum())
    kl = max(theory.grid_kl(counts, np.ones(k)), 0.0) if hq else float("nan")   # no histogram: nan
    return ModeCoverage(
        modes=int((counts >= 1).sum()),
        modes_strict=int((counts >= strict_count).sum()),
        n_modes=k,
        high_quality=hq / n,
        kl_uniform=kl,
        counts=tuple(int(c) for c in counts),
        n_samples=n,
        strict_count=strict_count,
    )

