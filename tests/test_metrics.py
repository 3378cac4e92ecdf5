"""Tests for ganlib.metrics: mode coverage on the VEEGAN/PacGAN ring and grid."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from ganlib import metrics, toy


def _at(target, counts, jitter=0.0, seed=0):
    """Points placed at the target's means, counts[k] of them at mode k (plus Gaussian jitter in sigmas)."""
    rng = np.random.default_rng(seed)
    pts = [np.repeat(target.means[k][None], c, 0) for k, c in enumerate(counts) if c > 0]
    x = np.concatenate(pts)
    return x + jitter * target.sigmas[0] * rng.standard_normal(x.shape)


def test_ring_means_are_distinct():
    # A common bug puts two of the eight means on one point; the metric would then count 7 modes.
    ring = toy.ring()
    d = np.linalg.norm(ring.means[:, None] - ring.means[None], axis=-1)
    assert d[~np.eye(8, dtype=bool)].min() > 0.7


def test_samples_from_the_target_cover_every_mode():
    for target, k in ((toy.ring(), 8), (toy.grid(), 25)):
        x = target.sample(metrics.N_EVAL, generator=torch.Generator().manual_seed(1))
        c = metrics.mode_coverage(x, target)
        assert c.modes == k and c.modes_strict == k and c.n_modes == k
        # In 2-D, P(||eps|| <= 3) = 1 - exp(-9/2) = 0.9889 for standard normal eps.
        assert abs(c.high_quality - (1 - math.exp(-4.5))) < 0.01
        assert 0 <= c.kl_uniform < 0.03
        assert sum(c.counts) == round(c.high_quality * metrics.N_EVAL)


def test_one_mode_gives_kl_log_k_and_counts_one():
    ring = toy.ring()
    c = metrics.mode_coverage(_at(ring, [2500, 0, 0, 0, 0, 0, 0, 0], jitter=0.5), ring)
    assert c.modes == 1 and c.modes_strict == 1
    assert c.high_quality == 1.0
    assert c.kl_uniform == pytest.approx(math.log(8))


def test_kl_matches_scipy_and_strict_threshold():
    ring = toy.ring()
    counts = [1000, 800, 500, 150, 30, 20, 0, 0]
    c = metrics.mode_coverage(_at(ring, counts), ring)
    assert c.counts == tuple(counts)
    assert c.modes == 6                      # at least one sample each
    assert c.strict_count == 25              # 1 % of 2,500
    assert c.modes_strict == 5               # the mode with 20 samples is below 1 %
    q = np.array(counts) / sum(counts)
    assert c.kl_uniform == pytest.approx(stats.entropy(q, np.full(8, 1 / 8)), rel=1e-9)


def test_three_sigma_boundary_and_off_mode_samples():
    ring = toy.ring()
    mu, s = ring.means[0], ring.sigmas[0]
    inside = mu + np.array([2.99 * s, 0.0])
    outside = mu + np.array([0.0, 3.01 * s])
    between = np.array([[0.0, 0.0]])         # the ring's centre is far from every mode
    c = metrics.mode_coverage(np.stack([inside, outside, between[0]]), ring)
    assert c.counts[0] == 1 and sum(c.counts) == 1
    assert c.high_quality == pytest.approx(1 / 3)
    assert metrics.assign_modes(np.stack([inside, outside]), ring).tolist() == [0, -1]


def test_no_high_quality_sample_gives_nan_kl():
    ring = toy.ring()
    c = metrics.mode_coverage(np.zeros((100, 2)), ring)
    assert c.modes == 0 and c.high_quality == 0.0 and math.isnan(c.kl_uniform)
    assert "KL n/a" in c.summary()


def test_tensor_and_array_inputs_agree():
    grid = toy.grid()
    x = grid.sample(500, generator=torch.Generator().manual_seed(3)) * 1.02
    assert metrics.mode_coverage(x, grid) == metrics.mode_coverage(x.numpy(), grid)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((10, 3)), r"shape \(N, 2\)"),
    (np.zeros((0, 2)), "at least one"),
    ("not numbers", "numbers"),
])
def test_bad_samples_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        metrics.mode_coverage(bad, toy.ring())


def test_bad_arguments_are_refused():
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="n_sigma"):
        metrics.mode_coverage(x, toy.ring(), n_sigma=-1)
    with pytest.raises(ValueError, match="strict_fraction"):
        metrics.mode_coverage(x, toy.ring(), strict_fraction=0)
    with pytest.raises(ValueError, match="GaussianMixture"):
        metrics.mode_coverage(x, "ring")
