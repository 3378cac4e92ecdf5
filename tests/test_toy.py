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
