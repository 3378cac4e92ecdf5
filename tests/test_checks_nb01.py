"""Notebook 01's exercise checks accept the reference solutions and name typical mistakes."""
import math

import pytest
import torch
import torch.nn.functional as F

from ganlib.checks import load_solutions, nb01
from test_checks_messages import CORRECT, NOT_WRITTEN, NOT_YET, cases, lang, phrase  # noqa: F401 (lang: a fixture)

sol = load_solutions(1)


def _not_written(*args):
    raise NotImplementedError


def test_solutions_pass(lang, capsys):
    assert nb01.check_discriminator_loss(sol.discriminator_loss)
    assert nb01.check_change_of_variables(sol.density_by_change_of_variables)
    assert nb01.check_d_step(sol.my_d_step)
    out = capsys.readouterr().out
    assert out.count(CORRECT[lang]) == 3 and NOT_YET[lang] not in out
    phrase(out, lang, "correct", "정답입니다")


@pytest.mark.parametrize("check", [nb01.check_discriminator_loss, nb01.check_change_of_variables,
                                   nb01.check_d_step])
def test_placeholders_run_and_fail(check, lang, capsys):
    assert not check(_not_written)
    phrase(capsys.readouterr().out, lang, NOT_WRITTEN["en"], NOT_WRITTEN["ko"])


@pytest.mark.parametrize("wrong, message, message_ko", cases([
    (lambda r, f: -sol.discriminator_loss(r, f), "wrong sign", "부호가 반대입니다"),
    (lambda r, f: sol.discriminator_loss(torch.sigmoid(r), torch.sigmoid(f)), "sigmoid twice", "시그모이드를 두 번"),
    (lambda r, f: F.softplus(-r).mean() + F.softplus(-f).mean(), "labelled 0", "레이블은 0이어야"),
    (lambda r, f: F.softplus(-r).sum() + F.softplus(f).sum(), "not the sum", "합이 아니라"),
    (lambda r, f: -(torch.log(torch.sigmoid(r)).mean() + torch.log(torch.sigmoid(f)).mean()), "labelled 0",
     "레이블은 0이어야"),
    (lambda r, f: -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()), "overflows",
     "오버플로"),
    (lambda r, f: torch.zeros(3), "one number", "숫자 하나"),
]))
def test_discriminator_loss_mistakes(wrong, message, message_ko, lang, capsys):
    assert not nb01.check_discriminator_loss(wrong)
    phrase(capsys.readouterr().out, lang, message, message_ko)


def _phi(z):
    return torch.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)


def _grad(G, z):
    z = z.detach().clone().requires_grad_(True)
    x = G(z)
    return x.detach(), torch.autograd.grad(x.sum(), z)[0], z.detach()


def _no_jacobian(G, z):
    x, _, z = _grad(G, z)
    return x, _phi(z)


def _times_jacobian(G, z):
    x, d, z = _grad(G, z)
    return x, _phi(z) * d.abs()


def _no_abs(G, z):
    x, d, z = _grad(G, z)
    return x, _phi(z) / d


def _pz_at_x(G, z):
    x, d, _ = _grad(G, z)
    return x, _phi(x) / d.abs()


def _z_not_x(G, z):
    return z, sol.density_by_change_of_variables(G, z)[1]


@pytest.mark.parametrize("wrong, message, message_ko", cases([
    (_no_jacobian, "missing the 1/|G'(z)| factor", "1/|G'(z)| 인자가 빠졌습니다"),
    (_times_jacobian, "divide instead", "나누어야 합니다"),
    (_no_abs, "use |G'(z)|", "|G'(z)|를 써야 합니다"),
    (_pz_at_x, "evaluate p_z at the noise z", "노이즈 z에서 계산해야"),
    (_z_not_x, "x should be G(z)", "x는 G(z)"),
    (lambda G, z: G(z).detach(), "return a pair", "쌍을 반환해야"),
    (lambda G, z: (G(z).detach(), torch.ones(3)), "one x and one density value per z", "z마다 x 하나와 밀도 값 하나"),
]))
def test_change_of_variables_mistakes(wrong, message, message_ko, lang, capsys):
    assert not nb01.check_change_of_variables(wrong)
    phrase(capsys.readouterr().out, lang, message, message_ko)


def _d_step_with(real_label=1.0, fake_label=0.0, sign=1.0, detach=True, zero_grad=True, squash=False, step=True,
                 opt_of_g=False, ret="loss"):
    """A learner's D step with one mistake switched on."""
    def fn(G, D, opt_d, real, z):
        fake = G(z).detach() if detach else G(z)
        a_r, a_f = D(real), D(fake)
        if squash:
            a_r, a_f = torch.sigmoid(a_r), torch.sigmoid(a_f)
        loss = sign * (F.binary_cross_entropy_with_logits(a_r, torch.full_like(a_r, real_label))
                       + F.binary_cross_entropy_with_logits(a_f, torch.full_like(a_f, fake_label)))
        if zero_grad:
            opt_d.zero_grad()
        loss.backward()
        if step:
            opt_d.step()
        if opt_of_g:
            torch.optim.SGD(G.parameters(), lr=0.1).step()
        return loss if ret == "loss" else None
    return fn


@pytest.mark.parametrize("wrong, message, message_ko", cases([
    (_d_step_with(sign=-1.0), "wrong sign", "부호가 반대입니다"),
    (_d_step_with(real_label=0.0, fake_label=1.0), "labels swapped", "레이블이 뒤바뀌었습니다"),
    (_d_step_with(fake_label=1.0), "fakes must be labelled 0", "가짜 샘플의 레이블이 0이어야"),
    (_d_step_with(squash=True), "without a sigmoid first", "시그모이드를 먼저 적용하지 말고"),
    (_d_step_with(zero_grad=False), "call opt_d.zero_grad()", "opt_d.zero_grad()를 호출하십시오"),
    (_d_step_with(detach=False), "detach the fakes", "판별자 단계에서 .detach()가 빠졌습니다"),
    (_d_step_with(detach=False, opt_of_g=True), "G's weights changed", "G의 가중치가 바뀌었습니다"),
    (_d_step_with(step=False), "call opt_d.step()", "opt_d.step()을 호출하십시오"),
    (_d_step_with(ret=None), "return the loss", "손실 L_D(스칼라 텐서)를 반환해야"),
]))
def test_d_step_mistakes(wrong, message, message_ko, lang, capsys):
    assert not nb01.check_d_step(wrong)
    phrase(capsys.readouterr().out, lang, message, message_ko)


def test_d_step_check_accepts_the_library_step(lang, capsys):
    from ganlib import train
    assert nb01.check_d_step(lambda G, D, opt, real, z: train.d_step(G, D, opt, real, z)[0])
    phrase(capsys.readouterr().out, lang, "correct", "정답입니다")
