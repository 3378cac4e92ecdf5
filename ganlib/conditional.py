"""A GAN whose noise picks a cluster first (notebook 06): k-means clusters, its G and D, its steps.

An unconditional G maps one connected Gaussian onto ten separate digit classes, so part of z lands
between classes and gives blends (Tanielian et al. 2020, "Learning disconnected manifolds: a no
GAN's land"). Here the training images are split into
K clusters *without labels* (k-means on the pixels; digit labels only measure the clusters' purity
afterwards), the noise names a cluster (``ClusterCodeGenerator``), and D is told it
(``ProjectionDiscriminator``, Miyato & Koyama 2018), so D judges "a real image *of cluster y*".
``ConditionalTrainer`` is ``train.GANTrainer`` with the two steps below, which differ from
``train.d_step`` / ``train.g_step`` only in passing the cluster labels to D:

    labels = image_clusters(images, k)      # images (N, 1, 28, 28) uint8 -> (N,) int64 in 0..k-1
    purity(labels, digits)                  # share of images in their cluster's most common class
    trainer = ConditionalTrainer(G, D, sample_real)   # sample_real(m) -> (x (m, 1, 28, 28), y (m,))
"""
from __future__ import annotations

import math

import torch
from torch import nn

from . import config
from . import losses as L
from .models import DCGANDiscriminator
from .train import GANTrainer

Tensor = torch.Tensor


def conditional_d_step(G, D, opt_d, real, y_real, z, d_loss=L.discriminator_loss):
    """``train.d_step`` with labels: D(x, y) on real (x, y) and on (G(z), G.code(z)) -> (L_D, real logits)."""
    fake = G(z).detach()
    real_logits, fake_logits = D(real, y_real), D(fake, G.code(z))
    loss = d_loss(real_logits, fake_logits)
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss.detach(), real_logits.detach()


def conditional_g_step(G, D, opt_g, z, g_loss=L.generator_loss_nonsaturating):
    """``train.g_step`` with labels: G is pushed to draw, for noise z, an image of cluster G.code(z)."""
    fake_logits = D(G(z), G.code(z))
    loss = g_loss(fake_logits)
    opt_g.zero_grad()
    loss.backward(inputs=list(G.parameters()))
    opt_g.step()
    return loss.detach(), fake_logits.detach()


class ConditionalTrainer(GANTrainer):
    """``GANTrainer`` for a ``ClusterCodeGenerator`` G and a D(x, y); ``sample_real(m)`` returns (x, y)."""

    def __init__(self, G: nn.Module, D: nn.Module, sample_real, **kwargs) -> None:
        if not callable(getattr(G, "code", None)):
            raise ValueError("ConditionalTrainer needs a generator with a code(z) method that returns the "
                             "labels its noise names (e.g. conditional.ClusterCodeGenerator).")
        if kwargs.get("d_penalty") is not None:
            raise ValueError("d_penalty is not supported by ConditionalTrainer.")
        super().__init__(G, D, sample_real, **kwargs)

    def d_update(self) -> tuple[Tensor, Tensor]:
        real, y_real = self.sample_real(self.batch_size)
        return conditional_d_step(self.G_call, self.D_call, self.opt_d, real, y_real,
                                  self.sample_noise(self.batch_size), self.d_loss_fn)

    def g_update(self) -> tuple[Tensor, Tensor]:
        z = self.sample_noise(self.batch_size)
        if not self.train_g:
            with torch.no_grad():
                fake_logits = self.D_call(self.G_call(z), self.G.code(z))
            return self.g_loss_fn(fake_logits), fake_logits
        return conditional_g_step(self.G_call, self.D_call, self.opt_g, z, self.g_loss_fn)


class ClusterCodeGenerator(nn.Module):
    """A generator whose noise also picks one of K clusters: z (m, 1 + z_dim) -> images (m, 1, 28, 28).

    z_0 chooses the cluster by inverse-CDF sampling, c = min{j : F_j > Phi(z_0)}, with F the
    cumulative cluster frequencies (``counts`` / their sum) and Phi the standard normal CDF, so
    z ~ N(0, I) gives P(c = j) = the share of training images in cluster j. The inner generator
    ``net`` (input size K + z_dim, e.g. a ``DCGANGenerator``) draws from [onehot(c), z_1..z_dim]:
    K separate copies of R^z_dim, so its images need not be connected. ``code(z)`` gives c;
    ``forward(z, code=c)`` overrides it.
    """

    def __init__(self, net: nn.Module, n_codes: int, counts: Tensor | None = None) -> None:
        super().__init__()
        config.check_int("n_codes", n_codes)
        net_z = int(getattr(net, "z_dim"))
        if net_z <= n_codes:
            raise ValueError(f"net.z_dim ({net_z}) must exceed n_codes ({n_codes}): net's input is "
                             f"[onehot(c) (n_codes), noise (z_dim >= 1)].")
        self.net, self.n_codes = net, n_codes
        self.z_dim = net_z - n_codes + 1
        # Integer counts, not float frequencies: pretrained.export stores floating tensors in half
        # precision, which would shift the cluster frequencies.
        self.register_buffer("counts", torch.ones(n_codes, dtype=torch.int64))
        if counts is not None:
            self.set_counts(counts)

    def set_counts(self, counts: Tensor) -> None:
        """Set the number of training images per cluster (K,) non-negative ints, not all 0."""
        counts = torch.as_tensor(counts)
        if counts.shape != (self.n_codes,) or counts.is_floating_point() or bool((counts < 0).any()) \
                or int(counts.sum()) == 0:
            raise ValueError(f"counts must be {self.n_codes} non-negative integers, not all 0; "
                             f"got {counts.dtype} {tuple(counts.shape)}.")
        self.counts.copy_(counts)

    def code(self, z: Tensor) -> Tensor:
        """The cluster c (m,) int64 that noise z (m, 1 + z_dim) names: F^-1(Phi(z_0))."""
        dtype = torch.float32 if z.device.type == "mps" else torch.float64  # MPS has no float64
        u = 0.5 * (1.0 + torch.erf(z[:, 0].to(dtype) / math.sqrt(2.0)))
        cum = self.counts.to(dtype).cumsum(0)
        return torch.searchsorted(cum / cum[-1], u.contiguous(), right=True).clamp_(max=self.n_codes - 1)

    def forward(self, z: Tensor, code: Tensor | None = None) -> Tensor:
        """z (m, 1 + z_dim) -> net([onehot(c), z_1..z_dim]) (m, 1, 28, 28); c = ``code`` (m,) if given, else code(z)."""
        c = self.code(z) if code is None else code
        return self.net(torch.cat([nn.functional.one_hot(c, self.n_codes).to(z.dtype), z[:, 1:]], 1))


class ProjectionDiscriminator(nn.Module):
    """D(x, y) = psi(phi(x)) + e_y . phi(x): (m, 1, 28, 28), (m,) int64 -> (m, 1) logits.

    The projection discriminator (Miyato & Koyama 2018): phi = the DCGAN D's features, flattened
    (F = 4ndf x 4 x 4 for three blocks), psi = its head, and e_y in R^F a learnt vector per label.
    The label term models the log-ratio of p(y | x) under data and model, so D can tell "a real image"
    from "a real image of label y": an image of the wrong cluster for its noise is judged fake.
    """

    def __init__(self, D: DCGANDiscriminator, n_codes: int) -> None:
        super().__init__()
        config.check_int("n_codes", n_codes)
        self.D, self.n_codes = D, n_codes
        head = D.head
        self.embed = nn.Embedding(n_codes, head.in_channels * head.kernel_size[0] * head.kernel_size[1])
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        f = self.D.features(x)
        a = self.D.head(f).reshape(x.shape[0], 1)
        return a + (self.embed(y) * f.flatten(1)).sum(1, keepdim=True)


# ------------------------------------------------------------- k-means clusters of the images
def _nearest(x: Tensor, centroids: Tensor, chunk: int = 8192) -> Tensor:
    """argmin_j ||x_i - c_j||^2 for each row of x (N, d) -> (N,) int64, in chunks to bound memory."""
    c2 = (centroids * centroids).sum(1)
    out = []
    for i in range(0, x.shape[0], chunk):
        xi = x[i:i + chunk]
        # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2; ||x||^2 does not change the argmin.
        out.append((c2 - 2.0 * xi @ centroids.T).argmin(1))
    return torch.cat(out)


def kmeans(x: Tensor, k: int, iters: int = 30, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Lloyd's k-means with greedy k-means++ seeding: x (N, d) -> labels (N,) int64, centroids (k, d).

    Minimises sum_i ||x_i - c_{label_i}||^2. Seeding (Arthur & Vassilvitskii 2007, greedy as in
    scikit-learn): the first centre is a random point; for each next one, 2 + floor(ln k)
    candidates are drawn with probability proportional to their squared distance to the nearest
    centre so far, and the candidate that lowers the total squared distance most is kept (plain
    k-means++ sometimes puts two centres in one group). Then ``iters`` rounds of: assign every
    point to its nearest centre, move every centre to the mean of its points (an empty cluster
    keeps its centre). Deterministic for a given ``seed`` (float64 on the CPU).
    """
    if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[0] < 1:
        raise ValueError(f"x must be a tensor of shape (N, d) with N >= 1, got {tuple(getattr(x, 'shape', ()))}.")
    config.check_int("k", k, 1)
    config.check_int("iters", iters, 1)
    config.check_int("seed", seed, 0)
    if k > x.shape[0]:
        raise ValueError(f"k = {k} exceeds the number of points ({x.shape[0]}).")
    x = x.detach().to("cpu", torch.float64)
    gen = torch.Generator().manual_seed(seed)
    trials = 2 + int(math.log(k))
    centroids = x[torch.randint(0, x.shape[0], (1,), generator=gen)]
    d2 = ((x - centroids[0]) ** 2).sum(1)
    for _ in range(k - 1):
        cand = x[torch.multinomial(d2 / d2.sum(), trials, replacement=True, generator=gen)]
        # squared distance of every point to each candidate, (trials, N), via ||x||^2 - 2 x.c + ||c||^2
        dc = ((x * x).sum(1)[None, :] - 2.0 * cand @ x.T + (cand * cand).sum(1)[:, None]).clamp_min(0)
        new_d2 = torch.minimum(d2[None, :], dc)
        best = int(new_d2.sum(1).argmin())
        centroids = torch.cat([centroids, cand[best:best + 1]])
        d2 = new_d2[best]
    labels = _nearest(x, centroids)
    for _ in range(iters):
        counts = torch.bincount(labels, minlength=k)
        sums = torch.zeros_like(centroids).index_add_(0, labels, x)
        keep = counts == 0
        centroids = torch.where(keep[:, None], centroids, sums / counts.clamp_min(1)[:, None])
        labels = _nearest(x, centroids)
    return labels, centroids


def image_clusters(images: Tensor, k: int, iters: int = 30, seed: int = 0) -> Tensor:
    """k-means clusters of images (N, C, H, W) uint8 on their pixels scaled to [0, 1] -> (N,) int64."""
    if not isinstance(images, Tensor) or images.dtype != torch.uint8 or images.dim() < 2:
        raise ValueError("images must be a uint8 tensor of shape (N, ...); got "
                         f"{type(images).__name__} {getattr(images, 'dtype', '')}.")
    labels, _ = kmeans(images.reshape(images.shape[0], -1).float() / 255.0, k, iters, seed)
    return labels


def purity(labels: Tensor, classes: Tensor) -> float:
    """Share of points whose class is the most common class of their cluster (1 = every cluster pure).

    ``labels`` and ``classes`` are (N,) int tensors (cluster ids, true classes).
    """
    if labels.shape != classes.shape or labels.dim() != 1 or labels.numel() == 0:
        raise ValueError(f"labels and classes must be (N,) tensors of the same N >= 1; got "
                         f"{tuple(labels.shape)} and {tuple(classes.shape)}.")
    labels, classes = labels.long().cpu(), classes.long().cpu()
    n_cls = int(classes.max()) + 1
    table = torch.zeros(int(labels.max()) + 1, n_cls, dtype=torch.int64)
    table.index_put_((labels, classes), torch.ones_like(labels), accumulate=True)
    return float(table.max(1).values.sum()) / labels.numel()
