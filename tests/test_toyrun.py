"""Notebook 01's experiment: exact p_g, the JSD quadrature, the four panels and the end-of-training numbers."""
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from ganlib import toy, toyrun


@pytest.fixture(scope="module")
def run():
    # quick mode's settings (what `make test` runs); the full run is checked by the notebook and the benchmark
    return toyrun.run_figure1(seed=0, quick=True)


# ----------------------------------------------------------------------------- end of training
def test_end_of_training_reaches_the_equilibrium(run):
    assert run.jsd < 0.01, f"JSD(p_data || p_g) = {run.jsd:.4f} nats"
    assert run.max_abs_d_minus_half < 0.05, f"max |D - 1/2| = {run.max_abs_d_minus_half:.3f}"
    # the History agrees: mean D on real and on fake samples near 1/2 over the last 100 steps
    assert abs(run.history.last("d_real", 100) - 0.5) < 0.05
    assert abs(run.history.last("d_fake", 100) - 0.5) < 0.05
    assert run.final.pg_method.startswith("exact")
    # the exact p_g integrates to 1 over the drawing's window (which holds all but ~1e-5 of p_data)
    assert integrate.trapezoid(run.final.p_g, run.final.x) == pytest.approx(1.0, abs=0.01)


def test_training_made_progress(run):
    first, last = run.snapshots[0], run.snapshots[-1]
    assert first.step == 0 and last.step == run.cfg.steps
    assert first.jsd > 0.3 > 0.01 > last.jsd
    steps = [s.step for s in run.snapshots]
    assert steps == list(range(0, run.cfg.steps + 1, run.cfg.snapshot_every))
    assert len(run.history) == run.cfg.steps


# ----------------------------------------------------------------------------- the four panels
def _central(snap, target):
    lo, hi = target.central_interval(0.95)
    return (snap.x > lo) & (snap.x < hi)


def test_panels_tell_the_papers_story(run):
    a, b, c, d = run.panels
    assert [p.label for p in run.panels] == ["(a)", "(b)", "(c)", "(d)"]
    m = _central(a, run.target)
    # (a): p_g near p_data but not on it, D only partly accurate
    assert 0.02 < a.jsd < 0.2
    gap = {p.label: float(np.abs(p.d - p.d_star)[m].mean()) for p in (a, b)}
    assert gap["(a)"] > 0.05
    # (b): the same G (p_g unchanged), D trained alone is much closer to D* = p_data / (p_data + p_g)
    np.testing.assert_array_equal(b.p_g, a.p_g)
    assert gap["(b)"] < 0.03 and gap["(b)"] < gap["(a)"] / 3
    # (c): the same D, G moved by D's gradient towards the data
    np.testing.assert_array_equal(c.d, b.d)
    assert c.jsd < 0.7 * b.jsd
    assert np.mean(c.gz) - np.mean(b.gz) > 0.05 * np.sign(-run.cfg.shift)
    # (d): the end of the run, p_g = p_data and D = 1/2
    assert d.jsd == run.jsd and d.d_dev < 0.05


def test_shift_generator_moves_p_g_exactly():
    G, _ = toyrun.build_models(3)
    x = np.linspace(-3, 3, 601)
    moved = toyrun.shift_generator(G, 0.5)
    p, _ = toyrun.generator_density(G, x - 0.5)
    q, _ = toyrun.generator_density(moved, x)
    np.testing.assert_allclose(q, p, rtol=1e-4, atol=1e-8)
    with pytest.raises(ValueError, match="Linear"):
        toyrun.shift_generator(torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.Tanh()), 0.1)


def test_same_seed_same_numbers():
    cfg = replace(toyrun.QUICK, steps=200, snapshot_every=50, b_steps=20)
    one, two = toyrun.run_figure1(seed=4, cfg=cfg), toyrun.run_figure1(seed=4, cfg=cfg)
    assert one.history.to_dict() == two.history.to_dict()
    assert [p.jsd for p in one.panels] == [p.jsd for p in two.panels]
    other = toyrun.run_figure1(seed=5, cfg=cfg)
    assert other.history.d_loss != one.history.d_loss


# ----------------------------------------------------------------------------- exact p_g
def test_density_of_an_affine_generator_is_the_gaussian():
    G = torch.nn.Linear(1, 1)
    with torch.no_grad():
        G.weight.fill_(-0.5)     # decreasing: |G'| is needed
        G.bias.fill_(2.0)
    x = np.linspace(-1, 5, 601)
    pg, method = toyrun.generator_density(G, x)
    assert method == "exact"
    np.testing.assert_allclose(pg, stats.norm(2.0, 0.5).pdf(x), atol=1e-5)
    pu, method = toyrun.generator_density(G, x, noise="uniform")   # U(-1, 1) -> U(1.5, 2.5), density 1
    inside = (x > 1.51) & (x < 2.49)
    np.testing.assert_allclose(pu[inside], 1.0, rtol=1e-6)
    assert np.all(pu[(x < 1.49) | (x > 2.51)] == 0)


class _Square(torch.nn.Module):
    def forward(self, z):
        return z**2


class _Wiggle(torch.nn.Module):
    def forward(self, z):
        return torch.sin(6 * z)


def test_non_monotone_generator_sums_its_branches():
    # z ~ N(0, 1) and x = z^2: two pre-images +-sqrt(x), p_g is the chi-square density with 1 dof
    x = np.linspace(0.05, 6, 500)
    pg, method = toyrun.generator_density(_Square(), x, n_z=200001)
    assert "2 monotone pieces" in method
    np.testing.assert_allclose(pg, stats.chi2(1).pdf(x), rtol=2e-3)


def test_many_folds_fall_back_to_a_labelled_estimate():
    x = np.linspace(-1.2, 1.2, 241)
    pg, method = toyrun.generator_density(_Wiggle(), x)
    assert method.startswith("histogram estimate")
    assert integrate.trapezoid(pg, x) == pytest.approx(1.0, abs=0.02)


def test_generator_density_rejects_bad_grids():
    with pytest.raises(ValueError, match="increasing"):
        toyrun.generator_density(torch.nn.Linear(1, 1), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="noise"):
        toyrun.generator_density(torch.nn.Linear(1, 1), np.linspace(0, 1, 5), noise="cauchy")


# ----------------------------------------------------------------------------- JSD quadrature
def test_jsd_on_grid_against_scipy_quad():
    p, q = stats.norm(0, 1), stats.norm(1, 1.5)
    x = np.linspace(-15, 15, 20001)
    m = lambda t: 0.5 * (p.pdf(t) + q.pdf(t))
    want = 0.5 * integrate.quad(lambda t: p.pdf(t) * np.log(p.pdf(t) / m(t)), -15, 15)[0] \
        + 0.5 * integrate.quad(lambda t: q.pdf(t) * np.log(q.pdf(t) / m(t)), -15, 15)[0]
    assert toyrun.jsd_on_grid(p.pdf(x), q.pdf(x), x) == pytest.approx(want, rel=1e-6)


def test_jsd_on_grid_limits():
    x = np.linspace(-10, 10, 4001)
    p = stats.norm(-4, 0.5).pdf(x)
    assert toyrun.jsd_on_grid(p, p, x) == pytest.approx(0.0, abs=1e-12)
    assert toyrun.jsd_on_grid(p, stats.norm(4, 0.5).pdf(x), x) == pytest.approx(math.log(2), rel=1e-6)
    with pytest.raises(ValueError, match="one shape"):
        toyrun.jsd_on_grid(p, p[:-1], x)


def test_end_numbers_see_a_mismatch():
    target = toy.gaussian(1.0, 0.5)
    G = torch.nn.Linear(1, 1)
    D = torch.nn.Linear(1, 1)
    with torch.no_grad():
        G.weight.fill_(0.5), G.bias.fill_(1.0)   # p_g = p_data exactly
        D.weight.zero_(), D.bias.zero_()         # D = 1/2 everywhere
    jsd, dev = toyrun.end_numbers(G, D, target)
    assert jsd < 1e-6 and dev == 0.0
    with torch.no_grad():
        G.bias.fill_(1.5)
        D.weight.fill_(1.0)
    jsd, dev = toyrun.end_numbers(G, D, target)
    want = toyrun.jsd_on_grid(stats.norm(1, 0.5).pdf(np.linspace(-9, 11, 40001)),
                              stats.norm(1.5, 0.5).pdf(np.linspace(-9, 11, 40001)), np.linspace(-9, 11, 40001))
    assert jsd == pytest.approx(want, rel=1e-3)
    lo, hi = target.central_interval(0.95)
    assert dev == pytest.approx(max(abs(1 / (1 + math.exp(-lo)) - 0.5), abs(1 / (1 + math.exp(-hi)) - 0.5)), rel=1e-4)


# ----------------------------------------------------------------------------- settings
@pytest.mark.parametrize("change, match", [
    (dict(steps=100, snapshot_every=50), "steps must be >= 4"),
    (dict(noise="cauchy"), "noise"),
    (dict(k=0), "k must be an int"),
    (dict(sigma=0.0), "sigma must be > 0"),
    (dict(lr_final=0.0), "lr_final"),
])
def test_bad_settings_raise_clear_errors(change, match):
    with pytest.raises(ValueError, match=match):
        replace(toyrun.FULL, **change)
