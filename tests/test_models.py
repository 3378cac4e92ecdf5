"""The MNIST model pairs: shapes, the DCGAN layers of seed 002, D's depth option, initialisation."""
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
