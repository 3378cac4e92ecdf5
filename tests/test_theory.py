"""ganlib.theory against closed forms and independent computations (notebook 02's numerical proofs).

Covered by notebook 02's NBVAL_CHECK_OUTPUT cells instead (run under nbval by make test): the pointwise
peak a/(a+b) against a grid search and minimize_scalar (section 2), and a D trained with train.d_step
against a frozen G landing within 0.02 of D* (section 4, "a trained D meets D* for every frozen G").
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from ganlib import theory, toy

LOG2, LOG4 = math.log(2.0), math.log(4.0)
P_DATA = toy.mixture_1d()                       # modes at -2 and 2, sigma 0.5


def kl_gaussians(mu1: float, s1: float, mu2: float, s2: float) -> float:
    """Closed form KL(N(mu1, s1^2) || N(mu2, s2^2))."""
    return math.log(s2 / s1) + (s1**2 + (mu1 - mu2) ** 2) / (2 * s2**2) - 0.5


def family() -> dict[str, object]:
    return {
        "p_data": P_DATA,
        "N(0, 1)": toy.gaussian(0.0, 1.0),
        "N(2, 0.5^2)": toy.gaussian(2.0, 0.5),
        "N(1, 2^2)": toy.gaussian(1.0, 2.0),
        "N(5, 1)": toy.gaussian(5.0, 1.0),
        "two modes (-1, 3)": toy.mixture_1d((-1.0, 3.0), (0.7, 0.4), (0.3, 0.7)),
        "N(30, 1)": toy.gaussian(30.0, 1.0),
    }


# ------------------------------------------------------------------------------ divergences
@pytest.mark.parametrize("p", [P_DATA, toy.gaussian(0.3, 0.2), toy.mixture_1d((-5, 0, 4), (1.0, 0.1, 2.0))])
def test_jsd_of_a_distribution_with_itself_is_zero(p):
    assert abs(theory.jsd(p, p)) < 1e-13
    assert abs(theory.kl(p, p)) < 1e-13


def test_jsd_is_at_most_log2_and_reaches_it_for_disjoint_supports():
    values = [theory.jsd(P_DATA, q) for q in family().values()]
    assert all(0.0 <= v <= LOG2 + 1e-13 for v in values)
    assert theory.jsd(toy.gaussian(0, 1), toy.gaussian(40, 1)) == pytest.approx(LOG2, abs=1e-12)
    # Partial overlap stays clearly below the bound.
    assert theory.jsd(toy.gaussian(0, 1), toy.gaussian(1, 1)) < LOG2 - 0.5


@pytest.mark.parametrize("m1,s1,m2,s2", [(0, 1, 1, 2), (0, 1, 0, 0.1), (-3, 0.5, 2, 1.5), (1, 2, 1, 2), (0, 2, 0, 0.5)])
def test_kl_between_gaussians_matches_the_closed_form(m1, s1, m2, s2):
    want = kl_gaussians(m1, s1, m2, s2)
    assert theory.kl(toy.gaussian(m1, s1), toy.gaussian(m2, s2)) == pytest.approx(want, rel=1e-11, abs=1e-12)
    # The same through plain density callables (scipy's) on a support where neither underflows.
    lo, hi = min(m1, m2) - 7 * max(s1, s2), max(m1, m2) + 7 * max(s1, s2)
    if min(stats.norm(m2, s2).pdf([lo, hi])) > 0:           # else q underflows where p > 0: KL = inf
        got = theory.kl(stats.norm(m1, s1).pdf, stats.norm(m2, s2).pdf, support=(lo, hi), points=(m1, m2))
        assert got == pytest.approx(want, rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("m1,s1,m2,s2", [(0, 1, 1, 2), (-3, 0.5, 2, 1.5), (1, 2, 1, 2)])
def test_grid_kl_and_jsd_match_the_quadrature(m1, s1, m2, s2):
    p, q = toy.gaussian(m1, s1), toy.gaussian(m2, s2)
    x = np.linspace(-20, 20, 8001)
    assert theory.grid_kl(p.pdf(x), q.pdf(x), x) == pytest.approx(kl_gaussians(m1, s1, m2, s2), rel=1e-9, abs=1e-12)
    assert theory.grid_jsd(p.pdf(x), q.pdf(x), x) == pytest.approx(theory.jsd(p, q), rel=1e-9, abs=1e-12)
    # each argument is normalised on the grid: a scale factor changes nothing
    assert theory.grid_jsd(3 * p.pdf(x), q.pdf(x), x) == pytest.approx(theory.grid_jsd(p.pdf(x), q.pdf(x), x), rel=1e-14)


def test_grid_kl_uses_the_trapezoid_rule_on_uneven_grids():
    # p(x) = 2x against q = 1 on [0, 1]: KL = int 2x log(2x) dx = log 2 - 1/2; the ends carry mass.
    x = np.linspace(0.0, 1.0, 20001) ** 2
    assert theory.grid_kl(2 * x, np.ones_like(x), x) == pytest.approx(LOG2 - 0.5, rel=1e-6)


def test_grid_kl_and_jsd_of_histograms():
    # x=None: probability vectors or counts, summed (a histogram of one bin out of 10 vs uniform: log 10)
    assert theory.grid_kl([0, 5, 0, 0, 0, 0, 0, 0, 0, 0], np.ones(10)) == pytest.approx(math.log(10), rel=1e-15)
    assert theory.grid_kl([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0, abs=1e-15)        # 0 log 0 = 0 and scaling
    assert theory.grid_kl([1, 1], [1, 0]) == math.inf                                    # q = 0 < p
    assert theory.grid_jsd([1, 0], [0, 1]) == pytest.approx(LOG2, rel=1e-15)            # disjoint: log 2
    want = 0.5 * (0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)) + 0.5 * math.log(1 / 0.75)  # M = (.75, .25)
    assert theory.grid_jsd([1, 1], [1, 0]) == pytest.approx(want, rel=1e-12)
    p = np.array([0.2, 0.5, 0.3])
    q = np.array([0.4, 0.4, 0.2])
    m = (p + q) / 2
    assert theory.grid_jsd(p, q) == pytest.approx(0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m)))


@pytest.mark.parametrize("call,match", [
    (lambda: theory.grid_kl([1, 2], [1, 2, 3]), "same length"),
    (lambda: theory.grid_kl([1, -1], [1, 1]), "p must hold finite values >= 0"),
    (lambda: theory.grid_jsd([1, 1], [0, 0]), "q must hold finite values >= 0"),
    (lambda: theory.grid_jsd([1, np.nan], [1, 1]), "p must hold finite values"),
    (lambda: theory.grid_kl([1, 1, 1], [1, 1, 1], x=[0, 2, 1]), "x must be an increasing 1-D grid"),
    (lambda: theory.grid_kl([1, 1, 1], [1, 1, 1], x=[0, 1]), "x must be an increasing 1-D grid"),
])
def test_grid_divergences_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_quadrature_agrees_with_scipy_quad():
    q = toy.mixture_1d((-1.0, 3.0), (0.7, 0.4), (0.3, 0.7))
    m = theory.midpoint(P_DATA, q)

    def kl_term(a, b):
        def f(t):
            la, lb = a.log_pdf(np.array([t]))[0], b.log_pdf(np.array([t]))[0]
            return math.exp(la) * (la - lb)
        return integrate.quad(f, -20, 20, points=[-2, -1, 2, 3], epsabs=1e-13, epsrel=1e-12, limit=500)[0]

    want = 0.5 * kl_term(P_DATA, m) + 0.5 * kl_term(q, m)
    assert theory.jsd(P_DATA, q) == pytest.approx(want, abs=1e-10)


def test_midpoint_is_the_mixture_of_both():
    q = toy.gaussian(1.0, 1.0)
    x = np.linspace(-6, 6, 101)
    np.testing.assert_allclose(theory.midpoint(P_DATA, q).pdf(x), (P_DATA.pdf(x) + q.pdf(x)) / 2, rtol=1e-13)
    with pytest.raises(ValueError, match="q must be a 1-D toy.GaussianMixture"):
        theory.midpoint(P_DATA, stats.norm.pdf)


# ------------------------------------------------------------------------------ D*, V, C
def test_optimal_discriminator_is_p_data_over_the_sum():
    q = toy.gaussian(1.0, 1.0)
    x = np.linspace(-4, 5, 101)
    d = theory.OptimalDiscriminator(P_DATA, q)
    a, b = P_DATA.pdf(x), q.pdf(x)
    np.testing.assert_allclose(d(x), a / (a + b), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d.logit(x), np.log(a) - np.log(b), rtol=1e-12, atol=1e-12)
    # D* = 1/2 everywhere when p_g = p_data.
    np.testing.assert_allclose(theory.OptimalDiscriminator(P_DATA, P_DATA)(x), 0.5, atol=1e-15)


def test_optimal_discriminator_maximises_v():
    q = toy.gaussian(1.0, 1.0)
    d_star = theory.OptimalDiscriminator(P_DATA, q)
    best = theory.value_function(P_DATA, q, d_star)
    assert theory.value_function(P_DATA, q, lambda x: np.full_like(x, 0.5)) == pytest.approx(-LOG4, abs=1e-12)
    for eps in (0.3, -0.3, 0.05):
        worse = theory.value_function(P_DATA, q, lambda x: d_star.logit(x) + eps * np.tanh(x), logits=True)
        assert worse < best
    # Probabilities and logits give the same V.
    via_probs = theory.value_function(P_DATA, q, lambda x: d_star(x))
    assert via_probs == pytest.approx(best, abs=1e-12)


def test_c_of_g_equals_minus_log4_plus_twice_jsd():
    for name, q in family().items():
        c, j = theory.c_of_g(P_DATA, q), theory.jsd(P_DATA, q)           # two independent integrals
        assert abs(c - (-LOG4 + 2 * j)) <= 1e-12, name
        assert c == pytest.approx(-LOG4, abs=1e-12) if name == "p_data" else c > -LOG4 + 1e-3, name


def test_a_density_that_does_not_integrate_to_one_is_rejected():
    twice = lambda x: 2 * stats.norm.pdf(x)  # noqa: E731
    with pytest.raises(ValueError, match=r"p_g does not integrate to 1"):
        theory.c_of_g(P_DATA, twice)
    with pytest.raises(ValueError, match=r"q does not integrate to 1"):
        theory.kl(toy.gaussian(0, 1), lambda x: 0.5 * stats.norm.pdf(x))
    with pytest.raises(ValueError, match=r"support"):
        theory.jsd(stats.norm.pdf, stats.norm(1, 1).pdf)
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        theory.value_function(P_DATA, toy.gaussian(0, 1), lambda x: 2 + 0 * x)
    with pytest.raises(ValueError, match=r"logits must be True or False"):
        theory.value_function(P_DATA, toy.gaussian(0, 1), lambda x: 0 * x, logits=1)
    with pytest.raises(ValueError, match=r"p_g returned NaN or a negative value"):
        theory.c_of_g(P_DATA, lambda x: np.sin(x), support=(-10, 10))
    with pytest.raises(ValueError, match=r"support must be a pair"):
        theory.kl(P_DATA, P_DATA, support=(3, -3))


def test_underflowing_densities_give_no_nan():
    # Plain densities that underflow to exactly 0 over most of the interval.
    p, q = stats.norm(0, 1).pdf, stats.norm(40, 1).pdf
    assert q(np.array([0.0]))[0] == 0.0 and p(np.array([40.0]))[0] == 0.0
    j = theory.jsd(p, q, support=(-60, 100))
    c = theory.c_of_g(p, q, support=(-60, 100))
    assert j == pytest.approx(LOG2, abs=1e-12) and c == pytest.approx(0.0, abs=1e-12)
    x = np.array([-1e3, 0.0, 20.0, 40.0, 1e3])
    d = theory.OptimalDiscriminator(toy.gaussian(0, 1), toy.gaussian(40, 1))(x)
    assert np.all(np.isfinite(d)) and d[1] == 1.0 and d[3] == 0.0
    d_plain = theory.OptimalDiscriminator(p, q)
    assert d_plain(np.array([1e3]))[0] == 0.5       # both exactly 0 there: any D is optimal; 1/2 by convention
    assert np.all(np.isfinite(d_plain(np.linspace(-100, 200, 3001))))
    # Disjoint uniform densities and a perfect D (exactly 1 on one, exactly 0 on the other): every term is
    # 0 log 0 = 0 or 1 log 1 = 0, so V = C(G) = 0 and JSD = log 2, with no NaN.
    box_p = lambda t: ((t >= 0) & (t <= 1)).astype(float)  # noqa: E731
    box_q = lambda t: ((t >= 2) & (t <= 3)).astype(float)  # noqa: E731
    box = dict(support=(-1, 4), points=(0, 1, 2, 3))
    assert theory.value_function(box_p, box_q, lambda t: (t < 1.5).astype(float), **box) == 0.0
    assert theory.c_of_g(box_p, box_q, **box) == pytest.approx(0.0, abs=1e-15)
    assert theory.jsd(box_p, box_q, **box) == pytest.approx(LOG2, abs=1e-15)
    # Log-density tails keep KL finite where plain densities would give 0 * log(0/0) trouble.
    assert math.isfinite(theory.kl(toy.gaussian(0, 2), toy.gaussian(0, 0.5)))


# ------------------------------------------------------------------------------ Prop. 2
def test_function_space_descent_reaches_small_jsd_monotonically():
    res = theory.function_space_descent(P_DATA, toy.gaussian(0, 1), steps=30, step_size=0.5)
    assert res.monotone
    assert res.steps_to(1e-4) is not None and res.jsd[-1] < 1e-4
    assert res.jsd[0] == pytest.approx(theory.jsd(P_DATA, toy.gaussian(0, 1)), abs=1e-8)
    assert res.identity_gap < 1e-12
    # step size 1 is p_g <- (p_data + p_g)/2 exactly
    one = theory.function_space_descent(P_DATA, toy.gaussian(0, 1), steps=1, step_size=1.0, snapshot_steps=(0, 1))
    np.testing.assert_allclose(np.exp(one.snapshots[1]), (np.exp(one.snapshots[0]) + np.exp(one.log_p_data)) / 2,
                               rtol=1e-9, atol=1e-15)
    # A discriminator that is never re-optimised breaks the argument: JSD turns back up.
    stale = theory.function_space_descent(P_DATA, toy.gaussian(0, 1), steps=30, step_size=0.5, discriminator="frozen")
    assert not stale.monotone and stale.jsd[-1] > stale.jsd.min() + 0.1
    # Prop. 2 needs small enough steps: at eta = 4 the same descent overshoots and never settles.
    big = theory.function_space_descent(P_DATA, toy.gaussian(0, 1), steps=60, step_size=4.0)
    assert not big.monotone and big.steps_to(1e-4) is None and big.jsd[-20:].min() > 0.1



def test_nonsaturating_objective_identity():
    # -E_pg log D* = KL(p_g || p_data) - KL(p_g || M) + log 2: not C(G), minimal (log 2) at p_g = p_data.
    for q in (P_DATA, toy.gaussian(2.0, 0.5), toy.gaussian(0.0, 3.0)):
        want = theory.kl(q, P_DATA) - theory.kl(q, theory.midpoint(P_DATA, q)) + LOG2
        assert theory.nonsaturating_objective(P_DATA, q) == pytest.approx(want, abs=1e-10)
    assert theory.nonsaturating_objective(P_DATA, P_DATA) == pytest.approx(LOG2, abs=1e-12)
    ns = theory.function_space_descent(P_DATA, toy.gaussian(0, 1), steps=60, step_size=0.5, loss="non-saturating")
    assert ns.monotone and ns.jsd[-1] < 1e-4


@pytest.mark.parametrize("kwargs,match", [
    (dict(discriminator="best"), "discriminator='best' is not known"), (dict(loss="wgan"), "loss='wgan' is not known"),
    (dict(steps=-1), "steps must be an int >= 0"), (dict(step_size=0), "step_size must be"), (dict(step_size=9), r"in \(0, 8\]"),
    (dict(step_size=True), "step_size must be"), (dict(x=np.array([0.0, 2.0, 1.0])), "x must be an increasing"),
])
def test_function_space_descent_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        theory.function_space_descent(P_DATA, toy.gaussian(0, 1), steps=kwargs.pop("steps", 2), **kwargs)
