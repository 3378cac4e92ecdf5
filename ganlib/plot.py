"""Plotting helpers: image grids, training curves, animations, the dashboard of an MNIST run.

Conventions: every function that draws into axes takes ``ax=None`` (a new figure if None) and
returns the axes; figures are drawn from a finished ``History`` or from snapshots, never from
inside the training loop. Animations are animated PNGs (``animate``): plain image outputs that
play in an untrusted notebook and on GitHub; the JavaScript player is an option for live use.
"""
from __future__ import annotations

import io
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


def _curves(history: Any, ax: plt.Axes | None, smooth: int, series: tuple, ylabel: str, title: str) -> plt.Axes:
    """History series (name, label, colour) against the generator step, each a moving average of ``smooth`` steps."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    steps = np.asarray(history.step)
    for name, label, color in series:
        y = _smooth(getattr(history, name), smooth)
        ax.plot(steps[len(steps) - len(y):], y, label=label, color=color, lw=1.2)
    ax.set_xlabel("generator step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    return ax


def loss_curves(history: Any, ax: plt.Axes | None = None, smooth: int = 1, title: str = "Losses") -> plt.Axes:
    """L_D and L_G per generator step (optionally a moving average over ``smooth`` steps)."""
    return _curves(history, ax, smooth, (("d_loss", "discriminator loss $L_D$", "tab:blue"),
                                         ("g_loss", "generator loss $L_G$", "tab:orange")), "loss", title)


def d_output_curves(history: Any, ax: plt.Axes | None = None, smooth: int = 1,
                    title: str = "Discriminator outputs") -> plt.Axes:
    """Mean D(x) on real and mean D(G(z)) on fake samples per step, with the equilibrium value 1/2."""
    ax = _curves(history, ax, smooth, (("d_real", "mean $D(x)$, real", "tab:green"),
                                       ("d_fake", "mean $D(G(z))$, fake", "tab:red")), "mean discriminator output", title)
    ax.axhline(0.5, color="k", ls=":", lw=1, label="equilibrium $D = 1/2$")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="best")
    return ax


# --------------------------------------------------------------------------- animation
def animate(frames: Sequence[Any], draw, figsize: tuple[float, float] = (6, 4), interval: int = 150,
            dpi: int = 100, interactive: bool = False, hold_last: int = 4, embed_limit_mb: float = 20.0):
    """Animate ``draw(fig, frame)`` over ``frames``; returns an animated PNG, or a player when ``interactive``.

    Default: every frame is drawn off-screen (Agg) and the frames are written with Pillow as one
    animated PNG (APNG), returned as ``IPython.display.Image``. It is an ordinary ``image/png``
    output, so it plays in JupyterLab whether or not the notebook is trusted, on GitHub and in any
    browser: no JavaScript. ``interval``: ms per frame; the last frame is held ``hold_last`` times
    as long, so the end state can be read before the loop restarts.
    ``interactive=True``: matplotlib's JavaScript player (``to_jshtml``: pause, step, slow down),
    for live use only: JupyterLab strips its script from an untrusted notebook and GitHub never runs it.
    ``draw`` receives the figure (cleared before each frame) and one frame.
    """
    if len(frames) == 0:
        raise ValueError("frames must not be empty.")
    if interactive:
        from IPython.display import HTML

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
    from IPython.display import Image
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image as PILImage

    fig = Figure(figsize=figsize, dpi=dpi)  # not pyplot's: nothing is shown or left open
    canvas = FigureCanvasAgg(fig)
    images = []
    for frame in frames:
        fig.clear()
        draw(fig, frame)
        canvas.draw()
        images.append(PILImage.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy()))
    # One shared palette of 128 colours (from the first, middle and last frame) cuts the file to
    # about a third; plots and grey digits have far fewer colours, so nothing visible is lost.
    picks = [images[0], images[len(images) // 2], images[-1]]
    sheet = PILImage.new("RGB", (picks[0].width, picks[0].height * 3))
    for i, im in enumerate(picks):
        sheet.paste(im, (0, i * im.height))
    palette = sheet.quantize(colors=128, method=PILImage.Quantize.MEDIANCUT)
    frames_p = [im.quantize(palette=palette, dither=PILImage.Dither.NONE) for im in images]
    durations = [interval] * (len(images) - 1) + [interval * max(1, hold_last)]
    buf = io.BytesIO()
    frames_p[0].save(buf, format="PNG", save_all=True, append_images=frames_p[1:], duration=durations, loop=0)
    return Image(data=buf.getvalue(), format="png")


# ---- MNIST runs (ganlib.run): the training dashboard, its live view, the samples over epochs ----
def _pixel_range(images: Tensor) -> tuple[float, float]:
    """uint8 snapshots are drawn on 0..255, float images on [-1, 1]."""
    return (0.0, 255.0) if images.dtype == torch.uint8 else (-1.0, 1.0)


def _frames(snapshots: Sequence[Any], max_frames: int) -> list[dict]:
    """Snapshots with images ({'epoch', 'step', 'images'}), thinned evenly to <= max_frames (first, last kept)."""
    from .config import check_int
    snaps = [s for s in snapshots if isinstance(s, dict) and "images" in s]
    if not snaps:
        raise ValueError("snapshots hold no sample images yet; train at least one epoch first.")
    idx = np.linspace(0, len(snaps) - 1, min(check_int("max_frames", max_frames), len(snaps))).round().astype(int)
    return [snaps[i] for i in np.unique(idx)]


def training_dashboard(history: Any, images: Tensor | None = None, title: str | None = None,
                       smooth: int | None = None, nrow: int = 8, figsize: tuple[float, float] = (12.5, 3.6),
                       dpi: int = 80) -> plt.Figure:
    """One row: losses L_D, L_G | mean D(x), D(G(z)) with the 1/2 line | ``images`` (n, 1, 28, 28), uint8 or
    float in [-1, 1]. ``smooth``: moving-average window (default ~1 % of the run). Returns the figure, open."""
    n, cols = len(history.step), 2 if images is None else 3
    smooth = max(1, n // 100) if smooth is None else smooth
    fig, axes = plt.subplots(1, cols, figsize=figsize, dpi=dpi, gridspec_kw={"width_ratios": [1.3, 1.3, 1][:cols]})
    if n:
        loss_curves(history, ax=axes[0], smooth=smooth, title=f"Losses (moving average of {smooth})")
        d_output_curves(history, ax=axes[1], smooth=smooth, title="Mean discriminator outputs")
    if images is not None:
        image_grid(images, nrow=nrow, ax=axes[2], value_range=_pixel_range(images), title="G(fixed z)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


class LiveView:
    """A ``run.Experiment.train`` callback: after an epoch it redraws ``training_dashboard`` with the latest
    fixed-z samples in one notebook output (a display handle), at most every ``min_interval`` seconds (a GPU
    epoch can be faster than drawing) and at the last epoch. Outside IPython it does nothing."""

    def __init__(self, min_interval: float = 1.0, smooth: int | None = None, dpi: int = 80) -> None:
        self.min_interval, self.smooth, self.dpi = float(min_interval), smooth, dpi
        self._handle, self._last, self.draws = None, -math.inf, 0

    def __call__(self, exp: Any) -> None:
        import time

        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # a plain Python without IPython: nothing to draw into
            return
        now = time.perf_counter()
        if get_ipython() is None or (exp.step < exp.total_steps and now - self._last < self.min_interval):
            return
        self._last, snaps = now, exp.history.snapshots
        title = f"{exp.cfg.model.upper()} GAN on {exp.cfg.dataset}: epoch {exp.epoch}/{exp.cfg.epochs}, step {exp.step}"
        fig = training_dashboard(exp.history, snaps[-1]["images"] if snaps else None, title=title,
                                 smooth=self.smooth, dpi=self.dpi)
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)
        self.draws += 1


def samples_animation(snapshots: Sequence[Any], max_frames: int = 8, nrow: int = 6, n_images: int | None = 36,
                      title: str = "Samples", size: float = 5.0, dpi: int = 100, interval: int = 600,
                      interactive: bool = False):
    """The fixed-z grids of ``History.snapshots`` over epochs as an animated PNG (``animate``): the first
    ``n_images`` (None: all) of each grid on ``nrow`` columns, at most ``max_frames`` frames (first and
    last kept), nearest-neighbour pixels (the speckle notebook 05 counts stays visible), a 12 pt title."""
    def draw(fig, snap):
        ax = fig.add_subplot(1, 1, 1)
        image_grid(snap["images"][:n_images], nrow=nrow, ax=ax, value_range=_pixel_range(snap["images"]),
                   title=f"{title}: epoch {snap['epoch']} (step {snap['step']})")
        ax.title.set_fontsize(12)
        fig.tight_layout()

    return animate(_frames(snapshots, max_frames), draw, figsize=(size, size + 0.3), interval=interval, dpi=dpi,
                   interactive=interactive)


def save_samples_animation(snapshots: Sequence[Any], path: str | Path, max_frames: int = 25,
                           nrow: int = 8, fps: int = 4) -> Path:
    """Write the fixed-z grids over epochs as an animated GIF (pixels doubled, written atomically); returns the path."""
    from PIL import Image

    from .files import atomic_write
    frames = []
    for snap in _frames(snapshots, max_frames):
        g = make_grid(snap["images"], nrow=nrow, value_range=_pixel_range(snap["images"]))
        frames.append(Image.fromarray((g * 255).round().astype(np.uint8)).resize((2 * g.shape[1], 2 * g.shape[0]),
                                                                                 Image.Resampling.NEAREST))
    return atomic_write(path, lambda f: frames[0].save(f, format="GIF", save_all=True, append_images=frames[1:],
                                                       duration=1000 // fps, loop=0))
