"""The notebook-05 checks pass on the reference solutions and name typical mistakes."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ganlib import checks, losses
from ganlib.checks import nb05
from conftest import run_check as run
from test_checks_messages import CORRECT, NOT_WRITTEN, cases, lang, phrase  # noqa: F401 (lang: a fixture)

SOL = checks.load_solutions(5)


@pytest.mark.parametrize("check, fn", [
    (nb05.check_prepare_batch, SOL.prepare_batch),
    (nb05.check_discriminator_loss_step, SOL.discriminator_loss_step),
    (nb05.check_equilibrium_losses, SOL.equilibrium_losses),
])
def test_solutions_pass(check, fn, lang, capsys):
    ok, out = run(check, fn, capsys)
    assert ok, out
    phrase(out, lang, CORRECT["en"], CORRECT["ko"])


def test_solution_agrees_with_the_library():
    """The exercise's D loss equals ganlib.losses.discriminator_loss on the same logits."""
    from ganlib import models
    torch.manual_seed(0)
    G, D = models.mnist_pair("mlp", z_dim=8, width=16)
    real, z = torch.rand(4, 1, 28, 28) * 2 - 1, torch.randn(4, 8)
    with torch.no_grad():
        want = losses.discriminator_loss(D(real), D(G(z)))
    assert float(SOL.discriminator_loss_step(D, G, real, z).detach()) == pytest.approx(float(want), rel=1e-6)
    l_d, l_g = SOL.equilibrium_losses()
    half = torch.zeros(1)  # logit 0 <=> D = 1/2
    assert l_d == pytest.approx(float(losses.discriminator_loss(half, half)))
    assert l_g == pytest.approx(float(losses.generator_loss_nonsaturating(half)))


def _placeholder(*args):
    raise NotImplementedError


@pytest.mark.parametrize("check", [nb05.check_prepare_batch, nb05.check_discriminator_loss_step,
                                   nb05.check_equilibrium_losses])
def test_placeholders_get_feedback(check, lang, capsys):
    ok, out = run(check, _placeholder, capsys)
    assert not ok
    phrase(out, lang, NOT_WRITTEN["en"], NOT_WRITTEN["ko"])


# ------------------------------------------------------------------ exercise 1 mistakes
@pytest.mark.parametrize("fn, words, words_ko", cases([
    (lambda u: u.float().reshape(u.shape[0], -1) / 255, "lie in [0, 1]", "[0, 1] 범위에 있습니다"),
    (lambda u: u.float().reshape(u.shape[0], -1) / 128 - 1, "divide by 127.5", "127.5(= 255 / 2)로 나누십시오"),
    (lambda u: u.float() / 127.5 - 1, "not flattened", "펼치지 않았습니다"),
    (lambda u: (u.float() / 127.5 - 1).reshape(-1), "one long vector", "긴 벡터 하나"),
    (lambda u: (u.float() / 127.5 - 1).reshape(784, u.shape[0]).T, "mixes pixels of different images",
     "서로 다른 이미지의 픽셀이 섞였습니다"),
    (lambda u: u.reshape(u.shape[0], -1) * 2 - 1, "convert to float first", "먼저 float로 바꾸십시오"),
    (lambda u: u.float().reshape(u.shape[0], -1), "not rescaled", "범위를 바꾸지 않았습니다"),
]))
def test_prepare_batch_mistakes(fn, words, words_ko, lang, capsys):
    ok, out = run(nb05.check_prepare_batch, fn, capsys)
    assert not ok
    phrase(out, lang, words, words_ko)


# ------------------------------------------------------------------ exercise 2 mistakes
def _no_detach(D, G, real, z):
    a_r, a_f = D(real), D(G(z))
    return F.softplus(-a_r).mean() + F.softplus(a_f).mean()


def _swapped(D, G, real, z):
    a_r, a_f = D(real), D(G(z).detach())
    return (F.binary_cross_entropy_with_logits(a_r, torch.zeros_like(a_r))
            + F.binary_cross_entropy_with_logits(a_f, torch.ones_like(a_f)))


def _probabilities(D, G, real, z):
    p_r, p_f = torch.sigmoid(D(real)), torch.sigmoid(D(G(z).detach()))
    return (F.binary_cross_entropy_with_logits(p_r, torch.ones_like(p_r))
            + F.binary_cross_entropy_with_logits(p_f, torch.zeros_like(p_f)))


def _value_not_loss(D, G, real, z):
    p_r, p_f = torch.sigmoid(D(real)), torch.sigmoid(D(G(z).detach()))
    return torch.log(p_r).mean() + torch.log(1 - p_f).mean()


def _summed(D, G, real, z):
    a_r, a_f = D(real), D(G(z).detach())
    return F.softplus(-a_r).sum() + F.softplus(a_f).sum()


def _item(D, G, real, z):
    return float(SOL.discriminator_loss_step(D, G, real, z).item())


@pytest.mark.parametrize("fn, words, words_ko", cases([
    (_no_detach, "gradients reach G", "판별자 단계에서 .detach()가 빠졌습니다"),
    (_swapped, "labels are swapped", "레이블이 뒤바뀌었습니다"),
    (_probabilities, "probabilities went into a loss that expects logits", "로짓을 받는 손실 함수에 확률을 넣었습니다"),
    (_value_not_loss, "the sign is flipped", "부호가 반대입니다"),
    (_summed, "use the mean", "평균을 써야 합니다"),
    (_item, "scalar tensor", "스칼라 텐서"),
]))
def test_discriminator_step_mistakes(fn, words, words_ko, lang, capsys):
    ok, out = run(nb05.check_discriminator_loss_step, fn, capsys)
    assert not ok
    phrase(out, lang, words, words_ko)


def test_probability_bce_is_accepted(lang, capsys):
    """BCE on sigmoid outputs is the same number (less stable, but not wrong)."""
    def fn(D, G, real, z):
        p_r, p_f = torch.sigmoid(D(real)), torch.sigmoid(D(G(z).detach()))
        return F.binary_cross_entropy(p_r, torch.ones_like(p_r)) + F.binary_cross_entropy(p_f, torch.zeros_like(p_f))
    ok, out = run(nb05.check_discriminator_loss_step, fn, capsys)
    assert ok, out


# ------------------------------------------------------------------ exercise 3 mistakes
@pytest.mark.parametrize("value, words, words_ko", cases([
    ((0.0, 0.0), "do not go to 0", "0으로 가지 않습니다"),
    ((math.log(2), math.log(2)), "two terms", "두 항이 있고"),
    ((-2 * math.log(2), math.log(2)), "-V = +log 4", "-V = +log 4"),
    ((2 * math.log(2), -math.log(2)), "saturating loss", "포화 손실"),
    ((math.log(2), 2 * math.log(2)), "swapped", "뒤바뀌었습니다"),
    ((2.0, 1.0), "natural logarithm", "자연로그"),
    ("1.386", "pair of numbers", "숫자 쌍"),
]))
def test_equilibrium_mistakes(value, words, words_ko, lang, capsys):
    ok, out = run(nb05.check_equilibrium_losses, lambda: value, capsys)
    assert not ok
    phrase(out, lang, words, words_ko)
