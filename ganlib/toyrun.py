"""Notebook 01's experiment: a 1-D GAN whose snapshots redraw Figure 1 (a)-(d) of the 2014 paper.

The run is the course's one loop (``train.GANTrainer``, Algorithm 1) on p_data = N(1, 0.5^2) with
z ~ N(0, 1), trained to equilibrium. Figure 1 of Goodfellow et al. (2014) is a thought experiment
about "an adversarial pair near convergence"; here every panel is a real state of real networks:

    (a) the trained pair with G's output shifted by ``shift`` (G(z) + shift, so p_g(x) moves
        exactly), then ``a_steps`` D-only steps: p_g near p_data, D only partly accurate;
    (b) (a), then ``b_steps`` D-only steps (``GANTrainer(train_g=False)``, the inner loop of
        Algorithm 1): D approaches D*(x) = p_data(x) / (p_data(x) + p_g(x))  (Prop. 1);
    (c) (b), then ``c_steps`` G-only steps against (b)'s fixed D (``GANTrainer.g_step``): D's
        gradient has moved G(z) towards where D says "data";
    (d) the trained pair itself, at the end of the run: p_g = p_data and D = 1/2.

Why not simply take (a)-(c) from early in the run: there G is still folding its noise (a
non-monotone G puts an infinite-density spike at each fold), which is a different picture from
the paper's. The whole run, from the initial weights to (d), is in ``snapshots`` (the animation).

p_g is exact by the change of variables x = G(z) (``generator_density``):

    p_g(x) = sum over z with G(z) = x of  p_z(z) / |G'(z)|,

with G' from autograd on a fine z grid; for a monotone G the sum has one term. A G with more
than ``MAX_BRANCHES`` monotone pieces falls back to a histogram estimate and says so.

Why these settings (tuned on seeds 0-9, measured: the full run ends with JSD <= 0.0023 nats and
max |D - 1/2| <= 0.030 on the central 95 % of p_data for every one of them, the quick run with
<= 0.0017 nats and <= 0.039; the targets are 0.01 and 0.05):
* z ~ N(0, 1) rather than the paper's uniform z: a bounded Tanh G cannot reach the Gaussian tails
  from U(-1, 1) (its inverse CDF is infinite at +-1), which leaves D -> 1 inside the central 95 %.
* k = 2 D-steps per G-step (Algorithm 1's k; the paper used k = 1): with k = 1 and Adam, D lags
  behind G and the pair circles around the equilibrium (JSD stalls at 0.02-0.1 nats).
* lr_D = 4 lr_G (D learns faster, as k > 1 also ensures); Adam with betas (0.5, 0.999) (seed 002).
* Both learning rates stay constant for the first half of the run, then fall along a cosine to
  2 % of their value (``lr_factor``), so the end state is not blurred by the minibatch noise of
  the last updates. (A 10x drop for the last 15 % instead left max |D - 1/2| up to 0.06 in a 1,500-step run.)
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from scipy import integrate, stats
from torch import nn

from . import config, models, toy
from .train import GANTrainer, History

Tensor = torch.Tensor

#: A G with more monotone pieces than this gets a histogram estimate of p_g instead of the exact sum.
MAX_BRANCHES = 8


@dataclass(frozen=True)
class Figure1Config:
    """Settings of the Figure-1 run (see the module docstring for why)."""

    mu: float = 1.0                 # p_data = N(mu, sigma^2)
    sigma: float = 0.5
    noise: str = "normal"           # z ~ N(0, 1) ("uniform": z ~ U(-1, 1))
    hidden: int = 32                # Tanh MLPs 1-32-32-1 for G and D
    depth: int = 2
    batch_size: int = 128           # m
    k: int = 2                      # D steps per G step
    lr_d: float = 2e-3
    lr_g: float = 5e-4
    betas: tuple[float, float] = (0.5, 0.999)
    steps: int = 3000
    decay_start: float = 0.5        # fraction of the run after which both learning rates decay ...
    lr_final: float = 0.02          # ... along a cosine to this fraction of their value
    lr_every: int = 10              # steps between learning-rate updates
    snapshot_every: int = 50
    shift: float = -0.4             # panel (a): G's output moved by this much (0.8 sigma)
    a_steps: int = 15               # panel (a): D-only steps after the shift (D partly adapted)
    b_steps: int = 400              # panel (b): D-only steps from (a) ...
    b_batch_size: int = 512         # ... on larger minibatches and a larger step, to get near D*
    b_lr_d: float = 5e-3
    c_steps: int = 5                # panel (c): G-only steps from (b), D fixed (more would overshoot)
    c_batch_size: int = 1024

    def __post_init__(self) -> None:
        for name in ("hidden", "depth", "batch_size", "k", "steps", "snapshot_every", "lr_every", "a_steps", "b_steps",
                     "b_batch_size", "c_steps", "c_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}.")
        if not self.sigma > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma!r}.")
        if self.noise not in ("normal", "uniform"):
            raise ValueError(f"noise={self.noise!r} is not known; use 'normal' or 'uniform'.")
        if not 0.0 <= self.decay_start <= 1.0:
            raise ValueError(f"decay_start must lie in [0, 1], got {self.decay_start!r}.")
        if not 0.0 < self.lr_final <= 1.0:
            raise ValueError(f"lr_final must lie in (0, 1], got {self.lr_final!r}.")
        if self.steps < 4 * self.snapshot_every:
            raise ValueError(f"steps must be >= 4 * snapshot_every = {4 * self.snapshot_every} so the run "
                             f"has snapshots to choose panels from, got {self.steps}.")


#: Full mode (the notebook's stored outputs, the benchmark) and quick mode (``GANLIB_QUICK=1``,
#: the tests): the same story, the quick run has two thirds of the steps.
FULL = Figure1Config()
QUICK = replace(FULL, steps=2000)


@dataclass
class Snapshot:
    """What Figure 1 draws for one (G, D): curves on the grid x (n,) and the map z -> G(z).

    p_data, p_g, d: densities and D(x) = sigmoid(logit) on x; pg_method: how p_g was computed
    ("exact" or "histogram estimate ..."); u, z, gz: shape (n_arrows,): evenly spaced
    probability levels u in (0, 1), the noise values z = F_z^{-1}(u) (so every arrow carries the
    same probability, as evenly spaced z do for the paper's uniform z) and x = G(z);
    jsd: JSD(p_data || p_g) in nats by quadrature; d_dev: max |D(x) - 1/2| over the central 95 %
    of p_data; how: one line on how this state was produced.
    """

    step: int
    label: str
    how: str
    x: np.ndarray
    p_data: np.ndarray
    p_g: np.ndarray
    d: np.ndarray
    pg_method: str
    u: np.ndarray
    z: np.ndarray
    gz: np.ndarray
    jsd: float
    d_dev: float
    noise: str = "normal"

    @property
    def d_star(self) -> np.ndarray:
        """D*(x) = p_data / (p_data + p_g) on x (1/2 where both densities vanish)."""
        total = self.p_data + self.p_g
        return np.where(total > 0, self.p_data / np.where(total > 0, total, 1.0), 0.5)


@dataclass
class Figure1Result:
    """What ``run_figure1`` returns.

    trainer / history: the main run (Algorithm 1); snapshots: its states every ``snapshot_every``
    steps (the animation); panels: Figure 1 (a)-(d) in order; timing: seconds for the main run
    ("train"), the snapshots' density computations included, the (b)/(c) branches ("panels") and
    everything ("total"); jsd / max_abs_d_minus_half: the end-of-training numbers.
    """

    cfg: Figure1Config
    seed: int
    target: toy.GaussianMixture
    trainer: GANTrainer
    snapshots: list[Snapshot]
    panels: list[Snapshot]
    timing: dict[str, float]
    history: History = field(init=False)

    def __post_init__(self) -> None:
        self.history = self.trainer.history

    @property
    def final(self) -> Snapshot:
        return self.snapshots[-1]

    @property
    def jsd(self) -> float:
        """JSD(p_data || p_g) in nats at the end of training."""
        return self.final.jsd

    @property
    def max_abs_d_minus_half(self) -> float:
        """max |D(x) - 1/2| over the central 95 % of p_data at the end of training."""
        return self.final.d_dev

    @property
    def seconds(self) -> float:
        return self.timing["total"]


# --------------------------------------------------------------------------- building blocks
def build_models(seed: int = 0, cfg: Figure1Config = FULL) -> tuple[nn.Module, nn.Module]:
    """(G, D) of the Figure-1 run: Tanh MLPs 1-h-h-1, weights seeded by ``seed``."""
    config.set_seed(seed)
    G = models.ToyGenerator(1, 1, hidden=cfg.hidden, depth=cfg.depth, activation=nn.Tanh)
    D = models.ToyDiscriminator(1, hidden=cfg.hidden, depth=cfg.depth, activation=nn.Tanh)
    return G, D


def _noise_grid(noise: str, n_z: int) -> tuple[np.ndarray, np.ndarray]:
    """A z grid covering p_z's mass (all but ~2e-9 of it for N(0, 1)) and p_z on it."""
    if noise == "uniform":
        z = np.linspace(-1.0, 1.0, n_z)
        return z, np.full(n_z, 0.5)
    if noise == "normal":
        z = np.linspace(-6.0, 6.0, n_z)
        return z, stats.norm.pdf(z)
    raise ValueError(f"noise={noise!r} is not known; use 'normal' or 'uniform'.")


def _as_input(module: nn.Module, values: np.ndarray) -> Tensor:
    """values (n,) as a (n, 1) tensor with the module's dtype and device (float32 on the CPU if it has no weights)."""
    p = next(module.parameters(), None)
    dtype, device = (p.dtype, p.device) if p is not None else (torch.float32, torch.device("cpu"))
    return torch.as_tensor(np.asarray(values), dtype=dtype, device=device)[:, None]


@torch.no_grad()
def _g_numpy(G: nn.Module, z: np.ndarray) -> np.ndarray:
    return G(_as_input(G, z))[:, 0].double().cpu().numpy()


def generator_density(G: nn.Module, x: np.ndarray, noise: str = "normal", n_z: int = 12001,
                      n_samples: int = 200_000) -> tuple[np.ndarray, str]:
    """p_g on the grid x (n,) for a 1-D generator G: (n,) -> (n,); returns (p_g, method).

    Exact: on a fine z grid, x = G(z) and G'(z) (autograd) split into monotone pieces; on each,
    p_g gets p_z(z) / |G'(z)| interpolated at x (0 outside the piece's range), and the pieces add
    up (every z with G(z) = x contributes). method = "exact" (one piece: G monotone) or
    "exact (sum over N monotone pieces of G)". With more than ``MAX_BRANCHES`` pieces: a
    histogram of ``n_samples`` samples on bins centred at x, method = "histogram estimate".
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or not np.all(np.diff(x) > 0):
        raise ValueError(f"x must be an increasing 1-D grid of >= 2 points, got shape {x.shape}.")
    zs, pz = _noise_grid(noise, n_z)
    z = _as_input(G, zs).requires_grad_(True)
    with torch.enable_grad():
        gx = G(z)
        if gx.shape != (n_z, 1):
            raise ValueError(f"G must map (m, 1) noise to (m, 1) samples, got {tuple(gx.shape)}.")
        (dg,) = torch.autograd.grad(gx.sum(), z)
    gx_np = gx.detach()[:, 0].double().cpu().numpy()
    dg_np = dg[:, 0].double().cpu().numpy()
    sign = np.where(dg_np >= 0, 1, -1)
    pieces = np.split(np.arange(n_z), np.flatnonzero(np.diff(sign)) + 1)
    if len(pieces) <= MAX_BRANCHES:
        out = np.zeros_like(x)
        for idx in pieces:
            if idx.size < 2:
                continue
            xs, dens = gx_np[idx], pz[idx] / np.maximum(np.abs(dg_np[idx]), 1e-12)
            order = np.argsort(xs)
            xs, dens = xs[order], dens[order]
            inside = (x >= xs[0]) & (x <= xs[-1])
            out[inside] += np.interp(x[inside], xs, dens)
        return out, "exact" if len(pieces) == 1 else f"exact (sum over {len(pieces)} monotone pieces)"
    gen = torch.Generator().manual_seed(0)
    znoise = (torch.rand(n_samples, 1, generator=gen) * 2 - 1) if noise == "uniform" \
        else torch.randn(n_samples, 1, generator=gen)
    samples = _g_numpy(G, znoise[:, 0].numpy())
    edges = np.concatenate([x[:1] - (x[1] - x[0]) / 2, (x[1:] + x[:-1]) / 2, x[-1:] + (x[-1] - x[-2]) / 2])
    hist, _ = np.histogram(samples, bins=edges)
    return hist / (n_samples * np.diff(edges)), "histogram estimate (G has many monotone pieces)"


def jsd_on_grid(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> float:
    """JSD(P || Q) = KL(P || M)/2 + KL(Q || M)/2, M = (P + Q)/2, in nats, by the trapezoid rule on x.

    p, q: densities on the grid x (n,); 0 log 0 = 0. Lies in [0, log 2] for normalised p, q.
    """
    p, q, x = (np.asarray(a, dtype=np.float64) for a in (p, q, x))
    if not (p.shape == q.shape == x.shape and x.ndim == 1):
        raise ValueError(f"p, q and x must be 1-D arrays of one shape, got {p.shape}, {q.shape}, {x.shape}.")
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log(p / m), 0.0)
        b = np.where(q > 0, q * np.log(q / m), 0.0)
    return float(0.5 * integrate.trapezoid(a, x) + 0.5 * integrate.trapezoid(b, x))


def discriminator_curve(D: nn.Module, x: np.ndarray) -> np.ndarray:
    """D(x) = sigmoid(logit(x)) on the grid x (n,) -> (n,)."""
    with torch.no_grad():
        logits = D(_as_input(D, x))
    return torch.sigmoid(logits)[:, 0].double().cpu().numpy()


def quadrature_grid(target: toy.GaussianMixture, G: nn.Module | None = None, noise: str = "normal",
                    n: int = 20001, pad: float = 10.0) -> np.ndarray:
    """A fine grid covering p_data (every mean +- pad sigma) and, if G is given, G's whole range."""
    lo = float((target.means[:, 0] - pad * target.sigmas).min())
    hi = float((target.means[:, 0] + pad * target.sigmas).max())
    if G is not None:
        zs, _ = _noise_grid(noise, 2001)
        gx = _g_numpy(G, zs)
        lo, hi = min(lo, float(gx.min()) - 1e-3), max(hi, float(gx.max()) + 1e-3)
    return np.linspace(lo, hi, n)


def end_numbers(G: nn.Module, D: nn.Module, target: toy.GaussianMixture, noise: str = "normal",
                mass: float = 0.95) -> tuple[float, float]:
    """(JSD(p_data || p_g) in nats by quadrature on the exact p_g, max |D(x) - 1/2| on the central ``mass`` of p_data)."""
    xq = quadrature_grid(target, G, noise)
    pg, _ = generator_density(G, xq, noise)
    lo, hi = target.central_interval(mass)
    d = discriminator_curve(D, np.linspace(lo, hi, 1001))
    return jsd_on_grid(target.pdf(xq), pg, xq), float(np.abs(d - 0.5).max())


def noise_quantiles(noise: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(u, z): n evenly spaced levels u_i = (i + 1/2)/n and z_i = F_z^{-1}(u_i) for p_z = N(0, 1) or U(-1, 1)."""
    u = (np.arange(n) + 0.5) / n
    if noise == "uniform":
        return u, 2.0 * u - 1.0
    if noise == "normal":
        return u, stats.norm.ppf(u)
    raise ValueError(f"noise={noise!r} is not known; use 'normal' or 'uniform'.")


def snapshot(G: nn.Module, D: nn.Module, target: toy.GaussianMixture, x: np.ndarray, *, step: int,
             label: str, how: str, noise: str = "normal", n_arrows: int = 21) -> Snapshot:
    """Record one state for Figure 1: curves on the display grid x, z -> G(z) arrows, JSD and max |D - 1/2|."""
    pg, method = generator_density(G, x, noise)
    u, z = noise_quantiles(noise, n_arrows)
    jsd, dev = end_numbers(G, D, target, noise)
    return Snapshot(step=step, label=label, how=how, x=x, p_data=target.pdf(x), p_g=pg,
                    d=discriminator_curve(D, x), pg_method=method, u=u, z=z, gz=_g_numpy(G, z), jsd=jsd,
                    d_dev=dev, noise=noise)


def lr_factor(step: int, cfg: Figure1Config) -> float:
    """Learning-rate multiplier after ``step`` of ``cfg.steps``: 1, then a cosine from 1 to ``cfg.lr_final``."""
    f = step / cfg.steps
    if f <= cfg.decay_start:
        return 1.0
    t = (f - cfg.decay_start) / max(1.0 - cfg.decay_start, 1e-12)
    return cfg.lr_final + (1.0 - cfg.lr_final) * 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))


def _trainer(G: nn.Module, D: nn.Module, target: toy.GaussianMixture, cfg: Figure1Config, seed: int,
             **kwargs: Any) -> GANTrainer:
    opts = dict(batch_size=cfg.batch_size, k=cfg.k, optimizer="adam", lr_d=cfg.lr_d, lr_g=cfg.lr_g,
                betas=cfg.betas, noise=cfg.noise, seed=seed, log_every=cfg.snapshot_every)
    opts.update(kwargs)
    # The data sampler gets its own seed (seed + 1): with the noise seed it would draw the very
    # same normal numbers as z and the first real and fake minibatches would be coupled.
    device = next(G.parameters()).device
    return GANTrainer(G, D, toy.Sampler(target, seed=seed + 1, device=device), **opts)


# --------------------------------------------------------------------------- the experiment
def run_figure1(seed: int = 0, steps: int | None = None, quick: bool | None = None,
                cfg: Figure1Config | None = None, device: str | torch.device = "cpu") -> Figure1Result:
    """Train the Figure-1 GAN and build the four panels (a)-(d) and the animation's snapshots.

    Args:
        seed: seeds G's and D's weights, the noise (``seed``) and the data (``seed + 1``).
        steps: generator steps of the main run (default: ``cfg.steps``).
        quick: use ``QUICK`` instead of ``FULL`` (default: ``config.quick_mode()``); ignored if cfg is given.
        cfg: all settings (a ``Figure1Config``).
        device: "cpu" by default: the networks have ~1,100 weights, so a GPU only adds launch and
            copy overhead; pass ``config.get_device()`` to try anyway.
    """
    if cfg is None:
        cfg = QUICK if (config.quick_mode() if quick is None else quick) else FULL
    if steps is not None:
        cfg = replace(cfg, steps=steps)
    dev = torch.device(device)
    target = toy.gaussian(cfg.mu, cfg.sigma)
    G, D = build_models(seed, cfg)
    G, D = G.to(dev), D.to(dev)
    trainer = _trainer(G, D, target, cfg, seed)
    x = np.linspace(cfg.mu - 4.5 * cfg.sigma, cfg.mu + 4.5 * cfg.sigma, 721)   # the drawing's window
    snapshots = [snapshot(G, D, target, x, step=0, label="step 0", how="initial weights", noise=cfg.noise)]

    def callback(tr: GANTrainer) -> None:
        factor = lr_factor(tr.step, cfg)
        for opt, lr in ((tr.opt_d, cfg.lr_d), (tr.opt_g, cfg.lr_g)):
            for group in opt.param_groups:
                group["lr"] = lr * factor
        if tr.step % cfg.snapshot_every and tr.step != cfg.steps:
            return
        snapshots.append(snapshot(tr.G, tr.D, target, x, step=tr.step, label=f"step {tr.step}",
                                  how=f"the run after {tr.step} steps", noise=cfg.noise))

    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # ~1,100-weight networks: a second thread only adds synchronisation
    try:
        t0 = time.perf_counter()
        trainer.run(cfg.steps, callback=callback, every=math.gcd(cfg.lr_every, cfg.snapshot_every))
        t1 = time.perf_counter()
        panels = _panels(G, D, snapshots[-1], target, x, cfg, seed)
        t2 = time.perf_counter()
    finally:
        torch.set_num_threads(threads)
    return Figure1Result(cfg=cfg, seed=seed, target=target, trainer=trainer, snapshots=snapshots,
                         panels=panels, timing={"train": t1 - t0, "panels": t2 - t1, "total": t2 - t0})


def shift_generator(G: nn.Module, delta: float) -> nn.Module:
    """A copy of G whose output is moved by delta: G'(z) = G(z) + delta, so p_g'(x) = p_g(x - delta).

    The last layer of the MLP is linear, so adding delta to its bias is exact.
    """
    moved = copy.deepcopy(G)
    leaves = [m for m in moved.modules() if not list(m.children())]
    last = leaves[-1] if leaves else None
    if not isinstance(last, nn.Linear) or last.bias is None or last.out_features != 1:
        raise ValueError("G must end in a Linear layer with a bias and one output (as models.ToyGenerator does).")
    with torch.no_grad():
        last.bias.add_(float(delta))
    return moved


def _panels(G_end: nn.Module, D_end: nn.Module, end: Snapshot, target: toy.GaussianMixture,
            x: np.ndarray, cfg: Figure1Config, seed: int) -> list[Snapshot]:
    """Panels (a)-(d): the paper's thought experiment on copies of the trained pair (a)-(c), and the pair itself (d)."""

    # (a): push p_g off p_data; D has had only a few steps to react.
    G_a, D_a = shift_generator(G_end, cfg.shift), copy.deepcopy(D_end)
    _trainer(G_a, D_a, target, cfg, seed + 1000, train_g=False, k=1).run(cfg.a_steps)
    a = snapshot(G_a, D_a, target, x, step=end.step, label="(a)", noise=cfg.noise,
                 how=f"trained G shifted by {cfg.shift:+g}, then {cfg.a_steps} D steps")

    # (b): D alone, G frozen: the inner loop of Algorithm 1 run towards D*.
    G_b, D_b = copy.deepcopy(G_a), copy.deepcopy(D_a)
    _trainer(G_b, D_b, target, cfg, seed + 2000, train_g=False, k=1, batch_size=cfg.b_batch_size,
             lr_d=cfg.b_lr_d).run(cfg.b_steps)
    b = snapshot(G_b, D_b, target, x, step=end.step, label="(b)", noise=cfg.noise,
                 how=f"(a), then {cfg.b_steps} D steps (G frozen)")

    # (c): G alone against (b)'s fixed D: g_step updates G only (D's optimizer never steps).
    G_c, D_c = copy.deepcopy(G_b), copy.deepcopy(D_b)
    only_g = _trainer(G_c, D_c, target, cfg, seed + 3000, batch_size=cfg.c_batch_size)
    for _ in range(cfg.c_steps):
        only_g.g_step()
    c = snapshot(G_c, D_c, target, x, step=end.step, label="(c)", noise=cfg.noise,
                 how=f"(b), then {cfg.c_steps} G steps (D fixed)")

    d = replace(end, label="(d)", how=f"the trained pair, end of the run (step {end.step})")
    return [a, b, c, d]
