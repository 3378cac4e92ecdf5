"""What notebook 02 measures: Section 4 of Goodfellow et al. (2014) in numbers, on the real line.

* V(G, D) = int p_data log D + p_g log(1 - D) dx                   (``value_function``)
* D*(x) = p_data(x) / (p_data(x) + p_g(x))                           (Prop. 1, ``OptimalDiscriminator``)
* C(G) = V(G, D*) = -log 4 + 2 JSD(p_data || p_g)                    (Theorem 1, ``c_of_g``, ``jsd``)
* gradient steps on p_g itself with D = D* converge to p_data        (Prop. 2, ``function_space_descent``)

KL/JSD in nats, one implementation per kind of input, for the whole course: ``kl`` / ``jsd`` for densities
(quadrature, ``integrate``), ``grid_kl`` / ``grid_jsd`` for values on a grid or histograms. A density is a 1-D
``toy.GaussianMixture`` (its exact ``log_pdf``; support: every mean +- 20 sigma, the mass outside is below
1e-88) or a plain callable x (n,) -> p(x) (n,) with ``support=(lo, hi)``; one whose integral differs from 1
by more than ``NORM_TOL`` raises ValueError. Everything is computed from log-densities (0 log 0 = 0), so tails
that underflow give no NaN. C(G) and -log 4 + 2 JSD, computed independently, agree to better than 1e-12.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from scipy import special

from . import config, toy

ArrayFn = Callable[[np.ndarray], np.ndarray]

QUAD_ATOL, QUAD_RTOL = 1e-13, 1e-12    # ``integrate``: two successive panel doublings must agree
NORM_TOL = 1e-6                         # |int p dx - 1| allowed before a density is rejected
SUPPORT_SIGMAS = 20.0                   # a mixture's support: every mean +- 20 standard deviations
LOG2, LOG4 = math.log(2.0), math.log(4.0)

_GL_NODES, _GL_WEIGHTS = special.roots_legendre(16)
_BREAK_SIGMAS = np.array([-12.0, -8.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 8.0, 12.0])


# =============================================================================== densities
def log_pdf(p: Any, name: str = "p") -> ArrayFn:
    """x (n,) -> log p(x) (n,), -inf where p = 0: a 1-D mixture's exact ``log_pdf``, or log of a callable's values."""
    if isinstance(p, toy.GaussianMixture):
        if p.dim != 1:
            raise ValueError(f"{name} must be a 1-D distribution; {p.name!r} has dim={p.dim}.")
        return p.log_pdf
    if not callable(p):
        raise ValueError(f"{name} must be a toy.GaussianMixture or a callable x -> density, got {p!r}.")

    def fn(x: np.ndarray) -> np.ndarray:
        xa = np.asarray(x, dtype=np.float64)
        values = np.broadcast_to(np.asarray(p(xa), dtype=np.float64), xa.shape)
        if np.isnan(values).any() or (values < 0).any():
            raise ValueError(f"{name} returned NaN or a negative value; a density is a number >= 0 everywhere.")
        with np.errstate(divide="ignore"):
            return np.log(values)
    return fn


def midpoint(p: toy.GaussianMixture, q: toy.GaussianMixture) -> toy.GaussianMixture:
    """M = (P + Q)/2 of two 1-D mixtures, itself a mixture (its support and breakpoints are those of both)."""
    for name, d in (("p", p), ("q", q)):
        if not isinstance(d, toy.GaussianMixture) or d.dim != 1:
            raise ValueError(f"{name} must be a 1-D toy.GaussianMixture, got {d!r}.")
    return toy.GaussianMixture(np.concatenate([p.means[:, 0], q.means[:, 0]]), np.concatenate([p.sigmas, q.sigmas]),
                               np.concatenate([p.weights, q.weights]) / 2, name=f"({p.name} + {q.name})/2")


def _edges(densities: Sequence[Any], support: Any, points: Sequence[float]) -> np.ndarray:
    """Sorted breakpoints from lo to hi: ``points`` and each mixture component's mean +- {1, 2, 4, 8, 12}
    sigma; (lo, hi) is ``support``, else the union of the mixtures' supports."""
    mix = [d for d in densities if isinstance(d, toy.GaussianMixture)]
    if support is None:
        if not mix:
            raise ValueError("plain density callables have no known support; pass support=(lo, hi), a finite "
                             "interval that holds all their mass (or use a toy.GaussianMixture).")
        support = (min(float((d.means[:, 0] - SUPPORT_SIGMAS * d.sigmas).min()) for d in mix),
                   max(float((d.means[:, 0] + SUPPORT_SIGMAS * d.sigmas).max()) for d in mix))
    try:
        lo, hi = (float(v) for v in support)
    except (TypeError, ValueError):
        lo = hi = math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"support must be a pair (lo, hi) of finite numbers with lo < hi, got {support!r}.")
    pts = [float(t) for t in points]
    pts += [float(t) for d in mix for t in (d.means[:, :1] + d.sigmas[:, None] * _BREAK_SIGMAS).ravel()]
    return np.unique(np.array([lo, hi] + [t for t in pts if lo < t < hi]))


def integrate(f: ArrayFn, edges: np.ndarray, *, max_level: int = 10) -> float:
    """int f(x) dx from edges[0] to edges[-1] by 16-point Gauss-Legendre panels, doubled until converged.

    Level L splits every interval between edges into 4 * 2^L panels; the result is returned when
    two successive levels agree within QUAD_ATOL + QUAD_RTOL |I|. An infinite integrand (KL where
    q = 0 < p; log D where D = 0 < p_data) returns its sign's inf."""
    prev = None
    for level in range(max_level + 1):
        t = np.arange(4 * 2**level + 1) / (4 * 2**level)
        fine = np.unique((edges[:-1, None] + np.diff(edges)[:, None] * t[None]).ravel())
        half, mid = np.diff(fine) / 2, (fine[:-1] + fine[1:]) / 2
        fx = np.asarray(f((mid[:, None] + half[:, None] * _GL_NODES[None]).ravel()), dtype=np.float64)
        if np.isnan(fx).any():
            raise RuntimeError("the integrand is NaN somewhere; this is a bug in the integrand, please report it.")
        if np.isinf(fx).any():  # all of one sign: p log(p/q) is never -inf, p log D never +inf
            return float(fx[np.isinf(fx)][0])
        val = float(np.sum((half[:, None] * _GL_WEIGHTS[None]).ravel() * fx))
        if prev is not None and abs(val - prev) <= QUAD_ATOL + QUAD_RTOL * abs(val):
            return val
        prev = val
    raise RuntimeError(f"integrate did not converge after {max_level} panel doublings (last: {prev!r}); the "
                       f"integrand may have a feature narrower than the panels: pass its location in points=.")


def total_mass(p: Any, *, support: tuple[float, float] | None = None, points: Sequence[float] = ()) -> float:
    """int p(x) dx over the support of p (or ``support``)."""
    lp = log_pdf(p)
    return integrate(lambda x: np.exp(lp(x)), _edges([p], support, points))


def _prepare(named: dict[str, Any], support: tuple[float, float] | None, points: Sequence[float]
             ) -> tuple[list[ArrayFn], np.ndarray]:
    """The log-densities and the integration edges; rejects a density that does not integrate to 1."""
    fns = [log_pdf(p, name) for name, p in named.items()]
    edges = _edges(list(named.values()), support, points)
    for name, lp in zip(named, fns):
        mass = integrate(lambda x: np.exp(lp(x)), edges)
        if not abs(mass - 1.0) <= NORM_TOL:
            raise ValueError(f"{name} does not integrate to 1: int {name}(x) dx = {mass:.9g} over [{edges[0]:g}, "
                             f"{edges[-1]:g}] (allowed: |int - 1| <= {NORM_TOL:g}); normalise it or widen support.")
    return fns, edges


def _xlogratio(lp: np.ndarray, lq: np.ndarray) -> np.ndarray:
    """p (log p - log q) from log-densities, with 0 log(0/q) = 0 and +inf where p > 0 = q."""
    p = np.exp(lp)
    with np.errstate(invalid="ignore"):
        return np.where(p > 0, p * (lp - lq), 0.0)


# =============================================================================== divergences of densities
def kl(p: Any, q: Any, *, support: tuple[float, float] | None = None, points: Sequence[float] = ()) -> float:
    """KL(P || Q) = int p log(p / q) dx in nats (>= 0; +inf if q = 0 where p > 0), by quadrature.

    A plain callable underflows to q(x) = 0.0 in the tails, and KL is +inf if p(x) > 0 there: use
    mixtures (exact log-densities) when q's tails are much lighter than p's."""
    (lp, lq), edges = _prepare({"p": p, "q": q}, support, points)
    return integrate(lambda x: _xlogratio(lp(x), lq(x)), edges)


def jsd(p: Any, q: Any, *, support: tuple[float, float] | None = None, points: Sequence[float] = ()) -> float:
    """JSD(P || Q) = KL(P || M)/2 + KL(Q || M)/2, M = (P + Q)/2, in nats (0 <= JSD <= log 2), by quadrature.

    From the two KL integrals, not from C(G): notebook 02 compares two independent computations."""
    (lp, lq), edges = _prepare({"p": p, "q": q}, support, points)

    def integrand(x: np.ndarray) -> np.ndarray:
        a, b = lp(x), lq(x)
        lm = np.logaddexp(a, b) - LOG2
        return 0.5 * _xlogratio(a, lm) + 0.5 * _xlogratio(b, lm)
    return integrate(integrand, edges)


# =============================================================================== divergences of grid values
def _grid_weights(x: Any, n: int) -> np.ndarray:
    """w (n,) with sum(w * f) ~ int f dx by the trapezoid rule on the increasing grid x (n,); ones if x is None."""
    if x is None:
        return np.ones(n)
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (n,) or n < 2 or not np.all(np.diff(x) > 0):
        raise ValueError(f"x must be an increasing 1-D grid of {n} >= 2 points (one per value), got shape {x.shape}.")
    return (np.append(x[1:], x[-1]) - np.insert(x[:-1], 0, x[0])) / 2


def _grid_pair(p: Any, q: Any, x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p and q, each normalised (sum(w p) = sum(w q) = 1), and the weights w (trapezoid, or 1 for x=None)."""
    p, q = (np.asarray(v, dtype=np.float64) for v in (p, q))
    if p.ndim != 1 or p.shape != q.shape or p.size < 1:
        raise ValueError(f"p and q must be 1-D arrays of the same length, got shapes {p.shape} and {q.shape}.")
    w = _grid_weights(x, p.size)
    for name, v in (("p", p), ("q", q)):
        if not (np.all(np.isfinite(v)) and v.min() >= 0 and np.sum(w * v) > 0):
            raise ValueError(f"{name} must hold finite values >= 0 (densities or counts) with some mass on the grid.")
    return p / np.sum(w * p), q / np.sum(w * q), w


def grid_kl(p: Any, q: Any, x: Any = None) -> float:
    """KL(P || Q) in nats from values on a grid: sum_i w_i p_i log(p_i / q_i).

    p, q: (n,) non-negative values. With x (n,) increasing, they are densities on x and w are
    x's trapezoid weights; with x=None they are probability vectors or histograms (w = 1).
    Each is first normalised (sum(w p) = sum(w q) = 1). 0 log 0 = 0; +inf where q = 0 < p."""
    p, q, w = _grid_pair(p, q, x)
    return float(np.sum(w * special.rel_entr(p, q)))


def grid_jsd(p: Any, q: Any, x: Any = None) -> float:
    """JSD(P || Q) = KL(P || M)/2 + KL(Q || M)/2, M = (P + Q)/2, in nats, from values on a grid:
    the inputs and normalisation of ``grid_kl``; always finite, 0 <= JSD <= log 2."""
    p, q, w = _grid_pair(p, q, x)
    m = (p + q) / 2
    return float(np.sum(w * (special.rel_entr(p, m) + special.rel_entr(q, m))) / 2)


# =============================================================================== D*, V, C
class OptimalDiscriminator:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)) = sigmoid(log p_data(x) - log p_g(x))   (Prop. 1).

    ``D(x)`` returns probabilities, ``D.logit(x)`` the logit log p_data - log p_g (what a trained
    discriminator's logit approximates). Where both densities are exactly 0 any value is
    optimal; it returns 1/2 (logit 0) there."""

    def __init__(self, p_data: Any, p_g: Any) -> None:
        self.log_p_data, self.log_p_g = log_pdf(p_data, "p_data"), log_pdf(p_g, "p_g")

    def logit(self, x: np.ndarray) -> np.ndarray:
        a, b = self.log_p_data(x), self.log_p_g(x)
        with np.errstate(invalid="ignore"):
            return np.where(np.isneginf(a) & np.isneginf(b), 0.0, a - b)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return special.expit(self.logit(x))


def value_function(p_data: Any, p_g: Any, D: ArrayFn, *, logits: bool = False,
                   support: tuple[float, float] | None = None, points: Sequence[float] = ()) -> float:
    """V(G, D) = int p_data log D + p_g log(1 - D) dx (<= 0; -log 4 for D = 1/2), by quadrature.

    D: x (n,) -> D(x) in [0, 1], or logits with ``logits=True`` (then log D = -softplus(-a) and
    log(1 - D) = -softplus(a), stable where D saturates); an ``OptimalDiscriminator`` is used
    through its logits. Terms where a density is 0 contribute 0 (0 log 0 = 0)."""
    config.check_bool("logits", logits)
    (lp, lq), edges = _prepare({"p_data": p_data, "p_g": p_g}, support, points)
    if isinstance(D, OptimalDiscriminator):
        D, logits = D.logit, True

    def integrand(x: np.ndarray) -> np.ndarray:
        out = np.asarray(D(x), dtype=np.float64).reshape(x.shape)
        if logits:
            log_d, log_1md = -np.logaddexp(0.0, -out), -np.logaddexp(0.0, out)
        else:
            if np.isnan(out).any() or out.min() < 0 or out.max() > 1:
                raise ValueError(f"D must return probabilities in [0, 1] (got values in [{np.nanmin(out):.3g}, "
                                 f"{np.nanmax(out):.3g}]); if D returns logits, pass logits=True.")
            with np.errstate(divide="ignore"):
                log_d, log_1md = np.log(out), np.log1p(-out)
        p, q = np.exp(lp(x)), np.exp(lq(x))
        with np.errstate(invalid="ignore"):
            return np.where(p > 0, p * log_d, 0.0) + np.where(q > 0, q * log_1md, 0.0)
    return integrate(integrand, edges)


def c_of_g(p_data: Any, p_g: Any, *, support: tuple[float, float] | None = None,
           points: Sequence[float] = ()) -> float:
    """C(G) = max_D V(G, D) = V(G, D*), integrated as V with D = D* (not from the JSD formula).

    Theorem 1: C(G) = -log 4 + 2 JSD(p_data || p_g) >= -log 4, with equality iff p_g = p_data."""
    return value_function(p_data, p_g, OptimalDiscriminator(p_data, p_g), support=support, points=points)


def nonsaturating_objective(p_data: Any, p_g: Any, *, support: tuple[float, float] | None = None,
                            points: Sequence[float] = ()) -> float:
    """E_{x ~ p_g}[-log D*(x)], what the non-saturating generator loss measures when D = D*.

    It equals KL(p_g || p_data) - KL(p_g || M) + log 2 with M = (p_data + p_g)/2 (notebook 02):
    not C(G), so Theorem 1 and Prop. 2 say nothing about it."""
    (_, lq), edges = _prepare({"p_data": p_data, "p_g": p_g}, support, points)
    d_star = OptimalDiscriminator(p_data, p_g)

    def integrand(x: np.ndarray) -> np.ndarray:
        q = np.exp(lq(x))
        return np.where(q > 0, q * np.logaddexp(0.0, -d_star.logit(x)), 0.0)
    return integrate(integrand, edges)


# =============================================================================== Prop. 2 on a grid
@dataclass
class DescentResult:
    """The record of ``function_space_descent``: the grid x (n,), log p_data (n,) normalised on it,
    JSD(p_data || p_g) and C(G) (steps + 1,) after each step (index 0 = start), snapshots
    {step: log p_g (n,)} and identity_gap = max over steps of |C - (-log 4 + 2 JSD)|."""

    x: np.ndarray
    log_p_data: np.ndarray
    jsd: np.ndarray
    c: np.ndarray
    snapshots: dict[int, np.ndarray]
    identity_gap: float

    @property
    def monotone(self) -> bool:
        """True when JSD never increased from one step to the next (above 1e-14 round-off)."""
        return bool(np.all(np.diff(self.jsd) <= 1e-14))

    def steps_to(self, tol: float) -> int | None:
        """The first step at which JSD < tol (None if never)."""
        hit = np.nonzero(self.jsd < tol)[0]
        return int(hit[0]) if hit.size else None


def function_space_descent(p_data: Any, p_g0: Any, *, steps: int = 40, step_size: float = 0.5,
                           discriminator: str = "optimal", loss: str = "minimax", x: np.ndarray | None = None,
                           snapshot_steps: Sequence[int] = (0, 1, 2, 5, 10)) -> DescentResult:
    """Prop. 2 in function space: gradient steps on p_g itself, with D = D* after every step.

    p_g is kept as logits theta = log p_g on the grid x (a softmax with trapezoid weights keeps
    it positive and normalised). By Danskin's theorem the gradient of C(G) = sup_D U(p_g, D) with
    respect to p_g(x) is dU/dp_g(x) at D = D*, i.e. log(1 - D*(x)); one step is
    theta <- theta - step_size * log(1 - D*), then renormalise (exponentiated gradient, or mirror
    descent). step_size = 1 gives p_g <- (p_data + p_g)/2 exactly.

    Args:
        p_data, p_g0: the data density and the starting p_g (1-D mixtures, or callables with x).
        steps, step_size: number of steps and eta in (0, 8]. Small steps converge; a large eta
            overshoots (p_g^new is proportional to p_g^(1 - eta) (p_data + p_g)^eta, which for
            eta > 1 moves mass away from where p_g already is), and far enough it oscillates.
        discriminator: 'optimal' (D = D* of the current p_g, as Prop. 2 assumes) or 'frozen'
            (D = D* of p_g0 for ever: U is then linear in p_g, which piles up where D is largest).
        loss: 'minimax' (the gradient above) or 'non-saturating' (G minimises -E_{p_g} log D,
            gradient -log D*(x)), which is not the criterion C(G) of the proof.
        x: the grid (default: 2001 points over every component of both mixtures +- 8 sigma).
    """
    config.check_choice("discriminator", discriminator, ("optimal", "frozen"))
    config.check_choice("loss", loss, ("minimax", "non-saturating"))
    config.check_int("steps", steps, low=0)
    config.check_number("step_size", step_size, 0, 8, open_low=True)
    if x is None and not (isinstance(p_data, toy.GaussianMixture) and isinstance(p_g0, toy.GaussianMixture)):
        raise ValueError("x (the grid) is needed unless p_data and p_g0 are toy.GaussianMixture objects.")
    x = midpoint(p_data, p_g0).grid(2001, pad=8.0) if x is None else np.asarray(x, dtype=np.float64)
    log_w = np.log(_grid_weights(x, x.size))

    def normalised(log_p: np.ndarray) -> np.ndarray:
        return log_p - special.logsumexp(log_p + log_w)

    def criterion(lp: np.ndarray, lq: np.ndarray) -> float:
        """C(G) on the grid: sum_i w_i [p_data log D* + p_g log(1 - D*)], D* = sigmoid(lp - lq)."""
        a = lp - lq
        return -float(np.sum(np.exp(log_w) * (np.exp(lp) * np.logaddexp(0.0, -a) + np.exp(lq) * np.logaddexp(0.0, a))))

    lp = normalised(log_pdf(p_data, "p_data")(x))
    path = [normalised(log_pdf(p_g0, "p_g0")(x))]                   # log p_g after 0, 1, ... steps
    for _ in range(steps):
        ref = path[-1] if discriminator == "optimal" else path[0]  # the p_g whose D* the step uses
        lm = np.logaddexp(lp, ref)                                  # log(p_data + p_g_ref)
        grad = ref - lm if loss == "minimax" else lm - lp           # log(1 - D*) or -log D*
        path.append(normalised(path[-1] - step_size * grad))
    jsd_arr = np.array([grid_jsd(np.exp(lp), np.exp(lq), x) for lq in path])
    c_arr = np.array([criterion(lp, lq) for lq in path])
    snaps = {t: path[t] for t in sorted({int(s) for s in snapshot_steps}) if 0 <= t <= steps}
    gap = float(np.max(np.abs(c_arr - (-LOG4 + 2 * jsd_arr))))
    return DescentResult(x, lp, jsd_arr, c_arr, snaps, gap)
