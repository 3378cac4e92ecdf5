"""Plotting helpers: image grids, training curves, animations (and, further down, per-notebook
figures such as Figure 1 of the 2014 paper).

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


# ---- notebook 05: MNIST training dashboard, live view, samples over epochs ----
def _nb05_snapshot_frames(snapshots: Sequence[Any], max_frames: int) -> list[dict]:
    """Snapshots that hold images ({'epoch', 'step', 'images'}), thinned evenly to <= max_frames (first and last kept)."""
    snaps = [s for s in snapshots if isinstance(s, dict) and "images" in s]
    if not snaps:
        raise ValueError("snapshots hold no sample images yet; train at least one epoch first.")
    if not isinstance(max_frames, int) or max_frames < 1:
        raise ValueError(f"max_frames must be an int >= 1, got {max_frames!r}.")
    if len(snaps) <= max_frames:
        return snaps
    idx = np.unique(np.round(np.linspace(0, len(snaps) - 1, max_frames)).astype(int))
    return [snaps[i] for i in idx]


def _nb05_grid_values(images: Tensor) -> tuple[Tensor, tuple[float, float]]:
    """uint8 snapshots are drawn on 0..255, float images on [-1, 1]."""
    return images, ((0.0, 255.0) if images.dtype == torch.uint8 else (-1.0, 1.0))


def training_dashboard(history: Any, images: Tensor | None = None, title: str | None = None,
                       smooth: int | None = None, nrow: int = 8, figsize: tuple[float, float] = (12.5, 3.6),
                       dpi: int = 80) -> plt.Figure:
    """One row: losses L_D, L_G | mean D(x), D(G(z)) with the 1/2 line | the latest fixed-z samples.

    ``images``: (n, 1, 28, 28) uint8 (0..255) or float in [-1, 1]; ``smooth``: moving-average
    window in steps (default ~1 % of the run). Returns the figure (not shown, not closed).
    """
    n = len(history.step)
    smooth = max(1, n // 100) if smooth is None else smooth
    fig, axes = plt.subplots(1, 3 if images is not None else 2, figsize=figsize, dpi=dpi,
                             gridspec_kw={"width_ratios": [1.3, 1.3, 1][: 3 if images is not None else 2]})
    if n:
        loss_curves(history, ax=axes[0], smooth=smooth, title=f"Losses (moving average of {smooth})")
        d_output_curves(history, ax=axes[1], smooth=smooth, title="Mean discriminator outputs")
    else:
        for ax in axes[:2]:
            ax.set_title("no steps yet")
    if images is not None:
        x, vr = _nb05_grid_values(images)
        image_grid(x, nrow=nrow, ax=axes[2], value_range=vr, title="G(fixed z)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


class LiveView:
    """A training callback that redraws ``training_dashboard`` in place while an Experiment trains.

    Use as ``exp.train(callback=plot.LiveView())``: after each epoch it updates one notebook
    output (an IPython display handle, so the progress bar above it stays) with the loss curves,
    mean D(x) and D(G(z)), and the fixed-z samples. Redraws at most every ``min_interval``
    seconds (a GPU epoch can take less time than drawing), always at the last epoch. Outside
    IPython (a terminal) it does nothing. Works headless (nbconvert, nbval): the last drawing
    becomes the cell's stored output.
    """

    def __init__(self, min_interval: float = 1.0, smooth: int | None = None, dpi: int = 80) -> None:
        self.min_interval, self.smooth, self.dpi = float(min_interval), smooth, dpi
        self._handle = None
        self._last = -math.inf
        self.draws = 0

    def __call__(self, exp: Any) -> None:
        import time

        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # pragma: no cover - IPython ships with jupyter
            return
        if get_ipython() is None:
            return
        final = exp.step >= exp.total_steps
        now = time.perf_counter()
        if not final and now - self._last < self.min_interval:
            return
        self._last = now
        snap = exp.latest_snapshot()
        title = (f"{exp.cfg.model.upper()} GAN on {exp.cfg.dataset}: epoch {exp.epoch}/{exp.cfg.epochs}, "
                 f"step {exp.step}")
        fig = training_dashboard(exp.history, None if snap is None else snap["images"], title=title,
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
    """The fixed-z grids stored in ``History.snapshots`` over epochs, as an animated PNG (``animate``).

    Shows the first ``n_images`` of each grid (None: all) on ``nrow`` columns, at most ``max_frames``
    frames (first and last kept). Each digit is drawn with nearest-neighbour pixels (the single-pixel
    speckle notebook 05 counts stays visible) and the title is 12 pt, legible at notebook width.
    """
    frames = _nb05_snapshot_frames(snapshots, max_frames)

    def draw(fig, snap):
        ax = fig.add_subplot(1, 1, 1)
        x, vr = _nb05_grid_values(snap["images"])
        image_grid(x if n_images is None else x[:n_images], nrow=nrow, ax=ax, value_range=vr,
                   title=f"{title}: epoch {snap['epoch']} (step {snap['step']})")
        ax.title.set_fontsize(12)
        fig.tight_layout()

    return animate(frames, draw, figsize=(size, size + 0.3), interval=interval, dpi=dpi, interactive=interactive)


def save_samples_animation(snapshots: Sequence[Any], path: str | Path, max_frames: int = 25,
                           nrow: int = 8, fps: int = 4) -> Path:
    """Write the fixed-z grids over epochs as an animated GIF (matplotlib's Pillow writer); returns the path."""
    frames = _nb05_snapshot_frames(snapshots, max_frames)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grids = [make_grid(*_nb05_grid_values(s["images"])[:1], nrow=nrow,
                       value_range=_nb05_grid_values(s["images"])[1]) for s in frames]
    h, w = grids[0].shape[:2]
    fig = plt.figure(figsize=(w / 50, h / 50 + 0.3), dpi=100)
    ax = fig.add_axes((0, 0, 1, h / (h + 15)))
    ax.set_axis_off()
    im = ax.imshow(grids[0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    label = fig.text(0.5, 0.99, "", ha="center", va="top", fontsize=9)

    def update(i: int):
        im.set_data(grids[i])
        label.set_text(f"epoch {frames[i]['epoch']} (step {frames[i]['step']})")
        return [im, label]

    anim = animation.FuncAnimation(fig, update, frames=len(grids), blit=False)
    tmp = path.with_name(path.name + ".tmp.gif")
    anim.save(tmp, writer=animation.PillowWriter(fps=fps))
    plt.close(fig)
    tmp.replace(path)
    return path


# ---- notebook 04: mode-collapse explorer (samples over D's field, coverage curves) ----
def mode_plot_extent(target: Any) -> tuple[float, float]:
    """Square plot range (low, high) around a 2-D target's means: 15 % of their span plus 5 sigma each side."""
    mu = np.asarray(target.means)
    pad = 0.15 * float(mu.max() - mu.min()) + 5 * float(np.max(target.sigmas))
    return float(mu.min()) - pad, float(mu.max()) + pad


def mode_field(target: Any, fake: Tensor | np.ndarray, real: Tensor | np.ndarray | None = None,
               field: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None, ax: plt.Axes | None = None,
               title: str | None = None, critic: bool = False, extent: tuple[float, float] | None = None) -> plt.Axes:
    """Real and generated 2-D samples over the discriminator's output drawn as a shaded field (as GAN Lab does).

    target: a 2-D ``toy.GaussianMixture`` (its means are marked with open circles). fake, real: (n, 2)
    points. field: (xs (nx,), ys (ny,), values (ny, nx)) with D(x) in [0, 1] (green = "real", pink =
    "fake"), or critic scores when ``critic`` (scaled to the field's range). extent: (low, high) of
    both axes. The legend sits below the axes, where it covers no mode of the ring or the grid.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 4))
    if field is not None:
        xs, ys, values = field
        v = np.asarray(values, dtype=np.float64)
        if critic:
            lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
            v = (v - lo) / (hi - lo) if hi > lo else np.full_like(v, 0.5)
        im = ax.imshow(v, origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]), cmap="PiYG",
                       vmin=0.0, vmax=1.0, alpha=0.55, interpolation="bilinear", aspect="auto")
        cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
        cb.set_label("critic score (scaled)" if critic else "D(x)")
    if real is not None:
        r = real.detach().cpu().numpy() if isinstance(real, Tensor) else np.asarray(real)
        ax.scatter(r[:, 0], r[:, 1], s=6, c="darkgreen", alpha=0.8, lw=0, label="real x", zorder=3)
    f = fake.detach().cpu().numpy() if isinstance(fake, Tensor) else np.asarray(fake)
    ax.scatter(f[:, 0], f[:, 1], s=3, c="tab:purple", alpha=0.5, lw=0, label="generated G(z)", zorder=2)
    mu = np.asarray(target.means)
    ax.scatter(mu[:, 0], mu[:, 1], marker="o", s=70, facecolors="none", edgecolors="k", lw=0.8,
               label="modes", zorder=4)
    if extent is None:
        extent = mode_plot_extent(target)
    ax.set_xlim(*extent)
    ax.set_ylim(*extent)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title or f"samples over D: {target.name}")
    # Below the axes (under the x label), in one row: inside, any corner covers a mode of the grid.
    leg = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.19), ncol=3, fontsize=7, frameon=False,
                    handletextpad=0.2, columnspacing=0.8, borderaxespad=0.0)
    for handle in leg.legend_handles:  # matplotlib >= 3.7 (the floor is 3.9)
        handle.set_sizes([24])      # the same readable marker size for dots and circles
        handle.set_alpha(1.0)
    return ax


def mode_coverage_curves(curve: dict, n_modes: int, ax: plt.Axes | None = None,
                         title: str = "Modes captured and sample quality") -> plt.Axes:
    """Modes captured (and strict count) on the left axis, high-quality fraction on the right, per step.

    curve: dict of equal-length lists ``step``, ``modes``, ``modes_strict``, ``high_quality``.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    steps = np.asarray(curve.get("step", []))
    ax.plot(steps, curve.get("modes", []), color="tab:blue", marker=".", lw=1.4, label="modes captured")
    ax.plot(steps, curve.get("modes_strict", []), color="tab:blue", ls="--", lw=1,
            label="modes with $\\geq$1 % of samples")
    ax.set_ylim(-0.3, n_modes + 0.5)
    ax.set_xlabel("generator step")
    ax.set_ylabel(f"modes captured (of {n_modes})")
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(steps, 100 * np.asarray(curve.get("high_quality", []), dtype=float), color="tab:red", lw=1.2,
             label="high-quality samples (%)")
    ax2.set_ylim(-2, 102)
    ax2.set_ylabel("high-quality samples (%)", color="tab:red")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="lower right", fontsize=7, framealpha=0.8)
    ax.set_title(title)
    return ax


def explorer_figure(snapshot: dict, fig: Any = None, smooth: int = 25):
    """The explorer's three views from a ``widgets.Session.snapshot()``: field + samples, coverage, losses.

    Works with a pyplot figure or a bare ``matplotlib.figure.Figure`` (as the explorer's training
    thread uses, since pyplot is not thread-safe). Returns the figure.
    """
    if fig is None:
        fig = plt.figure(figsize=(13, 3.9), dpi=80)
    fig.clear()
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.15, 1, 1]})
    s = snapshot
    mode_field(s["target"], s["fake"], s["real"], s["field"], ax=axes[0], critic=s.get("critic", False),
               title=f"step {s['step']}: samples over D", extent=s.get("extent"))
    mode_coverage_curves(s["curve"], s["target"].n_modes, ax=axes[1])
    h = s["history"]
    if len(h) > 0:
        loss_curves(h, ax=axes[2], smooth=min(smooth, max(1, len(h) // 4)), title="Losses (moving average)")
    else:
        axes[2].set_title("Losses (no steps yet)")
        axes[2].set_xlabel("generator step")
        axes[2].set_ylabel("loss")
    fig.tight_layout()
    return fig


# ---- notebook 02: D*, C(G) = -log 4 + 2 JSD, Prop. 2 in function space (data from ganlib.theory) ----
def pointwise_objective_curves(pairs: Sequence[tuple[float, float]], ax: plt.Axes | None = None,
                               n: int = 2001) -> plt.Axes:
    """f(y) - f(y*) for f(y) = a log y + b log(1 - y), one curve per (a, b), with y* = a/(a+b) marked.

    The dashed line is the closed form a/(a+b), the dot the maximiser found by
    ``scipy.optimize.minimize_scalar`` (``theory.numerical_argmax``): they coincide.
    """
    from . import theory

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    y = np.linspace(1e-4, 1 - 1e-4, n)
    for i, (a, b) in enumerate(pairs):
        color = f"C{i}"
        y_star = theory.pointwise_argmax(a, b)
        top = float(theory.pointwise_objective(y_star, a, b))
        ax.plot(y, theory.pointwise_objective(y, a, b) - top, color=color, lw=1.4,
                label=f"a={a:g}, b={b:g}: $y^*=a/(a+b)$={y_star:.3f}")
        ax.axvline(y_star, color=color, ls="--", lw=0.9)
        y_num = theory.numerical_argmax(a, b)
        ax.plot([y_num], [float(theory.pointwise_objective(y_num, a, b)) - top], "o", color=color, ms=6,
                mfc="none")
    ax.set_ylim(-2.0, 0.15)
    ax.set_xlabel("y = D(x)")
    ax.set_ylabel("$f(y) - f(y^*)$")
    ax.set_title("$f(y) = a\\log y + b\\log(1-y)$ peaks at $y^* = a/(a+b)$\n(dashed: formula, circle: numerical maximiser)")
    ax.legend(loc="lower center", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def densities_and_discriminator(x: np.ndarray, p_data_x: np.ndarray, p_g_x: np.ndarray, d_star_x: np.ndarray,
                                d_x: np.ndarray | None = None, interval: tuple[float, float] | None = None,
                                ax: plt.Axes | None = None, title: str = "D*(x) = p_data / (p_data + p_g)"
                                ) -> plt.Axes:
    """Figure-1 style: p_data (black dotted) and p_g (green) on the left axis; D* (blue dashed) and,
    if given, a trained D (red) on the right axis in [0, 1]; ``interval`` shaded (where D is scored)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.plot(x, p_data_x, "k:", lw=1.8, label="$p_{data}$")
    ax.plot(x, p_g_x, color="tab:green", lw=1.6, label="$p_g$")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_ylim(0, 1.15 * max(float(np.max(p_data_x)), float(np.max(p_g_x))))
    right = ax.twinx()
    right.plot(x, d_star_x, color="tab:blue", ls="--", lw=1.8, label="$D^*(x)$")
    if d_x is not None:
        right.plot(x, d_x, color="tab:red", lw=1.1, alpha=0.85, label="trained $D(x)$")
    right.axhline(0.5, color="0.6", lw=0.8, ls=":")
    right.set_ylim(-0.03, 1.03)
    right.set_ylabel("discriminator output")
    if interval is not None:
        ax.axvspan(*interval, color="0.85", alpha=0.5, lw=0, label="central 95% of $(p_{data}+p_g)/2$")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = right.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=7.5, framealpha=0.9)
    ax.set_title(title, fontsize=10)
    return ax


def criterion_vs_jsd(jsd_values: Sequence[float], c_values: Sequence[float], labels: Sequence[str] | None = None,
                     ax: plt.Axes | None = None) -> plt.Axes:
    """C(G) against JSD(p_data || p_g): the points sit on the line -log 4 + 2 JSD (slope 2), with the
    minimum -log 4 at JSD = 0 (p_g = p_data) and C <= 0 at JSD = log 2 (disjoint supports).

    Labels go below-right of their point; a point within 0.06 nats of the previous one (in JSD
    order) takes the other side (above-left), so neighbours' labels do not overlap."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5), dpi=90)
    j = np.linspace(0, math.log(2), 50)
    ax.plot(j, -math.log(4) + 2 * j, color="0.5", lw=1.2, label="$-\\log 4 + 2\\,\\mathrm{JSD}$ (slope 2)")
    ax.axhline(-math.log(4), color="tab:red", ls=":", lw=1, label="$-\\log 4$ (global minimum)")
    ax.axvline(math.log(2), color="0.6", ls="--", lw=0.8, label="JSD = log 2 (upper bound)")
    ax.scatter(jsd_values, c_values, zorder=3, color="tab:blue", label="$C(G) = V(G, D^*)$ by quadrature")
    if labels is not None:
        order = np.argsort(jsd_values)
        side, previous = 1, -math.inf
        for i in order:
            jv, cv = float(jsd_values[i]), float(c_values[i])
            side = -side if jv - previous < 0.06 else 1
            previous = jv
            offset, ha, va = ((8, -4), "left", "top") if side > 0 else ((-8, 4), "right", "bottom")
            ax.annotate(labels[i], (jv, cv), textcoords="offset points", xytext=offset, ha=ha, va=va, fontsize=10)
    ax.set_xlim(-0.05, math.log(2) + 0.17)   # room for the labels of the end points
    ax.set_xlabel("JSD($p_{data}\\,\\|\\,p_g$)  [nats]")
    ax.set_ylabel("C(G)")
    ax.set_title("C(G) = -log 4 + 2 JSD for every $p_g$ in the family")
    ax.legend(loc="upper left", fontsize=10)
    ax.grid(alpha=0.3)
    return ax


def jsd_descent_curves(results: dict[str, Any], ax: plt.Axes | None = None, target: float = 1e-4) -> plt.Axes:
    """JSD(p_data || p_g) per step of ``theory.function_space_descent`` runs (log scale), one curve each."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.8))
    for label, res in results.items():
        # Below ~1e-15 the grid sums are float64 round-off, not JSD: stop the curve there.
        jsd = np.where(np.asarray(res.jsd) > 1e-15, res.jsd, np.nan)
        ax.semilogy(np.arange(len(jsd)), jsd, marker=".", ms=3, lw=1.2, label=label)
    ax.axhline(target, color="k", ls=":", lw=1, label=f"JSD = {target:g}")
    ax.set_xlabel("gradient step on $p_g$")
    ax.set_ylabel("JSD($p_{data}\\,\\|\\,p_g$)  (log scale)")
    ax.set_title("Prop. 2 in function space")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return ax


def density_snapshots(result: Any, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """p_data (black dotted) and p_g at the recorded steps of a ``theory.function_space_descent`` run."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(result.x, np.exp(result.log_p_data), "k:", lw=2, label="$p_{data}$")
    steps = sorted(result.snapshots)
    cmap = plt.get_cmap("viridis")
    for i, s in enumerate(steps):
        ax.plot(result.x, np.exp(result.snapshots[s]), color=cmap(i / max(1, len(steps) - 1)), lw=1.2,
                label=f"$p_g$ after {s} step{'s' if s != 1 else ''}")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_title(title or "p_g moves towards p_data")
    ax.legend(loc="upper right", fontsize=7.5)
    ax.grid(alpha=0.3)
    return ax


# ---- notebook 03: saturating vs non-saturating generator loss (data from ganlib.saturation) ----
def logit_gradient_magnitudes(early: float = 0.05, figsize: tuple[float, float] = (11, 4.8)):
    """|d/da log(1 - D)| = D and |d/da log D| = 1 - D against D = sigmoid(a) and against a.

    The shaded band marks early training (D(G(z)) < ``early``), where the saturating loss's
    derivative is about D(G(z)) ~ 0 and the non-saturating one about 1. Returns the figure.
    """
    from .saturation import loss_gradients_wrt_logit
    a = np.linspace(-10, 10, 801)
    g = loss_gradients_wrt_logit(a)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=figsize)
    for ax, x, xlabel in ((ax1, g["D"], "D(G(z)) = sigmoid(a)"), (ax2, a, "logit a of D on a fake sample")):
        ax.plot(x, np.abs(g["saturating"]), color="tab:red", label="saturating: |d/da log(1 - D)| = D")
        ax.plot(x, np.abs(g["non-saturating"]), color="tab:blue", label="non-saturating: |d/da log D| = 1 - D")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("|derivative w.r.t. the logit|")
        ax.grid(alpha=0.3)
    ax1.axvspan(0, early, color="0.85", label=f"early training: D(G(z)) < {early:g}")
    a_early = float(np.log(early / (1 - early)))
    ax2.axvspan(a[0], a_early, color="0.85", label=f"early training: a < {a_early:.1f}")
    ax1.set_title("against D(G(z))")
    ax2.set_title("against the logit a")
    for ax in (ax1, ax2):  # below the axes: inside, they would cover the crossing at D = 1/2
        ax.legend(fontsize=10, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    fig.tight_layout()
    return fig


def generator_grad_comparison(histories: dict, ax: plt.Axes | None = None, smooth: int = 1,
                              title: str = "Generator gradient norm, same start, two losses") -> plt.Axes:
    """||grad_G L_G|| per step (log scale) for each run in ``histories`` (name -> History)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.6))
    colors = {"saturating": "tab:red", "non-saturating": "tab:blue"}
    for name, h in histories.items():
        y = np.maximum(np.asarray(h.g_grad_norm, dtype=float), 1e-30)
        if smooth > 1:
            y = np.exp(_smooth(np.log(y), smooth))
        ax.semilogy(np.asarray(h.step)[-len(y):], y, lw=1, color=colors.get(name), label=name)
    ax.set_xlabel("generator step")
    ax.set_ylabel("$\\|\\nabla_{\\theta_G} L_G\\|_2$ (log scale)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return ax


def learned_densities(comparison: Any, target: Any, ax: plt.Axes | None = None,
                      title: str = "p_g after the same budget vs p_data") -> plt.Axes:
    """p_data (exact) and each run's p_g (histogram of G's samples) on one 1-D axis, with final JSDs."""
    from .saturation import generator_samples_density
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.6))
    x = np.linspace(-3, 7, 501)
    ax.fill_between(x, target.pdf(x), color="0.8", label="$p_{data}$")
    colors = {"saturating": "tab:red", "non-saturating": "tab:blue"}
    for name, G in comparison.generators.items():
        ax.plot(x, generator_samples_density(G, x), color=colors.get(name), lw=1.2,
                label=f"$p_g$, {name} (JSD {comparison.jsd[name]:.3f})")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


# ---- notebook 01: Figure 1 of Goodfellow et al. (2014) from a real run (data from ganlib.toyrun) ----
#: Panel titles with the paper's meaning of each panel (Goodfellow et al. 2014, Figure 1 caption).
FIGURE1_TITLES = {
    "(a)": "(a) near convergence: D partly accurate",
    "(b)": "(b) D trained towards $D^* = p_{data}/(p_{data}+p_g)$",
    "(c)": "(c) after G steps: G(z) moved towards data",
    "(d)": "(d) equilibrium: $p_g = p_{data}$, $D = 1/2$",
}


def figure1_panel(snap: Any, ax: plt.Axes | None = None, title: str | None = None, ymax: float = 1.2,
                  show_d_star: bool = True, before: Any = None, fontsize: float = 9) -> plt.Axes:
    """One panel of Figure 1 from a ``toyrun.Snapshot``; returns the axes.

    Above: p_data black dotted, p_g green solid, D(x) blue dashed (and D* = p_data/(p_data+p_g)
    thin grey where either density has mass). Below, the paper's two lines: the noise line with
    evenly spaced probability levels u (equal probability between arrows; tick labels give z) and
    arrows up to x = G(z) on the x line: where arrow heads bunch, G contracts and p_g is high.
    ``before``: an earlier Snapshot whose p_g and arrow heads are drawn pale (what G moved from).
    Curves above ``ymax`` are clipped (early p_g spikes), which the panel then says.
    """
    from scipy import stats

    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.6), dpi=80)
    x = np.asarray(snap.x)
    lo, hi = float(x[0]), float(x[-1])
    y_x, y_z = -0.22 * ymax, -0.62 * ymax          # the x line and the z line of the paper's drawing
    if before is not None:
        ax.plot(x, np.minimum(before.p_g, ymax), color="tab:green", alpha=0.3, lw=1.5, label="$p_g$ before")
        ax.plot(before.gz, np.full(len(before.gz), y_x), "|", color="tab:green", alpha=0.4, ms=8)
    if show_d_star:
        mass = 0.5 * (snap.p_data + snap.p_g)
        ds = np.where(mass > 2e-2 * mass.max(), snap.d_star, np.nan)
        ax.plot(x, ds, color="0.55", lw=1, label="$D^*$")
    estimated = not str(snap.pg_method).startswith("exact")
    ax.plot(x, snap.p_data, "k:", lw=2, label="$p_{data}$")
    ax.plot(x, np.minimum(snap.p_g, ymax), "g-", lw=2,
            label="$p_g$" + (" (estimated)" if estimated else ""))
    ax.plot(x, snap.d, "b--", lw=2, label="$D(x)$")
    # noise line: u in (0, 1) spread over the middle 80 % of the window
    left, right = lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo)
    u_pos = left + np.asarray(snap.u) * (right - left)
    ax.hlines([y_x, y_z], lo, hi, color="0.25", lw=1)
    for ux, gx in zip(u_pos, snap.gz):
        if lo <= gx <= hi:
            ax.annotate("", xy=(gx, y_x), xytext=(ux, y_z),
                        arrowprops=dict(arrowstyle="-|>", color="0.35", lw=0.7, mutation_scale=6, shrinkA=0, shrinkB=0))
    z_ticks = (-2, -1, 0, 1, 2) if getattr(snap, "noise", "normal") == "normal" else (-1, -0.5, 0, 0.5, 1)
    for zt in z_ticks:
        ut = stats.norm.cdf(zt) if getattr(snap, "noise", "normal") == "normal" else (zt + 1) / 2
        xt = left + ut * (right - left)
        ax.plot([xt, xt], [y_z - 0.03 * ymax, y_z], color="0.25", lw=1)
        ax.text(xt, y_z - 0.05 * ymax, f"{zt:g}", ha="center", va="top", fontsize=fontsize - 2, color="0.25")
    ax.text(lo + 0.01 * (hi - lo), y_x + 0.02 * ymax, "x", fontsize=fontsize, style="italic")
    ax.text(lo + 0.01 * (hi - lo), y_z + 0.02 * ymax, "z", fontsize=fontsize, style="italic")
    notes = []
    if float(np.max(snap.p_g)) > ymax:
        notes.append(f"$p_g$ clipped (peak {float(np.max(snap.p_g)):.1f})")
    if estimated:
        notes.append("$p_g$ estimated: " + str(snap.pg_method))
    elif snap.pg_method != "exact":
        notes.append("$p_g$ " + str(snap.pg_method).replace("exact (sum over ", "exact, sum over "))
    if notes:
        ax.text(hi - 0.01 * (hi - lo), 0.97 * ymax, "\n".join(notes), ha="right", va="top", fontsize=fontsize - 2.5)
    ax.set_xlim(lo, hi)
    ax.set_ylim(y_z - 0.17 * ymax, ymax)
    ax.set_yticks([0, 0.5, 1.0])
    ax.set_xlabel("x")
    ax.set_ylabel("density / $D(x)$")
    ax.set_title(title if title is not None else f"{snap.label}: JSD = {snap.jsd:.3f} nats", fontsize=fontsize)
    return ax


def figure1(panels: Sequence[Any], figsize: tuple[float, float] = (11, 8.4), dpi: int = 80,
            titles: dict[str, str] | None = None, ymax: float = 1.2, ncols: int = 2):
    """Figure 1 (a)-(d) from ``toyrun.run_figure1(...).panels``, ``ncols`` panels a row; returns the figure.

    Each title gives the paper's meaning of the panel and below it how the state was made and its
    JSD(p_data || p_g). Panel (c) also shows (b)'s p_g and arrow heads pale: where G came from.
    Two by two (the paper has one row) so that 11-pt text stays legible at notebook width.
    """
    titles = FIGURE1_TITLES if titles is None else titles
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, dpi=dpi, sharey=True, squeeze=False)
    axes = axes.ravel()
    by_label = {p.label: p for p in panels}
    for i, (ax, p) in enumerate(zip(axes, panels)):
        before = by_label.get("(b)") if p.label == "(c)" else None
        figure1_panel(p, ax, title=f"{titles.get(p.label, p.label)}\n{p.how}", ymax=ymax, before=before,
                      fontsize=11)
        ax.text(0.02, 0.97, f"JSD = {p.jsd:.3f} nats", transform=ax.transAxes, fontsize=10, va="top",
                color="tab:green")
        if i % ncols:
            ax.set_ylabel("")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    handles, labels = [], []
    for ax in axes:
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in labels:
                handles.append(h)
                labels.append(l)
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=11, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def figure1_animation(snapshots: Sequence[Any], max_frames: int = 24, interval: int = 250, dpi: int = 100,
                      figsize: tuple[float, float] = (7.5, 4.4), ymax: float = 1.2, interactive: bool = False):
    """The whole run as an animated PNG (``animate``) of Figure-1 panels, one per chosen snapshot.

    At most ``max_frames`` frames, spaced geometrically in snapshot index (the first steps change
    fastest), first and last always included. 750 x 440 px frames with 10-12 pt text: legible
    at notebook width without scaling.
    """
    n = len(snapshots)
    if n == 0:
        raise ValueError("snapshots must not be empty.")
    if not isinstance(max_frames, int) or max_frames < 2:
        raise ValueError(f"max_frames must be an int >= 2, got {max_frames!r}.")
    idx = np.unique(np.concatenate([[0], np.round(np.geomspace(1, n, max_frames - 1)).astype(int) - 1, [n - 1]]))
    frames = [snapshots[i] for i in idx]

    def draw(fig, snap):
        ax = fig.add_subplot(1, 1, 1)
        figure1_panel(snap, ax, title=f"step {snap.step}: JSD = {snap.jsd:.3f} nats, "
                                      f"max|D - 1/2| = {snap.d_dev:.2f}", ymax=ymax, show_d_star=False, fontsize=12)
        ax.legend(loc="upper left", fontsize=10, frameon=False)
        fig.tight_layout()

    return animate(frames, draw, figsize=figsize, interval=interval, dpi=dpi, interactive=interactive)


# ---- notebook 06: a DCGAN on MNIST, measured (digit histograms, latent walks, norms)
def digit_histograms(hists: "dict[str, Any]", ax: plt.Axes | None = None, band: tuple[float, float] | None = (0.07, 0.13),
                     title: str = "Digit histogram of generated samples") -> plt.Axes:
    """Grouped bars of digit fractions h_y (one group per digit 0-9, one bar per entry of ``hists``).

    ``hists`` maps a label (e.g. "DCGAN") to 10 fractions summing to 1; a dotted line marks the
    uniform 1/10 and a shaded band the range ``band`` (the 7-13 % target of notebook 06).
    """
    if not hists:
        raise ValueError("hists must map at least one label to 10 fractions.")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    k = len(hists)
    width = 0.8 / k
    digits = np.arange(10)
    if band is not None:
        ax.axhspan(band[0], band[1], color="tab:green", alpha=0.12, label=f"{band[0]:.0%} to {band[1]:.0%}")
    for i, (label, h) in enumerate(hists.items()):
        h = np.asarray(h.detach().cpu() if isinstance(h, Tensor) else h, dtype=float).ravel()
        if h.shape != (10,):
            raise ValueError(f"hists[{label!r}] must have 10 entries, got shape {h.shape}.")
        ax.bar(digits - 0.4 + width * (i + 0.5), h, width=width, label=label)
    ax.axhline(0.1, color="k", ls=":", lw=1, label="uniform 1/10")
    ax.set_xticks(digits)
    ax.set_xlabel("digit predicted by the classifier")
    ax.set_ylabel("fraction of samples")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return ax


def image_rows(rows: "dict[str, Any]", title: str | None = None, scale: float = 0.7,
               captions: "Sequence[str] | None" = None) -> plt.Figure:
    """One labelled row of images per entry of ``rows`` (label -> images (n, 1, H, W) in [-1, 1]).

    Used for interpolation paths (slerp vs lerp) and latent arithmetic; ``captions`` (one per
    column) are written above the first row. Returns the figure.
    """
    if not rows:
        raise ValueError("rows must map at least one label to images.")
    n = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(rows), 1, figsize=(scale * n + 1.2, scale * len(rows) + 0.5 + (0.3 if title else 0)),
                             squeeze=False)
    for ax, (label, imgs) in zip(axes[:, 0], rows.items()):
        grid = make_grid(imgs, nrow=n, padding=2)
        ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        for s in ax.spines.values():
            s.set_visible(False)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if captions is not None:
        tile = 30
        top = axes[0, 0]
        top.set_xticks([2 + tile * i + 14 for i in range(len(captions))])
        top.set_xticklabels(list(captions), fontsize=8)
        top.xaxis.tick_top()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def path_norms(t: "Any", norms: "dict[str, Any]", reference: float | None = None, ax: plt.Axes | None = None,
               title: str = "Norm of z along the path") -> plt.Axes:
    """||z(t)|| along interpolation paths (label -> norms), with the typical norm sqrt(d) as a line."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    t = np.asarray(t, dtype=float)
    for label, v in norms.items():
        ax.plot(t, np.asarray(v.detach().cpu() if isinstance(v, Tensor) else v, dtype=float), marker="o", ms=3, label=label)
    if reference is not None:
        ax.axhline(reference, color="k", ls=":", lw=1, label=r"$\sqrt{d}$ (typical $\|z\|$)")
    ax.set_xlabel("t (0 = first digit, 1 = second)")
    ax.set_ylabel(r"$\|z(t)\|$")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return ax
