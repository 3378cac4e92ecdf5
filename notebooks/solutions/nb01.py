"""Reference solutions for notebook 01's exercises (checked by ganlib.checks.nb01)."""
import math

import torch
import torch.nn.functional as F


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    # -log D(x) = softplus(-a) and -log(1 - D(G(z))) = softplus(a), with D = sigmoid(a):
    # no log(0) however confident D is.
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def density_by_change_of_variables(G: torch.nn.Module, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # x = G(z); for a monotone G, p_g(x) = p_z(z) / |G'(z)| with p_z = N(0, 1).
    z = z.detach().clone().requires_grad_(True)
    x = G(z)
    (dx_dz,) = torch.autograd.grad(x.sum(), z)   # each x_i depends on z_i only, so this is G'(z_i)
    p_z = torch.exp(-0.5 * z.detach() ** 2) / math.sqrt(2 * math.pi)
    return x.detach(), p_z / dx_dz.abs()


def my_d_step(G, D, opt_d, real, z):
    # Algorithm 1's D step: detach the fakes (this step must not train G), BCE from logits with
    # label 1 for real and 0 for fake samples, then zero_grad / backward / step.
    fake = G(z).detach()
    real_logits, fake_logits = D(real), D(fake)
    loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss.detach()
