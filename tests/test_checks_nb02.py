"""Notebook 02's exercise checks: pass on the reference solutions, fail with the intended message on
typical wrong answers."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special

from ganlib import theory
from ganlib.checks import load_solutions, nb02
from conftest import run_check as run
from test_checks_messages import CORRECT, NOT_WRITTEN, NOT_YET, cases, lang, phrase  # noqa: F401 (lang: a fixture)

SOL = load_solutions(2)


# ------------------------------------------------------------------------------ reference solutions
@pytest.mark.parametrize("check,name", [(nb02.check_peak, "peak_of_f"), (nb02.check_d_star, "d_star"),
                                        (nb02.check_value, "value_on_grid"), (nb02.check_jsd, "jsd_from_kl")])
def test_reference_solutions_pass(check, name, lang, capsys):
    ok, out = run(check, getattr(SOL, name), capsys)
    assert ok, out
    assert CORRECT[lang] in out and NOT_YET[lang] not in out and {"en": "note:", "ko": "참고:"}[lang] not in out
    phrase(out, lang, "correct", "정답입니다")


def _placeholder(*args):
    raise NotImplementedError


@pytest.mark.parametrize("check", [nb02.check_peak, nb02.check_d_star, nb02.check_value, nb02.check_jsd])
def test_placeholders_fail_gently(check, lang, capsys):
    ok, out = run(check, _placeholder, capsys)
    assert not ok
    phrase(out, lang, NOT_WRITTEN["en"], NOT_WRITTEN["ko"])


# ------------------------------------------------------------------------------ exercise 1
@pytest.mark.parametrize("wrong,message,message_ko", cases([
    (lambda a, b: b / (a + b), "swapped", "뒤바뀌었습니다"),
    (lambda a, b: a / b, "you returned a/b", "a/b를 반환했습니다"),
    (lambda a, b: 0.5, "always return 1/2", "항상 1/2을 반환합니다"),
    (lambda a, b: a / (a + b) + 1e-4, "close but not exact", "가깝지만 정확하지 않습니다"),
    (lambda a, b: a / (a + b) + 0.1, "not 0: the peak is at a smaller y", "최댓값은 더 작은 y 쪽에"),
    (lambda a, b: 1.5, "outside (0, 1)", "(0, 1) 밖의 값입니다"),
    (lambda a, b: [a, b], "return one number", "숫자 y 하나를 반환해야"),
]))
def test_peak_wrong_answers(wrong, message, message_ko, lang, capsys):
    ok, out = run(nb02.check_peak, wrong, capsys)
    assert not ok
    phrase(out, lang, message, message_ko)


# ------------------------------------------------------------------------------ exercise 2
@pytest.mark.parametrize("wrong,message,message_ko", cases([
    (lambda x, p, q: q(x) / (p(x) + q(x)), "swapped p_data and p_g", "p_data와 p_g를 바꿔 썼습니다"),
    (lambda x, p, q: p(x) / q(x), "ratio p_data/p_g", "비율 p_data/p_g"),
    (lambda x, p, q: np.full_like(x, 0.5), "1/2 everywhere", "모든 곳에서 1/2을"),
    (lambda x, p, q: p(x) - q(x), "outside [0, 1]", "[0, 1]을 벗어납니다"),
    (lambda x, p, q: p(x) / (p(x) + q(x) + 0.1), "D*(x) = p_data(x) / (p_data(x) + p_g(x))", "따라서 D* = "),
    (lambda x, p, q: float(p(x)[0]), "one value per point", "점마다 값이 하나씩"),
]))
def test_d_star_wrong_answers(wrong, message, message_ko, lang, capsys):
    ok, out = run(nb02.check_d_star, wrong, capsys)
    assert not ok
    phrase(out, lang, message, message_ko)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_d_star_naive_division_passes_with_a_note(lang, capsys):
    ok, out = run(nb02.check_d_star, lambda x, p, q: p(x) / (p(x) + q(x)), capsys)
    assert ok
    phrase(out, lang, "note: at x = 60", "참고: x = 60에서는")


# ------------------------------------------------------------------------------ exercise 3
def _v(x, p, q, d):
    return special.xlogy(p, d) + special.xlog1py(q, -d)


@pytest.mark.parametrize("wrong,message,message_ko", cases([
    (lambda x, p, q, d: -SOL.value_on_grid(x, p, q, d), "sign is flipped", "부호가 반대입니다"),
    (lambda x, p, q, d: integrate.trapezoid(special.xlogy(p, d), x), "only the real-data term", "진짜 데이터 항만"),
    (lambda x, p, q, d: integrate.trapezoid(special.xlog1py(q, -d), x), "only the fake term", "가짜 항만 있습니다"),
    (lambda x, p, q, d: integrate.trapezoid(special.xlogy(p, d) + special.xlogy(q, d), x), "must be log(1 - D)",
     "log(1 - D)여야 합니다"),
    (lambda x, p, q, d: integrate.trapezoid(special.xlogy(q, d) + special.xlog1py(p, -d), x), "p_data and p_g are swapped",
     "p_data와 p_g가 뒤바뀌었습니다"),
    (lambda x, p, q, d: integrate.trapezoid(np.log(d) + np.log1p(-d), x), "densities are missing", "밀도가 빠졌습니다"),
    (lambda x, p, q, d: np.sum(_v(x, p, q, d)), "without the spacing dx", "간격 dx 없이"),
    (lambda x, p, q, d: np.mean(_v(x, p, q, d)), "np.mean of the integrand is not an integral", "np.mean은 적분이 아닙니다"),
    (lambda x, p, q, d: integrate.trapezoid(_v(x, p, q, d), x) + 0.01, "with D = 1/2 everywhere V must be",
     "모든 곳에서 D = 1/2이면 V ="),
    (lambda x, p, q, d: -np.log(4), "with D = D*: V should be", "D = D*일 때 V의 정답은"),
    (lambda x, p, q, d: integrate.trapezoid(p * np.log(d) + q * np.log(1 - d), x) * 0 + np.nan, "NaN",
     "결과가 NaN입니다"),
]))
def test_value_wrong_answers(wrong, message, message_ko, lang, capsys):
    ok, out = run(nb02.check_value, wrong, capsys)
    assert not ok
    phrase(out, lang, message, message_ko)


# ------------------------------------------------------------------------------ exercise 4
def _m(p, q):
    return (p + q) / 2


def _kl_by_hand(x, p, q):           # no normalisation: what a learner might write without theory.grid_kl
    return integrate.trapezoid(special.rel_entr(p, q), x)


@pytest.mark.parametrize("wrong,message,message_ko", cases([
    (lambda x, p, q: theory.grid_kl(p, q, x), "that is KL(P || Q), not JSD", "JSD가 아니라 KL(P || Q)입니다"),
    (lambda x, p, q: 0.5 * _kl_by_hand(x, p, p + q) + 0.5 * _kl_by_hand(x, q, p + q), "off by log 2",
     "log 2만큼 어긋납니다"),
    (lambda x, p, q: theory.grid_kl(p, _m(p, q), x) + theory.grid_kl(q, _m(p, q), x), "twice the JSD", "JSD의 두 배"),
    (lambda x, p, q: 0.5 * (theory.grid_kl(p, q, x) + theory.grid_kl(q, p, x)), "symmetrised KL", "대칭화한 KL"),
    (lambda x, p, q: theory.grid_kl(p, _m(p, q), x), "only KL(P || M)", "KL(P || M)만 있습니다"),
    (lambda x, p, q: 0.5 * theory.grid_kl(p, _m(p, q), x), "only KL(P || M)/2", "KL(P || M)/2만 있습니다"),
    (lambda x, p, q: 0.5 * theory.grid_kl(_m(p, q), p, x) + 0.5 * theory.grid_kl(_m(p, q), q, x),
     "KLs are reversed", "KL의 인자 순서가 뒤집혔습니다"),
    (lambda x, p, q: SOL.jsd_from_kl(x, p, q) / np.log(2), "in bits", "비트 단위"),
    (lambda x, p, q: 0.0, "the JSD is 0.3", "JSD는 0.3"),
]))
def test_jsd_wrong_answers(wrong, message, message_ko, lang, capsys):
    ok, out = run(nb02.check_jsd, wrong, capsys)
    assert not ok
    phrase(out, lang, message, message_ko)


def test_jsd_with_m_equal_to_p_plus_q_passes_through_grid_kl(lang, capsys):
    # theory.grid_kl normalises its arguments on the grid, so M = P + Q is read as (P + Q)/2: the right JSD.
    ok, out = run(nb02.check_jsd, lambda x, p, q: 0.5 * theory.grid_kl(p, p + q, x) + 0.5 * theory.grid_kl(q, p + q, x),
                  capsys)
    assert ok, out
