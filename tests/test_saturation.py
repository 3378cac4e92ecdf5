"""ganlib.saturation: the analytic derivatives, and the saturating-vs-non-saturating toy comparison.

The toy comparison runs on CPU with seed 0 and the notebook's settings (ToySetup defaults). Seeds
0-4 were checked by hand (ratios 29-80, saturating JSD > non-saturating JSD on all five); the
test keeps one seed to stay fast.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganlib import saturation as S


def test_closed_form_matches_autograd():
    a = np.linspace(-30, 30, 121)
    closed, auto = S.loss_gradients_wrt_logit(a), S.autograd_gradients_wrt_logit(a)
    for name in S.LOSS_NAMES:
        np.testing.assert_allclose(closed[name], auto[name], atol=1e-8)
    # Early training (D(G(z)) ~ 0, a << 0): the saturating derivative vanishes, the other does not.
    assert abs(closed["saturating"][0]) < 1e-12 and closed["non-saturating"][0] > 0.999


@pytest.fixture(scope="module")
def comparison():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # tiny models: one thread is fastest and the numbers are reproducible
    try:
        yield S.compare_generator_losses(seed=0)
    finally:
        torch.set_num_threads(threads)


def test_pretrained_d_is_confident(comparison):
    assert comparison.pretrain.d_fake[-1] < 0.05
    assert comparison.jsd_start > 0.6          # G starts far from N(4, 0.5^2)


def test_saturating_gradient_is_10x_smaller(comparison):
    # Median over the first 100 G steps of the per-step ratio ||grad_ns|| / ||grad_sat||.
    assert comparison.grad_ratio(100) >= 10.0
    assert comparison.median_grad("non-saturating") >= 10 * comparison.median_grad("saturating")


def test_saturating_run_ends_further_from_data(comparison):
    js, jn = comparison.jsd["saturating"], comparison.jsd["non-saturating"]
    assert np.isfinite(js) and np.isfinite(jn)
    assert js > jn + 0.1


def test_same_start_for_both_runs(comparison):
    h = comparison.histories
    assert len(h["saturating"]) == len(h["non-saturating"]) == S.ToySetup().steps
    # Same initial G and D, same first noise batch: the first D(G(z)) before any G update is equal.
    assert h["saturating"].d_real[0] == pytest.approx(h["non-saturating"].d_real[0])


def test_binned_jsd_limits():
    target = S.ToySetup().target()

    class Shift(torch.nn.Module):
        def __init__(self, mu, sigma):
            super().__init__()
            self.mu, self.sigma = mu, sigma

        def forward(self, z):
            return self.mu + self.sigma * z

    assert S.binned_jsd(Shift(4.0, 0.5), target) < 1e-3          # p_g = p_data
    assert S.binned_jsd(Shift(-4.0, 0.5), target) > 0.69           # disjoint supports: log 2


def test_bad_input_raises():
    with pytest.raises(ValueError, match="steps"):
        S.compare_generator_losses(0, steps=0)
    with pytest.raises(ValueError, match="steps"):
        S.compare_on_mnist(steps=-1)


@pytest.mark.parametrize("mu, s", [(1.0, 0.3), (2.0, 0.5), (4.5, 0.3)])
def test_optimal_d_gradients_match_arjovsky_bottou(mu, s):
    # With D = D* frozen: grad of the saturating loss = grad 2 JSD; of the non-saturating = grad (KL(p_g||p_data) - 2 JSD).
    g = S.optimal_d_gradients(S.ToySetup().target(), mu, s)
    np.testing.assert_allclose(g["saturating"], g["2 JSD"], atol=1e-5)
    np.testing.assert_allclose(g["non-saturating"], g["KL - 2 JSD"], atol=1e-5)


def test_optimal_d_gradients_saturate_far_from_data():
    g = S.optimal_d_gradients(S.ToySetup().target(), 1.0, 0.3)      # p_g far from N(4, 0.5^2)
    assert abs(g["saturating"][0]) < 0.01 and abs(g["non-saturating"][0]) > 5
    assert g["saturating"][0] < 0 and g["non-saturating"][0] < 0     # both move mu towards the data
    with pytest.raises(ValueError, match="s must be"):
        S.optimal_d_gradients(S.ToySetup().target(), 1.0, -0.3)
