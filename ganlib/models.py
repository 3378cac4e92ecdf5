"""Generators and discriminators: toy MLPs, an MNIST MLP pair, and the 28x28 DCGAN (Radford et al. 2016).

Every discriminator returns *logits* a (shape (m, 1)); D(x) = sigmoid(a) is applied only where a
probability is shown, because the losses are computed from logits (see ``ganlib.losses``).
Generators map noise z (m, z_dim) to samples: (m, x_dim) for toy data, (m, 1, 28, 28) in
[-1, 1] for MNIST. MNIST discriminators take (m, 1, 28, 28) (the MLP flattens it itself).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from . import config

Tensor = torch.Tensor


def _check_positive(**kwargs: int) -> None:
    for name, value in kwargs.items():
        config.check_int(name, value)


def mlp(in_dim: int, out_dim: int, hidden: int = 64, depth: int = 2,
        activation: type[nn.Module] | nn.Module = nn.ReLU, out_activation: nn.Module | None = None) -> nn.Sequential:
    """An MLP with ``depth`` hidden layers of width ``hidden``: in_dim -> hidden^depth -> out_dim."""
    _check_positive(in_dim=in_dim, out_dim=out_dim, hidden=hidden, depth=depth)
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation() if isinstance(activation, type) else activation]
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    if out_activation is not None:
        layers.append(out_activation)
    return nn.Sequential(*layers)


class ToyGenerator(nn.Module):
    """G: R^z_dim -> R^x_dim, an MLP; (m, z_dim) -> (m, x_dim)."""

    def __init__(self, z_dim: int = 1, x_dim: int = 1, hidden: int = 32, depth: int = 2,
                 activation: type[nn.Module] = nn.Tanh) -> None:
        super().__init__()
        self.z_dim, self.x_dim = z_dim, x_dim
        self.net = mlp(z_dim, x_dim, hidden, depth, activation)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class ToyDiscriminator(nn.Module):
    """D: R^x_dim -> logit; (m, x_dim) -> (m, 1). D(x) = sigmoid(logit)."""

    def __init__(self, x_dim: int = 1, hidden: int = 32, depth: int = 2,
                 activation: type[nn.Module] = nn.Tanh) -> None:
        super().__init__()
        self.x_dim = x_dim
        self.net = mlp(x_dim, 1, hidden, depth, activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


# ------------------------------------------------------------------------ MNIST: MLP pair
class MLPGenerator(nn.Module):
    """MLP G: Linear(z,256)-ReLU-Linear(256,256)-ReLU-Linear(256,784)-Tanh; (m, z) -> (m, 1, 28, 28)."""

    def __init__(self, z_dim: int = 100, hidden: int = 256, image_size: int = 28, channels: int = 1) -> None:
        super().__init__()
        _check_positive(z_dim=z_dim, hidden=hidden, image_size=image_size, channels=channels)
        self.z_dim = z_dim
        self.shape = (channels, image_size, image_size)
        out = channels * image_size * image_size
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, out), nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.shape)


class MLPDiscriminator(nn.Module):
    """MLP D: Linear(784,256)-LReLU(0.2)-Linear(256,256)-LReLU(0.2)-Linear(256,1); (m,1,28,28) -> (m,1) logits."""

    def __init__(self, hidden: int = 256, image_size: int = 28, channels: int = 1, slope: float = 0.2) -> None:
        super().__init__()
        _check_positive(hidden=hidden, image_size=image_size, channels=channels)
        inp = channels * image_size * image_size
        self.net = nn.Sequential(
            nn.Linear(inp, hidden), nn.LeakyReLU(slope, inplace=True),
            nn.Linear(hidden, hidden), nn.LeakyReLU(slope, inplace=True),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        # The MLP sees a flat vector of 784 pixels: the spatial layout is thrown away.
        return self.net(x.reshape(x.shape[0], -1))


# ------------------------------------------------------------------------ MNIST: DCGAN pair
class LatentProjection(nn.ConvTranspose2d):
    """ConvTranspose2d(z_dim, C, k, 1, 0) on a 1x1 input, computed as the matrix product it is:
    y[b, c, i, j] = sum_k z[b, k] W[k, c, i, j], y = z @ W.reshape(z_dim, C k k). Same parameters
    and result as ``nn.ConvTranspose2d`` (checkpoints load unchanged); the CPU's transposed-convolution
    kernel is slow for this shape. A channels_last weight gives a channels_last result (a view)."""

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        if input.dim() != 4 or input.shape[-2:] != (1, 1) or output_size is not None or self.padding != (0, 0):
            return super().forward(input, output_size)
        m, c, (kh, kw) = input.shape[0], self.out_channels, self.kernel_size
        z = input.reshape(m, self.in_channels)
        if self.weight.is_contiguous(memory_format=torch.channels_last):
            w = self.weight.permute(0, 2, 3, 1).reshape(self.in_channels, -1)   # columns in (i, j, c) order
            y = (z @ w).view(m, kh, kw, c).permute(0, 3, 1, 2)
        else:
            y = (z @ self.weight.reshape(self.in_channels, -1)).view(m, c, kh, kw)
        return y if self.bias is None else y + self.bias.view(1, c, 1, 1)


class WholeImageConv(nn.Conv2d):
    """Conv2d whose k x k kernel covers its whole k x k input: the dense layer
    sum_{c,i,j} W[o, c, i, j] x[b, c, i, j] + b_o, computed as ``F.linear`` on the flattened input (in
    its own memory layout) -> (m, out_channels, 1, 1). Same parameters and result as ``nn.Conv2d``."""

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() != 4 or tuple(input.shape[-2:]) != self.kernel_size or self.padding != (0, 0):
            return super().forward(input)
        m = input.shape[0]
        if input.is_contiguous() or not input.is_contiguous(memory_format=torch.channels_last):
            x, w = input.reshape(m, -1), self.weight.reshape(self.out_channels, -1)
        else:  # NHWC: flatten both in (i, j, c) order, which for x is a free view
            x = input.permute(0, 2, 3, 1).reshape(m, -1)
            w = self.weight.permute(0, 2, 3, 1).reshape(self.out_channels, -1)
        return nn.functional.linear(x, w, self.bias).view(m, self.out_channels, 1, 1)


class PatchSumConvTranspose2d(nn.ConvTranspose2d):
    """ConvTranspose2d from its definition, for few output channels on the CPU: every input pixel's
    features x[b, :, i, j] become a C_out x k x k patch, x[b, :, i, j] @ W.reshape(C_in, C_out k k),
    and the patches are summed into the output at stride s (one matrix product and one ``F.fold``,
    in float32). Same parameters and result as ``nn.ConvTranspose2d``, which other devices use."""

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        if input.device.type != "cpu" or input.dim() != 4 or output_size is not None or self.output_padding != (0, 0):
            return super().forward(input, output_size)
        m, _, h, w = input.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        out_h, out_w = (h - 1) * sh - 2 * ph + kh, (w - 1) * sw - 2 * pw + kw
        x = input.permute(0, 2, 3, 1).reshape(m * h * w, self.in_channels)   # one row per input pixel
        patches = x @ self.weight.reshape(self.in_channels, -1)              # (m h w, C_out kh kw)
        patches = patches.float().view(m, h * w, -1).transpose(1, 2)         # fold wants (m, C k k, L)
        y = nn.functional.fold(patches, (out_h, out_w), (kh, kw), stride=(sh, sw), padding=(ph, pw))
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


class DCGANGenerator(nn.Module):
    """28x28 DCGAN G: z (m, z_dim) -> (m, 1, 28, 28) in [-1, 1].

    ConvT(z, 4ngf, 7, 1, 0)-BN-ReLU: 1x1 -> 7x7; ConvT(4ngf, 2ngf, 4, 2, 1)-BN-ReLU: 7 -> 14;
    ConvT(2ngf, channels, 4, 2, 1)-Tanh: 14 -> 28. With ngf = 64: 100 -> 256 -> 128 -> 1 channels.
    The first and last layers are ``LatentProjection`` and ``PatchSumConvTranspose2d``: the same
    transposed convolutions (same parameters and names), computed faster on the CPU.
    """

    def __init__(self, z_dim: int = 100, ngf: int = 64, channels: int = 1) -> None:
        super().__init__()
        _check_positive(z_dim=z_dim, ngf=ngf, channels=channels)
        self.z_dim = z_dim
        self.net = nn.Sequential(
            LatentProjection(z_dim, ngf * 4, 7, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            PatchSumConvTranspose2d(ngf * 2, channels, 4, 2, 1), nn.Tanh(),
        )
        init_dcgan_weights(self)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """28x28 DCGAN D: (m, 1, 28, 28) -> (m, 1) logits; strided convolutions, no pooling.

    depth 3 (default): Conv(ch, ndf, 4, 2, 1)-LReLU(0.2): 28 -> 14; Conv(ndf, 2ndf, 4, 2, 1)-BN-LReLU:
    14 -> 7; Conv(2ndf, 4ndf, 3, 2, 1)-BN-LReLU: 7 -> 4; Conv(4ndf, 1, 4): 4 -> 1 logit.
    depth 2: the first two blocks, then Conv(2ndf, 1, 7): 7 -> 1 logit.
    No BN on the first layer (Radford et al. 2016). The third block gives D a non-linear view of
    the whole digit (with two blocks only the final linear layer sees all of it): D must be strong
    enough to give G a useful gradient, and G's samples scored clearly better against this D
    (docs/dcgan-experiments.md). These D layers are the course's own design; G's first layer
    (a 1x1 -> 7x7 projection) follows the common 28x28 DCGAN layout. The head is a ``WholeImageConv``: a convolution whose kernel covers
    its whole input, computed as the dense layer it is.
    """

    def __init__(self, ndf: int = 64, channels: int = 1, slope: float = 0.2, depth: int = 3) -> None:
        super().__init__()
        _check_positive(ndf=ndf, channels=channels)
        if depth not in (2, 3):
            raise ValueError(f"depth must be 2 or 3 (strided convolution blocks), got {depth!r}.")
        self.depth = depth
        blocks: list[nn.Module] = [
            nn.Conv2d(channels, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(slope, True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(slope, True),
        ]
        if depth == 3:
            blocks += [nn.Conv2d(ndf * 2, ndf * 4, 3, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4),
                       nn.LeakyReLU(slope, True)]
        self.features = nn.Sequential(*blocks)
        self.head = WholeImageConv(ndf * 4, 1, 4, 1, 0) if depth == 3 else WholeImageConv(ndf * 2, 1, 7, 1, 0)
        init_dcgan_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).reshape(x.shape[0], 1)


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN init (Radford et al. 2016): conv weights ~ N(0, 0.02^2); BN gamma ~ N(1, 0.02^2), beta = 0 (standard deviation 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


MNIST_MODELS = {
    "mlp": (MLPGenerator, MLPDiscriminator),
    "dcgan": (DCGANGenerator, DCGANDiscriminator),
}


def mnist_pair(name: str, z_dim: int = 100, width: int | None = None, channels: int = 1,
               d_depth: int = 3, clusters: int | None = None) -> tuple[nn.Module, nn.Module]:
    """Build (G, D) for MNIST by name: 'mlp' (width = hidden, default 256) or 'dcgan' (width = ngf = ndf,
    default 64; ``d_depth`` strided blocks in D, 3 or 2).

    ``clusters`` K (dcgan only): G is a ``ClusterCodeGenerator`` around a DCGAN G with K + z_dim
    inputs (so ``G.z_dim`` is 1 + z_dim) and D a ``ProjectionDiscriminator``; set the cluster sizes
    with ``G.set_counts``.
    """
    if name not in MNIST_MODELS:
        raise ValueError(f"model={name!r} is not known; use one of {sorted(MNIST_MODELS)}.")
    if clusters is not None:
        if name != "dcgan":
            raise ValueError(f"clusters is supported for model='dcgan' only, got model={name!r}.")
        from .conditional import ClusterCodeGenerator, ProjectionDiscriminator  # the plain pairs need neither
        config.check_int("clusters", clusters)
        w = 64 if width is None else width
        G = ClusterCodeGenerator(DCGANGenerator(z_dim + clusters, w, channels), clusters)
        return G, ProjectionDiscriminator(DCGANDiscriminator(w, channels, depth=d_depth), clusters)
    if name == "mlp":
        h = 256 if width is None else width
        return MLPGenerator(z_dim, h, channels=channels), MLPDiscriminator(h, channels=channels)
    w = 64 if width is None else width
    return DCGANGenerator(z_dim, w, channels), DCGANDiscriminator(w, channels, depth=d_depth)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
