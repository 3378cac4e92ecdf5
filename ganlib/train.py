"""Algorithm 1 of Goodfellow et al. (2014): the two steps notebook 01 writes, and a loop around them.

    for each training iteration:
        for k steps:  d_step   # m real x, m noise z: ascend log D(x) + log(1 - D(G(z)))
        g_step                 # m fresh z: descend -log D(G(z)) (the non-saturating loss)

``d_step`` and ``g_step`` are the lines notebook 01 writes in its cells (its checked cell and
tests/test_train.py show both versions leave identical weights). ``GANTrainer`` is a thin loop
around them: k, noise, History, callback, stop and ``state_dict``. What is only for speed stays
outside the steps (bfloat16 autocast around G's and D's forward passes; an average of G's weights).
The cluster-conditional GAN of notebook 06 has its own steps in ``ganlib.conditional``.
"""
from __future__ import annotations

import contextlib
import copy
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from . import config
from . import losses as L

Tensor = torch.Tensor
Optimizer = torch.optim.Optimizer
Module = nn.Module  # G and D: modules, or modules wrapped by InBF16


def d_step(G: Module, D: Module, opt_d: Optimizer, real: Tensor, z: Tensor,
           d_loss: Callable[[Tensor, Tensor], Tensor] = L.discriminator_loss,
           penalty: Callable[[Module, Tensor, Tensor], Tensor] | None = None) -> tuple[Tensor, Tensor]:
    """One discriminator update: real (m, ...) data, z (m, z_dim) noise -> (L_D, D's logits on real)."""
    fake = G(z).detach()                        # D's step must not train G
    real_logits, fake_logits = D(real), D(fake)
    loss = d_loss(real_logits, fake_logits)     # BCE from logits: softplus(-a_real) + softplus(a_fake)
    if penalty is not None:
        loss = loss + penalty(D, real, fake)
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss.detach(), real_logits.detach()


def g_step(G: Module, D: Module, opt_g: Optimizer, z: Tensor,
           g_loss: Callable[[Tensor], Tensor] = L.generator_loss_nonsaturating) -> tuple[Tensor, Tensor]:
    """One generator update: z (m, z_dim) noise -> (L_G, D's logits on G(z) before the update)."""
    fake_logits = D(G(z))
    loss = g_loss(fake_logits)                  # non-saturating: -log D(G(z))
    opt_g.zero_grad()
    loss.backward(inputs=list(G.parameters()))  # only G's gradients: D's are not needed here
    opt_g.step()
    return loss.detach(), fake_logits.detach()


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
    """Per-step record of a run (one entry per generator step in every list).

    d_loss: L_D of the last of the k discriminator steps; g_loss: L_G of the generator step;
    d_real: mean D(x) on that last D step's real batch; d_fake: mean D(G(z)) on the generator
    step's batch (before G's update); g_grad_norm: ||grad_theta_G L_G||_2.
    snapshots: whatever callbacks append (tensors, numbers, strings, lists, dicts only, so a
    checkpoint loads with ``weights_only=True``).
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

    def extend(self, first: int, block: Tensor) -> None:
        """Append ``block`` (n, len(SERIES)), the numbers of steps first .. first + n - 1."""
        self.step.extend(range(first, first + block.shape[0]))
        for j, name in enumerate(SERIES):
            getattr(self, name).extend(block[:, j].tolist())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "History":
        return cls(**{k: list(v) for k, v in d.items()})


@torch.no_grad()
def update_ema(G_ema: nn.Module, G: nn.Module, beta: float) -> None:
    """theta_ema <- beta theta_ema + (1 - beta) theta for G's parameters; buffers (BN statistics) copied."""
    torch._foreach_lerp_(list(G_ema.parameters()), list(G.parameters()), 1.0 - beta)
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)


class InBF16:
    """Calls ``module`` under bfloat16 autocast, so only its forward pass runs there (its output is
    returned in float32); backward and the optimizer step stay outside, in float32. Attributes
    (``parameters``, ``code``) pass through."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module

    def __call__(self, *args: Tensor) -> Tensor:
        with torch.autocast(next(self.module.parameters()).device.type, dtype=torch.bfloat16):
            out = self.module(*args)
        return out.float()  # the losses (log-sigmoids) in float32

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)


class GANTrainer:
    """Algorithm 1 around ``d_step`` / ``g_step`` for any G: (m, z_dim) -> (m, ...), D: (m, ...) -> (m, 1).

    ``sample_real(m)``: m real samples on the training device (its ``state_dict`` is checkpointed).
    batch_size = m; k = D steps per G step (the paper's k = 1 is "the least expensive option");
    noise N(0, I) or U(-1, 1), with its own ``seed``; g_loss / d_loss by name or callable;
    d_penalty(D, real, fake) is added to L_D; optimizer 'adam' (Radford et al. 2016: lr 2e-4, betas
    (0.5, 0.999)) or 'sgd' with momentum (the paper's); train_g=False trains D alone; History gets
    the per-step numbers every ``log_every`` steps (no per-step GPU sync); precision 'bf16' runs G's
    and D's forward passes in bfloat16 (``InBF16``); ema_decay keeps ``G_ema``, an average of G
    (theta_ema <- beta theta_ema + (1 - beta) theta, beta = min(ema_decay, (1 + t)/(10 + t)); Yazici
    et al. 2019), for sampling only.
    """

    def __init__(self, G: nn.Module, D: nn.Module, sample_real: Callable[[int], Any], *,
                 z_dim: int | None = None, batch_size: int = 64, k: int = 1,
                 g_loss: str | Callable[[Tensor], Tensor] = "non-saturating",
                 d_loss: str | Callable[[Tensor, Tensor], Tensor] = "bce",
                 d_penalty: Callable[[nn.Module, Tensor, Tensor], Tensor] | None = None,
                 optimizer: str = "adam", lr_d: float = 2e-4, lr_g: float = 2e-4,
                 betas: tuple[float, float] = (0.5, 0.999), momentum: float = 0.9,
                 opt_d: torch.optim.Optimizer | None = None, opt_g: torch.optim.Optimizer | None = None,
                 noise: str = "normal", seed: int = 0, train_g: bool = True, log_every: int = 100,
                 precision: str = "fp32", ema_decay: float | None = None) -> None:
        c = config
        self.batch_size, self.k, self.log_every = (c.check_int(n, v) for n, v in
                                                   (("batch_size", batch_size), ("k", k), ("log_every", log_every)))
        for name, value, high in (("lr_d", lr_d, None), ("lr_g", lr_g, None), ("betas[0]", betas[0], 1),
                                  ("betas[1]", betas[1], 1)):
            c.check_number(name, value, 0, high, open_low=high is None, open_high=high is not None)
        self.noise = c.check_choice("noise", noise, ("normal", "uniform"))
        self.precision = c.check_choice("precision", precision, PRECISIONS)
        self.ema_decay = c.check_number("ema_decay", ema_decay, 0, 1, open_low=True, open_high=True, none_ok=True)
        self.train_g = c.check_bool("train_g", train_g)
        self.z_dim = c.check_int("z_dim", z_dim if z_dim is not None else getattr(G, "z_dim", None))
        self.G, self.D, self.sample_real, self.d_penalty = G, D, sample_real, d_penalty
        #: What the steps call: G and D themselves, or wrapped so that their forward runs in bfloat16.
        self.G_call, self.D_call = (G, D) if precision == "fp32" else (InBF16(G), InBF16(D))
        self.g_loss_fn, self.d_loss_fn = L.get_generator_loss(g_loss), L.get_discriminator_loss(d_loss)
        self.device = next(G.parameters()).device
        adam = c.check_choice("optimizer", str(optimizer).lower(), ("adam", "sgd")) == "adam"
        make = (lambda p, lr: torch.optim.Adam(p, lr=lr, betas=betas)) if adam else \
            (lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=momentum))
        self.opt_d, self.opt_g = opt_d or make(D.parameters(), lr_d), opt_g or make(G.parameters(), lr_g)
        self.noise_gen = torch.Generator(device=self.device).manual_seed(c.check_int("seed", seed, low=0))
        self.G_ema = None if self.ema_decay is None else copy.deepcopy(G).requires_grad_(False)
        self.history, self.step = History(), 0  # step: generator steps completed
        self._pending, self._stop = [], threading.Event()  # per-step numbers not yet in History; stop flag

    def sample_noise(self, m: int) -> Tensor:
        """z ~ p_z, (m, z_dim), from the trainer's own generator on the training device."""
        draw = torch.rand if self.noise == "uniform" else torch.randn
        z = draw(m, self.z_dim, generator=self.noise_gen, device=self.device)
        return z * 2 - 1 if self.noise == "uniform" else z

    def d_update(self) -> tuple[Tensor, Tensor]:
        """``d_step`` on a fresh real batch and fresh noise; returns (L_D, real logits)."""
        m = self.batch_size
        return d_step(self.G_call, self.D_call, self.opt_d, self.sample_real(m), self.sample_noise(m),
                      self.d_loss_fn, self.d_penalty)

    def g_update(self) -> tuple[Tensor, Tensor]:
        """``g_step`` on fresh noise (only measured when ``train_g`` is False); returns (L_G, fake logits)."""
        z = self.sample_noise(self.batch_size)
        if not self.train_g:
            with torch.no_grad():
                return self.g_loss_fn(fake_logits := self.D_call(self.G_call(z))), fake_logits
        return g_step(self.G_call, self.D_call, self.opt_g, z, self.g_loss_fn)

    def train_step(self) -> None:
        """One iteration of Algorithm 1: k discriminator steps, then one generator step."""
        self.G.train(), self.D.train()
        for _ in range(self.k):
            d_loss, real_logits = self.d_update()
        g_loss, fake_logits = self.g_update()
        grads = [p.grad for p in self.G.parameters() if p.grad is not None and self.train_g]
        gnorm = torch.nn.utils.get_total_norm(grads) if grads else torch.zeros((), device=self.device)
        if self.G_ema is not None and self.train_g:
            update_ema(self.G_ema, self.G, min(self.ema_decay, (1 + self.step) / (10 + self.step)))
        self.step += 1
        self._pending.append(torch.stack([d_loss.float(), g_loss.float(), torch.sigmoid(real_logits.float()).mean(),
                                          torch.sigmoid(fake_logits.float()).mean(), gnorm.float()]))

    @property
    def G_sample(self) -> nn.Module:
        """The generator to sample from after training: ``G_ema`` if kept, else G."""
        return self.G if self.G_ema is None else self.G_ema

    def flush(self) -> None:
        """Copy pending per-step numbers to the History (one host sync); raise DivergenceError on NaN/inf."""
        if not self._pending:
            return
        block, first, self._pending = torch.stack(self._pending).cpu(), self.step - len(self._pending) + 1, []
        bad = None if bool(torch.isfinite(block).all()) else (~torch.isfinite(block)).nonzero()[0].tolist()
        self.history.extend(first, block if bad is None else block[:bad[0]])  # the record up to a divergence
        if bad is not None:
            raise DivergenceError(first + bad[0], SERIES[bad[1]], float(block[bad[0], bad[1]]))

    def request_stop(self) -> None:
        """Ask a running ``run`` to stop after the current step (safe to call from another thread)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:  # noqa: D102 - whether request_stop was called during this run
        return self._stop.is_set()

    def run(self, steps: int, callback: Callable[["GANTrainer"], Any] | None = None,
            every: int | None = None) -> History:
        """Run ``steps`` more iterations (or until ``request_stop``); ``callback(trainer)`` every ``every``
        steps (default ``log_every``) and at the end, History up to date (snapshots, progress, checkpoints)."""
        every = config.check_int("every", self.log_every if every is None else every)
        target = self.step + config.check_int("steps", steps, low=0)
        self._stop.clear()
        try:
            while self.step < target and not self._stop.is_set():
                self.train_step()
                if self.step % self.log_every == 0 or self.step % every == 0 or self.step == target:
                    self.flush()
                    if callback is not None and (self.step % every == 0 or self.step == target):
                        callback(self)
            self.flush()
        finally:
            if self._pending:  # interrupted (e.g. KeyboardInterrupt): keep what was computed
                with contextlib.suppress(DivergenceError):
                    self.flush()
        return self.history

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly: models, optimizers, History, step, RNG states."""
        self.flush()
        state = {name: getattr(self, name).state_dict() for name in ("G", "D", "opt_g", "opt_d")}
        state.update(step=self.step, history=self.history.to_dict(), noise_gen=self.noise_gen.get_state())
        if self.G_ema is not None:
            state["G_ema"] = self.G_ema.state_dict()
        if hasattr(self.sample_real, "state_dict"):
            state["sampler"] = self.sample_real.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state produced by ``state_dict()`` (same model and optimizer shapes)."""
        for name in ("G", "D", "opt_g", "opt_d"):
            getattr(self, name).load_state_dict(state[name])
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state.get("G_ema", state["G"]))  # no average saved: start from G
        self.history, self.step = History.from_dict(state["history"]), int(state["step"])
        self.noise_gen.set_state(state["noise_gen"].cpu())
        if "sampler" in state and hasattr(self.sample_real, "load_state_dict"):
            self.sample_real.load_state_dict(state["sampler"])
        self._pending = []
