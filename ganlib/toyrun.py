"""Notebook 01's experiment: a 1-D GAN on N(1, 0.5^2) whose snapshots redraw Figure 1 (a)-(d).

Setup (chosen so that every seed 0-4 ends with JSD < 0.01 nats and |D - 1/2| < 0.05 on the
central 95 % of p_data): z ~ N(0, 1); G a Tanh MLP 1-16-16-1; D a LeakyReLU MLP 1-64-64-1 giving
logits; Adam(1e-3, betas (0.5, 0.999)) for both, the learning rate annealed to 0 by a cosine
schedule (so the end state is not blurred by step noise); k = 1; m = 512; 5,000 steps.

p_g is exact for a monotone G by the change of variables x = G(z):

    p_g(x) = p_z(z) / |G'(z)|,   z = G^{-1}(x),

with G'(z) from autograd on a fine z grid. When G is not monotone the formula would need a sum
over all pre-images; ``generator_density`` then falls back to a histogram estimate and says so.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from . import config, models, toy
from .train import GANTrainer, History

#: Settings of the Figure-1 run (see the module docstring for where they come from).
FULL_STEPS = 5000
QUICK_STEPS = 5000   # the toy run is cheap, so quick mode keeps the full story
P_DATA = (1.0, 0.5)


@dataclass
class Figure1Run:
    """Result of ``run_figure1``: the trainer, its History, Figure-1 panels and animation frames."""

    trainer: GANTrainer
    target: toy.GaussianMixture
    panels: list[dict[str, Any]]
    frames: list[dict[str, Any]]
    seconds: float
    jsd: float = math.nan
    max_abs_d_minus_half: float = math.nan
    history: History = field(init=False)

    def __post_init__(self) -> None:
        self.history = self.trainer.history


def build_models(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """(G, D) of the Figure-1 run with weights seeded by ``seed``."""
    torch.manual_seed(seed)
    G = models.ToyGenerator(1, 1, hidden=16, depth=2, activation=nn.Tanh)
    D = models.ToyDiscriminator(1, hidden=64, depth=2, activation=nn.LeakyReLU)
    return G, D


def generator_density(G: nn.Module, x: np.ndarray, n_z: int = 20001, z_max: float = 6.0) -> tuple[np.ndarray, bool]:
    """p_g on the grid x (n,) for z ~ N(0, 1); returns (density (n,), exact).

    exact=True: G is monotone on [-z_max, z_max] and p_g(x) = phi(z)/|G'(z)| is interpolated
    from the z grid (0 outside G's range). exact=False: a histogram of 200,000 samples.
    """
    z = torch.linspace(-z_max, z_max, n_z)[:, None].requires_grad_(True)
    with torch.enable_grad():
        gx = G(z)
        dx = torch.autograd.grad(gx.sum(), z)[0][:, 0].detach().numpy().astype(np.float64)
    gx = gx[:, 0].detach().numpy().astype(np.float64)
    zn = z.detach().numpy()[:, 0].astype(np.float64)
    if np.all(dx > 0) or np.all(dx < 0):
        order = np.argsort(gx)
        pg = np.exp(-0.5 * zn**2) / math.sqrt(2 * math.pi) / np.abs(dx)
        return np.interp(x, gx[order], pg[order], left=0.0, right=0.0), True
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        samples = G(torch.randn(200_000, 1, generator=gen))[:, 0].numpy()
    edges = np.concatenate([x[:1] - (x[1] - x[0]) / 2, (x[1:] + x[:-1]) / 2, x[-1:] + (x[-1] - x[-2]) / 2])
    hist, _ = np.histogram(samples, bins=edges, density=True)
    return hist, False


def jsd_on_grid(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> float:
    """JSD(P || Q) = KL(P || M)/2 + KL(Q || M)/2, M = (P + Q)/2, by the trapezoid rule on x (nats)."""
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log(p / m), 0.0)
        b = np.where(q > 0, q * np.log(q / m), 0.0)
    return float(0.5 * np.trapezoid(a, x) + 0.5 * np.trapezoid(b, x))


def discriminator_curve(D: nn.Module, x: np.ndarray) -> np.ndarray:
    """D(x) = sigmoid(logit) on the grid x (n,) -> (n,)."""
    with torch.no_grad():
        return torch.sigmoid(D(torch.as_tensor(x, dtype=torch.float32)[:, None]))[:, 0].double().numpy()


def panel(G: nn.Module, D: nn.Module, target: toy.GaussianMixture, x: np.ndarray, label: str,
          step: int, z_ticks: int = 15) -> dict[str, Any]:
    """Everything Figure 1 draws for one state: p_data, p_g, D on x, and the map z -> G(z) for even z."""
    pg, exact = generator_density(G, x)
    z = np.linspace(-2.0, 2.0, z_ticks)
    with torch.no_grad():
        gz = G(torch.as_tensor(z, dtype=torch.float32)[:, None])[:, 0].double().numpy()
    return {"label": label, "step": step, "x": x, "p_data": target.pdf(x), "p_g": pg, "exact": exact,
            "d": discriminator_curve(D, x), "z": z, "gz": gz}


def end_numbers(G: nn.Module, D: nn.Module, target: toy.GaussianMixture) -> tuple[float, float]:
    """(JSD(p_data || p_g) in nats, max |D(x) - 1/2| over the central 95 % of p_data)."""
    mu, sd = float(target.means[0, 0]), float(target.sigmas[0])
    x = np.linspace(mu - 8 * sd, mu + 8 * sd, 8001)
    pg, _ = generator_density(G, x)
    lo, hi = target.central_interval(0.95)
    d = discriminator_curve(D, np.linspace(lo, hi, 401))
    return jsd_on_grid(target.pdf(x), pg, x), float(np.abs(d - 0.5).max())


def run_figure1(seed: int = 0, steps: int | None = None, frames_every: int = 250,
                d_only_steps: int = 400) -> Figure1Run:
    """Train the Figure-1 GAN and collect the four panels and animation frames.

    Panels: (a) after 150 steps — p_g near p_data, D partially accurate; (b) the same G with D
    trained ``d_only_steps`` more steps alone (copies, ``train_g=False``) — D moves towards D*;
    (c) after 400 steps of the run — G has followed D's gradient; (d) the end — p_g = p_data, D = 1/2.
    """
    steps = int(steps if steps is not None else config.pick(FULL_STEPS, QUICK_STEPS))
    if steps < 500:
        raise ValueError(f"steps must be >= 500 for the four panels, got {steps}.")
    target = toy.gaussian(*P_DATA)
    G, D = build_models(seed)
    trainer = GANTrainer(G, D, toy.Sampler(target, seed), batch_size=512, lr_d=1e-3, lr_g=1e-3,
                         noise="normal", seed=seed, log_every=50)
    scheds = [torch.optim.lr_scheduler.CosineAnnealingLR(o, steps) for o in (trainer.opt_d, trainer.opt_g)]
    x = np.linspace(P_DATA[0] - 4 * P_DATA[1] - 1.0, P_DATA[0] + 4 * P_DATA[1] + 1.0, 801)
    panels: list[dict[str, Any]] = []
    frames: list[dict[str, Any]] = []

    def callback(tr: GANTrainer) -> None:
        for s in scheds:          # the schedule advances once per generator step
            for _ in range(50):
                s.step()
        if tr.step % frames_every == 0 or tr.step == 50:
            frames.append(panel(tr.G, tr.D, target, x, f"step {tr.step}", tr.step))
        if tr.step == 150:
            panels.append(panel(tr.G, tr.D, target, x, "(a)", tr.step))
            G2, D2 = copy.deepcopy(tr.G), copy.deepcopy(tr.D)
            only_d = GANTrainer(G2, D2, toy.Sampler(target, seed + 1000), batch_size=512, lr_d=1e-3,
                                noise="normal", seed=seed + 1000, train_g=False)
            only_d.run(d_only_steps)
            panels.append(panel(G2, D2, target, x, "(b)", tr.step))
        if tr.step == 400:
            panels.append(panel(tr.G, tr.D, target, x, "(c)", tr.step))

    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny networks: one thread avoids thread-sync overhead on a busy CPU
    t0 = time.perf_counter()
    try:
        trainer.run(steps, callback=callback, every=50)
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - t0
    panels.append(panel(G, D, target, x, "(d)", trainer.step))
    result = Figure1Run(trainer, target, panels, frames, seconds)
    result.jsd, result.max_abs_d_minus_half = end_numbers(G, D, target)
    return result
