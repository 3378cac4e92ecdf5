"""Checks for notebook 03's exercises (why log(1 - D(G(z))) saturates; the non-saturating loss).

    grad_saturating(a)      -> d/da log(1 - sigmoid(a)) = -sigmoid(a), by hand (no autograd)
    grad_nonsaturating(a)   -> d/da log sigmoid(a) = 1 - sigmoid(a), by hand
    nonsaturating_loss(a)   -> -mean log D(G(z)) from logits a, numerically stable

Each check compares with autograd / the reference and names typical mistakes (wrong sign, the two
losses swapped, probabilities instead of logits, sum instead of mean, log(sigmoid) underflow).
Checks print and return a bool; they never raise. Reference: ``notebooks/solutions/nb03.py``.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from . import run_safely, t, verdict

# Logits from "D confidently rejects" (-8) to "D is fooled" (+6), float64 so comparisons are exact.
_A = torch.tensor([-8.0, -3.0, -1.0, -0.2, 0.0, 0.5, 2.0, 6.0], dtype=torch.float64)


def _as_tensor(value: Any, shape: torch.Size) -> torch.Tensor | None:
    try:
        arr = torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return None
    if arr.numel() != shape.numel():
        return None
    return arr.reshape(shape)


def _close(x: torch.Tensor, y: torch.Tensor) -> bool:
    return bool(torch.allclose(x, y, rtol=1e-5, atol=1e-7))


def _autograd(fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    a = _A.clone().requires_grad_(True)
    fn(a).sum().backward()
    return a.grad.detach()


def _check_grad(exercise: str, fn: Callable, own: Callable, other: Callable, own_txt: str, other_txt: str) -> bool:
    out, err = run_safely(exercise, fn, _A.clone())
    if err:
        return verdict(exercise, [err])
    got = _as_tensor(out, _A.shape)
    if got is None:
        return verdict(exercise, [t("it should return one derivative per logit: a tensor of shape {shape}.",
                                     shape=tuple(_A.shape))])
    want = _autograd(own)
    if _close(got, want):
        return verdict(exercise, [])
    s = torch.sigmoid(_A)
    if _close(got, -want):
        return verdict(exercise, [t("wrong sign: the derivative has the opposite sign of autograd's. "
                                    "d/da {own} is {sign}.", own=own_txt,
                                    sign=t("negative") if want[0] < 0 else t("positive"))])
    if _close(got, _autograd(other)) or _close(got, -_autograd(other)):
        return verdict(exercise, [t("that is the derivative of {other} (the other loss): the two are swapped.",
                                    other=other_txt)])
    if _close(got.abs(), (s * (1 - s))):
        return verdict(exercise, [t("that is sigmoid'(a) = D(1 - D), the derivative of D itself. Differentiate "
                                    "the log too: d/da {own} = (d/dD {own_of_d}) * D(1 - D).",
                                    own=own_txt, own_of_d=own_txt.replace("sigmoid(a)", "D"))])
    if not bool(torch.isfinite(got).all()):
        return verdict(exercise, [t("it returns NaN or inf for some logits; write it with torch.sigmoid(a) only.")])
    return verdict(exercise, [t("it does not match autograd's derivative of {own} "
                                "(max difference {diff:.3g}). Use D = sigmoid(a) "
                                "and the chain rule: d/da {own} = (d/dD ...) * D(1 - D).",
                                own=own_txt, diff=float((got - want).abs().max()))])


def check_grad_saturating(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 1: d/da log(1 - sigmoid(a)) = -sigmoid(a), compared with autograd."""
    return _check_grad(t("Exercise 1 (gradient of the saturating loss by hand)"), fn,
                       lambda a: torch.log1p(-torch.sigmoid(a)), lambda a: torch.log(torch.sigmoid(a)),
                       "log(1 - sigmoid(a))", "log sigmoid(a)")


def check_grad_nonsaturating(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 2: d/da log sigmoid(a) = 1 - sigmoid(a), compared with autograd."""
    return _check_grad(t("Exercise 2 (gradient of the non-saturating loss by hand)"), fn,
                       lambda a: torch.log(torch.sigmoid(a)), lambda a: torch.log1p(-torch.sigmoid(a)),
                       "log sigmoid(a)", "log(1 - sigmoid(a))")


def check_nonsaturating_loss(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 3: L_G = -mean log sigmoid(a) from logits a (m, 1), stable for very negative a."""
    ex = t("Exercise 3 (non-saturating loss from logits)")
    a = _A.float().reshape(-1, 1)
    want = F.softplus(-a).mean()
    out, err = run_safely(ex, fn, a.clone())
    if err:
        if "between 0 and 1" in err or "0 and 1" in err:
            err += t(" Your function treats the logits as probabilities (e.g. F.binary_cross_entropy); "
                     "use F.binary_cross_entropy_with_logits or F.softplus(-a).")
        return verdict(ex, [err])
    got = _as_tensor(out, torch.Size([]))
    if got is None:
        return verdict(ex, [t("it should return one number (a scalar tensor): the mean loss over the batch.")])
    got, w = float(got), float(want)
    if got != got:  # NaN
        return verdict(ex, [t("it returns NaN: probabilities instead of logits? torch.log(a) of a negative logit "
                              "is NaN. D(G(z)) = sigmoid(a); -log sigmoid(a) = softplus(-a).")])
    sat = float(-F.softplus(a).mean())
    probs = float(-torch.log(torch.sigmoid(torch.sigmoid(a))).mean())
    if abs(got - w) > 1e-4 * max(1.0, abs(w)):
        if abs(got + w) < 1e-4 * max(1.0, abs(w)):
            problem = t("wrong sign: minimise -log D(G(z)) (i.e. maximise log D(G(z))), not +log D(G(z)).")
        elif abs(got - sat) < 1e-4 * max(1.0, abs(sat)) or abs(got + sat) < 1e-4 * max(1.0, abs(sat)):
            problem = t("losses swapped: that is the saturating loss log(1 - D(G(z))) = -softplus(a). "
                        "The non-saturating loss is -log D(G(z)) = softplus(-a).")
        elif abs(got - probs) < 1e-4 * max(1.0, abs(probs)):
            problem = t("sigmoid applied twice: the input is already a logit, and you turned D into a "
                        "probability and then applied a loss that expects logits. Use softplus(-a) on the logits.")
        elif abs(got - w * a.shape[0]) < 1e-3 * max(1.0, abs(w * a.shape[0])):
            problem = t("sum instead of mean: average over the batch (.mean()), so the scale does not grow with m.")
        elif abs(float(-torch.log(a.clamp_min(1e-12)).mean()) - got) < 1e-4 * max(1.0, abs(got)):
            problem = t("probabilities instead of logits: the input a is a logit; D(G(z)) = sigmoid(a).")
        else:
            problem = t("it returns {got:.4f}, expected -mean log sigmoid(a) = {want:.4f} on these logits.", got=got, want=w)
        return verdict(ex, [problem])
    # Value right: now stability far in the saturated regime, and the gradient.
    big = torch.tensor([[-200.0], [-120.0], [3.0]])
    out2, err2 = run_safely(ex, fn, big.clone())
    v2 = _as_tensor(out2, torch.Size([])) if err2 is None else None
    if v2 is None or not bool(torch.isfinite(v2)) or abs(float(v2) - float(F.softplus(-big).mean())) > 1e-3:
        return verdict(ex, [t("right on moderate logits but not stable: for a = -200, sigmoid(a) underflows to 0 "
                              "and log(0) = -inf. Compute it from the logits: F.softplus(-a) "
                              "(or F.binary_cross_entropy_with_logits(a, ones)).")])
    x = a.clone().requires_grad_(True)
    out3, err3 = run_safely(ex, fn, x)
    if err3 or not isinstance(out3, torch.Tensor) or not out3.requires_grad:
        return verdict(ex, [t("it returns the right number but no gradient flows back to the logits "
                              "(a .detach(), .item() or NumPy inside?). The generator learns through this loss.")])
    out3.backward()
    if not torch.allclose(x.grad, -(1 - torch.sigmoid(a)) / a.shape[0], atol=1e-6):
        return verdict(ex, [t("its gradient w.r.t. the logits is not -(1 - sigmoid(a))/m.")])
    return verdict(ex, [])
