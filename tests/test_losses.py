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


def test_values_at_confident_logits_are_right_not_just_finite():
    m = 4
    right_r, right_f = torch.full((m,), 500.0), torch.full((m,), -500.0)   # D sure and right
    assert losses.discriminator_loss(right_r, right_f).item() == pytest.approx(0.0, abs=1e-30)
    # D sure and wrong: -log sigma(-500) = 500 for each term
    assert losses.discriminator_loss(right_f, right_r).item() == pytest.approx(1000.0, rel=1e-6)
    assert losses.generator_loss_nonsaturating(right_f).item() == pytest.approx(500.0, rel=1e-6)
    assert losses.generator_loss_saturating(right_f).item() == pytest.approx(0.0, abs=1e-30)


def test_equal_to_bce_with_logits_and_shape_agnostic():
    r, f = torch.randn(16, 1, generator=torch.Generator().manual_seed(0)), torch.randn(16, 1)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    want = bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f))
    torch.testing.assert_close(losses.discriminator_loss(r, f), want)
    torch.testing.assert_close(losses.discriminator_loss(r[:, 0], f[:, 0]), want)
    torch.testing.assert_close(losses.generator_loss_nonsaturating(f), bce(f, torch.ones_like(f)))


def test_gradients_of_the_library_losses_wrt_logits():
    m = 25
    a = torch.linspace(-12, 12, m, requires_grad=True)
    (g_sat,) = torch.autograd.grad(losses.generator_loss_saturating(a), a)
    (g_ns,) = torch.autograd.grad(losses.generator_loss_nonsaturating(a), a)
    s = torch.sigmoid(a.detach())
    torch.testing.assert_close(g_sat, -s / m)          # d/da log(1 - sigma(a)) = -sigma(a)
    torch.testing.assert_close(g_ns, -(1 - s) / m)     # d/da -log sigma(a) = -(1 - sigma(a))
    # where D confidently rejects the fakes (a = -12) the saturating gradient has vanished, the other has not
    assert abs(g_sat[0].item()) * m < 1e-5 and abs(g_ns[0].item()) * m > 0.99
    r = torch.linspace(-3, 3, m, requires_grad=True)
    f = torch.linspace(-2, 4, m, requires_grad=True)
    gr, gf = torch.autograd.grad(losses.discriminator_loss(r, f), (r, f))
    torch.testing.assert_close(gr, -(1 - torch.sigmoid(r.detach())) / m)
    torch.testing.assert_close(gf, torch.sigmoid(f.detach()) / m)


def test_callables_pass_through_and_bad_d_loss_names():
    fn = lambda a: a.mean()  # noqa: E731
    assert losses.get_generator_loss(fn) is fn
    assert losses.get_discriminator_loss("bce") is losses.discriminator_loss
    with pytest.raises(ValueError, match="d_loss"):
        losses.get_discriminator_loss("wasserstein")


def test_one_sided_label_smoothing_is_bce_against_target_t():
    a_real, a_fake = torch.randn(50, 1), torch.randn(50, 1)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    got = losses.discriminator_loss(a_real, a_fake, real_label=0.9)
    want = bce(a_real, torch.full_like(a_real, 0.9)) + bce(a_fake, torch.zeros_like(a_fake))
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(losses.discriminator_loss(a_real, a_fake, real_label=1.0),
                               losses.discriminator_loss(a_real, a_fake))


@pytest.mark.parametrize("p_data, p_g", [(0.7, 0.3), (0.2, 0.5), (0.5, 0.5)])
def test_one_sided_smoothing_moves_the_optimum_to_t_p_data_over_the_sum(p_data, p_g):
    """At one x, minimise p_data * BCE(a, t) + p_g * BCE(a, 0) over the logit a: D* = t p_data / (p_data + p_g)."""
    t = 0.9
    a = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([a], lr=1, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        # discriminator_loss averages each term over its batch: weight them by the densities
        loss = p_data * losses.discriminator_loss(a, torch.full((1,), -1e4), real_label=t) \
            + p_g * torch.nn.functional.softplus(a).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert torch.sigmoid(a).item() == pytest.approx(t * p_data / (p_data + p_g), abs=1e-4)
