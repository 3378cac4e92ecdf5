"""The mode-collapse explorer of notebook 04 (the one module of ganlib that uses ipywidgets): ``Settings``,
``PRESETS``, ``Session`` (G, D and a ``train.GANTrainer`` built from Settings, scored with
``metrics.mode_coverage`` as it trains), ``run_preset``, the pictures and ``Explorer``, the widgets."""
from __future__ import annotations

import base64
import dataclasses
import html
import io
import threading
import time
from typing import Any, Callable

import matplotlib.pyplot as plt
import numpy as np
import torch

from . import metrics, models, remedies, toy
from .config import check_choice, check_int, check_number
from .plot import loss_curves
from .train import GANTrainer, History

#: The VEEGAN/PacGAN ring (8 modes, sigma 0.01) and grid (25 modes, sigma 0.05).
TARGETS: dict[str, Callable[[], toy.GaussianMixture]] = {"ring": toy.ring, "grid": toy.grid}
G_LOSSES = ("non-saturating", "saturating")
ACTIVATIONS = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "leaky-relu": torch.nn.LeakyReLU}
INT_RANGES = (("k", 1, 20), ("batch_size", 2, 8192), ("width", 2, 1024), ("depth", 1, 6), ("z_dim", 1, 256),
              ("steps", 1, 200_000), ("seed", 0, 2**31 - 1))
EVAL_EVERY = 100   # steps between coverage measurements
LR_FLOOR = 0.02    # the learning rates decay to this fraction of their value


@dataclasses.dataclass(frozen=True)
class Settings:
    """One experiment: target, g_loss, remedy (keys of ``TARGETS``, ``G_LOSSES``, ``remedies.REMEDIES``);
    k D steps per G step; Adam's lr_d, lr_g; batch size m; width and depth (hidden layers) of G and D and
    their activation; z_dim; steps per Train; the seed of weights, noise and data; lr_decay, the last
    fraction of a run over which both rates fall linearly to ``LR_FLOOR`` of their value (sigma = 0.01
    on the ring asks for a precise G at the end)."""

    target: str = "ring"
    g_loss: str = "non-saturating"
    remedy: str = "none"
    k: int = 1
    lr_d: float = 1e-3
    lr_g: float = 1e-3
    batch_size: int = 256
    width: int = 128
    depth: int = 2
    activation: str = "tanh"
    z_dim: int = 4
    steps: int = 3000
    seed: int = 0
    lr_decay: float = 0.3

    def validate(self) -> "Settings":
        """Check every field (a ValueError names it and what is allowed); return self."""
        for name, choices in (("target", TARGETS), ("g_loss", G_LOSSES), ("activation", ACTIVATIONS)):
            check_choice(name, getattr(self, name), choices)
        for name, low, high in INT_RANGES:
            check_int(name, getattr(self, name), low, high)
        for name in ("lr_d", "lr_g"):
            check_number(name, getattr(self, name), 0, 1, open_low=True)
        check_number("lr_decay", self.lr_decay, 0, 1)
        # D judges groups of samples (packing, minibatch std): D's own check, on an empty batch of m.
        remedies.groups(torch.empty(self.batch_size, 0), remedies.get(self.remedy).group)
        return self


#: Notebook 04 describes them, docs/mode-collapse-presets.md how they were chosen. A target's two share the
#: budget (steps, batch 256, k = 1). ReLU and a wide noise make the ring collapse (Metz et al. 2017,
#: unrolled GANs); the remedies are PacGAN2 (Lin et al. 2018) and WGAN-GP (Gulrajani et al. 2017).
PRESETS: dict[str, Settings] = {
    "ring: collapse": Settings("ring", activation="relu", width=256, depth=1, z_dim=64, steps=5000, lr_decay=0.0),
    "ring: remedy": Settings("ring", remedy="pack2", lr_d=3e-3, lr_g=3e-3, width=64, depth=3, z_dim=8, steps=5000,
                             lr_decay=0.5),
    "grid: collapse": Settings("grid", lr_g=3e-3, width=16, steps=3000, lr_decay=0.0),
    "grid: remedy": Settings("grid", remedy="wgan-gp", lr_d=3e-3, lr_g=3e-3, z_dim=8, steps=3000),
}


def preset(name: str) -> Settings:
    """The Settings of preset ``name`` (a key of ``PRESETS``)."""
    return PRESETS[check_choice("preset", name, PRESETS)]


class Session:
    """One run: models, trainer, fixed evaluation noise and the coverage ``curve`` (lists ``step``, ``modes``,
    ``modes_strict``, ``high_quality``, ``kl``: at step 0, every ``EVAL_EVERY`` steps, at each run's end)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = s = settings.validate()
        self.target, self.remedy, act = TARGETS[s.target](), remedies.get(s.remedy), ACTIVATIONS[s.activation]
        torch.manual_seed(s.seed)               # initial weights of G and D
        self.G = models.ToyGenerator(s.z_dim, self.target.dim, s.width, s.depth, activation=act)
        self.D = self.remedy.discriminator(self.target.dim, s.width, s.depth, activation=act)
        self.trainer = GANTrainer(self.G, self.D, toy.Sampler(self.target, seed=10_000 + s.seed),
                                  batch_size=s.batch_size, k=s.k, lr_d=s.lr_d, lr_g=s.lr_g, seed=s.seed,
                                  log_every=EVAL_EVERY, **self.remedy.trainer_kwargs(s.g_loss))
        gen = torch.Generator().manual_seed(20_000 + s.seed)   # fixed, so successive views compare
        self.eval_z = torch.randn(metrics.N_EVAL, s.z_dim, generator=gen)
        self.real, self.train_seconds = self.target.sample(500, generator=gen), 0.0
        self.curve: dict[str, list] = {k: [] for k in ("step", "modes", "modes_strict", "high_quality", "kl")}
        self.evaluate()

    step = property(lambda self: self.trainer.step)
    history = property(lambda self: self.trainer.history)

    @torch.no_grad()
    def evaluate(self) -> metrics.ModeCoverage:
        """Score G(eval_z) with ``metrics.mode_coverage``, append it to ``curve`` and return it."""
        self.samples = self.G(self.eval_z)
        self.coverage = cov = metrics.mode_coverage(self.samples, self.target)
        for key, v in zip(self.curve, (self.step, cov.modes, cov.modes_strict, cov.high_quality, cov.kl_uniform)):
            self.curve[key].append(v)
        return cov

    def _set_lr(self, first: int, steps: int) -> None:
        """lr * min(1, max(LR_FLOOR, steps left / (lr_decay * steps))) in a run of ``steps`` after ``first``."""
        s = self.settings
        span, left = s.lr_decay * steps, first + steps - self.step
        factor = 1.0 if span <= 0 else min(1.0, max(LR_FLOOR, left / span))
        for opt, lr in ((self.trainer.opt_d, s.lr_d), (self.trainer.opt_g, s.lr_g)):
            for group in opt.param_groups:
                group["lr"] = lr * factor

    def run(self, steps: int | None = None, on_update: Callable[["Session"], Any] | None = None,
            update_every_s: float = 0.5) -> History:
        """Train ``steps`` (default settings.steps) more G steps on one CPU thread, measuring as it goes;
        on_update(session) follows a measurement ``update_every_s`` s after the last one returned.
        ``self.trainer.request_stop()`` (any thread) stops it after the current step."""
        s, first, last = self.settings, self.step, time.perf_counter()
        steps = s.steps if steps is None else check_int("steps", steps)

        def callback(trainer: GANTrainer) -> None:
            nonlocal last
            self._set_lr(first, steps)
            if trainer.step % EVAL_EVERY == 0:
                self.evaluate()
                if on_update is not None and time.perf_counter() - last >= update_every_s:
                    on_update(self)
                    last = time.perf_counter()      # training gets update_every_s between drawings

        self._set_lr(first, steps)
        # One thread: these MLPs gain nothing from parallel kernels, waiting threads on a busy machine
        # slow a run many times over, and the rounding (so the outcome) depends on the thread count.
        threads, t0 = torch.get_num_threads(), time.perf_counter()
        torch.set_num_threads(1)
        try:   # the callback every 50 steps: the learning-rate schedule is piecewise constant
            self.trainer.run(steps, callback=callback, every=50)
        finally:
            torch.set_num_threads(threads)
            self.train_seconds += time.perf_counter() - t0
            if self.curve["step"][-1] != self.step:
                self.evaluate()
        return self.history

    @torch.no_grad()
    def field(self, n: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """D on an n x n grid over the plot range: (xs, ys, values (n, n)), D(x) or the critic's score."""
        xs = np.linspace(*plot_extent(self.target), n)
        pts = torch.as_tensor(np.stack([a.ravel() for a in np.meshgrid(xs, xs)], 1), dtype=torch.float32)
        self.D.eval()                           # spectral norm: no power-iteration step while drawing
        out = remedies.pointwise_logits(self.D, pts, self.samples).reshape(n, n)
        self.D.train()
        return xs, xs, (out if self.remedy.wasserstein else torch.sigmoid(out)).numpy()


def run_preset(name: str, seed: int = 0, steps: int | None = None, **changes: Any) -> Session:
    """Preset ``name`` trained with ``seed`` (and ``steps`` or other ``changes`` of its Settings), no widgets:
    the finished Session (``.coverage`` of the final ``.samples``, ``.curve``, ``.history``, ``.train_seconds``)."""
    changes.update({"seed": seed} if steps is None else {"seed": seed, "steps": steps})
    session = Session(dataclasses.replace(preset(name), **changes))
    session.run()
    return session


# ----------------------------------------------------------------------------- pictures
def plot_extent(target: toy.GaussianMixture) -> tuple[float, float]:
    """Square plot range around a 2-D target's means: 15 % of their span plus 5 sigma each side."""
    mu = np.asarray(target.means)
    pad = 0.15 * float(mu.max() - mu.min()) + 5 * float(np.max(target.sigmas))
    return float(mu.min()) - pad, float(mu.max()) + pad


def mode_field(target: toy.GaussianMixture, fake, real=None, field=None, ax: plt.Axes | None = None,
               title: str | None = None, critic: bool = False) -> plt.Axes:
    """Real (green) and generated (purple) points (n, 2) over D's output as a shaded field, as GAN Lab shows:
    field = (xs (nx,), ys (ny,), values (ny, nx)), D(x) (green "real", pink "fake") or critic scores (rescaled
    to [0, 1]). Circles mark the modes; the legend sits below the axes, where it covers no mode."""
    ax = ax or plt.subplots(figsize=(4.2, 4))[1]
    if field is not None:
        xs, ys, v = field
        v = (v - v.min()) / max(v.max() - v.min(), 1e-12) if critic else v
        im = ax.imshow(v, origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]), cmap="PiYG", vmin=0.0,
                       vmax=1.0, alpha=0.55, interpolation="bilinear", aspect="auto")
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.03).set_label("critic (scaled)" if critic else "D(x)")
    for pts, size, color, alpha, z, label in ((real, 6, "darkgreen", 0.8, 3, "real x"),
                                              (fake, 3, "tab:purple", 0.5, 2, "generated G(z)")):
        if pts is not None:
            p = np.asarray(torch.as_tensor(pts).detach().cpu())
            ax.scatter(p[:, 0], p[:, 1], s=size, c=color, alpha=alpha, lw=0, label=label, zorder=z)
    mu, (lo, hi) = np.asarray(target.means), plot_extent(target)
    ax.scatter(mu[:, 0], mu[:, 1], marker="o", s=70, facecolors="none", edgecolors="k", lw=0.8, label="modes",
               zorder=4)
    ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="$x_1$", ylabel="$x_2$", aspect="equal",
           title=title or f"samples over D: {target.name}")
    leg = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.19), ncol=3, fontsize=7, frameon=False,
                    handletextpad=0.2, columnspacing=0.8, borderaxespad=0.0)
    for handle in leg.legend_handles:           # one readable marker size for dots and circles
        handle.set(sizes=[24], alpha=1.0)
    return ax


def explorer_figure(session: Session, caption: str | None = None, dpi: int = 72) -> bytes:
    """A Session's views as PNG: samples over D; modes captured (solid), with >= 1 % of the samples (dashed),
    high-quality % (red); the losses. A bare ``Figure`` (Agg, no pyplot: the training thread draws it)."""
    from matplotlib.figure import Figure

    s, c, n, height = session, session.curve, session.target.n_modes, 3.9 + 0.45 * bool(caption)
    fig = Figure(figsize=(13, height), dpi=dpi)
    ax = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.15, 1, 1]})
    mode_field(s.target, s.samples, s.real, s.field(), ax=ax[0], critic=s.remedy.wasserstein,
               title=f"step {s.step}: {s.coverage.modes}/{n} modes, {100 * s.coverage.high_quality:.1f} % high quality")
    ax[1].plot(c["step"], c["modes"], color="tab:blue", marker=".", lw=1.4, label="modes captured")
    ax[1].plot(c["step"], c["modes_strict"], color="tab:blue", ls="--", lw=1, label="modes with $\\geq$1 % of samples")
    ax[1].set(ylim=(-0.3, n + 0.5), xlabel="generator step", ylabel=f"modes captured (of {n})",
              title="Modes captured and sample quality")
    ax[1].grid(alpha=0.3)
    hq = ax[1].twinx()
    hq.plot(c["step"], 100 * np.asarray(c["high_quality"]), color="tab:red", lw=1.2, label="high-quality samples (%)")
    hq.set_ylim(-2, 102)
    hq.set_ylabel("high-quality samples (%)", color="tab:red")
    (h1, l1), (h2, l2) = ax[1].get_legend_handles_labels(), hq.get_legend_handles_labels()
    ax[1].legend(h1 + h2, l1 + l2, loc="lower right", fontsize=7, framealpha=0.8)
    loss_curves(s.history, ax=ax[2], smooth=min(25, max(1, len(s.history) // 4)),
                title="Losses (moving average)" if len(s.history) else "Losses (no steps yet)")
    fig.tight_layout()
    if caption:
        fig.suptitle(caption, fontsize=13, fontweight="bold", color="#8a4b00",
                     bbox={"boxstyle": "round,pad=0.3", "facecolor": "#fff4e0", "edgecolor": "#d08a2e"})
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / height))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


# ----------------------------------------------------------------------------- widgets
REMEDY_WIDTH = "430px"   # 120 px of description, ~7.5 px per character of the longest label, the arrow
STATIC_CAPTION = "Static picture of the explorer: run this cell to use it"
STATIC_TEXT = "Mode-collapse explorer (ipywidgets): run this cell to use it."
#: Control -> (label, a menu's options or the kind of text box). Text boxes, not bounded boxes or log
#: sliders: a bounded box clamps 100000 to 8192 and a slider snaps 3e-3 to 10^-2.5 without a word.
CONTROLS = {"target": ("target", list(TARGETS)), "g_loss": ("generator loss", list(G_LOSSES)),
            "remedy": ("remedy", [(f"{k} ({r.summary})", k) for k, r in remedies.REMEDIES.items()]),
            "k": ("D steps k", "IntText"), "lr_d": ("lr of D", "FloatText"), "lr_g": ("lr of G", "FloatText"),
            "activation": ("activation", list(ACTIVATIONS)), "batch_size": ("batch size m", "IntText"),
            "width": ("network width", [16, 32, 64, 128, 256]), "depth": ("hidden layers", "IntText"),
            "z_dim": ("noise dim", "IntText"), "steps": ("steps per Train", "IntText"), "seed": ("seed", "IntText")}


class Explorer:
    """Controls, Train / Stop / Reset, presets and live views; show it as a cell's last expression. For
    code and tests: ``controls``, ``train_button``, ``stop_button``, ``reset_button``, ``status``, ``image``."""

    def __init__(self, preset_name: str = "ring: collapse", update_every_s: float = 0.7) -> None:
        import ipywidgets as W

        self.update_every_s, self.session, self._thread = update_every_s, None, None
        self._renders, self.last_error, self._stop, self._training = 0, None, threading.Event(), False
        style, lay = {"description_width": "120px"}, W.Layout(width="300px")
        self.controls: dict[str, Any] = {
            k: getattr(W, o)(description=d, style=style, layout=lay) if isinstance(o, str) else
            W.Dropdown(options=o, description=d, style=style, layout=lay) for k, (d, o) in CONTROLS.items()}
        self.controls["remedy"].layout = W.Layout(width=REMEDY_WIDTH)
        self.preset_picker = W.Dropdown(options=list(PRESETS), description="preset", style=style, layout=lay)
        self.train_button, self.stop_button, self.reset_button = (
            W.Button(description=d, button_style=b, icon=i) for d, b, i in
            (("Train", "success", "play"), ("Stop", "warning", "stop"), ("Reset", "", "refresh")))
        self.status, self.image = W.HTML(), W.Image(format="png", layout=W.Layout(width="100%", max_width="1000px"))
        for button, act in zip((self.train_button, self.stop_button, self.reset_button),
                               (self.train, self.stop, self.reset)):
            button.on_click(lambda _, act=act: act())
        self.preset_picker.observe(lambda ch: self.apply_preset(ch["new"]), names="value")
        column = [*self.controls.values()]
        self.widget = W.VBox([W.HBox([W.VBox(column[:7]), W.VBox(column[7:] + [self.preset_picker])]),
                              W.HBox([self.train_button, self.stop_button, self.reset_button]),
                              self.status, self.image], layout=W.Layout(border="1px solid #ddd", padding="6px"))
        self.widget.add_class("ganlib-explorer")
        self.apply_preset(preset_name)
        self.reset()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        """The widgets, plus a picture (image/png; not while the training thread draws) and a sentence
        (text/plain), which an untrusted notebook, GitHub and nbviewer show instead, in that order."""
        bundle = {**(self.widget._repr_mimebundle_(**kwargs) or {}), "text/plain": STATIC_TEXT}
        if self.session is not None and self.wait(timeout=0):
            bundle["image/png"] = base64.b64encode(explorer_figure(self.session, STATIC_CAPTION)).decode("ascii")
        return bundle

    def apply_preset(self, name: str) -> None:
        """Set every control to preset ``name``'s values (does not train)."""
        for key, widget in self.controls.items():
            widget.value = getattr(preset(name), key)
        self.preset_picker.value = name

    def settings(self) -> Settings:
        """Settings from the controls, validated (ValueError names what is wrong)."""
        values = {k: w.value for k, w in self.controls.items()}
        return dataclasses.replace(preset(self.preset_picker.value), **values).validate()

    def _say(self, text: str, error: bool = False) -> bool:
        """``text`` in the status line (red for an error; then False); progress goes to the picture."""
        self.last_error, color = (text, "#b00020") if error else (None, "#222")
        self.status.value = f'<span style="color:{color}">{"⚠️ " * error}{html.escape(text)}</span>'
        return not error

    @property
    def running(self) -> bool:  # a run trains (when False, its thread may still draw the last picture)
        return self._training and self._thread.is_alive()

    def train(self) -> bool:
        """Start training in a background thread; False (with a message) when the settings are refused."""
        if self.running:
            return self._say("Already training: press Stop first to change anything.", error=True)
        try:
            s = self.settings()
        except ValueError as exc:
            return self._say(f"Cannot train with these settings: {exc}", error=True)
        if self.session is not None and dataclasses.replace(self.session.settings, steps=s.steps) == s:
            self.session.settings, note = s, f"continuing from step {self.session.step}"   # only steps changed
        else:
            self.session, note = Session(s), "new run"
        self._say(f"Training {s.steps} steps ({note}) ...")
        self.wait()                 # the last run's thread may still draw its last picture
        self._stop, self._training = threading.Event(), True
        self._thread = threading.Thread(target=self._work, args=(self.session, s.steps), daemon=True)
        self._thread.start()
        return True

    def _work(self, session: Session, steps: int) -> None:
        end = session.step + steps
        try:
            session.run(steps, on_update=self._draw, update_every_s=self.update_every_s)
            self._training = False
            self._say(f"{'Stopped at' if session.step < end else 'Done:'} step {session.step}: "
                      f"{session.coverage.summary()} ({session.train_seconds:.1f} s of training)")
            self._draw(session)     # the last picture after the message, so that Stop shows at once
        except Exception as exc:  # noqa: BLE001 - e.g. train.DivergenceError: a message, never a traceback
            self._say(f"Training failed: {type(exc).__name__}: {exc}", error=True)

    def _draw(self, session: Session) -> None:
        if self._stop.is_set():     # a Stop pressed before trainer.run began (run clears requests)
            session.trainer.request_stop()
        self.image.value = explorer_figure(session)
        self._renders += 1

    def stop(self) -> None:
        """Ask the running training to stop after its current step (thread-safe)."""
        if self.running:
            self._say("Stopping ...")
            self._stop.set()
            self.session.trainer.request_stop()

    def reset(self) -> None:
        """Stop any training and start a fresh, untrained run from the current settings."""
        self.stop()
        self.wait()
        try:
            self.session = Session(self.settings())
        except ValueError as exc:
            self.session = None
            return self._say(f"Cannot build a run with these settings: {exc}", error=True)
        self._draw(self.session)
        self._say(f"Ready: an untrained run ({self.session.coverage.summary()}). Press Train.")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the training thread ends (or ``timeout`` s pass); True when it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()
