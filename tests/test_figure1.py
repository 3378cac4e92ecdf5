"""ganlib.figure1: the exact p_g of a 1-D generator, the JSD on its grid, the end-of-training numbers, the drawing.

The run itself (its end numbers, the panels' story, determinism) is notebook 01's: its checked cells."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from ganlib import figure1, models, theory, toy


# ----------------------------------------------------------------------------- exact p_g
def test_density_of_an_affine_generator_is_the_gaussian():
    G = torch.nn.Linear(1, 1)
    with torch.no_grad():
        G.weight.fill_(-0.5)     # decreasing: |G'| is needed
        G.bias.fill_(2.0)
    x = np.linspace(-1, 5, 601)
    pg, method = figure1.generator_density(G, x)
    assert method == "exact"
    np.testing.assert_allclose(pg, stats.norm(2.0, 0.5).pdf(x), atol=1e-5)


class _Square(torch.nn.Module):
    def forward(self, z):
        return z**2


class _Wiggle(torch.nn.Module):
    def forward(self, z):
        return torch.sin(6 * z)


def test_non_monotone_generator_sums_its_branches():
    # z ~ N(0, 1) and x = z^2: two pre-images +-sqrt(x), p_g is the chi-square density with 1 dof
    x = np.linspace(0.05, 6, 500)
    pg, method = figure1.generator_density(_Square(), x, n_z=200001)
    assert "2 monotone pieces" in method
    np.testing.assert_allclose(pg, stats.chi2(1).pdf(x), rtol=2e-3)


def test_many_folds_fall_back_to_a_labelled_estimate():
    x = np.linspace(-1.2, 1.2, 241)
    pg, method = figure1.generator_density(_Wiggle(), x)
    assert method.startswith("histogram estimate")
    assert integrate.trapezoid(pg, x) == pytest.approx(1.0, abs=0.02)


def test_generator_density_rejects_bad_grids():
    with pytest.raises(ValueError, match="increasing"):
        figure1.generator_density(torch.nn.Linear(1, 1), np.array([1.0, 0.0]))


# ----------------------------------------------------------------------------- JSD quadrature
def test_jsd_on_grid_against_scipy_quad():
    p, q = stats.norm(0, 1), stats.norm(1, 1.5)
    x = np.linspace(-15, 15, 20001)
    m = lambda t: 0.5 * (p.pdf(t) + q.pdf(t))
    want = 0.5 * integrate.quad(lambda t: p.pdf(t) * np.log(p.pdf(t) / m(t)), -15, 15)[0] \
        + 0.5 * integrate.quad(lambda t: q.pdf(t) * np.log(q.pdf(t) / m(t)), -15, 15)[0]
    assert theory.grid_jsd(p.pdf(x), q.pdf(x), x) == pytest.approx(want, rel=1e-6)


def test_jsd_on_grid_limits():
    x = np.linspace(-10, 10, 4001)
    p = stats.norm(-4, 0.5).pdf(x)
    assert theory.grid_jsd(p, p, x) == pytest.approx(0.0, abs=1e-12)
    assert theory.grid_jsd(p, stats.norm(4, 0.5).pdf(x), x) == pytest.approx(math.log(2), rel=1e-6)


def test_end_numbers_see_a_mismatch():
    target = toy.gaussian(1.0, 0.5)
    G = torch.nn.Linear(1, 1)
    D = torch.nn.Linear(1, 1)
    with torch.no_grad():
        G.weight.fill_(0.5), G.bias.fill_(1.0)   # p_g = p_data exactly
        D.weight.zero_(), D.bias.zero_()         # D = 1/2 everywhere
    jsd, dev = figure1.end_numbers(G, D, target)
    assert jsd < 1e-6 and dev == 0.0
    with torch.no_grad():
        G.bias.fill_(1.5)
        D.weight.fill_(1.0)
    jsd, dev = figure1.end_numbers(G, D, target)
    want = theory.grid_jsd(stats.norm(1, 0.5).pdf(np.linspace(-9, 11, 40001)),
                              stats.norm(1.5, 0.5).pdf(np.linspace(-9, 11, 40001)), np.linspace(-9, 11, 40001))
    assert jsd == pytest.approx(want, rel=1e-3)
    lo, hi = target.central_interval(0.95)
    assert dev == pytest.approx(max(abs(1 / (1 + math.exp(-lo)) - 0.5), abs(1 / (1 + math.exp(-hi)) - 0.5)), rel=1e-4)


def test_snapshot_and_drawing():
    import matplotlib
    matplotlib.use("Agg")
    target = toy.gaussian(1.0, 0.5)
    G, D = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    with torch.no_grad():
        G.weight.fill_(0.5), G.bias.fill_(1.2)
        D.weight.zero_(), D.bias.zero_()
    x = np.linspace(-1, 3, 201)
    snap = figure1.snapshot(G, D, target, x, step=7, label="(d)", how="test")
    np.testing.assert_allclose(snap.p_g, stats.norm(1.2, 0.5).pdf(x), atol=1e-5)
    np.testing.assert_allclose(snap.d, 0.5)
    assert snap.jsd == pytest.approx(theory.grid_jsd(stats.norm(1, .5).pdf(np.linspace(-9, 11, 40001)),
                                                     stats.norm(1.2, .5).pdf(np.linspace(-9, 11, 40001))), rel=1e-3)
    assert np.allclose(snap.gz, 0.5 * snap.z + 1.2) and len(snap.u) == 21
    fig = figure1.figure1([figure1.snapshot(G, D, target, x, step=7, label=l, how="test") for l in "(a) (b) (c) (d)".split()])
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 4
    assert figure1.animation([snap, snap]).data[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="max_frames"):
        figure1.animation([snap], max_frames=1)
