"""Notebook 01's exercise checks accept the reference solutions and name typical mistakes."""
import math

import numpy as np
import torch
import torch.nn.functional as F

from ganlib.checks import load_solutions, nb01

sol = load_solutions(1)


def test_solutions_pass(capsys):
    assert nb01.check_discriminator_loss(sol.discriminator_loss)
    assert nb01.check_affine_density(sol.affine_density)
    assert "correct" in capsys.readouterr().out


def test_placeholder_and_wrong_losses(capsys):
    def placeholder(r, f):
        raise NotImplementedError
    assert not nb01.check_discriminator_loss(placeholder)
    assert "not written yet" in capsys.readouterr().out
    assert not nb01.check_discriminator_loss(lambda r, f: -sol.discriminator_loss(r, f))
    assert "wrong sign" in capsys.readouterr().out
    assert not nb01.check_discriminator_loss(lambda r, f: sol.discriminator_loss(torch.sigmoid(r), torch.sigmoid(f)))
    assert "sigmoid twice" in capsys.readouterr().out
    assert not nb01.check_discriminator_loss(lambda r, f: F.softplus(-r).mean() + F.softplus(-f).mean())
    assert "labelled 0" in capsys.readouterr().out
    unstable = lambda r, f: -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean())
    assert not nb01.check_discriminator_loss(unstable)
    assert "overflows" in capsys.readouterr().out


def test_wrong_densities(capsys):
    def no_jacobian(x, a, b):
        z = (np.asarray(x) - b) / a
        return np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    assert not nb01.check_affine_density(no_jacobian)
    assert "1/|G'(z)|" in capsys.readouterr().out
    assert not nb01.check_affine_density(lambda x, a, b: np.zeros(3))
    assert "one density value per x" in capsys.readouterr().out
