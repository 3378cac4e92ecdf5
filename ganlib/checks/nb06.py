"""Checks for the exercises of notebook 06 (a DCGAN on MNIST, measured).

Each check runs the learner's function on small inputs, compares it with the reference in
``notebooks/solutions/nb06.py`` and, when they differ, tries the usual mistakes one by one to
say which was made. Checks print and return a bool; they never raise.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from . import load_solutions, run_safely, t, verdict

__all__ = ["check_slerp", "check_classifier_score", "check_frechet_1d"]


def _to_tensor(value) -> torch.Tensor | None:
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except Exception:  # noqa: BLE001 - anything that is not numbers is reported as such
        return None


def _close(a: torch.Tensor | float | None, b: torch.Tensor | float, tol: float = 1e-6) -> bool:
    if a is None:
        return False
    a_t, b_t = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return a_t.shape == b_t.shape and bool(torch.isfinite(a_t).all()) and bool(
        torch.allclose(a_t, b_t, rtol=tol, atol=tol))


# --------------------------------------------------------------------------- exercise 1: slerp
def check_slerp(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> bool:
    """Exercise: ``slerp(z0, z1, t)`` for 1-D z0, z1 and a number t in [0, 1]."""
    name = "slerp"
    ref = load_solutions(6).slerp
    g = torch.Generator().manual_seed(6)
    z0, z1 = torch.randn(8, generator=g, dtype=torch.float64), torch.randn(8, generator=g, dtype=torch.float64)
    # Same norm for both, so a correct slerp keeps it all along the path.
    z1 = z1 * (z0.norm() / z1.norm())
    ts = (0.0, 0.25, 0.5, 0.9, 1.0)
    outs = {}
    for at in ts:
        out, err = run_safely(name, fn, z0.clone(), z1.clone(), at)
        if err:
            return verdict(name, [err])
        out = _to_tensor(out)
        if out is None or out.shape != z0.shape:
            return verdict(name, [t("for z0, z1 of shape (8,) it should return shape (8,), got {shape}.",
                                    shape=None if out is None else tuple(out.shape))])
        outs[at] = out
    if all(_close(outs[at], ref(z0, z1, at)) for at in ts):
        return verdict(name, [])

    problems: list[str] = []
    if any(not bool(torch.isfinite(o).all()) for o in outs.values()):
        bad = [at for at, o in outs.items() if not bool(torch.isfinite(o).all())]
        problems.append(t("it returns NaN or inf at t = {bad}: arccos needs its argument in [-1, 1] "
                          "(divide <z0, z1> by ||z0|| ||z1|| and clamp), and divide by sin W only "
                          "where W > 0.", bad=bad))
        return verdict(name, problems)
    if _close(outs[0.0], z1) and _close(outs[1.0], z0):
        problems.append(t("the endpoints are swapped: t = 0 must give z0 and t = 1 must give z1 "
                          "(z0 gets the weight sin((1 - t) W) / sin W)."))
    elif all(_close(outs[at], (1 - at) * z0 + at * z1) for at in ts):
        mid = float(outs[0.5].norm()) / float(z0.norm())
        problems.append(t("this is linear interpolation: the midpoint's norm is {mid:.2f} x that of "
                          "z0 and z1. Follow the great circle: weights sin((1 - t) W) / sin W and "
                          "sin(t W) / sin W with W the angle between z0 and z1.", mid=mid))
    else:
        w = torch.arccos((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1))
        if all(_close(outs[at], ref(z0, z1, at) * torch.sin(w)) for at in ts):
            problems.append(t("the weights are not divided by sin W: at t = 0 you get sin(W) z0 "
                              "instead of z0."))
        else:
            if not (_close(outs[0.0], z0) and _close(outs[1.0], z1)):
                problems.append(t("the endpoints are wrong: t = 0 must return z0 exactly and t = 1 "
                                  "must return z1."))
            ratio = [float(o.norm() / z0.norm()) for o in outs.values()]
            if max(abs(r - 1) for r in ratio) > 1e-6:
                problems.append(t("for z0 and z1 of equal norm every point of the path should have "
                                  "that norm; yours range from {low:.3f} to {high:.3f} "
                                  "times it. Is W the angle between z0 and z1 (cos W = <z0, z1> / "
                                  "(||z0|| ||z1||))?", low=min(ratio), high=max(ratio)))
            if not problems:
                at = next(at for at in ts if not _close(outs[at], ref(z0, z1, at)))
                problems.append(t("at t = {at} the result differs from the reference "
                                  "(max difference {diff:.3g}).",
                                  at=at, diff=float((outs[at] - ref(z0, z1, at)).abs().max())))
    return verdict(name, problems)


# --------------------------------------------------------------------------- exercise 2: classifier score
def check_classifier_score(fn: Callable[[torch.Tensor], float]) -> bool:
    """Exercise: ``classifier_score(probs)`` = exp(E_x KL(p(y|x) || p(y))) for probs (n, 10)."""
    name = "classifier_score"
    ref = load_solutions(6).classifier_score
    g = torch.Generator().manual_seed(66)
    probs = torch.softmax(3 * torch.randn(40, 10, generator=g, dtype=torch.float64), dim=1)
    # A collapsed generator: every sample confidently the same digit -> the score must be 1.
    collapsed = torch.full((20, 10), 0.001, dtype=torch.float64)
    collapsed[:, 3] = 1 - 9 * 0.001
    answers = {}
    for label, p in (("random", probs), ("collapsed", collapsed)):
        out, err = run_safely(name, fn, p.clone())
        if err:
            return verdict(name, [err])
        v = _to_tensor(out)
        if v is None or v.numel() != 1:
            return verdict(name, [t("it should return one number for the whole set of samples, got {what} "
                                    "(average the KL over the samples x).",
                                    what=t("something that is not a number") if v is None
                                    else t("shape {shape}", shape=tuple(v.shape)))])
        answers[label] = float(v.reshape(()))
    want = {k: ref(p) for k, p in (("random", probs), ("collapsed", collapsed))}
    if all(abs(answers[k] - want[k]) <= 1e-6 * max(1, want[k]) for k in want):
        return verdict(name, [])

    p, eps = probs, 1e-12
    py = p.mean(0, keepdim=True)
    kl = (p * (torch.log(p + eps) - torch.log(py + eps))).sum(1)
    kl_rev = (py * (torch.log(py + eps) - torch.log(p + eps))).sum(1)
    kl_unif = (p * (torch.log(p + eps) + math.log(10))).sum(1)
    a = answers["random"]
    problems: list[str] = []
    if abs(a - float(kl.mean())) < 1e-6:
        problems.append(t("it returns E_x KL(...) but not its exponential: the score is exp of the "
                          "mean KL (then it lies between 1 and 10)."))
    elif abs(a - float(torch.exp(kl).mean())) < 1e-6:
        problems.append(t("the exponential is inside the average: the score is exp(E_x KL), not "
                          "E_x exp(KL)."))
    elif abs(a - float(torch.exp(kl_rev.mean()))) < 1e-6:
        problems.append(t("the KL is reversed: use KL(p(y|x) || p(y)) = sum_y p(y|x) log(p(y|x) / p(y))."))
    elif abs(a - float(torch.exp(kl_unif.mean()))) < 1e-6 or abs(answers["collapsed"] - 1) > 0.05:
        problems.append(t("p(y) must be the average of p(y|x) over the samples, not a uniform 1/10: "
                          "when every sample is a confident '3' your score is {score:.2f}, "
                          "but a collapsed generator should score 1.", score=answers["collapsed"]))
    else:
        problems.append(t("on random probabilities it returns {got:.4f}, the reference gives "
                          "{want:.4f}.", got=a, want=want["random"]))
    return verdict(name, problems)


# --------------------------------------------------------------------------- exercise 3: 1-D Frechet distance
def check_frechet_1d(fn: Callable[[float, float, float, float], float]) -> bool:
    """Exercise: ``frechet_1d(mu1, sigma1, mu2, sigma2)`` (sigmas are standard deviations)."""
    name = "frechet_1d"
    ref = load_solutions(6).frechet_1d
    cases = [(0.0, 1.0, 0.0, 1.0), (1.0, 2.0, -0.5, 0.5), (3.0, 0.3, 1.0, 1.7), (-2.0, 1.5, -2.0, 3.0)]
    answers = []
    for c in cases:
        out, err = run_safely(name, fn, *c)
        if err:
            return verdict(name, [err])
        v = _to_tensor(out)
        if v is None or v.numel() != 1:
            return verdict(name, [t("it should return one number.")])
        answers.append(float(v.reshape(())))
    want = [ref(*c) for c in cases]
    if all(abs(a - w) <= 1e-6 * max(1, abs(w)) for a, w in zip(answers, want)):
        return verdict(name, [])

    def matches(f) -> bool:
        return all(abs(a - f(*c)) <= 1e-6 * max(1, abs(f(*c))) for a, c in zip(answers, cases))

    problems: list[str] = []
    if abs(answers[0]) > 1e-9:
        problems.append(t("two identical Gaussians N(0, 1) must be at distance 0, got {got:.4g}.", got=answers[0]))
    if matches(lambda m1, s1, m2, s2: math.sqrt(ref(m1, s1, m2, s2))):
        problems.append(t("it returns the distance, but FID is the *squared* Frechet distance: drop "
                          "the square root."))
    elif matches(lambda m1, s1, m2, s2: (m1 - m2) ** 2 + s1 + s2 - 2 * math.sqrt(s1 * s2)):
        problems.append(t("sigma1 and sigma2 are standard deviations, so the covariances are "
                          "sigma1**2 and sigma2**2 (you used sigma as the variance)."))
    elif matches(lambda m1, s1, m2, s2: (m1 - m2) ** 2 + s1 ** 2 + s2 ** 2 - 2 * s1 ** 2 * s2 ** 2):
        problems.append(t("the cross term is 2 (S1 S2)^(1/2) = 2 sigma1 sigma2: take the square root "
                          "of the product of the variances."))
    elif matches(lambda m1, s1, m2, s2: abs(m1 - m2) + (s1 - s2) ** 2):
        problems.append(t("the mean term is the *squared* difference (mu1 - mu2)**2."))
    elif matches(lambda m1, s1, m2, s2: (m1 - m2) ** 2 + s1 ** 2 + s2 ** 2 - s1 * s2):
        problems.append(t("the cross term has a factor 2: Tr(S1 + S2 - 2 (S1 S2)^(1/2))."))
    elif not problems:
        i = next(i for i, (a, w) in enumerate(zip(answers, want)) if abs(a - w) > 1e-6 * max(1, abs(w)))
        problems.append(t("for (mu1, sigma1, mu2, sigma2) = {case} it returns {got:.4f}; "
                          "the reference gives {want:.4f}.", case=cases[i], got=answers[i], want=want[i]))
    return verdict(name, problems)
