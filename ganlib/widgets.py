"""The mode-collapse explorer of notebook 04 (ipywidgets lives here and nowhere else in ganlib).

Three layers, each usable on its own:

* ``Settings``: one experiment's knobs (target, generator loss, remedy, k, learning rates, batch
  size, width, depth, activation, noise dimension, steps, seed), validated with messages a learner
  can act on.
* ``Session``: builds G, D and a ``GANTrainer`` (the course's one loop) from Settings, trains,
  and every ``eval_every`` steps scores 2,500 samples from fixed noise with ``metrics``. The
  learning rates decay linearly over the last ``lr_decay`` fraction of each run (through the
  loop's callback), because sigma = 0.01 on the ring asks for a precise generator at the end.
* ``Explorer``: the widgets. Train runs ``Session.run`` in a background thread, so the kernel
  stays free to handle Stop (``GANTrainer.request_stop``) and the views update while it trains:
  the figure is rendered off-screen with Agg into an ``ipywidgets.Image`` (no pyplot in the
  thread, no interactive backend needed). A setting that cannot work is refused in the status
  line, never with a traceback. Its display also carries a static picture (image/png) and a line
  of text, which an untrusted notebook or GitHub shows instead of the widgets.

``run_preset(name, seed)`` runs a preset without widgets (the notebook, the tests and
``python -m ganlib bench`` use it) and ``PRESETS`` holds the presets.
"""
from __future__ import annotations

import contextlib
import dataclasses
import html
import io
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch

from . import metrics, models, remedies, toy
from .train import DivergenceError, GANTrainer, History

#: Targets the explorer offers: the VEEGAN/PacGAN ring and grid.
TARGETS: dict[str, Callable[[], toy.GaussianMixture]] = {"ring": toy.ring, "grid": toy.grid}
G_LOSSES = ("non-saturating", "saturating")
#: Hidden-layer activations of G and D. Metz et al. (2017, unrolled GANs) use ReLU networks and a
#: 256-dimensional z on the ring, the setting in which a plain GAN hops from mode to mode.
ACTIVATIONS: dict[str, type[torch.nn.Module]] = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU,
                                                 "leaky-relu": torch.nn.LeakyReLU}

#: Intra-op threads while a toy run trains. These MLPs are far too small to gain from parallel
#: kernels; on our shared 2-core machine a second thread made a 1,000-step run ~100x slower
#: (threads spin waiting for each other), so the explorer trains on one and restores the setting.
TRAIN_THREADS = 1


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count (None: leave it alone)."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ----------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class Settings:
    """One experiment of the explorer. ``validate()`` raises ValueError naming the bad setting.

    target: 'ring' or 'grid'. g_loss: 'non-saturating' or 'saturating'. remedy: a key of
    ``remedies.REMEDIES``. k: discriminator steps per generator step. lr_d, lr_g: Adam learning
    rates. batch_size: m. width: hidden units per layer of G and D. depth: hidden layers of each.
    activation: hidden activation of G and D (a key of ``ACTIVATIONS``).
    z_dim: noise dimension. steps: generator steps per press of Train. seed: initialises G, D,
    the noise and the data stream. lr_decay: the last fraction of ``steps`` over which both
    learning rates fall linearly to ``lr_floor`` times their value. eval_every: steps between
    coverage measurements (2,500 samples each).
    """

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
    lr_floor: float = 0.02
    eval_every: int = 100

    def validate(self) -> "Settings":
        """Check every field; raise ValueError with what is allowed. Returns self."""
        if self.target not in TARGETS:
            raise ValueError(f"target={self.target!r} is not known; use one of {list(TARGETS)}.")
        if self.g_loss not in G_LOSSES:
            raise ValueError(f"g_loss={self.g_loss!r} is not known; use one of {list(G_LOSSES)}.")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation={self.activation!r} is not known; use one of {list(ACTIVATIONS)}.")
        remedy = remedies.get(self.remedy)
        limits = {"k": (1, 20), "batch_size": (2, 8192), "width": (2, 1024), "depth": (1, 6),
                  "z_dim": (1, 256), "steps": (1, 200_000), "seed": (0, 2**31 - 1), "eval_every": (1, 100_000)}
        for name, (lo, hi) in limits.items():
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not lo <= v <= hi:
                raise ValueError(f"{name} must be an integer from {lo} to {hi}, got {v!r}.")
        for name in ("lr_d", "lr_g"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0 < v <= 1):
                raise ValueError(f"{name} must be a learning rate in (0, 1], got {v!r}.")
        if not (0 <= self.lr_decay <= 1):
            raise ValueError(f"lr_decay must lie in [0, 1] (a fraction of the steps), got {self.lr_decay!r}.")
        if not (0 < self.lr_floor <= 1):
            raise ValueError(f"lr_floor must lie in (0, 1], got {self.lr_floor!r}.")
        remedy.check_batch_size(int(self.batch_size))
        return self

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some fields changed (unknown names raise ValueError)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; known: {[f.name for f in dataclasses.fields(self)]}.")
        return dataclasses.replace(self, **changes)

    def model_key(self) -> tuple:
        """Everything except ``steps``: two Settings with the same key can continue one run."""
        d = dataclasses.asdict(self)
        d.pop("steps")
        return tuple(sorted(d.items()))


#: Presets: (description, Settings). The collapse and remedy presets of one target share the training
#: budget (generator steps and batch size, k = 1): 5,000 steps of batch 256 on the ring, 3,000 on the
#: grid. These runs are chaotic (where a hopping generator ends depends on floating-point rounding,
#: so on the CPU's kernels and the thread count), so the settings were chosen for outcomes that are
#: decisive, not marginal, and checked on seeds 0-9 with 1 and 2 torch threads, and with MKL held
#: to AVX2 kernels (``MKL_ENABLE_INSTRUCTIONS=AVX2``, another CPU's rounding). (A second thread changes
#: the rounding of every preset but the ring remedy, whose 64-unit layers are too small to be split.)
#:
#: * ring collapse: the plain GAN with one hidden layer of 256 ReLU units and 64-d noise (ReLU and
#:   a wide noise as in Metz et al. 2017, unrolled GANs), Adam 1e-3, no decay. The samples stay one
#:   compact blob that D chases around the ring: at most 2 modes touched (at most 1 with 1 % of the
#:   samples) and at most 2.6 % high-quality samples in every run. The earlier two-layer, 128-unit
#:   version spread its blob along the ring in some runs and then touched all 8 modes with a few
#:   stray samples (8 of 8 in seed 2 here, 3 of 5 seeds on another CPU).
#: * grid collapse: a small (16-unit) tanh generator with a 3x faster learning rate than D and no
#:   decay hops between a few strands of the grid: at most 2 modes with 1 % of the samples and
#:   at most 3.3 % high-quality samples (the lenient count varies more, 1 to 11 of 25).
#: * ring remedy: PacGAN2 (Lin et al. 2018) with three hidden layers of 64 tanh units (two layers of
#:   128 held all 8 modes but left ~11 % of the samples on the bridges between them), 8-d noise, and
#:   learning rates that decay over the last half of the run, where the clusters tighten onto
#:   sigma = 0.01: 8/8 modes in every run, and >= 91.9 % high-quality samples in 29 of 30 (88.6 %
#:   in seed 6 with MKL's AVX2 kernels). Its weak points: in seed 2 (1 or 2 threads) the eighth
#:   mode keeps a single sample, so another CPU may show 7 there; and a run can end under 90 %.
#:   With 4,000 steps the weakest run had 90.2 % (89.5 % on another CPU); the other changes tried
#:   (width 128, depth 4, pack4, 16-d or 4-d noise, other learning rates, leaky ReLU, minibatch
#:   std, a longer decay, WGAN-GP) lost a mode or fell under 90 % in some seed.
#: * grid remedy: WGAN-GP (Gulrajani et al. 2017) with the two-layer, 128-unit networks: 25/25 modes
#:   in every run. PacGAN2 with the same budget reached 21 of 25 modes on average and rarely
#:   sharpened onto the grid; the critic's smooth, non-saturating signal pulls samples towards every
#:   far-away mode.
_COLLAPSE = Settings(g_loss="non-saturating", remedy="none", lr_decay=0.0, batch_size=256)
_REMEDY = Settings(g_loss="non-saturating", z_dim=8, lr_d=3e-3, lr_g=3e-3, batch_size=256)
PRESETS: dict[str, tuple[str, Settings]] = {
    "ring: collapse": (
        "Plain GAN, one hidden layer of 256 ReLU units, 64-d noise, no decay: the samples gather into "
        "one blob that D chases around the ring.",
        _COLLAPSE.replace(target="ring", activation="relu", width=256, depth=1, z_dim=64, lr_d=1e-3,
                          lr_g=1e-3, steps=5000),
    ),
    "ring: remedy": (
        "PacGAN2 (D judges pairs of samples), 3 hidden layers of 64 units, 8-d noise, learning rates "
        "decaying over the last 50 %: all 8 modes, tightly. Same steps and batch as the collapse preset.",
        _REMEDY.replace(target="ring", remedy="pack2", width=64, depth=3, lr_decay=0.5, steps=5000),
    ),
    "grid: collapse": (
        "Plain GAN, a 16-unit tanh generator with a 3x faster learning rate than D, no decay: "
        "G hops between a few strands of the grid.",
        _COLLAPSE.replace(target="grid", width=16, lr_d=1e-3, lr_g=3e-3, steps=3000),
    ),
    "grid: remedy": (
        "WGAN-GP (a critic with a gradient penalty), 2 hidden layers of 128 units, 8-d noise, learning "
        "rates decaying over the last 30 %: every grid mode. Same steps and batch as the grid collapse preset.",
        _REMEDY.replace(target="grid", remedy="wgan-gp", width=128, depth=2, lr_decay=0.3, steps=3000),
    ),
}


def preset(name: str) -> Settings:
    """The Settings of a preset by name (see ``PRESETS``)."""
    if name not in PRESETS:
        raise ValueError(f"preset={name!r} is not known; use one of {list(PRESETS)}.")
    return PRESETS[name][1]


# ----------------------------------------------------------------------------- session
class Session:
    """One training run: models, trainer, fixed evaluation noise, and the coverage curve.

    ``curve`` holds lists ``step``, ``modes``, ``modes_strict``, ``high_quality``, ``kl`` with one
    entry per measurement (every ``eval_every`` steps, and at step 0).
    """

    def __init__(self, settings: Settings, n_eval: int = metrics.N_EVAL) -> None:
        self.settings = s = settings.validate()
        self.target = TARGETS[s.target]()
        self.remedy = remedies.get(s.remedy)
        torch.manual_seed(s.seed)               # initial weights of G and D
        act = ACTIVATIONS[s.activation]
        self.G = models.ToyGenerator(z_dim=s.z_dim, x_dim=self.target.dim, hidden=s.width, depth=s.depth,
                                     activation=act)
        self.D = self.remedy.discriminator(self.target.dim, s.width, s.depth, activation=act)
        self.trainer = GANTrainer(
            self.G, self.D, toy.Sampler(self.target, seed=10_000 + s.seed), batch_size=s.batch_size,
            k=s.k, lr_d=s.lr_d, lr_g=s.lr_g, seed=s.seed, log_every=min(100, s.eval_every),
            **{"betas": (0.5, 0.999), **self.remedy.trainer_kwargs(s.g_loss)})
        # Fixed evaluation noise and real points, so successive views are comparable.
        gen = torch.Generator().manual_seed(20_000 + s.seed)
        self.eval_z = torch.randn(n_eval, s.z_dim, generator=gen)
        self.real = self.target.sample(500, generator=gen)
        self.curve: dict[str, list] = {"step": [], "modes": [], "modes_strict": [], "high_quality": [], "kl": []}
        self.samples = torch.empty(0, self.target.dim)
        self.coverage: metrics.ModeCoverage | None = None
        self.train_seconds = 0.0
        self._running_since: float | None = None
        self.lock = threading.Lock()            # guards curve/samples between trainer and drawing threads
        self.evaluate()

    @property
    def step(self) -> int:
        return self.trainer.step

    @property
    def history(self) -> History:
        return self.trainer.history

    @torch.no_grad()
    def evaluate(self) -> metrics.ModeCoverage:
        """Score G on the fixed 2,500 noise vectors; append to ``curve``; return the coverage."""
        self.G.eval()
        x = self.G(self.eval_z)
        self.G.train()
        cov = metrics.mode_coverage(x, self.target)
        with self.lock:
            self.samples, self.coverage = x, cov
            if self.curve["step"] and self.curve["step"][-1] == self.step:
                for key in self.curve:
                    self.curve[key].pop()
            self.curve["step"].append(self.step)
            self.curve["modes"].append(cov.modes)
            self.curve["modes_strict"].append(cov.modes_strict)
            self.curve["high_quality"].append(cov.high_quality)
            self.curve["kl"].append(cov.kl_uniform)
        return cov

    def _set_lr(self, first: int, steps: int) -> None:
        """Linear decay over the last lr_decay fraction of this run: lr * max(floor, remaining / decay_steps)."""
        s = self.settings
        decay_steps = s.lr_decay * steps
        remaining = first + steps - self.step
        factor = 1.0 if decay_steps <= 0 else min(1.0, max(s.lr_floor, remaining / decay_steps))
        for opt, lr in ((self.trainer.opt_d, s.lr_d), (self.trainer.opt_g, s.lr_g)):
            for group in opt.param_groups:
                group["lr"] = lr * factor

    def run(self, steps: int | None = None, on_update: Callable[["Session"], Any] | None = None,
            update_every_s: float = 0.5, stop: threading.Event | None = None) -> History:
        """Train ``steps`` (default settings.steps) more generator steps; measure every eval_every steps.

        on_update(session) is called after a measurement when at least ``update_every_s`` seconds
        have passed since the last call, and once at the end (the explorer redraws there).
        ``stop``: an Event checked before every step (the explorer's Stop sets it; unlike
        ``trainer.request_stop`` it cannot be cleared by a run that starts just after the press).
        DivergenceError propagates (the explorer turns it into a message).
        """
        s = self.settings
        steps = s.steps if steps is None else steps
        first = self.step
        last_update = [time.perf_counter()]

        def callback(trainer: GANTrainer) -> None:
            self._set_lr(first, steps)
            if trainer.step % s.eval_every == 0 or trainer.step == first + steps:
                self.evaluate()
                now = time.perf_counter()
                if on_update is not None and now - last_update[0] >= update_every_s:
                    last_update[0] = now
                    on_update(self)

        # The callback runs every `every` steps, so the learning-rate schedule is piecewise constant.
        every = math.gcd(s.eval_every, 50)
        self._set_lr(first, steps)
        t0 = self._running_since = time.perf_counter()
        try:
            with torch_threads(TRAIN_THREADS):
                self.trainer.run(steps, callback=callback, every=every,
                                 stop=None if stop is None else stop.is_set)
        finally:
            self.train_seconds += time.perf_counter() - t0
            self._running_since = None
            if self.curve["step"][-1] != self.step:
                self.evaluate()
            if on_update is not None:
                on_update(self)
        return self.history

    @torch.no_grad()
    def field(self, n: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """D's output on an n x n grid over the plot range: (xs, ys, values (n, n)); D(x) or critic score."""
        from .plot import mode_plot_extent

        lo, hi = mode_plot_extent(self.target)
        xs = np.linspace(lo, hi, n)
        xx, yy = np.meshgrid(xs, xs)
        pts = torch.as_tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)
        with self.lock:
            ref = self.samples
        self.D.eval()
        out = remedies.pointwise_logits(self.D, pts, ref).reshape(n, n)
        self.D.train()
        values = out if self.remedy.wasserstein else torch.sigmoid(out)
        return xs, xs, values.numpy()

    def snapshot(self) -> dict:
        """Everything ``plot.explorer_figure`` draws (copies, so drawing can overlap training)."""
        fld = self.field()
        with self.lock:
            return {"target": self.target, "real": self.real, "fake": self.samples.clone(), "field": fld,
                    "critic": self.remedy.wasserstein, "curve": {k: list(v) for k, v in self.curve.items()},
                    "history": History.from_dict({k: list(v) for k, v in self.history.to_dict().items()}),
                    "step": self.step}

    def summary(self) -> str:
        """One line: step, modes (strict), high quality, KL, seconds trained."""
        cov = self.coverage
        assert cov is not None
        since = self._running_since
        seconds = self.train_seconds + (time.perf_counter() - since if since is not None else 0.0)
        return f"step {self.step}: {cov.summary()} ({seconds:.1f} s of training)"


def run_preset(name: str, seed: int = 0, steps: int | None = None, **changes: Any) -> dict:
    """Run preset ``name`` with ``seed`` (and optionally fewer/more ``steps``) without widgets.

    Returns a dict: ``name``, ``settings`` (a dict), ``metrics`` (``ModeCoverage.as_dict()`` of
    the final 2,500 samples), ``curve`` (coverage over steps), ``history`` (the trainer's History),
    ``samples`` ((2500, 2) float32 array), ``real`` ((500, 2) array) and ``timing``
    (``train_s``, ``total_s``, ``steps``, ``steps_per_s``). Extra keyword arguments change
    settings (e.g. ``remedy='none'``) for controlled comparisons.
    """
    settings = preset(name).replace(seed=seed, **changes)
    if steps is not None:
        settings = settings.replace(steps=steps)
    t0 = time.perf_counter()
    session = Session(settings)
    session.run()
    total = time.perf_counter() - t0
    assert session.coverage is not None
    return {
        "name": name,
        "settings": dataclasses.asdict(session.settings),
        "metrics": session.coverage.as_dict(),
        "curve": session.curve,
        "history": session.history,
        "samples": session.samples.numpy(),
        "real": session.real.numpy(),
        "timing": {"train_s": session.train_seconds, "total_s": total, "steps": session.step,
                   "steps_per_s": session.step / max(session.train_seconds, 1e-9)},
    }


def _run_preset_job(job: tuple[str, int, dict]) -> dict:
    """Worker of ``run_presets``: one preset run, returned without the History (smaller to send back)."""
    name, seed, changes = job
    out = run_preset(name, seed, **changes)
    out["history"] = out["history"].to_dict()
    return out


def run_presets(names: list[str], seeds: list[int], workers: int = 1, **changes: Any) -> dict[str, list[dict]]:
    """Run every preset in ``names`` for every seed; {name: [run_preset result per seed]}.

    ``workers`` > 1 runs that many processes side by side (each trains on one thread), which
    divides the wall time on a multi-core machine; the results are the same as ``workers=1``
    because each run seeds everything itself. With workers > 1 each result's ``history`` is a
    plain dict (``History.to_dict()``), and ``timing`` was measured while the other workers ran.
    """
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}.")
    for name in names:
        preset(name)
    jobs = [(name, int(seed), changes) for name in names for seed in seeds]
    if workers == 1:
        results = [run_preset(n, s, **c) for n, s, c in jobs]
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: forking a process that has torch threads (and, in a notebook, a kernel) can hang.
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            results = list(pool.map(_run_preset_job, jobs))
    out: dict[str, list[dict]] = {name: [] for name in names}
    for (name, _, _), result in zip(jobs, results):
        out[name].append(result)
    return out


# ----------------------------------------------------------------------------- widgets
#: Short labels of the remedy menu (the full ``Remedy.summary`` is the menu's tooltip). The
#: summaries themselves ("none: plain GAN: one sample per decision", ...) did not fit a menu.
REMEDY_LABELS: dict[str, str] = {
    "none": "none (plain GAN)", "pack2": "pack2 (PacGAN: pairs)", "pack4": "pack4 (PacGAN: groups of 4)",
    "minibatch-std": "minibatch-std (spread of groups of 4)", "spectral-norm": "spectral-norm (of D's layers)",
    "wgan-gp": "wgan-gp (critic + gradient penalty)", "pack2+sn": "pack2+sn (PacGAN2 + spectral norm)",
}
#: Width of the remedy menu: its 120 px description plus about 7.5 px per character of the longest
#: label plus the arrow (the other controls are 300 px wide).
REMEDY_CONTROL_WIDTH = "430px"
#: Seconds a refusal (an error message) stays in the status line before progress updates replace it;
#: until then they appear below it.
HOLD_ERROR_S = 6.0
#: First line of the static picture the explorer stores in a notebook (see ``Explorer._repr_mimebundle_``).
STATIC_CAPTION = "Static picture of the explorer: run this cell to use it"
STATIC_TEXT = "Mode-collapse explorer (ipywidgets): run this cell to use it."


def remedy_label(name: str) -> str:
    """The remedy menu's label of remedy ``name`` (its name, and a few words on what it does)."""
    return REMEDY_LABELS.get(name, name)


#: One drawing at a time: matplotlib's text layout (mathtext's parser) is not thread-safe, and the
#: kernel (Reset, displaying the explorer) can draw while the training thread draws.
_RENDER_LOCK = threading.Lock()


def _render_png(snapshot: dict, figsize: tuple[float, float] = (13, 3.9), dpi: int = 72,
                caption: str | None = None) -> bytes:
    """Draw ``plot.explorer_figure`` on an off-screen Agg figure and return PNG bytes (thread-safe).

    ``caption``: a line of text drawn above the three views (the static picture's notice).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .plot import explorer_figure

    if caption:
        figsize = (figsize[0], figsize[1] + 0.45)
    with _RENDER_LOCK:
        fig = Figure(figsize=figsize, dpi=dpi)
        FigureCanvasAgg(fig)
        explorer_figure(snapshot, fig=fig)
        if caption:
            fig.suptitle(caption, fontsize=13, fontweight="bold", color="#8a4b00",
                         bbox={"boxstyle": "round,pad=0.3", "facecolor": "#fff4e0", "edgecolor": "#d08a2e"})
            fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / figsize[1]))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class Explorer:
    """The mode-collapse explorer: controls, Train / Stop / Reset, presets, live views.

    Display it as the last expression of a cell (``widgets.Explorer()``). Useful attributes for
    code and tests: ``controls`` (name -> widget), ``train_button``, ``stop_button``,
    ``reset_button``, ``status`` (HTML), ``image`` (PNG of the views), ``session``, ``wait()``.
    """

    def __init__(self, preset_name: str = "ring: collapse", update_every_s: float = 0.7) -> None:
        import ipywidgets as W

        self.update_every_s = update_every_s
        self.session: Session | None = None
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._renders = 0
        self.last_error: str | None = None
        self._held: tuple[str, float] | None = None      # (status HTML of a refusal, time it may go)
        self._say_lock = threading.Lock()                 # _say runs in the kernel and the training thread
        style = {"description_width": "120px"}
        lay = W.Layout(width="300px")
        wide = W.Layout(width=REMEDY_CONTROL_WIDTH)
        self.controls: dict[str, Any] = {
            "target": W.Dropdown(options=list(TARGETS), description="target", style=style, layout=lay),
            "g_loss": W.Dropdown(options=list(G_LOSSES), description="generator loss", style=style, layout=lay),
            "remedy": W.Dropdown(options=[(remedy_label(k), k) for k in remedies.REMEDIES],
                                 description="remedy", style=style, layout=wide),
            # Whole numbers are free text too (IntText, not BoundedIntText): a bounded box would
            # silently clamp a batch of 100000 to 8192; Settings.validate refuses it with the range.
            "k": W.IntText(value=1, description="D steps k", style=style, layout=lay),
            # Free text, not a log slider: a slider snaps 3e-3 to 10^-2.5, so a preset would not be
            # reproduced exactly. Out-of-range values are refused by Settings.validate with a message.
            "lr_d": W.FloatText(value=1e-3, step=1e-4, description="lr of D", style=style, layout=lay),
            "lr_g": W.FloatText(value=1e-3, step=1e-4, description="lr of G", style=style, layout=lay),
            "batch_size": W.IntText(value=256, description="batch size m", style=style, layout=lay),
            "width": W.Dropdown(options=[16, 32, 64, 128, 256], value=128, description="network width",
                                style=style, layout=lay),
            "depth": W.IntText(value=2, description="hidden layers", style=style, layout=lay),
            "activation": W.Dropdown(options=list(ACTIVATIONS), description="activation", style=style,
                                     layout=lay),
            "z_dim": W.IntText(value=4, description="noise dim", style=style, layout=lay),
            "steps": W.IntText(value=3000, step=500, description="steps per Train", style=style, layout=lay),
            "seed": W.IntText(value=0, description="seed", style=style, layout=lay),
        }
        self.preset_picker = W.Dropdown(options=list(PRESETS), value=preset_name, description="preset",
                                        style=style, layout=lay)
        self.preset_note = W.HTML()
        self.train_button = W.Button(description="Train", button_style="success", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="warning", icon="stop")
        self.reset_button = W.Button(description="Reset", icon="refresh")
        self.status = W.HTML(value="Pick a preset or change a setting, then press <b>Train</b>.")
        self.image = W.Image(format="png", layout=W.Layout(width="100%", max_width="1000px"))
        self.train_button.on_click(lambda _: self.train())
        self.stop_button.on_click(lambda _: self.stop())
        self.reset_button.on_click(lambda _: self.reset())
        self.preset_picker.observe(lambda ch: self.apply_preset(ch["new"]), names="value")
        remedy_menu = self.controls["remedy"]
        remedy_menu.observe(lambda ch: self._describe_remedy(), names="value")
        self._describe_remedy()
        left = W.VBox([self.controls[k] for k in ("target", "g_loss", "remedy", "k", "lr_d", "lr_g", "activation")])
        right = W.VBox([self.controls[k] for k in ("batch_size", "width", "depth", "z_dim", "steps", "seed")]
                       + [self.preset_picker])
        buttons = W.HBox([self.train_button, self.stop_button, self.reset_button])
        self.widget = W.VBox([W.HBox([left, right]), self.preset_note, buttons, self.status, self.image],
                             layout=W.Layout(border="1px solid #ddd", padding="6px"))
        self.widget.add_class("ganlib-explorer")
        self.apply_preset(preset_name)
        self.reset()

    # ------------------------------------------------------------------ display
    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        """The widgets, plus a static picture and a line of text for where widgets cannot show.

        A live kernel renders the widget view. An untrusted notebook (JupyterLab renders only
        "safe" types there, and the widget view is not one), GitHub and nbviewer fall back, in
        JupyterLab's order, to image/png before text/plain: a picture of the current views with
        a caption saying to run the cell, instead of the widget's repr ``VBox(children=...``.
        """
        import base64

        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = STATIC_TEXT
        if self.session is not None:
            try:
                png = _render_png(self.session.snapshot(), caption=STATIC_CAPTION)
            except Exception:  # noqa: BLE001 - the picture is a courtesy; the widgets still show
                png = None
            if png is not None:
                bundle["image/png"] = base64.b64encode(png).decode("ascii")
        include, exclude = kwargs.get("include"), kwargs.get("exclude")
        return {k: v for k, v in bundle.items()
                if (not include or k in include) and (not exclude or k not in exclude)}

    # ------------------------------------------------------------------ controls <-> settings
    def apply_preset(self, name: str) -> None:
        """Set every control to preset ``name``'s values (does not start training)."""
        desc, s = PRESETS[name] if name in PRESETS else (None, None)
        if s is None:
            self._say(f"unknown preset {name!r}; choose one of {list(PRESETS)}.", error=True)
            return
        for key, widget in self.controls.items():
            widget.value = getattr(s, key)
        if self.preset_picker.value != name:
            self.preset_picker.value = name
        self.preset_note.value = f"<i>{html.escape(name)}</i>: {html.escape(desc)}"

    def settings(self) -> Settings:
        """Settings from the controls (validated: ValueError names what is wrong)."""
        values = {k: w.value for k, w in self.controls.items()}
        base = preset(self.preset_picker.value)
        return base.replace(**values).validate()

    def _describe_remedy(self) -> None:
        """The remedy menu's tooltip: the full summary of the chosen remedy."""
        menu = self.controls["remedy"]
        r = remedies.REMEDIES.get(menu.value)
        menu.tooltip = f"{r.name}: {r.summary}" if r is not None else ""

    def _say(self, text: str, error: bool = False, progress: bool = False) -> None:
        """Show ``text`` in the status line (red with a warning sign when ``error``).

        An error stays readable for ``HOLD_ERROR_S`` seconds: ``progress`` lines (the training
        thread's updates) arriving meanwhile appear below it instead of replacing it. Any other
        message (a button's own) replaces it at once.
        """
        color = "#b00020" if error else "#222"
        icon = "\u26a0\ufe0f " if error else ""
        line = f'<span style="color:{color}">{icon}{html.escape(text)}</span>'
        now = time.monotonic()
        with self._say_lock:
            if error:
                self.last_error = text
                self._held = (line, now + HOLD_ERROR_S)
                self.status.value = line
            elif progress and self._held is not None and now < self._held[1]:
                self.status.value = f"{self._held[0]}<br>{line}"
            else:
                self.last_error, self._held = None, None
                self.status.value = line

    # ------------------------------------------------------------------ buttons
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def train(self) -> bool:
        """Start training in a background thread; False (with a message) when the settings are refused."""
        if self.running:
            self._say("Already training: press Stop first to change anything.", error=True)
            return False
        try:
            s = self.settings()
        except ValueError as exc:
            self._say(f"Cannot train with these settings: {exc}", error=True)
            return False
        if self.session is None or self.session.settings.model_key() != s.model_key():
            self.session = Session(s)
            note = "new run"
        else:
            self.session.settings = s
            note = f"continuing from step {self.session.step}"
        self._say(f"Training {s.steps} steps ({note}) ...")
        self._stop_event = threading.Event()
        self._thread = threading.Thread(target=self._work, args=(self.session, s.steps, self._stop_event),
                                        daemon=True)
        self._thread.start()
        return True

    def _work(self, session: Session, steps: int, stop: threading.Event) -> None:
        try:
            session.run(steps, on_update=self._draw, update_every_s=self.update_every_s, stop=stop)
            stopped = stop.is_set()
            self._say(("Stopped at " if stopped else "Done: ") + session.summary(), progress=True)
        except DivergenceError as exc:
            self._say(f"Training diverged: {exc}", error=True)
        except Exception as exc:  # noqa: BLE001 - shown in the widget, never as a traceback
            self._say(f"Training failed: {type(exc).__name__}: {exc}", error=True)

    def _draw(self, session: Session) -> None:
        self.image.value = _render_png(session.snapshot())
        self._renders += 1
        if session.coverage is not None and self.running:
            self._say(f"Training ... {session.summary()}", progress=True)

    def stop(self) -> None:
        """Ask the running training to stop after its current step (thread-safe)."""
        if self.session is not None and self.running:
            self._stop_event.set()
            self._say("Stopping ...")
        else:
            self._say("Nothing is training.")

    def reset(self) -> None:
        """Stop any training and start a fresh, untrained run from the current settings."""
        if self.running and self.session is not None:
            self._stop_event.set()
            self.wait()
        try:
            s = self.settings()
        except ValueError as exc:
            self.session = None
            self._say(f"Cannot build a run with these settings: {exc}", error=True)
            return
        self.session = Session(s)
        self._draw(self.session)
        self._say(f"Ready: an untrained {s.target} run ({self.session.coverage.summary()}). Press Train.")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the training thread ends (or ``timeout`` s pass); True when it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running
