"""Walking the generator's latent space: interpolation and latent arithmetic.

Radford et al. 2016 (section 6) showed that a generator has learned a smooth map z -> G(z), not a
lookup table, with two experiments: *interpolation* (move z along a path between two points and
the image changes gradually) and *arithmetic* (mean z of "man with glasses" - mean z of "man
without" + mean z of "woman without" gives "woman with glasses"; they averaged three z per group).

Why spherical interpolation. For z ~ N(0, I_d), ||z|| concentrates near sqrt(d) (10 for d = 100):
almost every z G saw in training lies on a thin shell. Two such z are nearly orthogonal, so the
straight-line midpoint (z0 + z1) / 2 has norm about sqrt(d / 2) ~ 7.1, a point G has practically
never been fed. slerp (White 2016, "Sampling generative networks") follows the great circle,
slerp(z0, z1; t) = sin((1 - t) W) / sin W z0 + sin(t W) / sin W z1 with cos W = <z0, z1> /
(||z0|| ||z1||), and keeps the norm when ||z0|| = ||z1||.

For the arithmetic on MNIST the groups come from measuring the generated images: the digit by
the shipped classifier (``image_metrics``), and the stroke thickness by ``ink`` (computed here).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor

from . import config


def _pair_and_t(z0: Tensor, z1: Tensor, t: float | Sequence[float] | Tensor) -> tuple[Tensor, bool]:
    """Check z0, z1 (d,); return t as a column (T, 1) on their device and dtype, and whether t was a number."""
    if z0.dim() != 1 or z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must be 1-D tensors of the same shape (d,), got {tuple(z0.shape)} and "
                         f"{tuple(z1.shape)}.")
    tt = torch.as_tensor(t, dtype=z0.dtype, device=z0.device)
    if tt.dim() > 1:
        raise ValueError(f"t must be a number or a 1-D sequence of numbers, got shape {tuple(tt.shape)}.")
    return tt.reshape(-1, 1), tt.dim() == 0


def lerp(z0: Tensor, z1: Tensor, t: float | Sequence[float] | Tensor) -> Tensor:
    """Linear interpolation (1 - t) z0 + t z1. z0, z1: (d,); t scalar -> (d,), t (T,) -> (T, d)."""
    tt, scalar = _pair_and_t(z0, z1, t)
    out = (1 - tt) * z0 + tt * z1
    return out[0] if scalar else out


def slerp(z0: Tensor, z1: Tensor, t: float | Sequence[float] | Tensor, eps: float = 1e-7) -> Tensor:
    """Spherical interpolation sin((1-t)W)/sin W z0 + sin(tW)/sin W z1, W the angle between z0 and z1.

    z0, z1: (d,); t scalar -> (d,), t (T,) -> (T, d). t = 0 gives z0 and t = 1 gives z1; with
    ||z0|| = ||z1|| every point has that norm. For (anti)parallel z0, z1 the great circle is
    undefined (sin W = 0) and it falls back to ``lerp``.
    """
    tt, scalar = _pair_and_t(z0, z1, t)
    n0, n1 = z0.norm(), z1.norm()
    if float(n0) < eps or float(n1) < eps:
        raise ValueError("slerp needs non-zero vectors z0 and z1 (the angle between them is undefined).")
    w = torch.arccos(torch.clamp(torch.dot(z0, z1) / (n0 * n1), -1.0, 1.0))
    sin_w = torch.sin(w)
    if float(sin_w) < 1e-6:
        return lerp(z0, z1, t)
    out = (torch.sin((1 - tt) * w) / sin_w) * z0 + (torch.sin(tt * w) / sin_w) * z1
    return out[0] if scalar else out


def interpolate(z0: Tensor, z1: Tensor, steps: int = 10, method: str = "slerp") -> Tensor:
    """``steps`` points from z0 to z1 inclusive (t = 0, 1/(steps-1), ..., 1): (steps, d)."""
    config.check_int("steps", steps, 2)
    fn = {"slerp": slerp, "lerp": lerp}[config.check_choice("method", method, ("slerp", "lerp"))]
    return fn(z0, z1, torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device))


def ink(images: Tensor) -> Tensor:
    """Mean ink per image, (1/HW) sum_ij u_ij with u = (x + 1)/2 in [0, 1]: (m, 1, H, W) -> (m,).

    Thicker strokes put more ink on the page, so within one digit class this orders images by
    stroke thickness (across classes it also depends on the digit: a 1 has less ink than an 8).
    """
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"images must have shape (m, 1, H, W), got {tuple(images.shape)}.")
    return ((images.float() + 1) / 2).clamp(0, 1)[:, 0].mean(dim=(1, 2))


def quantile_groups(values: Tensor, q: float = 0.2, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Boolean masks (low, high) of the entries in the bottom and top ``q`` fraction of ``values``;
    ``mask`` restricts both groups to a subset (e.g. the samples classified as one digit)."""
    config.check_number("q", q, 0, 0.5, open_low=True)
    v = values.flatten().float()
    keep = torch.ones_like(v, dtype=torch.bool) if mask is None else mask.flatten().bool()
    if int(keep.sum()) < 2:
        raise ValueError("need at least 2 values in the group to split it.")
    lo, hi = torch.quantile(v[keep], torch.tensor([q, 1 - q], dtype=v.dtype))
    return keep & (v <= lo), keep & (v >= hi)


def group_mean(z: Tensor, mask: Tensor) -> Tensor:
    """Mean latent vector of the selected rows: z (n, d), mask (n,) bool -> (d,)."""
    if z.dim() != 2 or mask.shape != z.shape[:1]:
        raise ValueError(f"z must be (n, d) and mask (n,), got {tuple(z.shape)} and {tuple(mask.shape)}.")
    if int(mask.sum()) == 0:
        raise ValueError("mask selects no rows: the group is empty.")
    return z[mask.bool()].mean(dim=0)


def arithmetic(a: Tensor, b: Tensor, c: Tensor, rescale: bool = True) -> Tensor:
    """Latent arithmetic a - b + c on (group-mean) vectors of shape (d,).

    A mean of many z ~ N(0, I) has a small norm (||mean of n|| ~ sqrt(d / n)), far inside the
    shell ||z|| ~ sqrt(d) where G was trained; with ``rescale`` the result is scaled to norm
    sqrt(d) so that G sees a typical-length input (the direction carries the meaning).
    """
    if not (a.dim() == 1 and a.shape == b.shape == c.shape):
        raise ValueError(f"a, b, c must be 1-D tensors of the same shape (d,), got "
                         f"{[tuple(v.shape) for v in (a, b, c)]}.")
    out = a - b + c
    if config.check_bool("rescale", rescale):
        out = out * (math.sqrt(out.shape[0]) / out.norm().clamp_min(1e-8))
    return out


@torch.no_grad()
def generate(G: torch.nn.Module, z: Tensor, batch_size: int = 500) -> Tensor:
    """G(z) for many latent vectors, ``batch_size`` at a time, without gradients (memory stays at one
    batch of activations): z (n, z_dim) -> images (n, 1, 28, 28) on z's device; G's mode is left as it is."""
    config.check_int("batch_size", batch_size)
    return torch.cat([G(z[i:i + batch_size]) for i in range(0, z.shape[0], batch_size)])
