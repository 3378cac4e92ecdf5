"""Notebook 02's exercise checks: pass on the reference solutions, fail with the intended message on
typical wrong answers."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special

from ganlib import theory
from ganlib.checks import load_solutions, nb02
from conftest import run_check as run

SOL = load_solutions(2)


# ------------------------------------------------------------------------------ reference solutions
@pytest.mark.parametrize("check,name", [(nb02.check_peak, "peak_of_f"), (nb02.check_d_star, "d_star"),
                                        (nb02.check_value, "value_on_grid"), (nb02.check_jsd, "jsd_from_kl")])
def test_reference_solutions_pass(check, name, capsys):
    ok, out = run(check, getattr(SOL, name), capsys)
    assert ok, out
    assert "correct" in out and "not yet" not in out and "note:" not in out


def _placeholder(*args):
    raise NotImplementedError


@pytest.mark.parametrize("check", [nb02.check_peak, nb02.check_d_star, nb02.check_value, nb02.check_jsd])
def test_placeholders_fail_gently(check, capsys):
    ok, out = run(check, _placeholder, capsys)
    assert not ok and "not written yet" in out


# ------------------------------------------------------------------------------ exercise 1
@pytest.mark.parametrize("wrong,message", [
    (lambda a, b: b / (a + b), "swapped"),
    (lambda a, b: a / b, "you returned a/b"),
    (lambda a, b: 0.5, "always return 1/2"),
    (lambda a, b: a / (a + b) + 1e-4, "close but not exact"),
    (lambda a, b: a / (a + b) + 0.1, "not 0: the peak is at a smaller y"),
    (lambda a, b: 1.5, "outside (0, 1)"),
    (lambda a, b: [a, b], "return one number"),
])
def test_peak_wrong_answers(wrong, message, capsys):
    ok, out = run(nb02.check_peak, wrong, capsys)
    assert not ok and message in out, out


# ------------------------------------------------------------------------------ exercise 2
@pytest.mark.parametrize("wrong,message", [
    (lambda x, p, q: q(x) / (p(x) + q(x)), "swapped p_data and p_g"),
    (lambda x, p, q: p(x) / q(x), "ratio p_data/p_g"),
    (lambda x, p, q: np.full_like(x, 0.5), "1/2 everywhere"),
    (lambda x, p, q: p(x) - q(x), "outside [0, 1]"),
    (lambda x, p, q: p(x) / (p(x) + q(x) + 0.1), "D*(x) = p_data(x) / (p_data(x) + p_g(x))"),
    (lambda x, p, q: float(p(x)[0]), "one value per point"),
])
def test_d_star_wrong_answers(wrong, message, capsys):
    ok, out = run(nb02.check_d_star, wrong, capsys)
    assert not ok and message in out, out


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_d_star_naive_division_passes_with_a_note(capsys):
    ok, out = run(nb02.check_d_star, lambda x, p, q: p(x) / (p(x) + q(x)), capsys)
    assert ok and "note: at x = 60" in out


# ------------------------------------------------------------------------------ exercise 3
def _v(x, p, q, d):
    return special.xlogy(p, d) + special.xlog1py(q, -d)


@pytest.mark.parametrize("wrong,message", [
    (lambda x, p, q, d: -SOL.value_on_grid(x, p, q, d), "sign is flipped"),
    (lambda x, p, q, d: integrate.trapezoid(special.xlogy(p, d), x), "only the real-data term"),
    (lambda x, p, q, d: integrate.trapezoid(special.xlog1py(q, -d), x), "only the fake term"),
    (lambda x, p, q, d: integrate.trapezoid(special.xlogy(p, d) + special.xlogy(q, d), x), "must be log(1 - D)"),
    (lambda x, p, q, d: integrate.trapezoid(special.xlogy(q, d) + special.xlog1py(p, -d), x), "p_data and p_g are swapped"),
    (lambda x, p, q, d: integrate.trapezoid(np.log(d) + np.log1p(-d), x), "densities are missing"),
    (lambda x, p, q, d: np.sum(_v(x, p, q, d)), "without the spacing dx"),
    (lambda x, p, q, d: np.mean(_v(x, p, q, d)), "np.mean of the integrand is not an integral"),
    (lambda x, p, q, d: integrate.trapezoid(_v(x, p, q, d), x) + 0.01, "with D = 1/2 everywhere V must be"),
    (lambda x, p, q, d: -np.log(4), "with D = D*: V should be"),
    (lambda x, p, q, d: integrate.trapezoid(p * np.log(d) + q * np.log(1 - d), x) * 0 + np.nan, "NaN"),
])
def test_value_wrong_answers(wrong, message, capsys):
    ok, out = run(nb02.check_value, wrong, capsys)
    assert not ok and message in out, out


# ------------------------------------------------------------------------------ exercise 4
def _m(p, q):
    return (p + q) / 2


def _kl_by_hand(x, p, q):           # no normalisation: what a learner might write without theory.grid_kl
    return integrate.trapezoid(special.rel_entr(p, q), x)


@pytest.mark.parametrize("wrong,message", [
    (lambda x, p, q: theory.grid_kl(p, q, x), "that is KL(P || Q), not JSD"),
    (lambda x, p, q: 0.5 * _kl_by_hand(x, p, p + q) + 0.5 * _kl_by_hand(x, q, p + q), "off by log 2"),
    (lambda x, p, q: theory.grid_kl(p, _m(p, q), x) + theory.grid_kl(q, _m(p, q), x), "twice the JSD"),
    (lambda x, p, q: 0.5 * (theory.grid_kl(p, q, x) + theory.grid_kl(q, p, x)), "symmetrised KL"),
    (lambda x, p, q: theory.grid_kl(p, _m(p, q), x), "only KL(P || M)"),
    (lambda x, p, q: 0.5 * theory.grid_kl(p, _m(p, q), x), "only KL(P || M)/2"),
    (lambda x, p, q: 0.5 * theory.grid_kl(_m(p, q), p, x) + 0.5 * theory.grid_kl(_m(p, q), q, x),
     "KLs are reversed"),
    (lambda x, p, q: SOL.jsd_from_kl(x, p, q) / np.log(2), "in bits"),
    (lambda x, p, q: 0.0, "the JSD is 0.3"),
])
def test_jsd_wrong_answers(wrong, message, capsys):
    ok, out = run(nb02.check_jsd, wrong, capsys)
    assert not ok and message in out, out


def test_jsd_with_m_equal_to_p_plus_q_passes_through_grid_kl(capsys):
    # theory.grid_kl normalises its arguments on the grid, so M = P + Q is read as (P + Q)/2: the right JSD.
    ok, out = run(nb02.check_jsd, lambda x, p, q: 0.5 * theory.grid_kl(p, p + q, x) + 0.5 * theory.grid_kl(q, p + q, x),
                  capsys)
    assert ok, out
