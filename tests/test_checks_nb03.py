"""Notebook 03's exercise checks pass on the reference solutions and name typical mistakes."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganlib.checks import load_solutions
from ganlib.checks import nb03 as C

SOL = load_solutions(3)


def _run(check, fn, capsys):
    ok = check(fn)
    return ok, capsys.readouterr().out


def test_solutions_pass(capsys):
    for check, fn in ((C.check_grad_saturating, SOL.grad_saturating),
                      (C.check_grad_nonsaturating, SOL.grad_nonsaturating),
                      (C.check_nonsaturating_loss, SOL.nonsaturating_loss)):
        ok, out = _run(check, fn, capsys)
        assert ok, out
        assert "correct" in out


def test_placeholder_is_feedback_not_crash(capsys):
    def todo(a):
        raise NotImplementedError
    for check in (C.check_grad_saturating, C.check_grad_nonsaturating, C.check_nonsaturating_loss):
        ok, out = _run(check, todo, capsys)
        assert not ok and "not written yet" in out


@pytest.mark.parametrize("wrong, phrase", [
    (lambda a: torch.sigmoid(a), "wrong sign"),
    (lambda a: 1 - torch.sigmoid(a), "swapped"),
    (lambda a: -torch.sigmoid(a) * (1 - torch.sigmoid(a)), "derivative of D itself"),
])
def test_grad_saturating_mistakes(wrong, phrase, capsys):
    ok, out = _run(C.check_grad_saturating, wrong, capsys)
    assert not ok and phrase in out, out


@pytest.mark.parametrize("wrong, phrase", [
    (lambda a: torch.sigmoid(a) - 1, "wrong sign"),
    (lambda a: -torch.sigmoid(a), "swapped"),
    (lambda a: torch.ones_like(a), "does not match autograd"),
])
def test_grad_nonsaturating_mistakes(wrong, phrase, capsys):
    ok, out = _run(C.check_grad_nonsaturating, wrong, capsys)
    assert not ok and phrase in out, out


@pytest.mark.parametrize("wrong, phrase", [
    (lambda a: -F.softplus(-a).mean(), "wrong sign"),                                  # maximised instead of minimised
    (lambda a: -F.softplus(a).mean(), "losses swapped"),                               # the saturating loss
    (lambda a: -torch.log(a).mean(), "probabilities instead of logits"),               # NaN on negative logits
    (lambda a: F.binary_cross_entropy(a, torch.ones_like(a)), "as probabilities"),     # raises outside [0, 1]
    (lambda a: F.binary_cross_entropy_with_logits(torch.sigmoid(a), torch.ones_like(a)), "sigmoid applied twice"),
    (lambda a: F.softplus(-a).sum(), "sum instead of mean"),
    (lambda a: -torch.log(torch.sigmoid(a)).mean(), "not stable"),                     # -inf at a = -200
    (lambda a: F.softplus(-a).mean().detach(), "no gradient"),
])
def test_nonsaturating_loss_mistakes(wrong, phrase, capsys):
    ok, out = _run(C.check_nonsaturating_loss, wrong, capsys)
    assert not ok and phrase in out, out
