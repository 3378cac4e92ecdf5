"""Checks for notebook 02's exercises (optimal discriminator, C(G), JSD).

Each check runs the learner's function on small inputs, compares it with the closed form or the
reference computation, and, when the answer is wrong, names the mistake in learner words (a/b
swapped, ratio instead of probability, the fake term missing, M = P + Q instead of (P + Q)/2,
...). Checks print and return a bool; they never raise. Reference solutions:
``notebooks/solutions/nb02.py``.

    peak_of_f(a, b) -> y                    where f(y) = a log y + b log(1 - y) is largest
    d_star(x, p_data, p_g) -> D*(x)         the optimal discriminator from two density callables
    value_on_grid(x, p_data_x, p_g_x, d_x)  V(G, D) = int p_data log D + p_g log(1 - D) on a grid
    jsd_from_kl(x, p_x, q_x)                JSD(P || Q) built from KL terms on a grid
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
from scipy import integrate, special

from . import N_, run_safely, t, verdict
from .. import theory, toy

LOG2 = math.log(2.0)
LOG4 = math.log(4.0)

# The densities the checks use (the notebook's p_data and a shifted Gaussian as p_g).
_P_DATA = toy.mixture_1d()            # modes at -2 and 2, sigma 0.5, as in the notebook
_P_G = toy.gaussian(1.0, 1.0)


def _as_float(value: Any) -> float | None:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.size != 1:
        return None
    return float(arr.reshape(()))


def _as_array(value: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    try:
        arr = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.shape != shape:
        if arr.size == int(np.prod(shape)):
            return arr.reshape(shape)
        return None
    return arr


def _close(a: float, b: float, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= atol + rtol * abs(b)


def _all_close(got: Sequence[float], want: Sequence[float], rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    return all(_close(g, w, rtol, atol) for g, w in zip(got, want))


# ================================================================================ exercise 1
_PEAK_CASES = ((1.0, 1.0), (3.0, 1.0), (0.2, 0.7), (2.5, 0.1), (0.004, 0.001))


def check_peak(peak_of_f: Callable[[float, float], float]) -> bool:
    """Exercise 1: ``peak_of_f(a, b)`` must return a / (a + b), the maximiser of a log y + b log(1 - y)."""
    name = t("Exercise 1 (where f(y) = a log y + b log(1 - y) peaks)")
    got: list[float] = []
    for a, b in _PEAK_CASES:
        out, err = run_safely(name, peak_of_f, a, b)
        if err:
            return verdict(name, [t("peak_of_f({a:g}, {b:g}): {err}", a=a, b=b, err=err)])
        y = _as_float(out)
        if y is None:
            return verdict(name, [t("peak_of_f({a:g}, {b:g}) returned {out!r}; return one number y in (0, 1).",
                                     a=a, b=b, out=out)])
        got.append(y)
    want = [a / (a + b) for a, b in _PEAK_CASES]
    if _all_close(got, want):
        return verdict(name, [])
    problems: list[str] = []
    if _all_close(got, [b / (a + b) for a, b in _PEAK_CASES]):
        problems.append(t("you returned b/(a + b): a and b are swapped. The peak moves towards y = 1 when a (the "
                          "weight of log y, i.e. p_data(x)) is large: for a=3, b=1 it is 0.75, not 0.25."))
    elif _all_close(got, [a / b for a, b in _PEAK_CASES]):
        problems.append(t("you returned a/b, which is not even in (0, 1) when a > b. Solve f'(y) = a/y - b/(1 - y) "
                          "= 0 again: a(1 - y) = b y, so a = (a + b) y."))
    elif all(_close(y, 0.5) for y in got):
        problems.append(t("you always return 1/2. That is the peak only when a = b (p_data(x) = p_g(x)); "
                          "for a=3, b=1 the peak is at 0.75."))
    elif _all_close(got, want, rtol=1e-2, atol=1e-3):
        worst = max(range(len(got)), key=lambda i: abs(got[i] - want[i]))
        problems.append(t("close but not exact (for a={a:g}, b={b:g} you give {got:.6f}, the peak is {want:.6f}). "
                          "A grid search is only as fine as its grid; set f'(y) = 0 and solve for y in closed form.",
                          a=_PEAK_CASES[worst][0], b=_PEAK_CASES[worst][1], got=got[worst], want=want[worst]))
    else:
        for (a, b), y, w in zip(_PEAK_CASES, got, want):
            if _close(y, w):
                continue
            if not 0.0 < y < 1.0:
                problems.append(t("for a={a:g}, b={b:g} you return y={y:.6g}, outside (0, 1): f needs y > 0 for log y "
                                  "and y < 1 for log(1 - y).", a=a, b=b, y=y))
            else:
                slope = a / y - b / (1 - y)
                way = t("larger") if slope > 0 else t("smaller")
                problems.append(t("for a={a:g}, b={b:g} you return y={y:.6f}, but there f'(y) = a/y - b/(1-y) = "
                                  "{slope:.4g}, not 0: the peak is at a {way} y.", a=a, b=b, y=y, slope=slope, way=way))
            break
    return verdict(name, problems)


# ================================================================================ exercise 2
def check_d_star(d_star: Callable[[np.ndarray, Callable, Callable], np.ndarray]) -> bool:
    """Exercise 2: ``d_star(x, p_data, p_g)`` must return p_data(x) / (p_data(x) + p_g(x)) for arrays x."""
    name = t("Exercise 2 (the optimal discriminator D*)")
    x = np.linspace(-3.0, 4.0, 15)
    p, q = _P_DATA.pdf(x), _P_G.pdf(x)
    want = p / (p + q)
    out, err = run_safely(name, d_star, x.copy(), _P_DATA.pdf, _P_G.pdf)
    if err:
        return verdict(name, [t("d_star(x, p_data, p_g): {err}", err=err)])
    got = _as_array(out, x.shape)
    if got is None:
        return verdict(name, [t("d_star returned {kind} with shape {shape}; return an array "
                                "with one value per point of x (shape {x_shape}).",
                                kind=type(out).__name__, shape=np.shape(out), x_shape=x.shape)])
    if np.allclose(got, want, rtol=1e-6, atol=1e-9):
        ok = verdict(name, [])
        _note_underflow(d_star)
        return ok
    problems: list[str] = []
    i = int(np.argmax(np.abs(np.nan_to_num(got, nan=1e9) - want)))
    if np.isnan(got).any():
        problems.append(t("D*(x) is NaN at x = {where}, where both densities are "
                          "positive: check the division p_data / (p_data + p_g).",
                          where=x[np.isnan(got)][:3].round(2).tolist()))
    elif np.allclose(got, q / (p + q), rtol=1e-6, atol=1e-9):
        problems.append(t("you swapped p_data and p_g: D(x) is the probability that x is REAL, so p_data goes on "
                          "top. At x = 2 (a data mode) D* should be near 1; yours is {at_2:.3f}.",
                          at_2=float(np.interp(2.0, x, got))))
    elif np.allclose(got, p / q, rtol=1e-6, atol=1e-9):
        problems.append(t("you returned the ratio p_data/p_g, which reaches {top:.3g} > 1. D* is a probability: "
                          "divide p_data by the SUM p_data + p_g.", top=got.max()))
    elif np.allclose(got, 0.5):
        problems.append(t("you return 1/2 everywhere. That is D* only when p_g = p_data (the end of training); "
                          "here p_g = N(1, 1) differs from p_data."))
    elif got.min() < 0 or got.max() > 1:
        problems.append(t("values outside [0, 1] (from {low:.3g} to {high:.3g}); a discriminator outputs a "
                          "probability. D*(x) = p_data(x) / (p_data(x) + p_g(x)).", low=got.min(), high=got.max()))
    else:
        problems.append(t("at x = {x:.2f}: p_data = {p:.4f}, p_g = {q:.4f}, so D* = {want:.4f}; "
                          "yours gives {got:.4f}. D*(x) = p_data(x) / (p_data(x) + p_g(x)).",
                          x=x[i], p=p[i], q=q[i], want=want[i], got=got[i]))
    return verdict(name, problems)


def _note_underflow(d_star: Callable) -> None:
    """A hint, not a failure: where both densities underflow to 0, p/(p+q) is 0/0."""
    far = np.array([60.0])
    out, err = run_safely("", d_star, far, _P_DATA.pdf, _P_G.pdf)
    val = None if err else _as_float(out)
    if val is not None and math.isnan(val):
        print("   " + t("note: at x = 60 both densities underflow to 0.0 in float64, so p_data / (p_data + p_g) "
                        "is 0/0 = NaN there. No sample lands that far out, so this does no harm in training, but a "
                        "robust version works with log-densities: D* = sigmoid(log p_data - log p_g), which stays "
                        "finite (theory.OptimalDiscriminator does this; where a density is exactly 0 for both it "
                        "returns 1/2)."))


# ================================================================================ exercise 3
def _v_terms(x: np.ndarray, p: np.ndarray, q: np.ndarray, d: np.ndarray) -> dict[str, float]:
    """The reference V and the usual wrong variants, by the trapezoid rule."""
    with np.errstate(divide="ignore", invalid="ignore"):
        real = integrate.trapezoid(special.xlogy(p, d), x)
        fake = integrate.trapezoid(special.xlog1py(q, -d), x)
        real_swapped = integrate.trapezoid(special.xlogy(q, d), x)
        fake_swapped = integrate.trapezoid(special.xlog1py(p, -d), x)
        fake_logd = integrate.trapezoid(special.xlogy(q, d), x)
        unweighted = integrate.trapezoid(np.log(d) + np.log1p(-d), x)
    h = float(x[1] - x[0])
    v = real + fake
    return {
        "right": v,
        "neg": -v,
        "real_only": real,
        "fake_only": fake,
        "logd_both": real + fake_logd,
        "swapped": real_swapped + fake_swapped,
        "no_dx": v / h,
        "unweighted": unweighted,
        "mean": v / (h * len(x)),
    }


def _v_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    x = np.linspace(-8.0, 8.0, 4001)
    p, q = _P_DATA.pdf(x), _P_G.pdf(x)
    d_star = p / (p + q)
    d_other = special.expit(0.8 - 0.6 * x)            # some other discriminator, D in (0, 1)
    return [(N_("D = D*"), x, p, q, d_star), (N_("D(x) = sigmoid(0.8 - 0.6 x)"), x, p, q, d_other),
            (N_("D = 1/2"), x, p, q, np.full_like(x, 0.5))]


def check_value(value_on_grid: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]) -> bool:
    """Exercise 3: ``value_on_grid(x, p_data_x, p_g_x, d_x)`` must be the integral of p_data log D + p_g log(1 - D)."""
    name = t("Exercise 3 (the value function V(G, D) on a grid)")
    cases = _v_cases()
    got, refs = [], []
    for label, x, p, q, d in cases:
        out, err = run_safely(name, value_on_grid, x.copy(), p.copy(), q.copy(), d.copy())
        if err:
            return verdict(name, [t("value_on_grid with {label}: {err}", label=t(label), err=err)])
        v = _as_float(out)
        if v is None:
            return verdict(name, [t("value_on_grid returned {out!r}; return one number, the integral V(G, D).",
                                     out=out)])
        got.append(v)
        refs.append(_v_terms(x, p, q, d))
    want = [r["right"] for r in refs]
    if _all_close(got, want, rtol=1e-6, atol=1e-8):
        return verdict(name, [])
    problems: list[str] = []
    if any(math.isnan(v) for v in got):
        problems.append(t("the result is NaN: where a density is 0 and D is 0 or 1, p log D is 0 * (-inf). "
                          "Use scipy.special.xlogy(p, D) and xlog1py(q, -D), which define 0 log 0 = 0."))
    else:
        diagnoses = (
            ("neg", t("the sign is flipped. V = E_data[log D] + E_g[log(1 - D)] is <= 0 (logs of "
                      "probabilities); D maximises V, it does not minimise it.")),
            ("real_only", t("only the real-data term: add the fake term, the integral of p_g(x) log(1 - D(x)).")),
            ("fake_only", t("only the fake term: add the real-data term, the integral of p_data(x) log D(x).")),
            ("logd_both", t("the fake samples' term uses log D; it must be log(1 - D): D should say 0 on fakes.")),
            ("swapped", t("p_data and p_g are swapped: weight log D by p_data (real samples) and log(1 - D) by "
                          "p_g.")),
            ("unweighted", t("the densities are missing: V is made of expectations, so weight log D(x) by "
                             "p_data(x) and log(1 - D(x)) by p_g(x) before integrating.")),
            ("no_dx", t("you summed the integrand without the spacing dx: an integral is sum * dx (or use "
                        "scipy.integrate.trapezoid(y, x)).")),
            ("mean", t("np.mean of the integrand is not an integral: it divides by the number of points instead "
                       "of multiplying by dx. Use scipy.integrate.trapezoid(y, x).")),
        )
        for key, msg in diagnoses:
            if _all_close(got, [r[key] for r in refs], rtol=1e-6, atol=1e-8):
                problems.append(msg)
                break
        else:
            half = next(i for i, c in enumerate(cases) if c[0] == "D = 1/2")
            if not _close(got[half], -LOG4, rtol=1e-6, atol=1e-8):
                problems.append(t("with D = 1/2 everywhere V must be log(1/2) + log(1/2) = -log 4 = {want:.6f}; "
                                  "yours is {got:.6f}. Check that each term is weighted by its density and "
                                  "integrated over x.", want=-LOG4, got=got[half]))
            else:
                i = next(i for i in range(len(got)) if not _close(got[i], want[i], rtol=1e-6, atol=1e-8))
                problems.append(t("with {label}: V should be {want:.6f}, yours is {got:.6f}. "
                                  "V = integral of p_data(x) log D(x) + p_g(x) log(1 - D(x)) dx.",
                                  label=t(cases[i][0]), want=want[i], got=got[i]))
    return verdict(name, problems)


# ================================================================================ exercise 4
def _jsd_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    # Grids wide enough to hold the mass, narrow enough that no density underflows to 0 on them
    # (so that the wrong answers built on KL(P || Q) stay finite and can be recognised).
    x1 = np.linspace(-8.0, 8.0, 4001)
    x2 = np.linspace(-10.0, 10.0, 4001)
    x3 = np.linspace(-10.0, 22.0, 8001)
    n01 = toy.gaussian(0.0, 1.0)
    return [(N_("P = p_data, Q = N(1, 1)"), x1, _P_DATA.pdf(x1), _P_G.pdf(x1)),
            (N_("P = Q = N(0, 1)"), x2, n01.pdf(x2), n01.pdf(x2)),
            (N_("P = N(0, 1), Q = N(12, 1) (almost disjoint)"), x3, n01.pdf(x3), toy.gaussian(12.0, 1.0).pdf(x3))]


def _jsd_variants(x: np.ndarray, p: np.ndarray, q: np.ndarray) -> dict[str, float]:
    """The reference JSD and the usual wrong variants, from ``theory.grid_kl`` (each argument normalised)."""
    m = (p + q) / 2
    kpm, kqm, kpq = theory.grid_kl(p, m, x), theory.grid_kl(q, m, x), theory.grid_kl(p, q, x)
    right = 0.5 * kpm + 0.5 * kqm
    return {
        "right": right,
        "kl_pq": kpq,
        "sym_kl": 0.5 * (kpq + theory.grid_kl(q, p, x)),
        "m_sum": right - LOG2,        # KL against M = P + Q written by hand, without normalising M
        "no_half": kpm + kqm,
        "one_kl": kpm,
        "half_one_kl": 0.5 * kpm,
        "reversed": 0.5 * theory.grid_kl(m, p, x) + 0.5 * theory.grid_kl(m, q, x),
        "bits": right / LOG2,
    }


def check_jsd(jsd_from_kl: Callable[[np.ndarray, np.ndarray, np.ndarray], float]) -> bool:
    """Exercise 4: ``jsd_from_kl(x, p_x, q_x)`` must be KL(P || M)/2 + KL(Q || M)/2 with M = (P + Q)/2."""
    name = t("Exercise 4 (JSD from KL divergences)")
    cases = _jsd_cases()
    got, refs = [], []
    for label, x, p, q in cases:
        out, err = run_safely(name, jsd_from_kl, x.copy(), p.copy(), q.copy())
        if err:
            return verdict(name, [t("jsd_from_kl with {label}: {err}", label=t(label), err=err)])
        v = _as_float(out)
        if v is None:
            return verdict(name, [t("jsd_from_kl returned {out!r}; return one number, JSD(P || Q) in nats.", out=out)])
        got.append(v)
        refs.append(_jsd_variants(x, p, q))
    want = [r["right"] for r in refs]
    if _all_close(got, want, rtol=1e-6, atol=1e-9):
        return verdict(name, [])
    problems: list[str] = []
    diagnoses = (
        ("m_sum", t("off by log 2 (you get JSD - log 2, negative for P = Q): the midpoint is M = (P + Q)/2, "
                    "not P + Q, which does not integrate to 1 (theory.grid_kl would normalise it for you).")),
        ("kl_pq", t("that is KL(P || Q), not JSD. JSD compares each distribution with the midpoint M = (P + Q)/2: "
                    "JSD = KL(P || M)/2 + KL(Q || M)/2. (KL(P || Q) is not symmetric and is unbounded: "
                    "{kl:.1f} for the almost disjoint pair, where JSD is close to log 2.)", kl=refs[2]["kl_pq"])),
        ("sym_kl", t("that is the symmetrised KL (KL(P || Q) + KL(Q || P))/2, which is unbounded; JSD uses the "
                     "midpoint M = (P + Q)/2 in both terms.")),
        ("no_half", t("twice the JSD: the two KL terms are averaged, JSD = KL(P || M)/2 + KL(Q || M)/2 "
                      "(so that JSD <= log 2).")),
        ("one_kl", t("only KL(P || M); add KL(Q || M) and average the two.")),
        ("half_one_kl", t("only KL(P || M)/2; add the second term KL(Q || M)/2.")),
        ("reversed", t("the KLs are reversed: KL(M || P) puts M first. JSD = KL(P || M)/2 + KL(Q || M)/2.")),
        ("bits", t("this is JSD in bits (log base 2); the course uses natural logs (nats), where JSD <= log 2 "
                   "= 0.693.")),
    )
    for key, msg in diagnoses:
        if _all_close(got, [r[key] for r in refs], rtol=1e-6, atol=1e-9):
            problems.append(msg)
            break
    else:
        if not abs(got[1]) <= 1e-9:
            problems.append(t("for P = Q the JSD must be 0; yours is {got:.6g}.", got=got[1]))
        elif not (0 <= got[2] <= LOG2 + 1e-9):
            problems.append(t("for almost disjoint P and Q the JSD must be just below log 2 = {log2:.6f}; yours is "
                              "{got:.6g}.", log2=LOG2, got=got[2]))
        else:
            problems.append(t("for {label} the JSD is {want:.6f}; yours is {got:.6f}. "
                              "JSD = KL(P || M)/2 + KL(Q || M)/2 with M = (P + Q)/2.",
                              label=t(cases[0][0]), want=want[0], got=got[0]))
    return verdict(name, problems)
