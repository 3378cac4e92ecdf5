"""The theory of the 2014 GAN paper, checked with numbers (notebook 02).

Goodfellow et al. (2014), Section 4, and seed notes 002 and 004 derive, for densities p_data
and p_g on the real line:

* the value function          V(G, D) = int p_data(x) log D(x) + p_g(x) log(1 - D(x)) dx;
* the optimal discriminator   D*(x) = p_data(x) / (p_data(x) + p_g(x))   (Prop. 1), because
  f(y) = a log y + b log(1 - y) peaks at y = a / (a + b) for a, b > 0;
* the virtual training criterion C(G) = V(G, D*) = -log 4 + 2 JSD(p_data || p_g)   (Theorem 1),
  with KL(P || Q) = int p log(p / q) and JSD(P || Q) = KL(P || M)/2 + KL(Q || M)/2, M = (P + Q)/2;
* Prop. 2: U(p_g, D) = V(G, D) is linear (hence convex) in p_g, and sup_D U(p_g, D) is convex
  in p_g with its minimum at p_g = p_data, so gradient steps on p_g with D = D* after every step
  converge (here: on a grid, ``function_space_descent``).

Densities are given as callables ``x (n,) ndarray -> density (n,) ndarray``: a plain density,
a log-density (wrap it: ``Density(fn, log=True, support=...)``), or a 1-D
``toy.GaussianMixture`` (its exact ``log_pdf`` and the place of its mass are used). Everything
is computed in log space (log-sum-exp, softplus, x log y with 0 log 0 = 0), so points where a
density underflows to 0 give no NaN. All logarithms are natural (nats); JSD <= log 2.

Integrals (stated tolerances):
    ``integrate`` uses composite 16-point Gauss-Legendre panels (nodes from scipy) between the
    breakpoints of the densities (each mixture component's mean +- {1, 2, 4, 8, 12} sigma) and
    doubles the number of panels until two successive results agree within
    ``QUAD_ATOL + QUAD_RTOL * |I|`` = 1e-13 + 1e-12 |I|; the integral is taken over the union of
    the supports (for a mixture: every mean +- 20 sigma, outside which the mass is < 1e-88).
    In practice the error on the course's densities is ~1e-15, so the identity
    C(G) = -log 4 + 2 JSD holds to better than 1e-12 when C and JSD are computed independently.
    A density whose integral differs from 1 by more than ``norm_tol`` (default ``NORM_TOL`` =
    1e-6) is rejected with a ``ValueError`` naming the parameter.

The frozen-G experiment (``fit_discriminator``) trains a ``models.ToyDiscriminator`` with the
course's loop (``train.GANTrainer(..., train_g=False)``) against a ``FixedGenerator`` whose
p_g is known exactly, and measures max |D(x) - D*(x)| over the central 95 % of (p_data + p_g)/2.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
from scipy import optimize, special
from scipy.integrate import trapezoid  # not np.trapezoid (numpy >= 2 only); `integrate` is ours
from torch import nn

from . import config, models, toy, train

ArrayFn = Callable[[np.ndarray], np.ndarray]

#: Absolute and relative tolerance of ``integrate`` (two successive panel doublings must agree).
QUAD_ATOL: float = 1e-13
QUAD_RTOL: float = 1e-12
#: Default tolerance on |int p dx - 1| before a density is rejected.
NORM_TOL: float = 1e-6
#: ``fit_discriminator`` settings of notebook 02: full mode, and quick mode / the tests. Both keep
#: max |D - D*| < 0.02 on the notebook's frozen generators for every seed we tried (typically 0.003-0.01).
FIT_FULL: dict[str, Any] = dict(steps=6000, batch_size=2048, lr=1e-2, lr_final=1e-4, average=0.25)
FIT_QUICK: dict[str, Any] = dict(steps=3000, batch_size=1024, lr=1e-2, lr_final=1e-4, average=0.25)
#: A mixture's support is taken as every mean +- SUPPORT_SIGMAS standard deviations.
SUPPORT_SIGMAS: float = 20.0
LOG2: float = math.log(2.0)
LOG4: float = math.log(4.0)

_GL_NODES, _GL_WEIGHTS = special.roots_legendre(16)
_BREAK_SIGMAS = np.array([-12.0, -8.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 8.0, 12.0])


# =============================================================================== densities
class Density:
    """A 1-D density given by a callable, evaluated stably in log space.

    Args:
        fn: x (n,) float64 ndarray -> (n,) values: p(x) >= 0, or log p(x) when ``log=True``.
        log: whether ``fn`` returns log p(x) (preferred: it stays finite where p underflows).
        support: (lo, hi), a finite interval outside which p is negligible (< 1e-15 mass).
        points: breakpoints inside ``support`` where p changes fast (modes, kinks).
        name: the label used in error messages.
    """

    def __init__(self, fn: ArrayFn, *, log: bool = False, support: tuple[float, float] | None = None,
                 points: Sequence[float] = (), name: str = "p") -> None:
        if not callable(fn):
            raise ValueError(f"{name} must be a callable x -> density (or a toy.GaussianMixture), got {fn!r}.")
        self.fn, self.log, self.name = fn, bool(log), name
        self.support = None if support is None else _check_support(support, f"support of {name}")
        self.points = tuple(float(p) for p in points)

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """log p(x), shape (n,); -inf where p(x) = 0. Raises ValueError on NaN or negative densities."""
        xa = np.asarray(x, dtype=np.float64)
        raw = np.asarray(self.fn(xa), dtype=np.float64)
        if raw.shape != xa.shape:
            raw = np.broadcast_to(raw.reshape(-1) if raw.size == xa.size else raw, xa.shape)
        if np.isnan(raw).any():
            raise ValueError(f"{self.name} returned NaN at x = {xa[np.isnan(raw)][:3].tolist()}; "
                             f"a density must give a number >= 0 everywhere (a log-density a number or -inf).")
        if self.log:
            if np.isposinf(raw).any():
                raise ValueError(f"{self.name} (a log-density) returned +inf; densities must be finite.")
            return raw
        if (raw < 0).any():
            raise ValueError(f"{self.name} returned negative values (min {raw.min():.3g}); a density is >= 0.")
        with np.errstate(divide="ignore"):
            return np.log(raw)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """p(x) = exp(log p(x)), shape (n,); underflows to 0 far in the tails (that is fine)."""
        return np.exp(self.log_pdf(x))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.pdf(x)

    def __repr__(self) -> str:
        return f"Density({self.name!r}, log={self.log}, support={self.support})"


def _check_support(support: Any, what: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in support)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a pair (lo, hi) of finite numbers, got {support!r}.") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{what} must be a pair (lo, hi) of finite numbers with lo < hi, got {support!r}.")
    return lo, hi


def as_density(p: Any, name: str = "p") -> Density:
    """Coerce ``p`` to a ``Density``: a Density, a 1-D ``toy.GaussianMixture``, or a plain callable.

    A mixture brings its exact log-density, its support (every mean +- 20 sigma) and its
    breakpoints (mean +- {1, 2, 4, 8, 12} sigma). A plain callable is read as a density (not
    log); give it a support through the ``support=`` argument of the function you call.
    """
    if isinstance(p, Density):
        return p
    if isinstance(p, toy.GaussianMixture):
        if p.dim != 1:
            raise ValueError(f"{name} must be a 1-D distribution; {p.name!r} has dim={p.dim}.")
        mu, sig = p.means[:, 0], p.sigmas
        support = (float((mu - SUPPORT_SIGMAS * sig).min()), float((mu + SUPPORT_SIGMAS * sig).max()))
        points = (mu[:, None] + sig[:, None] * _BREAK_SIGMAS[None]).ravel()
        return Density(p.log_pdf, log=True, support=support, points=points, name=name)
    if callable(p):
        return Density(p, log=False, support=None, name=name)
    raise ValueError(f"{name} must be a callable x -> p(x), a theory.Density or a toy.GaussianMixture, got {p!r}.")


def mixture_of(p_data: toy.GaussianMixture, p_g: toy.GaussianMixture, name: str = "(p_data + p_g)/2"
               ) -> toy.GaussianMixture:
    """M = (p_data + p_g)/2 as a ``toy.GaussianMixture`` (both 1-D mixtures), e.g. for its central interval."""
    for nm, d in (("p_data", p_data), ("p_g", p_g)):
        if not isinstance(d, toy.GaussianMixture) or d.dim != 1:
            raise ValueError(f"{nm} must be a 1-D toy.GaussianMixture, got {d!r}.")
    return toy.GaussianMixture(np.concatenate([p_data.means[:, 0], p_g.means[:, 0]]),
                               np.concatenate([p_data.sigmas, p_g.sigmas]),
                               np.concatenate([p_data.weights, p_g.weights]) / 2, name=name)


# =============================================================================== quadrature
@dataclass(frozen=True)
class Domain:
    """Where to integrate: the interval (lo, hi) and the breakpoints inside it."""

    lo: float
    hi: float
    points: tuple[float, ...] = ()

    def edges(self) -> np.ndarray:
        """Sorted unique breakpoints including both ends."""
        inner = [p for p in self.points if self.lo < p < self.hi]
        return np.unique(np.array([self.lo, self.hi, *inner], dtype=np.float64))


def domain_of(*densities: Density, support: tuple[float, float] | None = None) -> Domain:
    """The union of the densities' supports (or ``support`` if given) with all their breakpoints."""
    pts = tuple(p for d in densities for p in d.points)
    if support is not None:
        lo, hi = _check_support(support, "support")
        return Domain(lo, hi, pts)
    known = [d.support for d in densities if d.support is not None]
    if not known:
        names = " and ".join(d.name for d in densities)
        raise ValueError(f"{names}: no support known for a plain callable; pass support=(lo, hi), a finite "
                         f"interval holding all the mass (or use a toy.GaussianMixture / theory.Density).")
    return Domain(min(s[0] for s in known), max(s[1] for s in known), pts)


def integrate(f: ArrayFn, domain: Domain, *, atol: float = QUAD_ATOL, rtol: float = QUAD_RTOL,
              max_level: int = 10) -> float:
    """int_lo^hi f(x) dx by composite 16-point Gauss-Legendre panels, doubled until converged.

    Level L splits every interval between breakpoints into 4 * 2^L equal panels; the result is
    returned when two successive levels agree within ``atol + rtol * |I|``. ``f`` takes an
    (n,) array. An infinite integral (e.g. KL where q = 0 but p > 0) returns +-inf.
    """
    edges = domain.edges()
    prev = None
    for level in range(max_level + 1):
        k = 4 * 2**level
        t = np.arange(k + 1) / k
        fine = np.unique((edges[:-1, None] + (edges[1:] - edges[:-1])[:, None] * t[None]).ravel())
        a, b = fine[:-1], fine[1:]
        half, mid = (b - a) / 2, (a + b) / 2
        x = (mid[:, None] + half[:, None] * _GL_NODES[None]).ravel()
        w = (half[:, None] * _GL_WEIGHTS[None]).ravel()
        fx = np.asarray(f(x), dtype=np.float64)
        if np.isnan(fx).any():
            raise RuntimeError("the integrand is NaN somewhere; this is a bug in the integrand, please report it.")
        if np.isinf(fx).any():
            signs = np.unique(np.sign(fx[np.isinf(fx)]))
            return float(signs[0] * np.inf) if len(signs) == 1 else float("nan")
        val = float(np.sum(w * fx))
        if prev is not None and abs(val - prev) <= atol + rtol * abs(val):
            return val
        prev = val
    raise RuntimeError(f"integrate did not reach {atol:g} + {rtol:g}|I| after {max_level} panel doublings "
                       f"(last two: {prev!r}); the integrand may have a feature narrower than the panels: "
                       f"pass its location in points/support.")


def total_mass(p: Any, *, support: tuple[float, float] | None = None, name: str = "p") -> float:
    """int p(x) dx over the support of p (or ``support``)."""
    d = as_density(p, name)
    return integrate(d.pdf, domain_of(d, support=support))


def _check_normalised(d: Density, domain: Domain, tol: float) -> None:
    mass = integrate(d.pdf, domain)
    if not abs(mass - 1.0) <= tol:
        raise ValueError(
            f"{d.name} does not integrate to 1: int {d.name}(x) dx = {mass:.9g} over [{domain.lo:g}, {domain.hi:g}] "
            f"(allowed: |int - 1| <= {tol:g}). Divide {d.name} by its integral, or, if mass lies outside that "
            f"interval, pass a wider support=(lo, hi).")


def _prepare(pairs: Sequence[tuple[Any, str]], support, norm_tol: float) -> tuple[list[Density], Domain]:
    if not (isinstance(norm_tol, (int, float)) and norm_tol > 0):
        raise ValueError(f"norm_tol must be a positive number, got {norm_tol!r}.")
    ds = [as_density(p, name) for p, name in pairs]
    dom = domain_of(*ds, support=support)
    for d in ds:
        _check_normalised(d, dom, norm_tol)
    return ds, dom


def _xlogratio(lp: np.ndarray, lq: np.ndarray) -> np.ndarray:
    """p (log p - log q) with 0 log(0/q) = 0 and +inf where p > 0 = q; from log-densities."""
    p = np.exp(lp)
    with np.errstate(invalid="ignore"):
        out = p * (lp - lq)
    return np.where(p > 0, out, 0.0)


# =============================================================================== divergences
def kl(p: Any, q: Any, *, support: tuple[float, float] | None = None, norm_tol: float = NORM_TOL) -> float:
    """KL(P || Q) = int p(x) log(p(x) / q(x)) dx in nats (>= 0; +inf if q = 0 where p > 0).

    Evaluated from log-densities, so a mixture's tails (where p and q underflow) add exactly 0.
    A *plain* density callable can only say q(x) = 0.0 where q underflows; if p(x) > 0 there the
    result is +inf, so pass log-densities (``Density(logpdf, log=True, ...)``) when the tails of q
    are much lighter than those of p. Tolerance: that of ``integrate`` (~1e-13 absolute).
    Densities not integrating to 1 within ``norm_tol`` raise ValueError.
    """
    (dp, dq), dom = _prepare([(p, "p"), (q, "q")], support, norm_tol)
    return integrate(lambda x: _xlogratio(dp.log_pdf(x), dq.log_pdf(x)), dom)


def midpoint(p: Any, q: Any, name: str = "M") -> Density:
    """M = (P + Q)/2 as a Density: log m = logaddexp(log p, log q) - log 2 (breakpoints of both)."""
    dp, dq = as_density(p, "p"), as_density(q, "q")
    dom = domain_of(dp, dq) if (dp.support or dq.support) else None
    return Density(lambda x: np.logaddexp(dp.log_pdf(x), dq.log_pdf(x)) - LOG2, log=True,
                   support=None if dom is None else (dom.lo, dom.hi), points=dp.points + dq.points, name=name)


def jsd(p: Any, q: Any, *, support: tuple[float, float] | None = None, norm_tol: float = NORM_TOL) -> float:
    """JSD(P || Q) = KL(P || M)/2 + KL(Q || M)/2 with M = (P + Q)/2, in nats; 0 <= JSD <= log 2.

    Computed literally from two KL integrals (not from C(G)), so the identity check in
    notebook 02 compares two independent computations. Equal to 0 iff P = Q; close to log 2 when
    the supports (almost) do not overlap.
    """
    (dp, dq), dom = _prepare([(p, "p"), (q, "q")], support, norm_tol)
    m = midpoint(dp, dq)
    return 0.5 * integrate(lambda x: _xlogratio(dp.log_pdf(x), m.log_pdf(x)), dom) + \
        0.5 * integrate(lambda x: _xlogratio(dq.log_pdf(x), m.log_pdf(x)), dom)


def kl_on_grid(x: np.ndarray, p_x: np.ndarray, q_x: np.ndarray) -> float:
    """KL(P || Q) ~ trapezoid rule of p log(p/q) over the grid x, from density values (n,) on it.

    The notebook-02 exercise tool: 0 log(0/q) = 0 (``scipy.special.xlogy``), +inf where q = 0 < p.
    Its error is that of the trapezoid rule on the grid (tiny for smooth densities on a fine grid
    that covers their mass).
    """
    x, p, q = (np.asarray(v, dtype=np.float64) for v in (x, p_x, q_x))
    if not (x.ndim == 1 and p.shape == x.shape and q.shape == x.shape):
        raise ValueError(f"x, p_x and q_x must be 1-D arrays of the same length, got {x.shape}, {p.shape}, {q.shape}.")
    with np.errstate(divide="ignore", invalid="ignore"):
        integrand = special.xlogy(p, p) - special.xlogy(p, q)
    integrand = np.where(p > 0, integrand, 0.0)
    return float(trapezoid(integrand, x))


def kl_gaussians(mu1: float, sigma1: float, mu2: float, sigma2: float) -> float:
    """Closed form KL(N(mu1, s1^2) || N(mu2, s2^2)) = log(s2/s1) + (s1^2 + (mu1 - mu2)^2)/(2 s2^2) - 1/2."""
    for nm, s in (("sigma1", sigma1), ("sigma2", sigma2)):
        if not s > 0:
            raise ValueError(f"{nm} must be > 0, got {s!r}.")
    return math.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - 0.5


# =============================================================================== the pointwise step
def pointwise_objective(y: np.ndarray | float, a: float, b: float) -> np.ndarray:
    """f(y) = a log y + b log(1 - y) on y in [0, 1] (with 0 log 0 = 0), the integrand of V at one x."""
    return special.xlogy(a, y) + special.xlog1py(b, -np.asarray(y, dtype=np.float64))


def pointwise_argmax(a: float, b: float) -> float:
    """argmax_y f(y) = a / (a + b): f'(y) = a/y - b/(1 - y) = 0, and f'' = -a/y^2 - b/(1-y)^2 < 0."""
    if not (a >= 0 and b >= 0 and a + b > 0):
        raise ValueError(f"a and b must be >= 0 with a + b > 0 (they are densities at one x), got a={a!r}, b={b!r}.")
    return a / (a + b)


def numerical_argmax(a: float, b: float, xatol: float = 1e-12) -> float:
    """The maximiser of f on (0, 1) found by ``scipy.optimize.minimize_scalar`` (bounded Brent), |error| <~ xatol."""
    pointwise_argmax(a, b)  # validates a, b
    res = optimize.minimize_scalar(lambda y: -float(pointwise_objective(y, a, b)), bounds=(0.0, 1.0),
                                   method="bounded", options={"xatol": xatol, "maxiter": 500})
    return float(res.x)


# =============================================================================== D*, V, C
class OptimalDiscriminator:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)) = sigmoid(log p_data(x) - log p_g(x)).

    ``D(x)`` returns probabilities, ``D.logit(x)`` the logit log p_data - log p_g (the quantity a
    trained discriminator's logit approximates). Where both densities underflow to 0 any value
    is optimal; we return 1/2 (logit 0) there.
    """

    def __init__(self, p_data: Any, p_g: Any) -> None:
        self.p_data = as_density(p_data, "p_data")
        self.p_g = as_density(p_g, "p_g")

    def logit(self, x: np.ndarray) -> np.ndarray:
        lp, lq = self.p_data.log_pdf(x), self.p_g.log_pdf(x)
        both_zero = np.isneginf(lp) & np.isneginf(lq)
        with np.errstate(invalid="ignore"):
            a = lp - lq
        return np.where(both_zero, 0.0, a)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return special.expit(self.logit(x))


def optimal_discriminator(p_data: Any, p_g: Any) -> OptimalDiscriminator:
    """Return D* for this pair as a callable x (n,) -> D*(x) (n,) (with ``.logit``)."""
    return OptimalDiscriminator(p_data, p_g)


def value_function(p_data: Any, p_g: Any, D: Callable[[np.ndarray], np.ndarray], *, logits: bool = False,
                   support: tuple[float, float] | None = None, norm_tol: float = NORM_TOL) -> float:
    """V(G, D) = int p_data(x) log D(x) + p_g(x) log(1 - D(x)) dx (<= 0; = -log 4 for D = 1/2).

    Args:
        D: x (n,) -> D(x) in [0, 1], or logits when ``logits=True`` (then log D = -softplus(-a),
            log(1 - D) = -softplus(a), stable when D saturates). An ``OptimalDiscriminator`` is
            evaluated through its logits automatically.
    Terms where a density is 0 contribute 0 (0 log 0 = 0). Tolerance: that of ``integrate``.
    """
    (dp, dq), dom = _prepare([(p_data, "p_data"), (p_g, "p_g")], support, norm_tol)
    if isinstance(D, OptimalDiscriminator):
        D, logits = D.logit, True
    if not callable(D):
        raise ValueError(f"D must be a callable x -> D(x) (or logits with logits=True), got {D!r}.")

    def integrand(x: np.ndarray) -> np.ndarray:
        p, q = dp.pdf(x), dq.pdf(x)
        out = np.asarray(D(x), dtype=np.float64).reshape(x.shape)
        if logits:
            log_d, log_1md = -np.logaddexp(0.0, -out), -np.logaddexp(0.0, out)
        else:
            if np.isnan(out).any() or out.min() < 0 or out.max() > 1:
                raise ValueError(f"D must return probabilities in [0, 1] (got values in [{np.nanmin(out):.3g}, "
                                 f"{np.nanmax(out):.3g}]); if D returns logits, pass logits=True.")
            with np.errstate(divide="ignore"):
                log_d, log_1md = np.log(out), np.log1p(-out)
        with np.errstate(invalid="ignore"):
            return np.where(p > 0, p * log_d, 0.0) + np.where(q > 0, q * log_1md, 0.0)

    return integrate(integrand, dom)


def c_of_g(p_data: Any, p_g: Any, *, support: tuple[float, float] | None = None, norm_tol: float = NORM_TOL) -> float:
    """C(G) = max_D V(G, D) = V(G, D*), computed as V with D = D* (not from the JSD formula).

    Theorem 1: C(G) = -log 4 + 2 JSD(p_data || p_g) >= -log 4, with equality iff p_g = p_data.
    """
    return value_function(p_data, p_g, OptimalDiscriminator(as_density(p_data, "p_data"), as_density(p_g, "p_g")),
                          support=support, norm_tol=norm_tol)


def nonsaturating_objective(p_data: Any, p_g: Any, *, support: tuple[float, float] | None = None,
                            norm_tol: float = NORM_TOL) -> float:
    """E_{x ~ p_g}[-log D*(x)], what the non-saturating generator loss measures when D = D*.

    Algebra (notebook 02): -E_{p_g} log D* = KL(p_g || p_data) - KL(p_g || M) + log 2 with
    M = (p_data + p_g)/2; this is not C(G), so Theorem 1 and Prop. 2 say nothing about it.
    """
    (dp, dq), dom = _prepare([(p_data, "p_data"), (p_g, "p_g")], support, norm_tol)
    d_star = OptimalDiscriminator(dp, dq)

    def integrand(x: np.ndarray) -> np.ndarray:
        lq = dq.log_pdf(x)
        q = np.exp(lq)
        return np.where(q > 0, q * np.logaddexp(0.0, -d_star.logit(x)), 0.0)

    return integrate(integrand, dom)


def identity_table(p_data: Any, family: dict[str, Any], *, support: tuple[float, float] | None = None
                   ) -> list[dict[str, float | str]]:
    """For each named p_g: C(G) (via V(G, D*)), JSD (via KLs), -log 4 + 2 JSD and their difference."""
    rows: list[dict[str, float | str]] = []
    for name, p_g in family.items():
        c = c_of_g(p_data, p_g, support=support)
        j = jsd(p_data, p_g, support=support)
        rhs = -LOG4 + 2 * j
        rows.append({"p_g": name, "C": c, "JSD": j, "rhs": rhs, "diff": abs(c - rhs)})
    return rows


# =============================================================================== a trained D meets D*
class FixedGenerator(nn.Module):
    """A frozen "generator" whose p_g is a known 1-D Gaussian mixture: z (m, z_dim) -> x (m, 1).

    G(z) = mu_k + sigma_k * z[:, -1], where the component k is read off z[:, 0] through
    Phi(z_0) ~ U(0, 1) and the cumulative weights (a mixture needs z_dim = 2; one Gaussian,
    an affine map of N(0, 1) noise, needs z_dim = 1). With z ~ N(0, I), G(z) ~ p_g exactly, so
    D* is known in closed form. Means and sigmas are registered as parameters with
    ``requires_grad=False`` (the training loop needs a parameter to find the device).
    """

    def __init__(self, p_g: toy.GaussianMixture) -> None:
        super().__init__()
        if not isinstance(p_g, toy.GaussianMixture) or p_g.dim != 1:
            raise ValueError(f"p_g must be a 1-D toy.GaussianMixture, got {p_g!r}.")
        self.p_g = p_g
        self.z_dim = 1 if p_g.n_modes == 1 else 2
        self.means = nn.Parameter(torch.tensor(p_g.means[:, 0], dtype=torch.float32), requires_grad=False)
        self.sigmas = nn.Parameter(torch.tensor(p_g.sigmas, dtype=torch.float32), requires_grad=False)
        self.register_buffer("cum_weights", torch.tensor(np.cumsum(p_g.weights)[:-1], dtype=torch.float32))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        eps = z[:, -1]
        if self.p_g.n_modes == 1:
            k = torch.zeros_like(eps, dtype=torch.long)
        else:
            u = 0.5 * (1 + torch.erf(z[:, 0] / math.sqrt(2.0)))          # Phi(z_0) ~ U(0, 1)
            k = torch.searchsorted(self.cum_weights, u.contiguous(), right=True)
        return (self.means[k] + self.sigmas[k] * eps)[:, None]


class Standardize(nn.Module):
    """x -> (x - mean) / std with fixed numbers: keeps a toy D's tanh units unsaturated at the start."""

    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        if not std > 0:
            raise ValueError(f"std must be > 0, got {std!r}.")
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def module_logits(D: nn.Module) -> ArrayFn:
    """Wrap a torch discriminator (m, 1) -> (m, 1) logits as x (n,) ndarray -> logits (n,) float64."""
    def fn(x: np.ndarray) -> np.ndarray:
        dev = next(D.parameters()).device
        with torch.no_grad():
            xt = torch.as_tensor(np.asarray(x, dtype=np.float32).reshape(-1, 1), device=dev)
            return D(xt).reshape(-1).double().cpu().numpy()
    return fn


@dataclass
class DiscriminatorFit:
    """The result of ``fit_discriminator``: the trained D and how close it is to D*.

    x: (n,) evaluation grid over ``interval`` (the central ``mass`` of (p_data + p_g)/2);
    d, d_star: sigmoid(D's logit) and D* on that grid; max_error = max |d - d_star|.
    """

    D: nn.Module
    history: train.History
    interval: tuple[float, float]
    x: np.ndarray
    d: np.ndarray
    d_star: np.ndarray
    max_error: float
    settings: dict[str, Any] = field(default_factory=dict)


def discriminator_error(D: nn.Module, p_data: toy.GaussianMixture, p_g: toy.GaussianMixture,
                        mass: float = 0.95, n: int = 2001) -> tuple[tuple[float, float], np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate sigmoid(D) and D* on n points of the central ``mass`` interval of (p_data + p_g)/2.

    Returns (interval, x, d, d_star); the error is max |d - d_star|.
    """
    lo, hi = mixture_of(p_data, p_g).central_interval(mass)
    x = np.linspace(lo, hi, n)
    D.eval()
    d = special.expit(module_logits(D)(x))
    return (lo, hi), x, d, OptimalDiscriminator(p_data, p_g)(x)


def fit_discriminator(p_data: toy.GaussianMixture, p_g: toy.GaussianMixture, *, steps: int = 4000,
                      batch_size: int = 2048, hidden: int = 64, depth: int = 2, lr: float = 1e-2,
                      lr_final: float = 1e-4, average: float = 0.0, seed: int = 0, mass: float = 0.95,
                      standardize: bool = False, device: torch.device | str | None = None,
                      threads: int | None = 1) -> DiscriminatorFit:
    """Freeze G at p_g and train D alone with the course's loop; compare D with D*.

    Uses ``train.GANTrainer(FixedGenerator(p_g), ToyDiscriminator(hidden, depth), Sampler(p_data),
    train_g=False)`` with Adam (betas (0.9, 0.999): D alone is a plain classification problem, so
    the GAN setting (0.5, 0.999) of seed 002 is not needed) and an exponential learning-rate decay
    from ``lr`` to ``lr_final`` (large early steps to get close, small late steps to average out
    minibatch noise). Large batches reduce the noise of the estimate D(x) ~ D*(x).

    Args:
        average: if > 0, the returned D is the running mean of D's weights over the last
            ``average`` fraction of the steps (Polyak averaging, a further cut in the noise).
        standardize: put a fixed x -> (x - mean)/std layer in front of D (mean, std of the mixture).
        threads: torch CPU threads during the fit (restored afterwards). 1 is the fastest for
            these tiny networks, and far faster than 2 when other processes share the cores.
    The D initialisation is seeded without touching the global RNG.
    """
    for nm, v in (("steps", steps), ("batch_size", batch_size), ("hidden", hidden), ("depth", depth)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{nm} must be an int >= 1, got {v!r}.")
    if not (0 < lr_final <= lr):
        raise ValueError(f"need 0 < lr_final <= lr, got lr={lr!r}, lr_final={lr_final!r}.")
    if not 0.0 <= average < 1.0:
        raise ValueError(f"average must lie in [0, 1), got {average!r}.")
    dev = config.get_device() if device is None else torch.device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        D: nn.Module = models.ToyDiscriminator(x_dim=1, hidden=hidden, depth=depth)
    if standardize:
        m = mixture_of(p_data, p_g)
        mean = float(np.sum(m.weights * m.means[:, 0]))
        std = float(np.sqrt(np.sum(m.weights * (m.sigmas**2 + m.means[:, 0] ** 2)) - mean**2))
        D = nn.Sequential(Standardize(mean, std), D)
    D = D.to(dev)
    G = FixedGenerator(p_g).to(dev)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.9, 0.999))
    every = 10
    trainer = train.GANTrainer(G, D, toy.Sampler(p_data, seed=seed + 1, device=dev), batch_size=batch_size,
                               opt_d=opt_d, train_g=False, seed=seed + 2, log_every=100)
    ratio = lr_final / lr
    start_avg = int(round(steps * (1.0 - average))) if average > 0 else steps + 1
    avg = torch.optim.swa_utils.AveragedModel(D) if average > 0 else None

    def callback(tr: train.GANTrainer) -> None:
        for group in tr.opt_d.param_groups:
            group["lr"] = lr * ratio ** (tr.step / steps)
        if avg is not None and tr.step >= start_avg:
            avg.update_parameters(D)

    prev_threads = torch.get_num_threads()
    if threads is not None and dev.type == "cpu":
        torch.set_num_threads(int(threads))
    try:
        history = trainer.run(steps, callback=callback, every=every)
    finally:
        torch.set_num_threads(prev_threads)
    if avg is not None:
        D = avg.module          # AveragedModel keeps the running mean of the weights in its own copy
    interval, x, d, d_star = discriminator_error(D, p_data, p_g, mass=mass)
    settings = dict(steps=steps, batch_size=batch_size, hidden=hidden, depth=depth, lr=lr,
                    lr_final=lr_final, average=average, seed=seed, mass=mass, standardize=standardize)
    return DiscriminatorFit(D, history, interval, x, d, d_star, float(np.max(np.abs(d - d_star))), settings)


# =============================================================================== Prop. 2 on a grid
@dataclass
class DescentResult:
    """The record of ``function_space_descent``.

    x, w: the grid (n,) and its trapezoid weights; log_p_data: (n,) log p_data on the grid
    (normalised there); jsd, c: (steps + 1,) JSD(p_data || p_g) and C(G) = V(G, D*) after each
    step (index 0 = start); snapshots: {step: log p_g (n,)}; identity_gap: max over steps of
    |C - (-log 4 + 2 JSD)|.
    """

    x: np.ndarray
    w: np.ndarray
    log_p_data: np.ndarray
    jsd: np.ndarray
    c: np.ndarray
    snapshots: dict[int, np.ndarray]
    step_size: float
    discriminator: str
    loss: str
    identity_gap: float

    @property
    def monotone(self) -> bool:
        """True when JSD never increased from one step to the next (above 1e-14 round-off)."""
        return bool(np.all(np.diff(self.jsd) <= 1e-14))

    def steps_to(self, tol: float) -> int | None:
        """The first step at which JSD < tol (None if never)."""
        hit = np.nonzero(self.jsd < tol)[0]
        return int(hit[0]) if hit.size else None


def grid_for(*dists: toy.GaussianMixture, n: int = 2001, pad: float = 8.0) -> np.ndarray:
    """n evenly spaced points covering every component of every mixture by +- ``pad`` sigmas."""
    lo = min(float((d.means[:, 0] - pad * d.sigmas).min()) for d in dists)
    hi = max(float((d.means[:, 0] + pad * d.sigmas).max()) for d in dists)
    return np.linspace(lo, hi, n)


def _grid_log_normalise(log_p: np.ndarray, log_w: np.ndarray) -> np.ndarray:
    return log_p - special.logsumexp(log_p + log_w)


def grid_kl(log_p: np.ndarray, log_q: np.ndarray, w: np.ndarray) -> float:
    """KL on a grid: sum_i w_i p_i (log p_i - log q_i) from log-densities (0 log 0 = 0)."""
    return float(np.sum(w * _xlogratio(log_p, log_q)))


def grid_jsd(log_p: np.ndarray, log_q: np.ndarray, w: np.ndarray) -> float:
    """JSD on a grid from two KLs to the midpoint M = (P + Q)/2."""
    log_m = np.logaddexp(log_p, log_q) - LOG2
    return 0.5 * grid_kl(log_p, log_m, w) + 0.5 * grid_kl(log_q, log_m, w)


def grid_c(log_p_data: np.ndarray, log_p_g: np.ndarray, w: np.ndarray) -> float:
    """C(G) on a grid: sum_i w_i [p_data log D* + p_g log(1 - D*)], D* = sigmoid(log p_data - log p_g)."""
    a = log_p_data - log_p_g
    return float(np.sum(w * (np.exp(log_p_data) * -np.logaddexp(0.0, -a)
                             + np.exp(log_p_g) * -np.logaddexp(0.0, a))))


def function_space_descent(p_data: Any, p_g0: Any, *, steps: int = 40, step_size: float = 0.5,
                           discriminator: str = "optimal", loss: str = "minimax", x: np.ndarray | None = None,
                           snapshot_steps: Sequence[int] = (0, 1, 2, 5, 10)) -> DescentResult:
    """Prop. 2 in function space: gradient steps on p_g itself, with D = D* after every step.

    p_g is a vector of densities on the grid x, kept as logits theta = log p_g (a softmax over
    the grid with trapezoid weights w keeps it positive and normalised). By Danskin's
    (envelope) theorem the gradient of sup_D U(p_g, D) = C(G) with respect to p_g(x) is the
    partial derivative at D = D*:

        dU/dp_g(x) = log(1 - D*(x)) = log(p_g(x) / (p_data(x) + p_g(x))),

    and one step is theta <- theta - step_size * log(1 - D*), then renormalise (the gradient
    step in the log/softmax coordinates: exponentiated gradient or mirror descent, the
    standard way to take gradient steps on a density). With step_size = 1 it gives
    p_g <- (p_data + p_g)/2 exactly.

    Args:
        p_data, p_g0: the data density and the starting p_g (mixtures, Densities, or callables).
        steps, step_size: number of steps and eta (0 < eta <= 1 is the safe range).
        discriminator: 'optimal' (D = D* of the current p_g, as Prop. 2 assumes) or 'frozen'
            (D = D* of p_g0 kept for ever: U is then linear in p_g and the steps pile p_g up where
            D is largest, a picture of what a stale discriminator does).
        loss: 'minimax' (the gradient above) or 'non-saturating' (G minimises -E_{p_g} log D,
            gradient -log D*(x)): not the criterion C(G) of the proof.
        x: the grid (default ``grid_for(p_data, p_g0)`` for mixtures, 2001 points).
    """
    if discriminator not in ("optimal", "frozen"):
        raise ValueError(f"discriminator={discriminator!r} is not known; use 'optimal' or 'frozen'.")
    if loss not in ("minimax", "non-saturating"):
        raise ValueError(f"loss={loss!r} is not known; use 'minimax' or 'non-saturating'.")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}.")
    if not (isinstance(step_size, (int, float)) and 0 < step_size <= 2):
        raise ValueError(f"step_size must lie in (0, 2], got {step_size!r} (0 < eta <= 1 is the safe range).")
    if x is None:
        if not (isinstance(p_data, toy.GaussianMixture) and isinstance(p_g0, toy.GaussianMixture)):
            raise ValueError("x (the grid) is needed unless p_data and p_g0 are toy.GaussianMixture objects.")
        x = grid_for(p_data, p_g0)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 3 or not np.all(np.diff(x) > 0):
        raise ValueError("x must be an increasing 1-D grid of at least 3 points.")
    w = np.empty_like(x)
    dx = np.diff(x)
    w[0], w[-1] = dx[0] / 2, dx[-1] / 2
    w[1:-1] = (dx[:-1] + dx[1:]) / 2
    log_w = np.log(w)
    lp = _grid_log_normalise(as_density(p_data, "p_data").log_pdf(x), log_w)
    lq = _grid_log_normalise(as_density(p_g0, "p_g0").log_pdf(x), log_w)
    frozen_log_1md = lq - np.logaddexp(lp, lq)         # log(1 - D*) of p_g0
    frozen_log_d = lp - np.logaddexp(lp, lq)
    jsds, cs, snaps = [grid_jsd(lp, lq, w)], [grid_c(lp, lq, w)], {}
    wanted = set(int(s) for s in snapshot_steps)
    if 0 in wanted:
        snaps[0] = lq.copy()
    for t in range(1, steps + 1):
        if discriminator == "optimal":
            log_d, log_1md = lp - np.logaddexp(lp, lq), lq - np.logaddexp(lp, lq)
        else:
            log_d, log_1md = frozen_log_d, frozen_log_1md
        grad = log_1md if loss == "minimax" else -log_d
        lq = _grid_log_normalise(lq - step_size * grad, log_w)
        jsds.append(grid_jsd(lp, lq, w))
        cs.append(grid_c(lp, lq, w))
        if t in wanted:
            snaps[t] = lq.copy()
    jsd_arr, c_arr = np.array(jsds), np.array(cs)
    gap = float(np.max(np.abs(c_arr - (-LOG4 + 2 * jsd_arr))))
    return DescentResult(x, w, lp, jsd_arr, c_arr, snaps, float(step_size), discriminator, loss, gap)
