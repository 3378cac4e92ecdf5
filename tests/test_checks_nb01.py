"""Notebook 01's exercise checks accept the reference solutions and name typical mistakes."""
import math

import pytest
import torch
import torch.nn.functional as F

from ganlib.checks import load_solutions, nb01

sol = load_solutions(1)


def _not_written(*args):
    raise NotImplementedError


def test_solutions_pass(capsys):
    assert nb01.check_discriminator_loss(sol.discriminator_loss)
    assert nb01.check_change_of_variables(sol.density_by_change_of_variables)
    assert nb01.check_one_iteration(sol.one_iteration)
    out = capsys.readouterr().out
    assert out.count("correct") == 3 and "not yet" not in out


@pytest.mark.parametrize("check", [nb01.check_discriminator_loss, nb01.check_change_of_variables,
                                   nb01.check_one_iteration])
def test_placeholders_run_and_fail(check, capsys):
    assert not check(_not_written)
    assert "not written yet" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, message", [
    (lambda r, f: -sol.discriminator_loss(r, f), "wrong sign"),
    (lambda r, f: sol.discriminator_loss(torch.sigmoid(r), torch.sigmoid(f)), "sigmoid twice"),
    (lambda r, f: F.softplus(-r).mean() + F.softplus(-f).mean(), "labelled 0"),
    (lambda r, f: F.softplus(-r).sum() + F.softplus(f).sum(), "not the sum"),
    (lambda r, f: -(torch.log(torch.sigmoid(r)).mean() + torch.log(torch.sigmoid(f)).mean()), "labelled 0"),
    (lambda r, f: -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()), "overflows"),
    (lambda r, f: torch.zeros(3), "one number"),
])
def test_discriminator_loss_mistakes(wrong, message, capsys):
    assert not nb01.check_discriminator_loss(wrong)
    assert message in capsys.readouterr().out


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


@pytest.mark.parametrize("wrong, message", [
    (_no_jacobian, "missing the 1/|G'(z)| factor"),
    (_times_jacobian, "divide instead"),
    (_no_abs, "use |G'(z)|"),
    (_pz_at_x, "evaluate p_z at the noise z"),
    (_z_not_x, "x should be G(z)"),
    (lambda G, z: G(z).detach(), "return a pair"),
    (lambda G, z: (G(z).detach(), torch.ones(3)), "one x and one density value per z"),
])
def test_change_of_variables_mistakes(wrong, message, capsys):
    assert not nb01.check_change_of_variables(wrong)
    assert message in capsys.readouterr().out


def _g_first(tr):
    tr.g_step()
    for _ in range(tr.k):
        tr.d_step()


def _one_d_step(tr):
    tr.d_step()
    tr.g_step()


def _k_g_steps(tr):
    for _ in range(tr.k):
        tr.d_step()
        tr.g_step()


@pytest.mark.parametrize("wrong, message", [
    (_g_first, "update D first"),
    (_one_d_step, "trainer.k = 3 D steps"),
    (_k_g_steps, "one G step per iteration"),
    (lambda tr: None, "nothing was trained"),
    (lambda tr: tr.train_step(), "you called trainer.train_step()"),
])
def test_one_iteration_mistakes(wrong, message, capsys):
    assert not nb01.check_one_iteration(wrong)
    assert message in capsys.readouterr().out
