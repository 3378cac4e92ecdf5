"""Toy targets: exact densities agree with scipy and between numpy and torch; clear errors."""
import numpy as np
import pytest
import torch
from scipy import stats

from ganlib import toy


def test_gaussian_pdf_matches_scipy_and_torch():
    t = toy.gaussian(1.0, 0.5)
    x = np.linspace(-3, 5, 101)
    np.testing.assert_allclose(t.pdf(x), stats.norm(1.0, 0.5).pdf(x), rtol=1e-10)
    np.testing.assert_allclose(t.pdf(torch.tensor(x)).numpy(), t.pdf(x), rtol=1e-10)
    assert np.isfinite(t.log_pdf(np.array([1e4]))).all()


def test_mixture_pdf_and_samples():
    m = toy.mixture_1d((-2.0, 2.0), (0.5, 0.3), (0.3, 0.7))
    x = np.linspace(-5, 5, 2001)
    want = 0.3 * stats.norm(-2, 0.5).pdf(x) + 0.7 * stats.norm(2, 0.3).pdf(x)
    np.testing.assert_allclose(m.pdf(x), want, rtol=1e-10)
    s = m.sample(200_000, generator=torch.Generator().manual_seed(0))
    assert s.shape == (200_000, 1)
    assert abs(float((s > 0).float().mean()) - 0.7) < 0.01
    assert abs(float(s.mean()) - (0.3 * -2 + 0.7 * 2)) < 0.02
    lo, hi = m.central_interval(0.95)
    assert m.cdf(np.array([hi]))[0] - m.cdf(np.array([lo]))[0] == pytest.approx(0.95, abs=1e-9)


def test_2d_targets_have_distinct_means():
    r, g = toy.ring(), toy.grid()
    assert r.n_modes == 8 and len({tuple(np.round(m, 6)) for m in r.means}) == 8
    np.testing.assert_allclose(np.linalg.norm(r.means, axis=1), 1.0)
    assert g.n_modes == 25 and len({tuple(m) for m in g.means}) == 25
    assert set(g.means[:, 0]) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert r.sigmas[0] == 0.01 and g.sigmas[0] == 0.05


@pytest.mark.parametrize("call, match", [
    (lambda: toy.gaussian(0.0, 0.0), "sigmas must be > 0"),
    (lambda: toy.gaussian(0.0, -1.0), "sigmas must be > 0"),
    (lambda: toy.mixture_1d((0.0, 1.0), 0.5, (0.5, 0.6)), "sum to 1"),
    (lambda: toy.gaussian().sample(0), "n must be an int >= 1"),
    (lambda: toy.ring().pdf(np.zeros((3, 3))), "2 coordinate"),
])
def test_invalid_parameters_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_sampler_resumes_exactly():
    s = toy.Sampler(toy.gaussian(), seed=1)
    s(10)
    state = s.state_dict()
    a = s(5)
    s.load_state_dict(state)
    assert torch.equal(a, s(5))


def test_gaussian_sample_moments_and_distribution():
    t = toy.gaussian(1.0, 0.5)
    s = t.sample(100_000, generator=torch.Generator().manual_seed(3)).double().numpy()[:, 0]
    se = 0.5 / np.sqrt(len(s))
    assert abs(s.mean() - 1.0) < 5 * se
    assert abs(s.std() - 0.5) < 5 * se          # sd of the sample sd ~ sigma / sqrt(2n) < se
    # the whole distribution, not just two moments: Kolmogorov-Smirnov against the exact cdf
    assert stats.kstest(s, lambda v: t.cdf(v)).pvalue > 1e-3


def test_samples_reproducible_from_a_generator():
    t = toy.mixture_1d()
    a = t.sample(50, generator=torch.Generator().manual_seed(7))
    b = t.sample(50, generator=torch.Generator().manual_seed(7))
    c = t.sample(50, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.dtype == torch.float32


def test_torch_and_numpy_agree_in_1d_and_2d():
    for target, x in ((toy.mixture_1d((-1.0, 0.5, 3.0), (0.2, 0.7, 1.1), (0.2, 0.5, 0.3)), np.linspace(-6, 8, 301)),
                      (toy.ring(), np.random.default_rng(0).normal(size=(200, 2)))):
        np.testing.assert_allclose(target.log_pdf(torch.tensor(x)).numpy(), target.log_pdf(x), rtol=1e-12)


def test_2d_pdf_matches_scipy():
    r = toy.ring()
    x = np.vstack([r.means + 0.005, np.random.default_rng(1).normal(scale=1.2, size=(50, 2))])
    want = sum(stats.multivariate_normal(m, 0.01**2 * np.eye(2)).pdf(x) for m in r.means) / 8
    np.testing.assert_allclose(r.pdf(x), want, rtol=1e-9, atol=1e-300)
    # far from every mode the density underflows but the log-density stays finite and exact
    far = np.array([[30.0, 0.0]])
    assert np.isfinite(r.log_pdf(far)).all()
    assert r.log_pdf(far)[0] == pytest.approx(stats.multivariate_normal([1, 0], 1e-4 * np.eye(2)).logpdf(far[0])
                                              + np.log(1 / 8), rel=1e-3)


def test_quantiles_and_central_interval():
    t = toy.gaussian(1.0, 0.5)
    lo, hi = t.central_interval(0.95)
    assert lo == pytest.approx(1.0 - 0.5 * stats.norm.ppf(0.975), abs=1e-9)
    assert hi == pytest.approx(1.0 + 0.5 * stats.norm.ppf(0.975), abs=1e-9)
    g = t.grid(101, pad=4.0)
    assert g[0] == pytest.approx(-1.0) and g[-1] == pytest.approx(3.0) and len(g) == 101


@pytest.mark.parametrize("call, match", [
    (lambda: toy.gaussian().sample(2.5), "n must be an int >= 1"),
    (lambda: toy.gaussian().sample(True), "n must be an int >= 1"),
    (lambda: toy.mixture_1d((0.0, 1.0), 0.5, (1.2, -0.2)), "weights must be >= 0"),
    (lambda: toy.mixture_1d((0.0, 1.0), (0.5, 0.5, 0.5)), "sigmas must be one number or 2 numbers"),
    (lambda: toy.gaussian(float("nan"), 1.0), "means must be finite"),
    (lambda: toy.gaussian().central_interval(1.5), "mass must lie in"),
    (lambda: toy.gaussian().quantile(0.0), "q must lie in"),
    (lambda: toy.ring().cdf(np.zeros(3)), "1-D targets only"),
    (lambda: toy.ring(n_modes=1), "n_modes"),
])
def test_more_invalid_parameters(call, match):
    with pytest.raises(ValueError, match=match):
        call()
