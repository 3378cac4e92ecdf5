"""The notebook-06 checks pass on the reference solutions and name typical mistakes."""
from __future__ import annotations

import math

import pytest
import torch

from ganlib import checks
from ganlib.checks import nb06
from conftest import run_check as run

SOL = checks.load_solutions(6)


@pytest.mark.parametrize("check, fn", [
    (nb06.check_slerp, SOL.slerp),
    (nb06.check_classifier_score, SOL.classifier_score),
    (nb06.check_frechet_1d, SOL.frechet_1d),
])
def test_solutions_pass(check, fn, capsys):
    ok, out = run(check, fn, capsys)
    assert ok, out
    assert "correct" in out


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
def test_slerp_placeholder(capsys):
    def placeholder(z0, z1, t):
        raise NotImplementedError
    ok, out = run(nb06.check_slerp, placeholder, capsys)
    assert not ok and "not written yet" in out


def test_slerp_lerp_is_named(capsys):
    ok, out = run(nb06.check_slerp, lambda z0, z1, t: (1 - t) * z0 + t * z1, capsys)
    assert not ok and "linear interpolation" in out


def test_slerp_swapped_endpoints(capsys):
    ok, out = run(nb06.check_slerp, lambda z0, z1, t: SOL.slerp(z0, z1, 1 - t), capsys)
    assert not ok and "swapped" in out


def test_slerp_missing_division_by_sin(capsys):
    def wrong(z0, z1, t):
        w = torch.arccos((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1))
        return torch.sin((1 - t) * w) * z0 + torch.sin(t * w) * z1
    ok, out = run(nb06.check_slerp, wrong, capsys)
    assert not ok and "sin W" in out


def test_slerp_unnormalised_angle(capsys):
    def wrong(z0, z1, t):
        w = torch.arccos(z0 @ z1)  # forgot to divide by the norms
        return (torch.sin((1 - t) * w) * z0 + torch.sin(t * w) * z1) / torch.sin(w)
    ok, out = run(nb06.check_slerp, wrong, capsys)
    assert not ok and ("NaN" in out or "angle between" in out)


# ------------------------------------------------------------------ classifier-score mistakes
def _kl_parts(p):
    py = p.mean(0, keepdim=True)
    return (p * (torch.log(p + 1e-12) - torch.log(py + 1e-12))).sum(1)


def test_score_missing_exp(capsys):
    ok, out = run(nb06.check_classifier_score, lambda p: float(_kl_parts(p).mean()), capsys)
    assert not ok and "exponential" in out


def test_score_exp_inside_mean(capsys):
    ok, out = run(nb06.check_classifier_score, lambda p: float(torch.exp(_kl_parts(p)).mean()), capsys)
    assert not ok and "inside the average" in out


def test_score_uniform_prior(capsys):
    def wrong(p):
        return float(torch.exp((p * (torch.log(p + 1e-12) + math.log(10))).sum(1).mean()))
    ok, out = run(nb06.check_classifier_score, wrong, capsys)
    assert not ok and "not a uniform" in out


def test_score_not_averaged(capsys):
    ok, out = run(nb06.check_classifier_score, lambda p: torch.exp(_kl_parts(p)), capsys)
    assert not ok and "one number" in out


# ------------------------------------------------------------------ Frechet mistakes
def test_frechet_sigma_as_variance(capsys):
    ok, out = run(nb06.check_frechet_1d,
                  lambda m1, s1, m2, s2: (m1 - m2) ** 2 + s1 + s2 - 2 * math.sqrt(s1 * s2), capsys)
    assert not ok and "standard deviations" in out


def test_frechet_returns_distance_not_square(capsys):
    ok, out = run(nb06.check_frechet_1d, lambda m1, s1, m2, s2: math.sqrt((m1 - m2) ** 2 + (s1 - s2) ** 2), capsys)
    assert not ok and "squared" in out


def test_frechet_missing_factor_two(capsys):
    ok, out = run(nb06.check_frechet_1d,
                  lambda m1, s1, m2, s2: (m1 - m2) ** 2 + s1 ** 2 + s2 ** 2 - s1 * s2, capsys)
    assert not ok and "factor 2" in out and "distance 0" in out


def test_frechet_placeholder_returns_zero(capsys):
    ok, out = run(nb06.check_frechet_1d, lambda m1, s1, m2, s2: 0.0, capsys)
    assert not ok and "reference gives" in out
