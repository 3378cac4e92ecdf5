"""Plotting helpers: image grids, training curves, animations (and, further down, per-notebook
figures such as Figure 1 of the 2014 paper).

Conventions: every function that draws into axes takes ``ax=None`` (a new figure if None) and
returns the axes; figures are drawn from a finished ``History`` or from snapshots, never from
inside the training loop. Animations are returned as ``IPython.display.HTML`` via
``anim.to_jshtml()`` and the figure is closed so it is not shown twice.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import animation

Tensor = torch.Tensor


# --------------------------------------------------------------------------- image grids
def make_grid(images: Tensor | np.ndarray, nrow: int = 8, padding: int = 2, pad_value: float = 1.0,
              value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Tile images (N, C, H, W) or (N, H, W) into one array (rows*H', ncol*W') or (.., 3) in [0, 1].

    Replaces torchvision's ``make_grid``: values are mapped from ``value_range`` to [0, 1] and
    clipped; ``nrow`` images per row; ``padding`` pixels of ``pad_value`` between tiles.
    """
    x = images.detach().float().cpu().numpy() if isinstance(images, Tensor) else np.asarray(images, np.float32)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (N, C, H, W) with C in (1, 3) or (N, H, W), got {x.shape}.")
    if not isinstance(nrow, int) or nrow < 1:
        raise ValueError(f"nrow must be an int >= 1, got {nrow!r}.")
    lo, hi = value_range
    if not hi > lo:
        raise ValueError(f"value_range must be (low, high) with high > low, got {value_range!r}.")
    x = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    n, c, h, w = x.shape
    ncol = min(nrow, n)
    nrows = math.ceil(n / ncol)
    grid = np.full((c, nrows * (h + padding) + padding, ncol * (w + padding) + padding), pad_value, np.float32)
    for i in range(n):
        r, col = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top:top + h, left:left + w] = x[i]
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def image_grid(images: Tensor | np.ndarray, nrow: int = 8, ax: plt.Axes | None = None, title: str | None = None,
               value_range: tuple[float, float] = (-1.0, 1.0), padding: int = 2) -> plt.Axes:
    """Show images (N, C, H, W) in [-1, 1] (or ``value_range``) as a grid on ``ax``; returns the axes."""
    grid = make_grid(images, nrow=nrow, padding=padding, value_range=value_range)
    if ax is None:
        size = min(8.0, 0.6 * min(nrow, len(images)) + 1)
        _, ax = plt.subplots(figsize=(size, size * grid.shape[0] / grid.shape[1]))
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def save_image_grid(images: Tensor | np.ndarray, path: str | Path, nrow: int = 8,
                    value_range: tuple[float, float] = (-1.0, 1.0), padding: int = 2) -> Path:
    """Write a grid of images to a PNG (replaces torchvision's ``save_image``); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = make_grid(images, nrow=nrow, padding=padding, value_range=value_range)
    tmp = path.with_name(path.name + ".tmp.png")
    plt.imsave(tmp, grid, cmap="gray", vmin=0, vmax=1)
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------- curves
def _smooth(values: Sequence[float], window: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if window <= 1 or len(v) < window:
        return v
    kernel = np.ones(window) / window
    return np.convolve(v, kernel, mode="valid")


def loss_curves(history: Any, ax: plt.Axes | None = None, smooth: int = 1, title: str = "Losses") -> plt.Axes:
    """L_D and L_G per generator step (optionally a moving average over ``smooth`` steps)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    steps = np.asarray(history.step)
    for name, label, color in (("d_loss", "discriminator loss $L_D$", "tab:blue"),
                               ("g_loss", "generator loss $L_G$", "tab:orange")):
        y = _smooth(getattr(history, name), smooth)
        ax.plot(steps[len(steps) - len(y):], y, label=label, color=color, lw=1.2)
    ax.set_xlabel("generator step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    return ax


def d_output_curves(history: Any, ax: plt.Axes | None = None, smooth: int = 1,
                    title: str = "Discriminator outputs") -> plt.Axes:
    """Mean D(x) on real and mean D(G(z)) on fake samples per step, with the equilibrium value 1/2."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    steps = np.asarray(history.step)
    for name, label, color in (("d_real", "mean $D(x)$, real", "tab:green"),
                               ("d_fake", "mean $D(G(z))$, fake", "tab:red")):
        y = _smooth(getattr(history, name), smooth)
        ax.plot(steps[len(steps) - len(y):], y, label=label, color=color, lw=1.2)
    ax.axhline(0.5, color="k", ls=":", lw=1, label="equilibrium $D = 1/2$")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("generator step")
    ax.set_ylabel("mean discriminator output")
    ax.set_title(title)
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    return ax


def grad_norm_curve(history: Any, ax: plt.Axes | None = None, label: str = "$\\|\\nabla_G L_G\\|$",
                    color: str | None = None, title: str = "Generator gradient norm") -> plt.Axes:
    """The generator's gradient norm per step on a log scale."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(history.step, np.maximum(np.asarray(history.g_grad_norm), 1e-30), label=label, color=color, lw=1)
    ax.set_xlabel("generator step")
    ax.set_ylabel("gradient norm (log scale)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    return ax


# --------------------------------------------------------------------------- animation
def animate(frames: Sequence[Any], draw, figsize: tuple[float, float] = (6, 4), interval: int = 150,
            dpi: int = 72, embed_limit_mb: float = 20.0):
    """Animate ``draw(fig, frame)`` over ``frames``; returns ``IPython.display.HTML`` (jshtml), figure closed.

    ``draw`` receives the figure (cleared before each frame) and one frame. No extra dependency:
    matplotlib's HTML writer embeds PNG frames in the notebook.
    """
    from IPython.display import HTML

    if len(frames) == 0:
        raise ValueError("frames must not be empty.")
    matplotlib.rcParams["animation.embed_limit"] = embed_limit_mb
    fig = plt.figure(figsize=figsize, dpi=dpi)

    def update(i: int):
        fig.clear()
        draw(fig, frames[i])
        return []

    anim = animation.FuncAnimation(fig, update, frames=len(frames), interval=interval, blit=False)
    html = HTML(anim.to_jshtml(default_mode="once"))
    plt.close(fig)
    return html
