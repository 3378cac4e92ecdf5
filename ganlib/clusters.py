"""Unsupervised clusters of the training images, for a generator whose latent space has a discrete part.

An unconditional G maps one connected Gaussian onto ten separate digit classes, so part of z lands
between classes and gives blends (docs/dcgan-experiments.md; notebook 06, "Where the score is
lost"). Splitting the training set into K clusters *without labels* and letting the noise pick a
cluster first (``models.ClusterCodeGenerator``, ``models.ProjectionDiscriminator``) gives G K
separate regions to draw from. The clusters come from k-means on the pixels; no digit label is
used anywhere in training (labels only measure the clusters' purity afterwards).

    labels, centroids = kmeans(x, k)        # x (N, d) float
    labels = image_clusters(images, k)      # images (N, 1, 28, 28) uint8 -> (N,) int64 in 0..k-1
    purity(labels, digits)                  # share of images in their cluster's most common class
"""
from __future__ import annotations

import math

import torch

from .config import check_int as _check_int

Tensor = torch.Tensor


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
    _check_int("k", k, 1)
    _check_int("iters", iters, 1)
    _check_int("seed", seed, 0)
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
