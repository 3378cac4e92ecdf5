"""Checks for notebook 01's exercises: the discriminator loss from logits; p_g by change of variables."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from . import run_safely, verdict


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
        return verdict(name, ["return one number (a scalar tensor), the mean over the batch."])
    g = float(got)
    problems = []
    if math.isclose(g, -want, rel_tol=1e-5):
        problems.append("wrong sign: D *maximises* log D(x) + log(1 - D(G(z))), so the loss to minimise is its negative.")
    elif math.isclose(g, (F.softplus(-torch.sigmoid(real)).mean() + F.softplus(torch.sigmoid(fake)).mean()).item(), rel_tol=1e-5):
        problems.append("you applied the sigmoid twice: the inputs are logits; use softplus / BCEWithLogits on them directly.")
    elif math.isclose(g, (F.softplus(-real).mean() + F.softplus(-fake).mean()).item(), rel_tol=1e-5):
        problems.append("fake samples must be labelled 0: the second term is -log(1 - D(G(z))) = softplus(a_fake).")
    elif math.isclose(g, (F.softplus(-real).sum() + F.softplus(fake).sum()).item(), rel_tol=1e-5):
        problems.append("use the mean over each minibatch, not the sum (the paper's 1/m).")
    elif not math.isclose(g, want, rel_tol=1e-5, abs_tol=1e-6):
        problems.append(f"for these logits the loss should be {want:.4f}, got {g:.4f}. Recall log D = -softplus(-a) "
                        f"and log(1 - D) = -softplus(a).")
    if not problems:
        big, _ = run_safely(name, fn, torch.tensor([[-200.0]]), torch.tensor([[200.0]]))
        if big is None or not torch.isfinite(torch.as_tensor(big)).all():
            problems.append("it overflows for confidently wrong logits (a = -200 on a real sample): compute from logits with softplus, "
                            "not log(sigmoid(a)).")
    return verdict(name, problems)


def check_affine_density(fn: Callable[[np.ndarray, float, float], np.ndarray]) -> bool:
    """Exercise 2: ``fn(x, a, b)`` = density of x = a z + b, z ~ N(0, 1): phi((x - b)/a) / |a|."""
    name = "p_g by change of variables"
    x = np.linspace(-3, 5, 9)
    problems = []
    for a, b in ((2.0, 1.0), (-0.5, 0.3)):
        want = np.exp(-0.5 * ((x - b) / a) ** 2) / math.sqrt(2 * math.pi) / abs(a)
        got, err = run_safely(name, fn, x, a, b)
        if err:
            return verdict(name, [err])
        got = np.asarray(got, dtype=float)
        if got.shape != x.shape:
            return verdict(name, [f"return one density value per x: shape {x.shape}, got {got.shape}."])
        if np.allclose(got, want * abs(a), rtol=1e-6):
            problems.append("missing the 1/|G'(z)| factor: stretching by a spreads the mass, so divide by |a|.")
        elif np.allclose(got, want * abs(a) / a, rtol=1e-6) and a < 0:
            problems.append("use |a|, not a: a density is never negative (G may be decreasing).")
        elif not np.allclose(got, want, rtol=1e-6, atol=1e-12):
            problems.append(f"for a = {a}, b = {b} the values differ from phi((x - b)/a)/|a| "
                            f"(max difference {np.abs(got - want).max():.3g}).")
        if problems:
            break
    return verdict(name, problems)
