"""Checks for notebook 01's exercises.

1. ``discriminator_loss(real_logits, fake_logits)``: -mean log D(x) - mean log(1 - D(G(z))) from logits.
2. ``density_by_change_of_variables(G, z)``: x = G(z) and p_g(x) = p_z(z) / |G'(z)| with autograd.
3. ``one_iteration(trainer)``: one iteration of Algorithm 1 from the trainer's pieces
   (``trainer.k`` calls of ``d_step``, then one ``g_step``).

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

from . import run_safely, verdict


# --------------------------------------------------------------------------- exercise 1
def check_discriminator_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 1: ``fn(real_logits, fake_logits)`` = -mean log D(x) - mean log(1 - D(G(z))), D = sigmoid."""
    name = "discriminator loss from logits"
    real = torch.tensor([[2.0], [0.5], [-1.0], [3.0]])
    fake = torch.tensor([[-2.0], [0.0], [1.5]])
    want = (F.softplus(-real).mean() + F.softplus(fake).mean()).item()
    got, err = run_safely(name, fn, real, fake)
    if err:
        return verdict(name, [err])
    if not isinstance(got, torch.Tensor) or got.numel() != 1:
        return verdict(name, ["return one number (a scalar tensor): the mean over each minibatch."])
    g = float(got)
    sig_r, sig_f = torch.sigmoid(real), torch.sigmoid(fake)
    problems = []
    if math.isclose(g, -want, rel_tol=1e-5):
        problems.append("wrong sign: D *maximises* log D(x) + log(1 - D(G(z))), so the loss to minimise is its negative.")
    elif math.isclose(g, (F.softplus(-sig_r).mean() + F.softplus(sig_f).mean()).item(), rel_tol=1e-5):
        problems.append("you applied the sigmoid twice: the inputs are already logits; use softplus on them directly.")
    elif math.isclose(g, (F.softplus(-real).mean() + F.softplus(-fake).mean()).item(), rel_tol=1e-5):
        problems.append("fake samples must be labelled 0: the second term is -log(1 - D(G(z))) = softplus(a_fake), "
                        "not -log D(G(z)).")
    elif math.isclose(g, (F.softplus(-real).sum() + F.softplus(fake).sum()).item(), rel_tol=1e-5):
        problems.append("use the mean over each minibatch, not the sum (the paper's 1/m).")
    elif not math.isclose(g, want, rel_tol=1e-5, abs_tol=1e-6):
        problems.append(f"for these logits the loss should be {want:.4f}, got {g:.4f}. Recall log D = -softplus(-a) "
                        f"and log(1 - D) = -softplus(a).")
    if not problems:
        big, _ = run_safely(name, fn, torch.tensor([[-200.0]]), torch.tensor([[200.0]]))
        if big is None or not torch.isfinite(torch.as_tensor(big)).all():
            problems.append("it overflows for confidently wrong logits (a = -200 on a real sample): compute from "
                            "logits with softplus, not log(sigmoid(a)).")
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
    name = "p_g by change of variables"
    z = torch.linspace(-2.5, 2.5, 11)[:, None]
    problems: list[str] = []
    for G in (_Affine(-0.5, 1.0), _Cubic()):
        got, err = run_safely(name, fn, G, z.clone())
        if err:
            return verdict(name, [err])
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return verdict(name, ["return a pair (x, p): the samples x = G(z) and the density p_g at them."])
        try:
            x_got, p_got = (np.asarray(torch.as_tensor(v).detach().double().reshape(-1)) for v in got)
        except Exception as exc:  # noqa: BLE001 - a learner's odd return value becomes feedback
            return verdict(name, [f"x and p must be tensors or arrays of numbers ({type(exc).__name__}: {exc})."])
        x_ref, p_ref, dx = _reference_density(G, z)
        if x_got.shape != x_ref.shape or p_got.shape != p_ref.shape:
            return verdict(name, [f"return one x and one density value per z: {len(x_ref)} of each, "
                                  f"got {x_got.size} and {p_got.size}."])
        if not np.allclose(x_got, x_ref, rtol=1e-5, atol=1e-6):
            problems.append("x should be G(z), the generator applied to the noise.")
            break
        phi = np.exp(-0.5 * z.reshape(-1).double().numpy() ** 2) / math.sqrt(2 * math.pi)
        phi_at_x = np.exp(-0.5 * x_ref**2) / math.sqrt(2 * math.pi)
        if np.allclose(p_got, p_ref, rtol=1e-4, atol=1e-8):
            continue
        if np.allclose(p_got, phi, rtol=1e-4, atol=1e-8):
            problems.append("missing the 1/|G'(z)| factor: where G stretches (|G'| > 1) the same probability is "
                            "spread over more x, so the density is lower.")
        elif np.allclose(p_got, phi * np.abs(dx), rtol=1e-4, atol=1e-8):
            problems.append("you multiplied by |G'(z)|; divide instead: p_g(x) = p_z(z) / |G'(z)|.")
        elif np.allclose(p_got, -p_ref, rtol=1e-4, atol=1e-8) or np.allclose(p_got, phi / dx, rtol=1e-4, atol=1e-8):
            problems.append("use |G'(z)|, not G'(z): this G is decreasing, and a density is never negative.")
        elif np.allclose(p_got, phi_at_x / np.abs(dx), rtol=1e-4, atol=1e-8):
            problems.append("evaluate p_z at the noise z, not at the sample x = G(z).")
        else:
            problems.append(f"the densities differ from phi(z)/|G'(z)| (max difference "
                            f"{np.abs(p_got - p_ref).max():.3g}). Get G'(z) with torch.autograd.grad(x.sum(), z) "
                            f"on a z that requires grad.")
        break
    return verdict(name, problems)


# --------------------------------------------------------------------------- exercise 3
def _recording_trainer(k: int):
    from .. import models, toy, train

    torch.manual_seed(0)
    G, D = models.ToyGenerator(1, 1, 8), models.ToyDiscriminator(1, 8)
    trainer = train.GANTrainer(G, D, toy.Sampler(toy.gaussian(1.0, 0.5), seed=1), batch_size=16, k=k, seed=0)
    order: list[str] = []
    trainer.opt_d.register_step_post_hook(lambda *a: order.append("D"))
    trainer.opt_g.register_step_post_hook(lambda *a: order.append("G"))
    return trainer, order


def check_one_iteration(fn: Callable[[object], None]) -> bool:
    """Exercise 3: ``fn(trainer)`` runs one iteration of Algorithm 1: trainer.k D steps, then one G step."""
    name = "one iteration of Algorithm 1"
    k = 3
    trainer, order = _recording_trainer(k)
    for _ in range(2):
        _, err = run_safely(name, fn, trainer)
        if err:
            return verdict(name, [err])
    want = (["D"] * k + ["G"]) * 2
    problems = []
    if trainer.step != 0:
        problems.append("you called trainer.train_step() (the library's answer); build the iteration from "
                        "trainer.d_step() and trainer.g_step() instead.")
    elif order == want:
        pass
    elif not order:
        problems.append("nothing was trained: call trainer.d_step() and trainer.g_step().")
    elif order.count("G") != 2:
        problems.append(f"one G step per iteration, after the D steps; two iterations made {order.count('G')} G steps.")
    elif order.count("D") != 2 * k:
        problems.append(f"run trainer.k = {k} D steps per iteration (use trainer.k, not a fixed number); "
                        f"two iterations made {order.count('D')}.")
    else:
        problems.append("update D first: Algorithm 1 runs the k D steps, then the G step "
                        f"(the order was {' '.join(order[:k + 1])} ...).")
    return verdict(name, problems)
