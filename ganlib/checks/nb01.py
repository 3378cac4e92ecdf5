"""Checks for notebook 01's exercises.

1. ``discriminator_loss(real_logits, fake_logits)``: -mean log D(x) - mean log(1 - D(G(z))) from logits.
2. ``density_by_change_of_variables(G, z)``: x = G(z) and p_g(x) = p_z(z) / |G'(z)| with autograd.
3. ``my_d_step(G, D, opt_d, real, z)``: Algorithm 1's discriminator step (detached fakes, BCE on
   logits with labels 1 and 0, zero_grad / backward / step), compared with the reference on D's
   and G's weights and G's gradients.

Each check runs the learner's function on small inputs, compares with the reference, prints what
is wrong in learner words and returns a bool; it never raises.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import run_safely, t, verdict


# --------------------------------------------------------------------------- exercise 1
def check_discriminator_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 1: ``fn(real_logits, fake_logits)`` = -mean log D(x) - mean log(1 - D(G(z))), D = sigmoid."""
    name = t("discriminator loss from logits")
    real = torch.tensor([[2.0], [0.5], [-1.0], [3.0]])
    fake = torch.tensor([[-2.0], [0.0], [1.5]])
    want = (F.softplus(-real).mean() + F.softplus(fake).mean()).item()
    got, err = run_safely(name, fn, real, fake)
    if err:
        return verdict(name, [err])
    if not isinstance(got, torch.Tensor) or got.numel() != 1:
        return verdict(name, [t("return one number (a scalar tensor): the mean over each minibatch.")])
    g = float(got)
    sig_r, sig_f = torch.sigmoid(real), torch.sigmoid(fake)
    problems = []
    if math.isclose(g, -want, rel_tol=1e-5):
        problems.append(t("wrong sign: D *maximises* log D(x) + log(1 - D(G(z))), so the loss to minimise is its negative."))
    elif math.isclose(g, (F.softplus(-sig_r).mean() + F.softplus(sig_f).mean()).item(), rel_tol=1e-5):
        problems.append(t("you applied the sigmoid twice: the inputs are already logits; use softplus on them directly."))
    elif math.isclose(g, (F.softplus(-real).mean() + F.softplus(-fake).mean()).item(), rel_tol=1e-5):
        problems.append(t("fake samples must be labelled 0: the second term is -log(1 - D(G(z))) = softplus(a_fake), "
                          "not -log D(G(z))."))
    elif math.isclose(g, (F.softplus(-real).sum() + F.softplus(fake).sum()).item(), rel_tol=1e-5):
        problems.append(t("use the mean over each minibatch, not the sum (the paper's 1/m)."))
    elif not math.isclose(g, want, rel_tol=1e-5, abs_tol=1e-6):
        problems.append(t("for these logits the loss should be {want:.4f}, got {got:.4f}. Recall log D = -softplus(-a) "
                          "and log(1 - D) = -softplus(a).", want=want, got=g))
    if not problems:
        big, _ = run_safely(name, fn, torch.tensor([[-200.0]]), torch.tensor([[200.0]]))
        if big is None or not torch.isfinite(torch.as_tensor(big)).all():
            problems.append(t("it overflows for confidently wrong logits (a = -200 on a real sample): compute from "
                              "logits with softplus, not log(sigmoid(a))."))
    return verdict(name, problems)


# --------------------------------------------------------------------------- exercise 2
class _Affine(nn.Module):
    """x = a z + b (a < 0 here: a decreasing G)."""

    def __init__(self, a: float, b: float) -> None:
        super().__init__()
        self.a, self.b = a, b

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.a * z + self.b


class _Cubic(nn.Module):
    """x = z + 0.3 z^3 + 1: monotone, contracts near z = 0 and stretches in the tails."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z + 0.3 * z**3 + 1.0


def _reference_density(G: nn.Module, z: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    zz = z.detach().clone().requires_grad_(True)
    x = G(zz)
    (dx,) = torch.autograd.grad(x.sum(), zz)
    phi = torch.exp(-0.5 * zz.detach() ** 2) / math.sqrt(2 * math.pi)
    return (x.detach().reshape(-1).double().numpy(), (phi / dx.abs()).reshape(-1).double().numpy(),
            dx.reshape(-1).double().numpy())


def check_change_of_variables(fn: Callable[[nn.Module, torch.Tensor], tuple]) -> bool:
    """Exercise 2: ``fn(G, z)`` with z (n, 1) returns (x, p) of shape (n,) or (n, 1): x = G(z), p = phi(z)/|G'(z)|."""
    name = t("p_g by change of variables")
    z = torch.linspace(-2.5, 2.5, 11)[:, None]
    problems: list[str] = []
    for G in (_Affine(-0.5, 1.0), _Cubic()):
        got, err = run_safely(name, fn, G, z.clone())
        if err:
            return verdict(name, [err])
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return verdict(name, [t("return a pair (x, p): the samples x = G(z) and the density p_g at them.")])
        try:
            x_got, p_got = (np.asarray(torch.as_tensor(v).detach().double().reshape(-1)) for v in got)
        except Exception as exc:  # noqa: BLE001 - a learner's odd return value becomes feedback
            return verdict(name, [t("x and p must be tensors or arrays of numbers ({kind}: {exc}).",
                                     kind=type(exc).__name__, exc=exc)])
        x_ref, p_ref, dx = _reference_density(G, z)
        if x_got.shape != x_ref.shape or p_got.shape != p_ref.shape:
            return verdict(name, [t("return one x and one density value per z: {n} of each, "
                                    "got {n_x} and {n_p}.", n=len(x_ref), n_x=x_got.size, n_p=p_got.size)])
        if not np.allclose(x_got, x_ref, rtol=1e-5, atol=1e-6):
            problems.append(t("x should be G(z), the generator applied to the noise."))
            break
        phi = np.exp(-0.5 * z.reshape(-1).double().numpy() ** 2) / math.sqrt(2 * math.pi)
        phi_at_x = np.exp(-0.5 * x_ref**2) / math.sqrt(2 * math.pi)
        if np.allclose(p_got, p_ref, rtol=1e-4, atol=1e-8):
            continue
        if np.allclose(p_got, phi, rtol=1e-4, atol=1e-8):
            problems.append(t("missing the 1/|G'(z)| factor: where G stretches (|G'| > 1) the same probability is "
                              "spread over more x, so the density is lower."))
        elif np.allclose(p_got, phi * np.abs(dx), rtol=1e-4, atol=1e-8):
            problems.append(t("you multiplied by |G'(z)|; divide instead: p_g(x) = p_z(z) / |G'(z)|."))
        elif np.allclose(p_got, -p_ref, rtol=1e-4, atol=1e-8) or np.allclose(p_got, phi / dx, rtol=1e-4, atol=1e-8):
            problems.append(t("use |G'(z)|, not G'(z): this G is decreasing, and a density is never negative."))
        elif np.allclose(p_got, phi_at_x / np.abs(dx), rtol=1e-4, atol=1e-8):
            problems.append(t("evaluate p_z at the noise z, not at the sample x = G(z)."))
        else:
            problems.append(t("the densities differ from phi(z)/|G'(z)| (max difference "
                              "{diff:.3g}). Get G'(z) with torch.autograd.grad(x.sum(), z) "
                              "on a z that requires grad.", diff=np.abs(p_got - p_ref).max()))
        break
    return verdict(name, problems)


# --------------------------------------------------------------------------- exercise 3
def _pair_and_batch():
    from .. import models

    torch.manual_seed(0)
    G, D = models.ToyGenerator(1, 1, 8), models.ToyDiscriminator(1, 8)
    gen = torch.Generator().manual_seed(1)
    batches = [(torch.randn(16, 1, generator=gen) * 0.5 + 1.0, torch.randn(16, 1, generator=gen)) for _ in range(2)]
    return G, D, batches


def _reference_d_step(G, D, opt_d, real, z, real_label: float = 1.0, fake_label: float = 0.0, sign: float = 1.0,
                      detach: bool = True, zero_grad: bool = True, squash: bool = False):
    """The D step and its usual mistakes (labels, sign, no detach, no zero_grad, sigmoid before BCE)."""
    fake = G(z).detach() if detach else G(z)
    real_out, fake_out = D(real), D(fake)
    if squash:
        real_out, fake_out = torch.sigmoid(real_out), torch.sigmoid(fake_out)
    loss = sign * (F.binary_cross_entropy_with_logits(real_out, torch.full_like(real_out, real_label))
                   + F.binary_cross_entropy_with_logits(fake_out, torch.full_like(fake_out, fake_label)))
    if zero_grad:
        opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss.detach()


def _after_two_steps(step: Callable, **options) -> tuple[nn.Module, nn.Module, list]:
    """(G, D, losses) after two calls of ``step`` on the same small pair and minibatches, SGD(lr=0.1)."""
    G, D, batches = _pair_and_batch()
    opt_d = torch.optim.SGD(D.parameters(), lr=0.1)
    results = [step(G, D, opt_d, real, z, **options) for real, z in batches]
    return G, D, results


def _same(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.allclose(p, q, rtol=1e-5, atol=1e-7) for p, q in zip(a.parameters(), b.parameters()))


def check_d_step(fn: Callable) -> bool:
    """Exercise 3: ``fn(G, D, opt_d, real, z)`` is Algorithm 1's D step and returns L_D."""
    name = t("the discriminator step")
    G0, D0, _ = _pair_and_batch()
    try:
        G, D, got = _after_two_steps(fn)
    except NotImplementedError:
        return verdict(name, [t("not written yet: replace `raise NotImplementedError` with your D step.")])
    except Exception as e:  # noqa: BLE001 - report any mistake in learner words
        return verdict(name, [t("your function raised {kind}: {exc}", kind=type(e).__name__, exc=e)])
    G_ref, D_ref, want = _after_two_steps(_reference_d_step)
    problems = []
    if not _same(G, G0):
        problems.append(t("G's weights changed: the D step must only update D (step opt_d, not an optimizer of G)."))
    elif any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in G.parameters()):
        problems.append(t("G got gradients: detach the fakes, fake = G(z).detach(), so the D step cannot train G "
                          "(and autograd does no work for G)."))
    elif _same(D, D0):
        problems.append(t("D did not change: after loss.backward() call opt_d.step()."))
    elif not _same(D, D_ref):
        for options, message in (
                (dict(sign=-1.0), t("wrong sign: D *maximises* log D(x) + log(1 - D(G(z))), so the loss to "
                                    "minimise is BCE(real, 1) + BCE(fake, 0), not its negative.")),
                (dict(real_label=0.0, fake_label=1.0), t("labels swapped: real samples are labelled 1 and fakes 0.")),
                (dict(fake_label=1.0), t("fakes must be labelled 0 in D's step (label 1 is G's wish, in the G step).")),
                (dict(squash=True), t("D returns logits: give them to binary_cross_entropy_with_logits directly, "
                                      "without a sigmoid first.")),
                (dict(zero_grad=False), t("the second step used the first step's gradients too: call "
                                          "opt_d.zero_grad() before loss.backward() (PyTorch adds new gradients "
                                          "into .grad)."))):
            if _same(D, _after_two_steps(_reference_d_step, **options)[1]):
                problems.append(message)
                break
        else:
            problems.append(t("D's weights after two steps differ from Algorithm 1's D step. Use the BCE of the logits "
                              "on real (label 1) and on G(z).detach() (label 0), summed, then zero_grad, backward, "
                              "step."))
    elif not (isinstance(got[0], torch.Tensor) and got[0].numel() == 1
              and math.isclose(float(got[0]), float(want[0]), rel_tol=1e-5)):
        problems.append(t("return the loss L_D (a scalar tensor); for the first step it is {want:.4f}.",
                           want=float(want[0])))
    return verdict(name, problems)
