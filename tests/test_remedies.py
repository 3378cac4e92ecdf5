"""Tests for ganlib.remedies: each remedy computes what its paper says and plugs into GANTrainer."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganlib import models, remedies, toy
from ganlib.train import GANTrainer


def test_packing_reshapes_consecutive_samples_into_one_input():
    torch.manual_seed(0)
    inner = models.ToyDiscriminator(x_dim=4, hidden=8)
    D = remedies.PackedDiscriminator(inner, pack=2)
    x = torch.randn(6, 2)
    out = D(x)
    assert out.shape == (3, 1)
    manual = inner(torch.cat([x[0::2], x[1::2]], dim=1))     # rows (x0, x1), (x2, x3), (x4, x5)
    torch.testing.assert_close(out, manual)
    # A single point is drawn as the pack of its copies.
    torch.testing.assert_close(D.pointwise(x[:1]), inner(torch.cat([x[:1], x[:1]], 1)))


def test_packing_refuses_a_batch_it_cannot_divide():
    D = remedies.REMEDIES["pack4"].discriminator(2, hidden=8)
    with pytest.raises(ValueError, match=r"batch_size=10 .*multiple of 4 \(e.g. 8 or 12\)"):
        D(torch.zeros(10, 2))
    with pytest.raises(ValueError, match=r"batch_size=250 .*multiple of 4 \(e.g. 248 or 252\)"):
        remedies.groups(torch.zeros(250, 2), remedies.REMEDIES["pack4"].group)
    assert remedies.groups(torch.zeros(256, 2), 4).shape == (64, 4, 2)
    assert [remedies.get(n).group for n in ("none", "pack2", "pack4", "minibatch-std", "wgan-gp")] == [1, 2, 4, 4, 1]
    # Through the unchanged training loop, the refusal surfaces on the first step.
    ring = toy.ring()
    trainer = GANTrainer(models.ToyGenerator(2, 2, 8), D, toy.Sampler(ring), batch_size=10)
    with pytest.raises(ValueError, match="multiple of 4"):
        trainer.run(1)


def test_packed_discriminator_has_pack_times_the_inputs():
    D = remedies.REMEDIES["pack2"].discriminator(x_dim=2, hidden=16)
    first = next(m for m in D.modules() if isinstance(m, nn.Linear))
    assert first.in_features == 4


def test_minibatch_std_feature_is_the_group_spread():
    inner = models.ToyDiscriminator(x_dim=3, hidden=8)
    D = remedies.MinibatchStdDiscriminator(inner, group=4)
    collapsed = torch.ones(8, 2)
    spread = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]] * 2)
    s = remedies.MinibatchStdDiscriminator.group_std
    assert s(collapsed, 4).max() < 1e-3
    torch.testing.assert_close(s(spread, 4), torch.ones(2))          # std of {0, 2, 0, 2} = 1 per coordinate
    assert D(spread).shape == (8, 1)
    with pytest.raises(ValueError, match="multiple of 4"):
        D(torch.zeros(6, 2))


def test_spectral_norm_makes_every_layer_1_lipschitz():
    torch.manual_seed(0)
    D = remedies.REMEDIES["spectral-norm"].discriminator(2, hidden=32)
    x = torch.randn(64, 2)
    for _ in range(30):                       # power iteration refines sigma_max each forward in train mode
        D(x)
    layers = [m for m in D.modules() if isinstance(m, nn.Linear)]
    assert len(layers) == 3
    for layer in layers:
        assert torch.linalg.matrix_norm(layer.weight.detach(), ord=2).item() == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ValueError, match="no nn.Linear"):
        remedies.spectral_normalize(nn.Tanh())


def test_gradient_penalty_of_linear_critics():
    # f(x) = a . x has gradient a everywhere, so the penalty is w (||a|| - 1)^2 exactly.
    for norm in (1.0, 2.0, 0.5):
        critic = nn.Linear(2, 1, bias=False)
        with torch.no_grad():
            critic.weight.copy_(torch.tensor([[0.6, 0.8]]) * norm)
        gp = remedies.gradient_penalty(weight=3.0)
        value = gp(critic, torch.randn(16, 2), torch.randn(16, 2))
        assert value.item() == pytest.approx(3.0 * (norm - 1) ** 2, abs=1e-6)
    with pytest.raises(ValueError, match="weight"):
        remedies.gradient_penalty(0)


def test_gradient_penalty_is_per_pack():
    # A packed linear critic on (x1, x2) with weights (a, a): the gradient over the pack is (a, a).
    inner = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        inner.weight.copy_(torch.tensor([[0.6, 0.8, 0.6, 0.8]]))
    D = remedies.PackedDiscriminator(inner, 2)
    value = remedies.gradient_penalty(1.0)(D, torch.randn(8, 2), torch.randn(8, 2))
    assert value.item() == pytest.approx((math.sqrt(2) - 1) ** 2, abs=1e-6)


def test_wasserstein_losses_have_the_right_signs():
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([-1.0, 1.0])
    assert remedies.wasserstein_d_loss(real, fake).item() == pytest.approx(0.0 - 3.0)
    assert remedies.wasserstein_g_loss(fake).item() == pytest.approx(0.0)
    kw = remedies.REMEDIES["wgan-gp"].trainer_kwargs("saturating")
    assert kw["g_loss"] is remedies.wasserstein_g_loss and kw["d_loss"] is remedies.wasserstein_d_loss
    assert remedies.REMEDIES["pack2"].trainer_kwargs("saturating") == {"g_loss": "saturating"}


@pytest.mark.parametrize("name", list(remedies.REMEDIES))
def test_every_remedy_trains_through_the_one_loop(name):
    r = remedies.get(name)
    torch.manual_seed(0)
    ring = toy.ring()
    G = models.ToyGenerator(z_dim=2, x_dim=2, hidden=16)
    trainer = GANTrainer(G, r.discriminator(2, 16), toy.Sampler(ring), batch_size=32, seed=0,
                         **r.trainer_kwargs("non-saturating"))
    before = [p.detach().clone() for p in G.parameters()]
    h = trainer.run(20)
    assert len(h) == 20 and all(math.isfinite(v) for v in h.d_loss + h.g_loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, G.parameters()))
    field = remedies.pointwise_logits(trainer.D, torch.zeros(5, 2), G(torch.randn(32, 2)))
    assert field.shape == (5, 1)


def test_unknown_or_inconsistent_remedies_are_refused():
    with pytest.raises(ValueError, match="not known"):
        remedies.get("dropout")
    with pytest.raises(ValueError, match="pack"):
        remedies.Remedy("x", "bad", pack=0)
    with pytest.raises(ValueError, match="minibatch_std"):
        remedies.Remedy("x", "bad", pack=2, minibatch_std=4)
    with pytest.raises(ValueError, match="gp_weight"):
        remedies.Remedy("x", "bad", gp_weight=-1.0)
    with pytest.raises(ValueError, match="minibatch_std"):
        remedies.Remedy("x", "bad", minibatch_std=1)


@pytest.mark.parametrize("name", ["none", "pack2", "minibatch-std", "spectral-norm"])
def test_discriminator_uses_the_requested_activation(name):
    """Remedy.discriminator(activation=...) builds the inner D with that nonlinearity (default tanh)."""
    r = remedies.get(name)
    relu = r.discriminator(2, hidden=8, depth=3, activation=nn.ReLU)
    default = r.discriminator(2, hidden=8, depth=3)
    assert sum(isinstance(m, nn.ReLU) for m in relu.modules()) == 3
    assert not any(isinstance(m, nn.Tanh) for m in relu.modules())
    assert sum(isinstance(m, nn.Tanh) for m in default.modules()) == 3
    assert relu(torch.randn(8, 2)).shape[1] == 1
