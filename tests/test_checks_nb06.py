"""The notebook-06 checks pass on the reference solutions and name typical mistakes."""
from __future__ import annotations

import math

import pytest
import torch

from ganlib import checks
from ganlib.checks import nb06
from conftest import run_check as run
from test_checks_messages import CORRECT, NOT_WRITTEN, lang, phrase  # noqa: F401 (lang: a fixture)

SOL = checks.load_solutions(6)


@pytest.mark.parametrize("check, fn", [
    (nb06.check_slerp, SOL.slerp),
    (nb06.check_classifier_score, SOL.classifier_score),
    (nb06.check_frechet_1d, SOL.frechet_1d),
])
def test_solutions_pass(check, fn, lang, capsys):
    ok, out = run(check, fn, capsys)
    assert ok, out
    phrase(out, lang, CORRECT["en"], CORRECT["ko"])


def test_solution_slerp_agrees_with_the_library():
    from ganlib import latent
    g = torch.Generator().manual_seed(1)
    z0, z1 = torch.randn(20, generator=g), torch.randn(20, generator=g)
    for t in (0.0, 0.3, 1.0):
        assert torch.allclose(SOL.slerp(z0, z1, t), latent.slerp(z0, z1, t), atol=1e-5)


def test_solution_score_agrees_with_the_library():
    from ganlib import image_metrics
    p = torch.softmax(torch.randn(30, 10, generator=torch.Generator().manual_seed(2), dtype=torch.float64), 1)
    assert SOL.classifier_score(p) == pytest.approx(image_metrics.classifier_score(p), rel=1e-9)


def test_solution_frechet_agrees_with_the_library():
    from ganlib import image_metrics
    d = image_metrics.frechet_distance([1.0], [[4.0]], [-0.5], [[0.25]])
    assert SOL.frechet_1d(1.0, 2.0, -0.5, 0.5) == pytest.approx(d, rel=1e-12)


# ------------------------------------------------------------------ slerp mistakes
def test_slerp_placeholder(lang, capsys):
    def placeholder(z0, z1, t):
        raise NotImplementedError
    ok, out = run(nb06.check_slerp, placeholder, capsys)
    assert not ok
    phrase(out, lang, NOT_WRITTEN["en"], NOT_WRITTEN["ko"])


def test_slerp_lerp_is_named(lang, capsys):
    ok, out = run(nb06.check_slerp, lambda z0, z1, t: (1 - t) * z0 + t * z1, capsys)
    assert not ok
    phrase(out, lang, "linear interpolation", "선형 보간")


def test_slerp_swapped_endpoints(lang, capsys):
    ok, out = run(nb06.check_slerp, lambda z0, z1, t: SOL.slerp(z0, z1, 1 - t), capsys)
    assert not ok
    phrase(out, lang, "swapped", "양 끝점이 뒤바뀌었습니다")


def test_slerp_missing_division_by_sin(lang, capsys):
    def wrong(z0, z1, t):
        w = torch.arccos((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1))
        return torch.sin((1 - t) * w) * z0 + torch.sin(t * w) * z1
    ok, out = run(nb06.check_slerp, wrong, capsys)
    assert not ok
    phrase(out, lang, "sin W", "sin W로 나누지 않았습니다")


def test_slerp_unnormalised_angle(lang, capsys):
    def wrong(z0, z1, t):
        w = torch.arccos(z0 @ z1)  # forgot to divide by the norms
        return (torch.sin((1 - t) * w) * z0 + torch.sin(t * w) * z1) / torch.sin(w)
    ok, out = run(nb06.check_slerp, wrong, capsys)
    assert not ok
    phrase(out, lang, "NaN" if "NaN" in out else "angle between", "NaN" if "NaN" in out else "사이의 각")


# ------------------------------------------------------------------ classifier-score mistakes
def _kl_parts(p):
    py = p.mean(0, keepdim=True)
    return (p * (torch.log(p + 1e-12) - torch.log(py + 1e-12))).sum(1)


def test_score_missing_exp(lang, capsys):
    ok, out = run(nb06.check_classifier_score, lambda p: float(_kl_parts(p).mean()), capsys)
    assert not ok
    phrase(out, lang, "exponential", "지수 함수를 적용하지 않았습니다")


def test_score_exp_inside_mean(lang, capsys):
    ok, out = run(nb06.check_classifier_score, lambda p: float(torch.exp(_kl_parts(p)).mean()), capsys)
    assert not ok
    phrase(out, lang, "inside the average", "평균 안에 들어가 있습니다")


def test_score_uniform_prior(lang, capsys):
    def wrong(p):
        return float(torch.exp((p * (torch.log(p + 1e-12) + math.log(10))).sum(1).mean()))
    ok, out = run(nb06.check_classifier_score, wrong, capsys)
    assert not ok
    phrase(out, lang, "not a uniform", "균등 분포 1/10이 아니라")


def test_score_not_averaged(lang, capsys):
    ok, out = run(nb06.check_classifier_score, lambda p: torch.exp(_kl_parts(p)), capsys)
    assert not ok
    phrase(out, lang, "one number", "숫자 하나를 반환해야")


# ------------------------------------------------------------------ Frechet mistakes
def test_frechet_sigma_as_variance(lang, capsys):
    ok, out = run(nb06.check_frechet_1d,
                  lambda m1, s1, m2, s2: (m1 - m2) ** 2 + s1 + s2 - 2 * math.sqrt(s1 * s2), capsys)
    assert not ok
    phrase(out, lang, "standard deviations", "표준편차")


def test_frechet_returns_distance_not_square(lang, capsys):
    ok, out = run(nb06.check_frechet_1d, lambda m1, s1, m2, s2: math.sqrt((m1 - m2) ** 2 + (s1 - s2) ** 2), capsys)
    assert not ok
    phrase(out, lang, "squared", "프레셰 거리의 *제곱*")


def test_frechet_missing_factor_two(lang, capsys):
    ok, out = run(nb06.check_frechet_1d,
                  lambda m1, s1, m2, s2: (m1 - m2) ** 2 + s1 ** 2 + s2 ** 2 - s1 * s2, capsys)
    assert not ok
    phrase(out, lang, "factor 2", "인자 2가 붙습니다")
    phrase(out, lang, "distance 0", "거리는 0이어야")


def test_frechet_placeholder_returns_zero(lang, capsys):
    ok, out = run(nb06.check_frechet_1d, lambda m1, s1, m2, s2: 0.0, capsys)
    assert not ok
    phrase(out, lang, "reference gives", "참조 구현은")
