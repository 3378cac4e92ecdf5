"""Walking the generator's latent space: interpolation and latent arithmetic (seed 001).

Seed 001 describes two experiments that show a generator has learned a smooth map z -> G(z)
rather than a lookup table: *interpolation* (move z along a path between two points; the image
changes gradually, e.g. a face turning) and *arithmetic* (mean z of "man with glasses" minus
mean z of "man without" plus mean z of "woman without" gives "woman with glasses"; Radford et
al. 2016 averaged three z per group).

Why spherical interpolation. For z ~ N(0, I_d), ||z|| concentrates near sqrt(d) (10 for
d = 100): almost every z G saw in training lies on a thin shell. Two such z are nearly
orthogonal, so the straight-line midpoint (z0 + z1) / 2 has norm about sqrt(d / 2) ~ 7.1, a
point G has practically never been fed. slerp follows the great circle instead:

    slerp(z0, z1; t) = sin((1 - t) W) / sin W * z0 + sin(t W) / sin W * z1,
    cos W = <z0, z1> / (||z0|| ||z1||),

which keeps the norm when ||z0|| = ||z1|| (White 2016, "Sampling generative networks").

For the arithmetic on MNIST the groups come from measuring the generated images: the digit by
the shipped classifier (``image_metrics``), and two stroke attributes computed here from pixel
moments: ``ink`` (how much of the image is stroke, a proxy for thickness) and ``slant``.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

Tensor = torch.Tensor


def _as_t(t: float | Sequence[float] | Tensor, like: Tensor) -> tuple[Tensor, bool]:
    """t as a column (T, 1) on ``like``'s device/dtype, and whether it was a scalar."""
    tt = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if tt.dim() > 1:
        raise ValueError(f"t must be a number or a 1-D sequence of numbers, got shape {tuple(tt.shape)}.")
    return tt.reshape(-1, 1), tt.dim() == 0


def _check_pair(z0: Tensor, z1: Tensor) -> tuple[Tensor, Tensor]:
    if not isinstance(z0, Tensor) or not isinstance(z1, Tensor):
        raise ValueError("z0 and z1 must be torch tensors.")
    if z0.shape != z1.shape or z0.dim() != 1:
        raise ValueError(f"z0 and z1 must be 1-D vectors of the same shape (d,), got "
                         f"{tuple(z0.shape)} and {tuple(z1.shape)}.")
    return z0, z1


def lerp(z0: Tensor, z1: Tensor, t: float | Sequence[float] | Tensor) -> Tensor:
    """Linear interpolation (1 - t) z0 + t z1. z0, z1: (d,); t scalar -> (d,), t (T,) -> (T, d)."""
    z0, z1 = _check_pair(z0, z1)
    tt, scalar = _as_t(t, z0)
    out = (1 - tt) * z0 + tt * z1
    return out[0] if scalar else out


def slerp(z0: Tensor, z1: Tensor, t: float | Sequence[float] | Tensor, eps: float = 1e-7) -> Tensor:
    """Spherical interpolation sin((1-t)W)/sin W z0 + sin(tW)/sin W z1, cos W = cos of the angle.

    z0, z1: (d,); t scalar -> (d,), t (T,) -> (T, d). Endpoints are exact (t=0 gives z0, t=1 gives
    z1); with ||z0|| = ||z1|| every point has that norm. When z0 and z1 are (anti)parallel the
    great circle is undefined (sin W = 0) and it falls back to ``lerp``.
    """
    z0, z1 = _check_pair(z0, z1)
    tt, scalar = _as_t(t, z0)
    n0, n1 = z0.norm(), z1.norm()
    if float(n0) < eps or float(n1) < eps:
        raise ValueError("slerp needs non-zero vectors z0 and z1 (the angle between them is undefined).")
    cos_w = torch.clamp(torch.dot(z0, z1) / (n0 * n1), -1.0, 1.0)
    w = torch.arccos(cos_w)
    sin_w = torch.sin(w)
    if float(sin_w) < 1e-6:
        out = (1 - tt) * z0 + tt * z1
    else:
        out = (torch.sin((1 - tt) * w) / sin_w) * z0 + (torch.sin(tt * w) / sin_w) * z1
    return out[0] if scalar else out


def interpolate(z0: Tensor, z1: Tensor, steps: int = 10, method: str = "slerp") -> Tensor:
    """``steps`` points from z0 to z1 inclusive (t = 0, 1/(steps-1), ..., 1): (steps, d)."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 2:
        raise ValueError(f"steps must be an int >= 2, got {steps!r}.")
    fns = {"slerp": slerp, "lerp": lerp}
    if method not in fns:
        raise ValueError(f"method must be 'slerp' or 'lerp', got {method!r}.")
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)
    return fns[method](z0, z1, t)


# ------------------------------------------------------------------------- stroke attributes
def _unit_ink(images: Tensor) -> Tensor:
    """Images (m, 1, H, W) in [-1, 1] -> ink in [0, 1] (m, H, W): (x + 1) / 2."""
    if not isinstance(images, Tensor) or images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"images must have shape (m, 1, H, W), got {tuple(getattr(images, 'shape', ()))}.")
    return ((images.float() + 1) / 2).clamp(0, 1)[:, 0]


def ink(images: Tensor) -> Tensor:
    """Mean ink per image, (1/HW) sum_ij u_ij with u = (x + 1)/2 in [0, 1]: (m, 1, H, W) -> (m,).

    Thicker strokes put more ink on the page, so within one digit class this orders images by
    stroke thickness (across classes it also depends on the digit: a 1 has less ink than an 8).
    """
    return _unit_ink(images).mean(dim=(1, 2))


def slant(images: Tensor) -> Tensor:
    """Slant from the ink's second moments: -cov(col, row) / var(row), (m, 1, H, W) -> (m,).

    It is the shear dx/dy of the best-fit axis: 0 for an upright stroke, > 0 when the top leans
    to the right (like italics; rows count downwards, hence the minus sign).
    """
    u = _unit_ink(images)
    m, h, w = u.shape
    mass = u.sum(dim=(1, 2)).clamp_min(1e-8)
    rows = torch.arange(h, dtype=u.dtype, device=u.device)[None, :, None]
    cols = torch.arange(w, dtype=u.dtype, device=u.device)[None, None, :]
    r_mean = (u * rows).sum(dim=(1, 2)) / mass
    c_mean = (u * cols).sum(dim=(1, 2)) / mass
    dr = rows - r_mean[:, None, None]
    dc = cols - c_mean[:, None, None]
    var_r = (u * dr * dr).sum(dim=(1, 2)) / mass
    cov_rc = (u * dr * dc).sum(dim=(1, 2)) / mass
    return -cov_rc / var_r.clamp_min(1e-8)


# ------------------------------------------------------------------------- arithmetic
def quantile_groups(values: Tensor, q: float = 0.2, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Boolean masks (low, high) of the entries in the bottom and top ``q`` fraction of ``values``.

    ``mask`` restricts both groups to a subset (e.g. the samples classified as one digit).
    """
    if not 0 < q <= 0.5:
        raise ValueError(f"q must be in (0, 0.5], got {q!r}.")
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
    for name, v in (("a", a), ("b", b), ("c", c)):
        if not isinstance(v, Tensor) or v.dim() != 1:
            raise ValueError(f"{name} must be a 1-D tensor (d,), got {tuple(getattr(v, 'shape', ()))}.")
    if not a.shape == b.shape == c.shape:
        raise ValueError(f"a, b, c must have the same shape, got {tuple(a.shape)}, {tuple(b.shape)}, {tuple(c.shape)}.")
    out = a - b + c
    if rescale:
        out = out * (math.sqrt(out.shape[0]) / out.norm().clamp_min(1e-8))
    return out


@torch.no_grad()
def generate(G: torch.nn.Module, z: Tensor, batch_size: int = 500) -> Tensor:
    """G(z) for many latent vectors, ``batch_size`` at a time: z (n, z_dim) -> images (n, 1, 28, 28).

    Runs without gradients (so memory stays at one batch of activations) on z's device; G's mode
    (eval/train) is left as it is.
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}.")
    return torch.cat([G(z[i:i + batch_size]) for i in range(0, z.shape[0], batch_size)])
