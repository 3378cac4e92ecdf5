"""Tests for ganlib.latent: interpolation paths, stroke attributes, latent arithmetic."""
from __future__ import annotations

import math

import pytest
import torch

from ganlib import latent


@pytest.fixture
def pair() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(100, generator=g, dtype=torch.float64), torch.randn(100, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("fn", [latent.slerp, latent.lerp])
def test_endpoints_are_exact(fn, pair):
    z0, z1 = pair
    assert torch.allclose(fn(z0, z1, 0.0), z0, atol=1e-12)
    assert torch.allclose(fn(z0, z1, 1.0), z1, atol=1e-12)
    path = fn(z0, z1, [0.0, 0.5, 1.0])
    assert path.shape == (3, 100)
    assert torch.allclose(path[0], z0, atol=1e-12) and torch.allclose(path[-1], z1, atol=1e-12)


def test_slerp_keeps_the_norm_on_a_sphere(pair):
    z0, z1 = pair
    r = math.sqrt(100)
    u0, u1 = z0 / z0.norm() * r, z1 / z1.norm() * r
    norms = latent.slerp(u0, u1, torch.linspace(0, 1, 21, dtype=torch.float64)).norm(dim=1)
    assert torch.allclose(norms, torch.full_like(norms, r), atol=1e-9)
    # lerp cuts through the ball: for nearly orthogonal z its midpoint is about r / sqrt(2).
    mid = latent.lerp(u0, u1, 0.5).norm()
    cos = float(torch.dot(u0, u1)) / r**2
    assert float(mid) == pytest.approx(r * math.sqrt((1 + cos) / 2), rel=1e-9)
    assert float(mid) < 0.85 * r


def test_slerp_moves_at_constant_angular_speed(pair):
    z0, z1 = pair
    path = latent.slerp(z0 / z0.norm(), z1 / z1.norm(), torch.linspace(0, 1, 11, dtype=torch.float64))
    steps = torch.arccos(torch.clamp((path[1:] * path[:-1]).sum(1), -1, 1))
    assert torch.allclose(steps, steps.mean().expand_as(steps), atol=1e-9)


def test_slerp_of_parallel_vectors_falls_back_to_lerp():
    z = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    assert torch.allclose(latent.slerp(z, 2 * z, 0.5), 1.5 * z)


def test_interpolate_and_bad_input(pair):
    z0, z1 = pair
    path = latent.interpolate(z0, z1, steps=7, method="lerp")
    assert path.shape == (7, 100)
    assert torch.allclose(path[3], (z0 + z1) / 2)
    with pytest.raises(ValueError, match="steps"):
        latent.interpolate(z0, z1, steps=1)
    with pytest.raises(ValueError, match="method"):
        latent.interpolate(z0, z1, method="cubic")
    with pytest.raises(ValueError, match="same shape"):
        latent.slerp(z0, z1[:50], 0.5)
    with pytest.raises(ValueError, match="non-zero"):
        latent.slerp(torch.zeros(3), torch.ones(3), 0.5)


def _stroke(angle_deg: float, width: int = 1) -> torch.Tensor:
    """A straight vertical bar through the centre, sheared so that its top leans by angle_deg."""
    img = -torch.ones(1, 1, 28, 28)
    shear = math.tan(math.radians(angle_deg))
    for r in range(4, 24):
        c = round(14 + shear * (14 - r))
        img[0, 0, r, c - width // 2:c - width // 2 + width] = 1.0
    return img


def test_ink_grows_with_stroke_width():
    thin, thick = _stroke(0, 1), _stroke(0, 3)
    assert float(latent.ink(thick)) == pytest.approx(3 * float(latent.ink(thin)), rel=1e-6)
    assert float(latent.ink(-torch.ones(1, 1, 28, 28))) == 0.0


def test_quantile_groups_and_arithmetic():
    values = torch.arange(100.0)
    low, high = latent.quantile_groups(values, q=0.1)
    assert int(low.sum()) == 10 and int(high.sum()) == 10
    assert float(values[low].max()) < float(values[high].min())
    even = values % 2 == 0
    low_e, high_e = latent.quantile_groups(values, q=0.2, mask=even)
    assert bool((values[low_e] % 2 == 0).all()) and bool((values[high_e] % 2 == 0).all())
    z = torch.eye(100)
    assert torch.equal(latent.group_mean(z, low), z[:10].mean(0))
    a, b, c = torch.ones(4), torch.zeros(4), torch.tensor([1.0, -1.0, 0.0, 0.0])
    assert torch.allclose(latent.arithmetic(a, b, c, rescale=False), torch.tensor([2.0, 0.0, 1.0, 1.0]))
    assert float(latent.arithmetic(a, b, c).norm()) == pytest.approx(2.0)  # sqrt(d) with d = 4
    with pytest.raises(ValueError, match="empty"):
        latent.group_mean(z, torch.zeros(100, dtype=torch.bool))
    with pytest.raises(ValueError, match="q must"):
        latent.quantile_groups(values, q=0.7)
    with pytest.raises(ValueError, match="rescale must be True or False"):
        latent.arithmetic(a, b, c, rescale=1)
    with pytest.raises(ValueError, match="same shape"):
        latent.arithmetic(a, b, c[:3])


def test_generate_in_batches_equals_one_pass():
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh())
    z = torch.randn(23, 4)
    out = latent.generate(G, z, batch_size=5)
    torch.testing.assert_close(out, G(z))
    assert not out.requires_grad
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        latent.generate(G, z, batch_size=0)
