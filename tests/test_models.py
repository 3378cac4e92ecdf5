"""The MNIST model pairs: shapes, the DCGAN layers, D's depth option, initialisation."""
import pytest
import torch
from torch import nn

from ganlib import models


def test_dcgan_generator_is_seed_002s():
    G, _ = models.mnist_pair("dcgan")
    convs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0], c.padding[0]) for c in convs] == \
        [(100, 256, 7, 1, 0), (256, 128, 4, 2, 1), (128, 1, 4, 2, 1)]
    with torch.no_grad():
        x = G(torch.randn(3, 100))
    assert x.shape == (3, 1, 28, 28) and float(x.abs().max()) <= 1.0


@pytest.mark.parametrize("depth, feature_shape", [(2, (128, 7, 7)), (3, (256, 4, 4))])
def test_dcgan_discriminator_depths(depth, feature_shape):
    _, D = models.mnist_pair("dcgan", d_depth=depth)
    x = torch.randn(5, 1, 28, 28)
    assert D.features(x).shape[1:] == feature_shape
    assert D(x).shape == (5, 1)
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert n_bn == depth - 1  # no BN on the first layer
    assert not isinstance(D.features[1], nn.BatchNorm2d)


def test_dcgan_weights_start_from_n_0_002():
    G, D = models.mnist_pair("dcgan")
    w = torch.cat([m.weight.detach().flatten() for m in list(G.modules()) + list(D.modules())
                   if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    assert abs(float(w.mean())) < 1e-3 and abs(float(w.std()) - 0.02) < 1e-3


def test_bad_model_arguments_are_named():
    with pytest.raises(ValueError, match="depth must be 2 or 3"):
        models.DCGANDiscriminator(depth=4)
    with pytest.raises(ValueError, match="model='vae'"):
        models.mnist_pair("vae")


# The DCGAN's fast layers are the standard layers computed another way: same parameters, same result.
def _grads(layer, x, forward):
    layer.zero_grad(set_to_none=True)
    x = x.detach().requires_grad_(True)
    y = forward(layer, x)
    (y * torch.linspace(0.5, 1.5, y.numel()).view_as(y)).sum().backward()  # weights that do not cancel
    return y.detach(), x.grad, [p.grad.clone() for p in layer.parameters()]


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("cls, base, args, in_shape", [
    (models.LatentProjection, nn.ConvTranspose2d, (10, 6, 7, 1, 0), (4, 10, 1, 1)),
    (models.WholeImageConv, nn.Conv2d, (6, 1, 4, 1, 0), (4, 6, 4, 4)),
    (models.WholeImageConv, nn.Conv2d, (6, 3, 4, 1, 0), (4, 6, 4, 4)),
    (models.PatchSumConvTranspose2d, nn.ConvTranspose2d, (6, 1, 4, 2, 1), (4, 6, 14, 14)),
    (models.PatchSumConvTranspose2d, nn.ConvTranspose2d, (6, 3, 3, 2, 0), (4, 6, 5, 5)),
    # shapes the shortcut does not cover fall back to the standard layer
    (models.LatentProjection, nn.ConvTranspose2d, (10, 6, 4, 2, 1), (4, 10, 3, 3)),
    (models.WholeImageConv, nn.Conv2d, (6, 1, 4, 1, 0), (4, 6, 5, 5)),
])
def test_fast_dcgan_layers_equal_the_standard_ones(cls, base, args, in_shape, channels_last):
    torch.manual_seed(0)
    layer = cls(*args, bias=True)
    nn.init.normal_(layer.bias)
    x = torch.randn(in_shape)
    if channels_last:
        layer.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    fast = _grads(layer, x, lambda l, v: l(v))
    slow = _grads(layer, x, lambda l, v: base.forward(l, v))
    assert fast[0].shape == slow[0].shape
    assert torch.allclose(fast[0], slow[0], atol=1e-5)
    assert torch.allclose(fast[1], slow[1], atol=1e-5)
    for a, b in zip(fast[2], slow[2]):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-4)
    assert [k for k, _ in layer.state_dict().items()] == [k for k, _ in base(*args).state_dict().items()]


def test_dcgan_pair_uses_the_fast_layers_and_loads_plain_weights():
    G, D = models.mnist_pair("dcgan")
    assert isinstance(G.net[0], models.LatentProjection) and isinstance(G.net[-2], models.PatchSumConvTranspose2d)
    assert isinstance(D.head, models.WholeImageConv)
    # a state dict written by the plain layers (e.g. the shipped generator) loads as it is
    torch.manual_seed(1)
    plain = nn.Sequential(nn.ConvTranspose2d(100, 256, 7, 1, 0, bias=False))
    G.net[:1].load_state_dict(plain.state_dict())
    z = torch.randn(3, 100, 1, 1)
    with torch.no_grad():
        assert torch.allclose(G.net[0](z), plain(z), atol=1e-6)
