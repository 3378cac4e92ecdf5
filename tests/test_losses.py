"""Losses from logits agree with the naive formulas and stay finite when D is confident."""
import pytest
import torch

from ganlib import losses


def test_against_naive_formulas():
    r, f = torch.tensor([0.3, -1.2, 2.0]), torch.tensor([-0.7, 0.4])
    d_r, d_f = torch.sigmoid(r), torch.sigmoid(f)
    assert losses.discriminator_loss(r, f).item() == pytest.approx(
        (-(torch.log(d_r).mean() + torch.log(1 - d_f).mean())).item(), rel=1e-6)
    assert losses.generator_loss_saturating(f).item() == pytest.approx(torch.log(1 - d_f).mean().item(), rel=1e-6)
    assert losses.generator_loss_nonsaturating(f).item() == pytest.approx(-torch.log(d_f).mean().item(), rel=1e-6)


def test_stable_at_large_logits():
    big = torch.tensor([-500.0, 500.0])
    for value in (losses.discriminator_loss(big, big), losses.generator_loss_saturating(big),
                  losses.generator_loss_nonsaturating(big)):
        assert torch.isfinite(value)


def test_gradient_identities():
    a = torch.linspace(-6, 6, 25, requires_grad=True)
    (g_sat,) = torch.autograd.grad(-torch.nn.functional.softplus(a).sum(), a)
    (g_ns,) = torch.autograd.grad(-torch.nn.functional.softplus(-a).sum(), a)
    torch.testing.assert_close(g_sat, -torch.sigmoid(a))          # d/da log(1 - sigma(a))
    torch.testing.assert_close(g_ns, 1 - torch.sigmoid(a))        # d/da log sigma(a)


def test_lookup_by_name():
    assert losses.get_generator_loss("ns") is losses.generator_loss_nonsaturating
    assert losses.get_generator_loss("saturating") is losses.generator_loss_saturating
    with pytest.raises(ValueError, match="g_loss"):
        losses.get_generator_loss("hinge")
