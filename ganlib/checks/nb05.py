"""Checks for the exercises of notebook 05 (an MLP GAN on MNIST).

Each check runs the learner's function on small inputs, compares it with the reference in
``notebooks/solutions/nb05.py`` and, when they differ, tries the usual mistakes one by one to say
which was made. Checks print and return a bool; they never raise.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from . import load_solutions, run_safely, t, verdict

__all__ = ["check_prepare_batch", "check_discriminator_loss_step", "check_equilibrium_losses"]


def _same(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-5) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a.double(), b.double(), rtol=tol, atol=tol))


# --------------------------------------------------------------------------- exercise 1
def check_prepare_batch(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 1: ``prepare_batch(images)``, uint8 (m, 1, 28, 28) -> float (m, 784) in [-1, 1]."""
    name = "prepare_batch"
    ref = load_solutions(5).prepare_batch
    g = torch.Generator().manual_seed(5)
    m = 5
    images = torch.randint(0, 256, (m, 1, 28, 28), dtype=torch.uint8, generator=g)
    images[0, 0, 0, 0], images[0, 0, 0, 1] = 0, 255  # both ends of the pixel range are present
    out, err = run_safely(name, fn, images.clone())
    if err:
        return verdict(name, [err])
    if not isinstance(out, torch.Tensor):
        return verdict(name, [t("it should return a torch tensor, got {kind}.", kind=type(out).__name__)])
    want = ref(images)
    shape = tuple(out.shape)
    if shape == (m, 1, 28, 28):
        return verdict(name, [t("the images are not flattened: the MLP discriminator's first layer is "
                                "Linear(784, 256), so each image must become one row of 784 numbers: "
                                "x.reshape(m, -1) gives (m, 784).")])
    if shape == (m * 784,):
        return verdict(name, [t("the whole batch became one long vector: keep the batch dimension "
                                "and flatten each image separately, (m, 784).")])
    if shape == (784, m):
        return verdict(name, [t("the result is (784, m): rows must be images, (m, 784).")])
    if shape != (m, 784):
        return verdict(name, [t("for 5 images it should return shape (5, 784), got {shape}.", shape=shape)])
    if not out.is_floating_point():
        return verdict(name, [t("the result has dtype {dtype}: convert to float first "
                                "(images.float()); arithmetic on uint8 wraps around at 255.", dtype=out.dtype)])
    if _same(out, want):
        return verdict(name, [])
    problems: list[str] = []
    flat = images.reshape(m, -1).double()
    if _same(out, flat / 255):
        problems.append(t("the values lie in [0, 1]; G ends in tanh, whose outputs lie in [-1, 1], so "
                          "the real images must too: 0 -> -1 and 255 -> +1 (u / 127.5 - 1)."))
    elif _same(out, flat / 128 - 1):
        problems.append(t("255 maps to 0.992, not 1: divide by 127.5 (= 255 / 2), not by 128."))
    elif _same(out, flat):
        problems.append(t("the pixel values are not rescaled (still 0..255): use u / 127.5 - 1."))
    elif _same(out, 1 - flat / 127.5):
        problems.append(t("the scale is reversed: 0 (black) must map to -1 and 255 (white) to +1."))
    elif _same(torch.sort(out.flatten()).values, torch.sort(want.flatten()).values):
        problems.append(t("each row mixes pixels of different images: reshape with the batch "
                          "dimension first, x.reshape(m, 784). (x.reshape(784, m).T is not the same.)"))
    else:
        lo, hi = float(out.min()), float(out.max())
        problems.append(t("the values run from {lo:.3f} to {hi:.3f}; expected u / 127.5 - 1, from -1 "
                          "(pixel 0) to +1 (pixel 255).", lo=lo, hi=hi))
    return verdict(name, problems)


# --------------------------------------------------------------------------- exercise 2
def _tiny_pair(seed: int) -> tuple[nn.Module, nn.Module]:
    from ..models import MLPDiscriminator, MLPGenerator

    torch.manual_seed(seed)
    return MLPGenerator(z_dim=4, hidden=8, image_size=4), MLPDiscriminator(hidden=8, image_size=4)


def check_discriminator_loss_step(fn: Callable[[nn.Module, nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 2: ``discriminator_loss_step(D, G, real, z)``: L_D from logits, with G detached."""
    name = "discriminator_loss_step"
    ref = load_solutions(5).discriminator_loss_step
    G, D = _tiny_pair(5)
    g = torch.Generator().manual_seed(55)
    m = 6
    real = torch.rand(m, 1, 4, 4, generator=g) * 2 - 1
    z = torch.randn(m, 4, generator=g)
    with torch.no_grad():
        a_real, a_fake = D(real), D(G(z))
        want = ref(D, G, real, z)
    out, err = run_safely(name, fn, D, G, real, z)
    if err:
        return verdict(name, [err])
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        return verdict(name, [t("it should return the loss as a scalar tensor (one number), got {kind}{shape}.",
                                kind=type(out).__name__,
                                shape="" if not isinstance(out, torch.Tensor) else tuple(out.shape))])
    if not out.requires_grad:
        return verdict(name, [t("the loss carries no gradient (was it computed under torch.no_grad(), "
                                "or turned into a number with .item()?): the D step needs loss.backward().")])
    problems: list[str] = []
    value = out.detach().reshape(())
    if not _same(value, want):
        m_ = float(m)
        candidates = [
            (F.softplus(a_real).mean() + F.softplus(-a_fake).mean(),
             t("the labels are swapped: real images get the target 1 and fakes the target 0.")),
            (F.binary_cross_entropy_with_logits(torch.sigmoid(a_real), torch.ones_like(a_real))
             + F.binary_cross_entropy_with_logits(torch.sigmoid(a_fake), torch.zeros_like(a_fake)),
             t("probabilities went into a loss that expects logits: D already returns logits, so use "
               "BCEWithLogits on D(x) directly (no sigmoid first).")),
            (-want, t("the sign is flipped: that is V = E log D(x) + E log(1 - D(G(z))), which D "
                      "maximises; the loss to minimise is -V.")),
            (want * m_, t("the loss is summed over the minibatch: use the mean (the 1/m in Algorithm 1).")),
            (F.softplus(-a_real).mean(), t("only the real term is there: add the fake term, "
                                           "BCE(D(G(z)), 0) = -log(1 - D(G(z))).")),
            (F.softplus(a_fake).mean(), t("only the fake term is there: add the real term, "
                                          "BCE(D(x), 1) = -log D(x).")),
            (want / 2, t("the two terms are averaged (divided by 2); L_D adds them: "
                         "-log D(x) - log(1 - D(G(z))) = loss_real + loss_fake.")),
        ]
        for cand, msg in candidates:
            if _same(value, cand.detach().reshape(())):
                problems.append(msg)
                break
        else:
            problems.append(t("the loss is {got:.5f}; expected {want:.5f} = mean "
                              "softplus(-D(x)) + mean softplus(D(G(z))) on these inputs.",
                              got=float(value), want=float(want)))
        return verdict(name, problems)
    for p in list(G.parameters()) + list(D.parameters()):
        p.grad = None
    _, err = run_safely(name, out.backward)
    if err:
        return verdict(name, [t("loss.backward() failed: {err}", err=err)])
    if any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in G.parameters()):
        problems.append(t("gradients reach G: detach the fakes (G(z).detach(), as train.d_step does) so the "
                          "discriminator's step neither computes nor applies gradients for G."))
    if not any(p.grad is not None for p in D.parameters()):
        problems.append(t("no gradient reaches D's parameters: compute the loss from D's outputs."))
    return verdict(name, problems)


# --------------------------------------------------------------------------- exercise 3
def check_equilibrium_losses(fn: Callable[[], tuple[float, float]]) -> bool:
    """Exercise 3: ``equilibrium_losses() -> (L_D, L_G)`` when D outputs 1/2 everywhere."""
    name = "equilibrium_losses"
    ref_d, ref_g = load_solutions(5).equilibrium_losses()
    out, err = run_safely(name, fn)
    if err:
        return verdict(name, [err])
    try:
        l_d, l_g = (float(v) for v in out)
    except Exception:  # noqa: BLE001 - anything but a pair of numbers
        return verdict(name, [t("it should return a pair of numbers (L_D, L_G), got {out!r}.", out=out)])
    close = lambda a, b: math.isfinite(a) and abs(a - b) < 2e-3  # noqa: E731 - 3 decimals are enough
    problems: list[str] = []
    if close(l_d, ref_g) and close(l_g, ref_d):
        return verdict(name, [t("the two are swapped: return (L_D, L_G).")])
    if not close(l_d, ref_d):
        if close(l_d, 0.0):
            problems.append(t("L_D = 0 would need D(x) = 1 and D(G(z)) = 0, a perfect discriminator. "
                              "GAN losses do not go to 0 (section 4): at D = 1/2 each term is -log(1/2)."))
        elif close(l_d, math.log(2)):
            problems.append(t("L_D has two terms, -log D(x) and -log(1 - D(G(z))), and each is log 2 "
                              "at D = 1/2."))
        elif close(l_d, -ref_d):
            problems.append(t("L_D = -log 4 is V(D, G) at the equilibrium; the loss D minimises is "
                              "-V = +log 4."))
        elif close(l_d, 2 * math.log10(2)) or close(l_d, 2.0):
            problems.append(t("use the natural logarithm (the one in the GAN objective): "
                              "L_D = 2 ln 2."))
        else:
            problems.append(t("L_D = {l_d:.4f} is not -log(1/2) - log(1 - 1/2).", l_d=l_d))
    if not close(l_g, ref_g):
        if close(l_g, -ref_g):
            problems.append(t("L_G = -log 2 is the saturating loss log(1 - D(G(z))); the "
                              "non-saturating generator minimises -log D(G(z)) = +log 2."))
        elif close(l_g, 0.0):
            problems.append(t("L_G = 0 would need D(G(z)) = 1; at the equilibrium D(G(z)) = 1/2."))
        elif close(l_g, math.log10(2)) or close(l_g, 1.0):
            problems.append(t("use the natural logarithm: L_G = ln 2."))
        else:
            problems.append(t("L_G = {l_g:.4f} is not -log D(G(z)) at D(G(z)) = 1/2.", l_g=l_g))
    return verdict(name, problems)
