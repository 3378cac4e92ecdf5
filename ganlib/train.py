"""The course's one training loop: Algorithm 1 of Goodfellow et al. (2014).

    for each training iteration:
        for k steps:                                   # discriminator: ascend V(G, D)
            sample m noise z ~ p_z and m data x ~ p_data
            D <- D - lr * grad_D L_D,  L_D = -(1/m) sum [log D(x) + log(1 - D(G(z)))]
        sample m fresh noise z ~ p_z                   # generator: descend its loss
        G <- G - lr * grad_G L_G                       # saturating or non-saturating

The paper uses k = 1 in practice and SGD with momentum; seed 002 uses Adam(2e-4, betas=(0.5, 0.999)).
Both are options here, as are the losses (by name or as callables) and an optional penalty on D.

``GANTrainer`` takes *any* pair of models and *any* sampler of real data (``sample_real(m) ->
(m, ...)``), so the toy notebooks and the MNIST notebooks share this loop; with
``conditional=True`` the sampler also returns labels and D is told them (a generator whose noise
picks a cluster, notebook 06). It records a
``History`` and calls an optional callback; it never plots. Per-step numbers stay on the
training device and are copied to the host once per ``log_every`` steps, so a CUDA run does not
synchronise every step; non-finite losses are caught at that point (``DivergenceError``).
``state_dict()`` / ``load_state_dict()`` hold everything needed to resume exactly (models,
optimizers, History, step, noise and data RNG states); ``ganlib.checkpoint`` writes them to disk.
"""
from __future__ import annotations

import contextlib
import copy
import math
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from . import losses as L

Tensor = torch.Tensor

#: Arithmetic of the forward passes: float32, or bfloat16 autocast (see ``GANTrainer``).
PRECISIONS = ("fp32", "bf16")

#: Names of the per-step series recorded in a History, in storage order.
SERIES = ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm")


class DivergenceError(RuntimeError):
    """Raised when a loss or gradient norm becomes NaN or infinite; ``step`` is the first bad step."""

    def __init__(self, step: int, series: str, value: float) -> None:
        self.step, self.series, self.value = step, series, value
        super().__init__(
            f"training diverged at step {step}: {series} = {value}. The last good state is kept "
            f"(and the last checkpoint, if any). Try a smaller learning rate (e.g. halve lr_d and "
            f"lr_g), Adam with betas=(0.5, 0.999), or the non-saturating generator loss."
        )


@dataclass
class History:
    """Per-step record of a run (all lists have one entry per generator step).

    d_loss:  L_D of the last of the k discriminator steps.
    g_loss:  L_G of the generator step (for the chosen loss).
    d_real:  mean D(x) over the real minibatch of that last D step.
    d_fake:  mean D(G(z)) over the generator step's fresh minibatch (before G's update).
    g_grad_norm: ||grad_theta_G L_G||_2 over all generator parameters.
    snapshots: whatever callbacks append (e.g. {"step": s, "x": tensor}); keep to tensors,
        numbers, strings, lists and dicts so checkpoints load with ``weights_only=True``.
    """

    step: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    g_grad_norm: list[float] = field(default_factory=list)
    snapshots: list[Any] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.step)

    def last(self, name: str, n: int = 1) -> float:
        """Mean of the last ``n`` entries of series ``name``."""
        values = getattr(self, name)[-n:]
        if not values:
            raise ValueError(f"History has no entries of {name!r} yet.")
        return float(sum(values) / len(values))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "History":
        return cls(**{k: list(v) for k, v in d.items()})


def _make_optimizer(kind: str, params, lr: float, betas: tuple[float, float], momentum: float) -> torch.optim.Optimizer:
    kind = kind.lower()
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    raise ValueError(f"optimizer={kind!r} is not known; use 'adam' or 'sgd' (or pass opt_g/opt_d).")


def check_ema_decay(ema_decay: float | None) -> None:
    """``ema_decay`` must be None (no average) or a number in (0, 1), e.g. 0.999."""
    if ema_decay is not None and not (isinstance(ema_decay, (int, float)) and not isinstance(ema_decay, bool)
                                      and 0 < ema_decay < 1):
        raise ValueError(f"ema_decay must be a number in (0, 1) (e.g. 0.999) or None, got {ema_decay!r}.")


class GANTrainer:
    """Algorithm 1 for any (G, D) pair and any sampler of real data.

    Args:
        G: generator, (m, z_dim) -> (m, ...).
        D: discriminator, (m, ...) -> (m, 1) logits.
        sample_real: ``sample_real(m)`` returns m real samples on the training device. If it has
            ``state_dict``/``load_state_dict`` (``toy.Sampler``, ``data.DeviceBatches``), its state
            is checkpointed too.
        z_dim: noise dimension (default: ``G.z_dim``).
        batch_size: m, the minibatch size for every step.
        k: discriminator steps per generator step (Algorithm 1; the paper uses k = 1).
        g_loss: 'non-saturating' (default), 'saturating', or a callable fake_logits -> loss.
        d_loss: 'bce' (default) or a callable (real_logits, fake_logits) -> loss.
        d_penalty: optional callable (D, real, fake) -> scalar added to L_D (e.g. a gradient penalty).
        optimizer: 'adam' (seed 002: lr 2e-4, betas (0.5, 0.999)) or 'sgd' (with ``momentum``).
        lr_d, lr_g: learning rates. opt_d / opt_g: ready-made optimizers instead.
        noise: 'normal' (z ~ N(0, I)) or 'uniform' (z ~ U(-1, 1)).
        seed: seeds the trainer's own noise generator (the data sampler has its own).
        train_g: False freezes G (only D learns), e.g. to train D towards D* for a fixed G.
        log_every: copy per-step numbers to the host every this many steps (no per-step sync).
        precision: 'fp32' (default) or 'bf16': run the forward passes under
            ``torch.autocast(device, bfloat16)``. Weights, optimizer state and the losses stay in
            float32; convolutions and matrix products run in bfloat16 (8-bit mantissa), which is
            about twice as fast on CPUs with AMX / AVX512-BF16 and on recent GPUs (see
            ``config.fast_bf16``). The gradient penalty, if any, is always computed in float32.
        ema_decay: if given (e.g. 0.999), also keep ``G_ema``, an exponential moving average of
            G's weights (Polyak averaging; Yazici et al. 2019, "The Unusual Effectiveness of
            Averaging in GAN Training"): after every generator step
            theta_ema <- beta theta_ema + (1 - beta) theta with beta = min(ema_decay, (1 + t) / (10 + t))
            (t = steps done; the ramp lets the average forget the random initial weights).
            G_ema's batch-norm statistics are copied from G. The average does not take part in
            training; it only changes what is sampled afterwards, meant to smooth out G's
            oscillation around the equilibrium (on the shipped DCGAN: classifier score +0.09,
            FID -0.6; docs/dcgan-experiments.md).
        conditional: True for a generator whose noise names a label, ``G.code(z) -> (m,)`` int64
            (``models.ClusterCodeGenerator``), and a discriminator that is told it, ``D(x, y) ->
            (m, 1)`` (``models.ProjectionDiscriminator``); ``sample_real(m)`` then returns
            ``(x, y)``, the images and their labels. D judges whether x is a real image *of
            label y*, so G is pushed to draw, for noise z, an image of label ``G.code(z)``.
            Penalties (``d_penalty``) are not supported with it.
    """

    def __init__(self, G: nn.Module, D: nn.Module, sample_real: Callable[[int], Tensor | tuple[Tensor, Tensor]], *,
                 z_dim: int | None = None, batch_size: int = 64, k: int = 1,
                 g_loss: str | Callable[[Tensor], Tensor] = "non-saturating",
                 d_loss: str | Callable[[Tensor, Tensor], Tensor] = "bce",
                 d_penalty: Callable[[nn.Module, Tensor, Tensor], Tensor] | None = None,
                 optimizer: str = "adam", lr_d: float = 2e-4, lr_g: float = 2e-4,
                 betas: tuple[float, float] = (0.5, 0.999), momentum: float = 0.9,
                 opt_d: torch.optim.Optimizer | None = None, opt_g: torch.optim.Optimizer | None = None,
                 noise: str = "normal", seed: int = 0, train_g: bool = True, log_every: int = 100,
                 precision: str = "fp32", ema_decay: float | None = None,
                 conditional: bool = False) -> None:
        for name, value in (("batch_size", batch_size), ("k", k), ("log_every", log_every)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}.")
        for name, value in (("lr_d", lr_d), ("lr_g", lr_g)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}.")
        if noise not in ("normal", "uniform"):
            raise ValueError(f"noise={noise!r} is not known; use 'normal' or 'uniform'.")
        if precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r} is not known; use one of {list(PRECISIONS)}.")
        check_ema_decay(ema_decay)
        if conditional and not callable(getattr(G, "code", None)):
            raise ValueError("conditional=True needs a generator with a code(z) method that returns the "
                             "labels its noise names (e.g. models.ClusterCodeGenerator).")
        if conditional and d_penalty is not None:
            raise ValueError("d_penalty is not supported with conditional=True.")
        self.G, self.D, self.sample_real = G, D, sample_real
        self.conditional = bool(conditional)
        self.z_dim = int(z_dim if z_dim is not None else getattr(G, "z_dim"))
        self.batch_size, self.k, self.noise = batch_size, k, noise
        self.train_g, self.log_every = train_g, log_every
        self.g_loss_fn = L.get_generator_loss(g_loss)
        self.d_loss_fn = L.get_discriminator_loss(d_loss)
        self.d_penalty = d_penalty
        self.device = next(G.parameters()).device
        self.precision = precision
        self.opt_d = opt_d or _make_optimizer(optimizer, D.parameters(), lr_d, betas, momentum)
        self.opt_g = opt_g or _make_optimizer(optimizer, G.parameters(), lr_g, betas, momentum)
        self.noise_gen = torch.Generator(device=self.device)
        self.noise_gen.manual_seed(int(seed))
        self.ema_decay = ema_decay
        #: The averaged generator (None without ``ema_decay``); same architecture and device as G.
        self.G_ema: nn.Module | None = None
        if ema_decay is not None:
            self.G_ema = copy.deepcopy(G).requires_grad_(False)
        self.history = History()
        self.step = 0  # generator steps completed
        self._pending: list[Tensor] = []
        self._stop = threading.Event()

    # ------------------------------------------------------------------ pieces of Algorithm 1
    def autocast(self) -> contextlib.AbstractContextManager:
        """The context the forward passes run in: bfloat16 autocast for precision='bf16', else nothing."""
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def sample_noise(self, m: int) -> Tensor:
        """z ~ p_z, shape (m, z_dim), drawn from the trainer's own generator on the training device."""
        if self.noise == "uniform":
            return torch.rand(m, self.z_dim, generator=self.noise_gen, device=self.device) * 2 - 1
        return torch.randn(m, self.z_dim, generator=self.noise_gen, device=self.device)

    def _code(self, z: Tensor) -> Tensor | None:
        """The labels (m,) that the noise z names (conditional training), else None."""
        return self.G.code(z) if self.conditional else None

    def _judge(self, x: Tensor, y: Tensor | None) -> Tensor:
        """D's logits (m, 1) for images x, told their labels y when training is conditional."""
        return self.D(x) if y is None else self.D(x, y)

    def d_step(self) -> tuple[Tensor, Tensor]:
        """One discriminator update on fresh m real and m fake samples; returns (L_D, mean D(x)) detached."""
        m = self.batch_size
        if self.conditional:
            real, y_real = self.sample_real(m)
        else:
            real, y_real = self.sample_real(m), None
        z = self.sample_noise(m)
        with self.autocast():
            with torch.no_grad():                   # the D step must not train G (seed 002's .detach())
                fake = self.G(z)
            real_logits, fake_logits = self._judge(real, y_real), self._judge(fake, self._code(z))
        # Logits back to float32 so the losses (log-sigmoids) are computed at full precision.
        real_logits, fake_logits = real_logits.float(), fake_logits.float()
        loss = self.d_loss_fn(real_logits, fake_logits)
        if self.d_penalty is not None:
            loss = loss + self.d_penalty(self.D, real, fake.float())
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return loss.detach(), torch.sigmoid(real_logits.detach()).mean()

    def g_step(self) -> tuple[Tensor, Tensor, Tensor]:
        """One generator update on m fresh noise samples; returns (L_G, mean D(G(z)), ||grad_G||) detached."""
        z = self.sample_noise(self.batch_size)
        if not self.train_g:
            with torch.no_grad(), self.autocast():
                fake_logits = self._judge(self.G(z), self._code(z)).float()
                loss = self.g_loss_fn(fake_logits)
            return loss, torch.sigmoid(fake_logits).mean(), torch.zeros((), device=self.device)
        # L_G needs dL/dx through D but not dL/dtheta_D: D's weights are frozen for this pass, so
        # backward skips their gradients (about a third of D's backward: the DCGAN step ran 6 %
        # faster on a 2-core CPU, the MLP step 8 %). G's gradient is unchanged. Only the parameters
        # that were trainable are frozen and unfrozen, so a D with deliberately frozen parts stays so.
        trainable = [p for p in self.D.parameters() if p.requires_grad]
        for p in trainable:
            p.requires_grad_(False)
        try:
            with self.autocast():
                fake_logits = self._judge(self.G(z), self._code(z))
            fake_logits = fake_logits.float()
            loss = self.g_loss_fn(fake_logits)
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
        finally:
            for p in trainable:
                p.requires_grad_(True)
        grads = [p.grad for p in self.G.parameters() if p.grad is not None]
        gnorm = torch.nn.utils.get_total_norm(grads) if grads else torch.zeros((), device=self.device)
        self.opt_g.step()
        return loss.detach(), torch.sigmoid(fake_logits.detach()).mean(), gnorm.detach()

    def train_step(self) -> None:
        """One iteration of Algorithm 1: k discriminator steps, then one generator step."""
        self.G.train()
        self.D.train()
        for _ in range(self.k):
            d_loss, d_real = self.d_step()
        g_loss, d_fake, gnorm = self.g_step()
        if self.G_ema is not None and self.train_g:
            self.update_ema()
        self.step += 1
        self._pending.append(torch.stack([d_loss, g_loss, d_real, d_fake, gnorm]).float())

    @torch.no_grad()
    def update_ema(self) -> None:
        """theta_ema <- beta theta_ema + (1 - beta) theta for G's parameters; buffers (BN statistics) copied."""
        assert self.G_ema is not None and self.ema_decay is not None
        beta = min(self.ema_decay, (1 + self.step) / (10 + self.step))
        torch._foreach_lerp_(list(self.G_ema.parameters()), list(self.G.parameters()), 1.0 - beta)
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    @property
    def G_sample(self) -> nn.Module:
        """The generator to sample from after training: ``G_ema`` if it is kept, else G."""
        return self.G_ema if self.G_ema is not None else self.G

    # ------------------------------------------------------------------ bookkeeping
    def flush(self) -> None:
        """Copy pending per-step numbers to the History (one host sync); raise DivergenceError on NaN/inf."""
        if not self._pending:
            return
        block = torch.stack(self._pending).cpu()
        first = self.step - len(self._pending) + 1
        self._pending = []
        finite = torch.isfinite(block)
        if not bool(finite.all()):
            row, col = (~finite).nonzero()[0].tolist()
            # Keep the good prefix so the record shows the run up to the divergence.
            self._append(block[:row], first)
            raise DivergenceError(first + row, SERIES[col], float(block[row, col]))
        self._append(block, first)

    def _append(self, block: Tensor, first: int) -> None:
        h = self.history
        h.step.extend(range(first, first + block.shape[0]))
        for j, name in enumerate(SERIES):
            getattr(h, name).extend(block[:, j].tolist())

    def request_stop(self) -> None:
        """Ask a running ``run`` to stop after the current step (safe to call from another thread)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def run(self, steps: int, callback: Callable[["GANTrainer"], Any] | None = None,
            every: int | None = None, progress: bool = False,
            stop: Callable[[], bool] | None = None) -> History:
        """Run ``steps`` more iterations of Algorithm 1 and return the History.

        Args:
            steps: number of generator steps to add (k D-steps each).
            callback: called as ``callback(trainer)`` every ``every`` steps and at the end, after
                the History is up to date (for snapshots, live plots, checkpoints).
            every: callback interval in steps (default ``log_every``).
            progress: show a tqdm progress bar with the current losses.
            stop: optional predicate checked every step; ``request_stop()`` works too.
        """
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
            raise ValueError(f"steps must be an int >= 0, got {steps!r}.")
        every = every or self.log_every
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an int >= 1, got {every!r}.")
        self._stop.clear()
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=steps, desc="training", leave=True)
        target = self.step + steps
        try:
            while self.step < target:
                if self._stop.is_set() or (stop is not None and stop()):
                    break
                self.train_step()
                if self.step % self.log_every == 0 or self.step % every == 0 or self.step == target:
                    self.flush()
                    if bar is not None:
                        bar.n = steps - (target - self.step)
                        bar.set_postfix(d_loss=f"{self.history.d_loss[-1]:.3f}",
                                        g_loss=f"{self.history.g_loss[-1]:.3f}", refresh=False)
                        bar.refresh()
                    if callback is not None and (self.step % every == 0 or self.step == target):
                        callback(self)
            self.flush()
        finally:
            self._pending_cleanup()
            if bar is not None:
                bar.close()
        return self.history

    def _pending_cleanup(self) -> None:
        # After an exception in flush the pending list is already empty; after an interrupt
        # (KeyboardInterrupt) mid-run, keep what was computed.
        if self._pending:
            try:
                self.flush()
            except DivergenceError:
                pass

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly: models, optimizers, History, step, RNG states."""
        self.flush()
        state = {
            "step": self.step,
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "history": self.history.to_dict(),
            "noise_gen": self.noise_gen.get_state(),
        }
        if self.G_ema is not None:
            state["G_ema"] = self.G_ema.state_dict()
        if hasattr(self.sample_real, "state_dict"):
            state["sampler"] = self.sample_real.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state produced by ``state_dict()`` (same model and optimizer shapes)."""
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.G_ema is not None:
            # A run saved without an average starts one from its current G.
            self.G_ema.load_state_dict(state["G_ema"] if "G_ema" in state else state["G"])
        self.history = History.from_dict(state["history"])
        self.step = int(state["step"])
        self.noise_gen.set_state(state["noise_gen"].cpu() if hasattr(state["noise_gen"], "cpu") else state["noise_gen"])
        if "sampler" in state and hasattr(self.sample_real, "load_state_dict"):
            self.sample_real.load_state_dict(state["sampler"])
        self._pending = []


def train_gan(G: nn.Module, D: nn.Module, sample_real: Callable[[int], Tensor], steps: int, *,
              callback: Callable[[GANTrainer], Any] | None = None, every: int | None = None,
              progress: bool = False, **kwargs: Any) -> History:
    """Convenience: build a ``GANTrainer(G, D, sample_real, **kwargs)`` and run ``steps`` iterations."""
    trainer = GANTrainer(G, D, sample_real, **kwargs)
    return trainer.run(steps, callback=callback, every=every, progress=progress)
