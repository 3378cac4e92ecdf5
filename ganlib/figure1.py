"""Figure 1 of Goodfellow et al. (2014), measured and drawn for a real 1-D pair (G, D) (notebook 01).

Nothing here trains: notebook 01 trains the pair with its own Algorithm 1 and calls ``snapshot``
to record a state, ``figure1`` to draw the four panels and ``animation`` for the whole run.

p_g is exact by the change of variables x = G(z) (``generator_density``):

    p_g(x) = sum over z with G(z) = x of  p_z(z) / |G'(z)|,

with G' from autograd on a fine z grid; for a monotone G the sum has one term. A G with more
than ``MAX_BRANCHES`` monotone pieces falls back to a histogram estimate and says so.
The panels follow the paper's drawing: p_data black dotted, p_g green solid, D(x) blue dashed,
and below them arrows from evenly spaced probability levels of the noise to x = G(z).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy import stats
from torch import nn

from . import config, theory, toy
from .plot import animate

Tensor = torch.Tensor

#: A G with more monotone pieces than this gets a histogram estimate of p_g instead of the exact sum.
MAX_BRANCHES = 8


@dataclass
class Snapshot:
    """One state of (G, D): p_data, p_g, D(x) on the grid x (n,); pg_method ("exact" or "histogram
    estimate ..."); the arrows u, z = Phi^{-1}(u), gz = G(z) (n_arrows,), every one carrying the same
    probability; jsd = JSD(p_data || p_g) in nats; d_dev = max |D - 1/2| on the central 95 % of p_data."""

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

    @property
    def d_star(self) -> np.ndarray:
        """D*(x) = p_data / (p_data + p_g) on x (1/2 where both densities vanish)."""
        total = self.p_data + self.p_g
        return np.where(total > 0, self.p_data / np.where(total > 0, total, 1.0), 0.5)


def _as_input(module: nn.Module, values: np.ndarray) -> Tensor:
    """values (n,) as a (n, 1) tensor with the module's dtype and device (float32 on the CPU if it has no weights)."""
    p = next(module.parameters(), None)
    dtype, device = (p.dtype, p.device) if p is not None else (torch.float32, torch.device("cpu"))
    return torch.as_tensor(np.asarray(values), dtype=dtype, device=device)[:, None]


@torch.no_grad()
def _g_numpy(G: nn.Module, z: np.ndarray) -> np.ndarray:
    return G(_as_input(G, z))[:, 0].double().cpu().numpy()


def generator_density(G: nn.Module, x: np.ndarray, n_z: int = 12001, n_samples: int = 200_000) -> tuple[np.ndarray, str]:
    """p_g on the grid x (n,) for a 1-D generator G: (m, 1) -> (m, 1) of noise z ~ N(0, 1); returns (p_g, method).

    Exact: on a fine z grid, x = G(z) and G'(z) (autograd) split into monotone pieces; on each,
    p_g gets p_z(z) / |G'(z)| interpolated at x (0 outside the piece's range), and the pieces add
    up (every z with G(z) = x contributes). method = "exact" (one piece: G monotone) or
    "exact (sum over N monotone pieces of G)". With more than ``MAX_BRANCHES`` pieces: a
    histogram of ``n_samples`` samples on bins centred at x, method = "histogram estimate".
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or not np.all(np.diff(x) > 0):
        raise ValueError(f"x must be an increasing 1-D grid of >= 2 points, got shape {x.shape}.")
    zs = np.linspace(-6.0, 6.0, n_z)                 # all but ~2e-9 of p_z = N(0, 1)
    pz = stats.norm.pdf(zs)
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
    samples = _g_numpy(G, torch.randn(n_samples, generator=torch.Generator().manual_seed(0)).numpy())
    edges = np.concatenate([x[:1] - (x[1] - x[0]) / 2, (x[1:] + x[:-1]) / 2, x[-1:] + (x[-1] - x[-2]) / 2])
    hist, _ = np.histogram(samples, bins=edges)
    return hist / (n_samples * np.diff(edges)), "histogram estimate (G has many monotone pieces)"


def discriminator_curve(D: nn.Module, x: np.ndarray) -> np.ndarray:
    """D(x) = sigmoid(logit(x)) on the grid x (n,) -> (n,)."""
    with torch.no_grad():
        logits = D(_as_input(D, x))
    return torch.sigmoid(logits)[:, 0].double().cpu().numpy()


def quadrature_grid(target: toy.GaussianMixture, G: nn.Module | None = None, n: int = 20001,
                    pad: float = 10.0) -> np.ndarray:
    """A fine grid covering p_data (every mean +- pad sigma) and, if G is given, G's whole range."""
    lo = float((target.means[:, 0] - pad * target.sigmas).min())
    hi = float((target.means[:, 0] + pad * target.sigmas).max())
    if G is not None:
        gx = _g_numpy(G, np.linspace(-6.0, 6.0, 2001))
        lo, hi = min(lo, float(gx.min()) - 1e-3), max(hi, float(gx.max()) + 1e-3)
    return np.linspace(lo, hi, n)


def end_numbers(G: nn.Module, D: nn.Module, target: toy.GaussianMixture, mass: float = 0.95) -> tuple[float, float]:
    """(JSD(p_data || p_g) in nats by quadrature on the exact p_g, max |D(x) - 1/2| on the central ``mass`` of p_data)."""
    xq = quadrature_grid(target, G)
    pg, _ = generator_density(G, xq)
    lo, hi = target.central_interval(mass)
    d = discriminator_curve(D, np.linspace(lo, hi, 1001))
    return theory.grid_jsd(target.pdf(xq), pg, xq), float(np.abs(d - 0.5).max())


def snapshot(G: nn.Module, D: nn.Module, target: toy.GaussianMixture, x: np.ndarray, *, step: int,
             label: str, how: str, n_arrows: int = 21) -> Snapshot:
    """Record one state for Figure 1: curves on the display grid x, z -> G(z) arrows, JSD and max |D - 1/2|.

    The arrows start at evenly spaced probability levels u_i = (i + 1/2)/n, z_i = Phi^{-1}(u_i).
    """
    pg, method = generator_density(G, x)
    u = (np.arange(n_arrows) + 0.5) / n_arrows
    z = stats.norm.ppf(u)
    jsd, dev = end_numbers(G, D, target)
    return Snapshot(step=step, label=label, how=how, x=x, p_data=target.pdf(x), p_g=pg,
                    d=discriminator_curve(D, x), pg_method=method, u=u, z=z, gz=_g_numpy(G, z), jsd=jsd, d_dev=dev)


# --------------------------------------------------------------------------- drawing
#: Panel titles with the paper's meaning of each panel (Goodfellow et al. 2014, Figure 1 caption).
FIGURE1_TITLES = {
    "(a)": "(a) near convergence: D partly accurate",
    "(b)": "(b) D trained towards $D^* = p_{data}/(p_{data}+p_g)$",
    "(c)": "(c) after G steps: G(z) moved towards data",
    "(d)": "(d) equilibrium: $p_g = p_{data}$, $D = 1/2$",
}


def panel(snap: Snapshot, ax: plt.Axes, title: str, ymax: float = 1.2, show_d_star: bool = True,
          before: Snapshot | None = None, fontsize: float = 11) -> plt.Axes:
    """One panel of Figure 1 from a ``Snapshot``; returns the axes.

    Above: p_data black dotted, p_g green solid, D(x) blue dashed (and D* = p_data/(p_data+p_g)
    thin grey where either density has mass). Below, the paper's two lines: the noise line with
    evenly spaced probability levels u (equal probability between arrows; tick labels give z) and
    arrows up to x = G(z) on the x line: where arrow heads bunch, G contracts and p_g is high.
    ``before``: an earlier Snapshot whose p_g and arrow heads are drawn pale (what G moved from).
    Curves above ``ymax`` are clipped (early p_g spikes), which the panel then says.
    """
    x = snap.x
    lo, hi = float(x[0]), float(x[-1])
    y_x, y_z = -0.22 * ymax, -0.62 * ymax          # the x line and the z line of the paper's drawing
    if before is not None:
        ax.plot(x, np.minimum(before.p_g, ymax), color="tab:green", alpha=0.3, lw=1.5, label="$p_g$ before")
        ax.plot(before.gz, np.full(len(before.gz), y_x), "|", color="tab:green", alpha=0.4, ms=8)
    if show_d_star:
        mass = 0.5 * (snap.p_data + snap.p_g)
        ds = np.where(mass > 2e-2 * mass.max(), snap.d_star, np.nan)
        ax.plot(x, ds, color="0.55", lw=1, label="$D^*$")
    ax.plot(x, snap.p_data, "k:", lw=2, label="$p_{data}$")
    estimated = " (estimated)" if snap.pg_method.startswith("histogram") else ""
    ax.plot(x, np.minimum(snap.p_g, ymax), "g-", lw=2, label="$p_g$" + estimated)
    ax.plot(x, snap.d, "b--", lw=2, label="$D(x)$")
    # noise line: u in (0, 1) spread over the middle 80 % of the window
    left, right = lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo)
    u_pos = left + np.asarray(snap.u) * (right - left)
    ax.hlines([y_x, y_z], lo, hi, color="0.25", lw=1)
    for ux, gx in zip(u_pos, snap.gz):
        if lo <= gx <= hi:
            ax.annotate("", xy=(gx, y_x), xytext=(ux, y_z),
                        arrowprops=dict(arrowstyle="-|>", color="0.35", lw=0.7, mutation_scale=6, shrinkA=0, shrinkB=0))
    for zt in (-2, -1, 0, 1, 2):
        ut = stats.norm.cdf(zt)
        xt = left + ut * (right - left)
        ax.plot([xt, xt], [y_z - 0.03 * ymax, y_z], color="0.25", lw=1)
        ax.text(xt, y_z - 0.05 * ymax, f"{zt:g}", ha="center", va="top", fontsize=fontsize - 2, color="0.25")
    ax.text(lo + 0.01 * (hi - lo), y_x + 0.02 * ymax, "x", fontsize=fontsize, style="italic")
    ax.text(lo + 0.01 * (hi - lo), y_z + 0.02 * ymax, "z", fontsize=fontsize, style="italic")
    notes = [f"$p_g$ clipped (peak {np.max(snap.p_g):.1f})"] if np.max(snap.p_g) > ymax else []
    if snap.pg_method != "exact":
        notes.append("$p_g$ " + snap.pg_method)
    if notes:
        ax.text(hi - 0.01 * (hi - lo), 0.97 * ymax, "\n".join(notes), ha="right", va="top", fontsize=fontsize - 2.5)
    ax.set_xlim(lo, hi)
    ax.set_ylim(y_z - 0.17 * ymax, ymax)
    ax.set_yticks([0, 0.5, 1.0])
    ax.set_xlabel("x")
    ax.set_ylabel("density / $D(x)$")
    ax.set_title(title, fontsize=fontsize)
    return ax


def figure1(panels: Sequence[Snapshot], figsize: tuple[float, float] = (11, 8.4), dpi: int = 80):
    """Figure 1 from four ``Snapshot``s labelled (a)-(d), two by two (the paper has one row; this
    keeps 11-pt text legible at notebook width); returns the figure. Titles give the paper's meaning
    of each panel and how its state was made; (c) shows (b)'s p_g and arrow heads pale."""
    fig, axes = plt.subplots(2, 2, figsize=figsize, dpi=dpi, sharey=True)
    by_label = {p.label: p for p in panels}
    for i, (ax, p) in enumerate(zip(axes.ravel(), panels)):
        panel(p, ax, f"{FIGURE1_TITLES.get(p.label, p.label)}\n{p.how}", before=by_label.get("(b)") if p.label == "(c)" else None)
        ax.text(0.02, 0.97, f"JSD = {p.jsd:.3f} nats", transform=ax.transAxes, fontsize=10, va="top", color="tab:green")
        if i % 2:
            ax.set_ylabel("")
    legend = {l: h for ax in axes.ravel() for h, l in zip(*ax.get_legend_handles_labels())}
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=len(legend), fontsize=11, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def animation(snapshots: Sequence[Snapshot], max_frames: int = 24, interval: int = 250, interactive: bool = False):
    """The run as an animated PNG (``plot.animate``) of Figure-1 panels: at most ``max_frames``
    frames, spaced geometrically (the first steps change fastest), first and last included;
    750 x 440 px with 10-12 pt text, legible at notebook width without scaling."""
    n = len(snapshots)
    if n == 0:
        raise ValueError("snapshots must not be empty.")
    config.check_int("max_frames", max_frames, low=2)
    idx = np.unique(np.concatenate([[0], np.round(np.geomspace(1, n, max_frames - 1)).astype(int) - 1, [n - 1]]))
    frames = [snapshots[i] for i in idx]

    def draw(fig, snap):
        ax = fig.add_subplot(1, 1, 1)
        panel(snap, ax, f"step {snap.step}: JSD = {snap.jsd:.3f} nats, max|D - 1/2| = {snap.d_dev:.2f}",
              show_d_star=False, fontsize=12)
        ax.legend(loc="upper left", fontsize=10, frameon=False)
        fig.tight_layout()

    return animate(frames, draw, figsize=(7.5, 4.4), interval=interval, dpi=100, interactive=interactive)
