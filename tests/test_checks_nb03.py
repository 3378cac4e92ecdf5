"""Notebook 03's exercise checks pass on the reference solutions and name typical mistakes."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganlib.checks import load_solutions
from ganlib.checks import nb03 as C
from test_checks_messages import CORRECT, NOT_WRITTEN, cases, lang, phrase  # noqa: F401 (lang: a fixture)

SOL = load_solutions(3)


def _run(check, fn, capsys):
    ok = check(fn)
    return ok, capsys.readouterr().out


def test_solutions_pass(lang, capsys):
    for check, fn in ((C.check_grad_saturating, SOL.grad_saturating),
                      (C.check_grad_nonsaturating, SOL.grad_nonsaturating),
                      (C.check_nonsaturating_loss, SOL.nonsaturating_loss)):
        ok, out = _run(check, fn, capsys)
        assert ok, out
        phrase(out, lang, CORRECT["en"], CORRECT["ko"])


def test_placeholder_is_feedback_not_crash(lang, capsys):
    def todo(a):
        raise NotImplementedError
    for check in (C.check_grad_saturating, C.check_grad_nonsaturating, C.check_nonsaturating_loss):
        ok, out = _run(check, todo, capsys)
        assert not ok
        phrase(out, lang, NOT_WRITTEN["en"], NOT_WRITTEN["ko"])


@pytest.mark.parametrize("wrong, en, ko", cases([
    (lambda a: torch.sigmoid(a), "wrong sign", "부호가 반대입니다"),
    (lambda a: 1 - torch.sigmoid(a), "swapped", "뒤바뀌었습니다"),
    (lambda a: -torch.sigmoid(a) * (1 - torch.sigmoid(a)), "derivative of D itself", "D 자체의 도함수"),
]))
def test_grad_saturating_mistakes(wrong, en, ko, lang, capsys):
    ok, out = _run(C.check_grad_saturating, wrong, capsys)
    assert not ok
    phrase(out, lang, en, ko)


@pytest.mark.parametrize("wrong, en, ko", cases([
    (lambda a: torch.sigmoid(a) - 1, "wrong sign", "부호가 반대입니다"),
    (lambda a: -torch.sigmoid(a), "swapped", "뒤바뀌었습니다"),
    (lambda a: torch.ones_like(a), "does not match autograd", "일치하지 않습니다"),
]))
def test_grad_nonsaturating_mistakes(wrong, en, ko, lang, capsys):
    ok, out = _run(C.check_grad_nonsaturating, wrong, capsys)
    assert not ok
    phrase(out, lang, en, ko)


@pytest.mark.parametrize("wrong, en, ko", cases([
    (lambda a: -F.softplus(-a).mean(), "wrong sign", "부호가 반대입니다"),            # maximised instead of minimised
    (lambda a: -F.softplus(a).mean(), "losses swapped", "손실이 뒤바뀌었습니다"),     # the saturating loss
    (lambda a: -torch.log(a).mean(), "probabilities instead of logits", "로짓 대신 확률"),  # NaN on negative logits
    (lambda a: F.binary_cross_entropy(a, torch.ones_like(a)), "as probabilities", "확률처럼 다룹니다"),  # raises
    (lambda a: F.binary_cross_entropy_with_logits(torch.sigmoid(a), torch.ones_like(a)), "sigmoid applied twice",
     "시그모이드를 두 번 적용했습니다"),
    (lambda a: F.softplus(-a).sum(), "sum instead of mean", "평균 대신 합을"),
    (lambda a: -torch.log(torch.sigmoid(a)).mean(), "not stable", "안정하지 않습니다"),  # -inf at a = -200
    (lambda a: F.softplus(-a).mean().detach(), "no gradient", "기울기가 전달되지 않습니다"),
]))
def test_nonsaturating_loss_mistakes(wrong, en, ko, lang, capsys):
    ok, out = _run(C.check_nonsaturating_loss, wrong, capsys)
    assert not ok
    phrase(out, lang, en, ko)
