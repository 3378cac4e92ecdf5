"""One MNIST GAN run on disk: the MLP pair of Goodfellow et al. (2014) or the DCGAN of Radford et al. (2016).

``Experiment`` adds to the one loop (``train.GANTrainer``) the data on the device (an *epoch* is floor(N / (k m))
iterations of Algorithm 1), a fixed noise ``fixed_z`` whose grid is kept every epoch, atomic checkpoints (``last.pt``,
the previous kept as ``last.prev.pt``, NaN/inf refused) with an exact ``resume``, one stop (Ctrl-C calls
``trainer.request_stop()``; a second Ctrl-C aborts) and one progress bar. Settings are checked once::

    exp = run.Experiment(run.RunConfig(model="mlp", epochs=20), out="runs/mlp", resume=True)
    exp.train(callback=plot.LiveView())         # CLI, the same code: python -m ganlib train mlp --epochs 20
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import time
from dataclasses import asdict, dataclass, fields, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable

import torch

from . import conditional, config, data, files, losses, models
from .train import DivergenceError, GANTrainer, History

FORMAT, VERSION = "ganlib-checkpoint", 1
LAST, PREVIOUS = "last.pt", "last.prev.pt"
#: m when none is given: 512 for the MLP (117 steps an epoch), the DCGAN paper's 128.
DEFAULT_BATCH = {"mlp": 512, "dcgan": 128}
#: Settings that define a run: a resumed run must use the same values.
FIXED_ON_RESUME = ("model", "dataset", "batch_size", "k", "z_dim", "width", "d_depth", "seed", "n_samples",
                   "subset", "clusters")


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, of another format, or holds a NaN/inf (a diverged run)."""


def _refuse_bad(obj: Any, where: str, saving: bool, path: str = "") -> None:
    """Raise CheckpointError at the first NaN/inf (or, when saving, a value weights_only cannot read)."""
    if isinstance(obj, (dict, list, tuple)):
        for k, v in obj.items() if isinstance(obj, dict) else enumerate(obj):
            _refuse_bad(v, where, saving, f"{path}[{k!r}]" if path else str(k))
    elif isinstance(obj, (torch.Tensor, float)) and not torch.isfinite(torch.as_tensor(obj)).all():
        raise CheckpointError(f"{where} holds a NaN or infinite value at {path}: it comes from a diverged run (or "
                              f"the file is corrupt), so it is refused. Resume from {PREVIOUS} or lower lr.")
    elif saving and not isinstance(obj, torch.Tensor) and type(obj) not in (str, int, float, bool, type(None)):
        raise CheckpointError(f"{where} holds {path} ({type(obj).__qualname__}), which torch.load(weights_only=True) "
                              f"cannot read; store tensors, numbers, strings, lists and dicts.")


def save(path: str | Path, trainer_state: dict[str, Any], cfg: dict[str, Any], fixed_z: torch.Tensor | None = None,
         meta: dict[str, Any] | None = None, clusters: torch.Tensor | None = None) -> Path:
    """Write a checkpoint atomically (``files.atomic_save``), the file it replaces kept as ``*.prev.pt``;
    a state with a NaN/inf or a non-plain value raises ``CheckpointError`` and writes nothing."""
    path = Path(path)
    payload = {"format": FORMAT, "version": VERSION, "trainer": trainer_state, "config": dict(cfg),
               "fixed_z": None if fixed_z is None else fixed_z.detach().cpu(), "meta": dict(meta or {})}
    payload.update({} if clusters is None else {"clusters": clusters.cpu()})  # RunConfig.clusters' labels
    _refuse_bad(payload, f"the state to be saved to {path}", saving=True)
    if path.exists():  # the old file stays as *.prev.pt: a hard link, no copy (skipped where links fail)
        prev = path.with_name(f"{path.stem}.prev{path.suffix}")
        prev.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            os.link(path, prev)
    return files.atomic_save(payload, path)


def load(path: str | Path) -> dict[str, Any]:
    """A checkpoint loaded onto the CPU with ``weights_only=True`` (loading runs no code from the file);
    ``CheckpointError`` if it is missing, unreadable (truncated), of another format or holds a NaN/inf."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated file, foreign pickle, ...
        raise CheckpointError(f"cannot read the checkpoint {path} ({type(exc).__name__}: {exc}). The previous one, "
                              f"{PREVIOUS}, may still be good: move it to {LAST} to resume from it.") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or payload.get("version") != VERSION:
        raise CheckpointError(f"{path} is not a ganlib checkpoint (format {FORMAT!r}, version {VERSION}).")
    _refuse_bad(payload, f"the checkpoint {path}", saving=False)
    return payload


@dataclass
class RunConfig:
    """Settings of one MNIST GAN run (plain values, stored in every checkpoint; CLI: ``--batch-size`` ...)."""

    model: str = "mlp"                 # 'mlp' (models.MLPGenerator / MLPDiscriminator) or 'dcgan'
    dataset: str = "mnist"             # or 'fashion-mnist'
    epochs: int = 100                  # in total: a resumed run continues up to this number
    batch_size: int | None = None      # m; None: DEFAULT_BATCH[model]
    lr: float = 2e-4                   # Adam for both players, lr and betas of Radford et al. (2016)
    beta1: float = 0.5
    beta2: float = 0.999
    g_loss: str = "non-saturating"     # or 'saturating' (notebook 03)
    k: int = 1                         # D steps per G step (k = 1 as in the paper)
    z_dim: int = 100                   # noise size
    width: int | None = None           # hidden units (mlp, 256) or ngf = ndf (dcgan, 64)
    d_depth: int = 3                   # strided blocks in the DCGAN's D: 3 or 2
    seed: int = 0                      # the weights, data order, training and evaluation noise
    max_steps: int | None = None       # stop after this many generator steps in total
    subset: int | None = None          # train on the first N training images only
    n_samples: int = 64                # size of fixed_z (an 8x8 grid)
    log_every: int = 50                # copy numbers to the host (and refresh the bar) every this many steps
    channels_last: bool | None = None  # NHWC layout; None: on for the DCGAN on the CPU (faster there)
    tf32: bool = True                  # TF32 matmuls on CUDA (about 1e-3 relative precision)
    precision: str | None = None       # 'fp32' or 'bf16' autocast; None: bf16 where native (config.fast_bf16)
    checkpoint_every: int = 1          # epochs between checkpoints (and always at the end)
    real_label: float = 1.0            # D's target for real images; 0.9: one-sided smoothing (Salimans et al. 2016)
    ema_decay: float | None = None     # e.g. 0.999: sample from an average of G's weights (GANTrainer)
    clusters: int | None = None        # K >= 2 (dcgan): z_0 picks a k-means cluster, D is told it (conditional)

    def __post_init__(self) -> None:  # what only a run knows; the trainer and the models check the rest
        config.check_choice("model", self.model, sorted(models.MNIST_MODELS))
        config.check_choice("dataset", self.dataset, sorted(data.DATASETS))
        self.batch_size = DEFAULT_BATCH[self.model] if self.batch_size is None else self.batch_size
        for name in ("epochs", "n_samples", "checkpoint_every"):
            config.check_int(name, getattr(self, name))
        for name in ("max_steps", "subset"):  # None: no limit, all images
            if getattr(self, name) is not None:
                config.check_int(name, getattr(self, name))
        config.check_number("real_label", self.real_label, 0.5, 1)
        config.check_bool("tf32", self.tf32)
        if self.channels_last is not None:
            config.check_bool("channels_last", self.channels_last)
        if self.clusters is not None:
            config.check_int("clusters", self.clusters, 2)
            config.check_choice("model (with clusters)", self.model, ["dcgan"])


class Experiment:
    """One MNIST GAN run in the folder ``out`` (default ``runs/<model>-<dataset>``) on ``device``.

    Keyword ``overrides`` replace fields of ``cfg``; without ``cfg``, a resumed run keeps its saved
    settings (plus the overrides). ``resume``: continue the run saved in ``out`` (without it, such a
    folder is refused). Attributes: ``G``, ``D``, ``trainer``, ``history``, ``fixed_z`` (n, z_dim), ``epoch``,
    ``steps_per_epoch``, ``train_seconds``, ``interrupted``, ``diverged``, ``cluster_labels`` (N,) (or None).
    """

    def __init__(self, cfg: RunConfig | None = None, out: str | Path | None = None, *,
                 device: str | torch.device | None = None, resume: bool = False,
                 verbose: bool = True, **overrides: Any) -> None:
        wanted = replace(cfg, **overrides) if cfg is not None else RunConfig(**overrides)
        self.verbose, self.device = verbose, config.get_device(None if device is None else str(device))
        self.out = Path(out) if out is not None else config.RUNS_DIR / f"{wanted.model}-{wanted.dataset}"
        self.checkpoint_path = self.out / LAST
        saved = load(self.checkpoint_path) if self.checkpoint_path.exists() else None
        if saved is not None and not resume:
            raise ValueError(f"out={str(self.out)!r} already holds a run (step {saved['trainer']['step']}); pass "
                             f"resume=True (CLI: --resume) to continue it, or choose another out folder.")
        if saved is not None:  # the settings that define the run (FIXED_ON_RESUME) must not change
            base = RunConfig(**{k: v for k, v in saved["config"].items() if k in RunConfig.__dataclass_fields__})
            wanted = wanted if cfg is not None else replace(base, **overrides)
            what = {f.name: f"{f.name}: saved {getattr(base, f.name)!r}, asked {getattr(wanted, f.name)!r}"
                    for f in fields(RunConfig) if getattr(base, f.name) != getattr(wanted, f.name)}
            if bad := [text for name, text in what.items() if name in FIXED_ON_RESUME]:
                raise ValueError(f"cannot resume {self.out}: settings differ from the saved run ({'; '.join(bad)}).")
            if what:
                self._log(f"resuming with changed settings: {'; '.join(what.values())}.")
        self.cfg = cfg = wanted
        if self.device.type == "cuda" and cfg.tf32:  # TF32 tensor cores: ~8x the FP32 rate
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        config.set_seed(cfg.seed)  # the models' initial weights
        self.channels_last = (cfg.model == "dcgan" and self.device.type == "cpu") if cfg.channels_last is None \
            else cfg.channels_last  # on for the CPU DCGAN: faster there
        fmt = torch.channels_last if self.channels_last else torch.preserve_format
        G, D = models.mnist_pair(cfg.model, cfg.z_dim, cfg.width, d_depth=cfg.d_depth, clusters=cfg.clusters)
        self.G, self.D = G.to(self.device, memory_format=fmt), D.to(self.device, memory_format=fmt)
        images = data.load_mnist("train", cfg.dataset)[0][: cfg.subset]
        self.cluster_labels = saved.get("clusters") if saved is not None else None
        if cfg.clusters is not None and self.cluster_labels is None:
            self._log(f"clustering the {len(images)} training images into {cfg.clusters} clusters (k-means on pixels)")
            self.cluster_labels = conditional.image_clusters(images, cfg.clusters, seed=cfg.seed)
        if self.cluster_labels is not None:
            self.G.set_counts(torch.bincount(self.cluster_labels, minlength=cfg.clusters))
        self.batches = data.DeviceBatches(images, labels=self.cluster_labels, device=self.device, seed=cfg.seed,
                                          call_labeled=cfg.clusters is not None)
        self.precision = cfg.precision or ("bf16" if config.fast_bf16(self.device) else "fp32")
        trainer = GANTrainer if cfg.clusters is None else conditional.ConditionalTrainer
        d_loss = "bce" if cfg.real_label == 1 else partial(losses.discriminator_loss, real_label=cfg.real_label)
        self.trainer = trainer(self.G, self.D, self.batches, batch_size=cfg.batch_size, k=cfg.k, g_loss=cfg.g_loss,
                               d_loss=d_loss, lr_d=cfg.lr, lr_g=cfg.lr, betas=(cfg.beta1, cfg.beta2), seed=cfg.seed,
                               log_every=cfg.log_every, precision=self.precision, ema_decay=cfg.ema_decay)
        self.steps_per_epoch = len(self.batches) // (cfg.k * cfg.batch_size)
        if self.steps_per_epoch < 1:
            raise ValueError(f"batch_size * k = {cfg.batch_size * cfg.k} exceeds the {len(self.batches)} training "
                             f"images; use a smaller batch_size or a larger subset.")
        gen = torch.Generator().manual_seed(cfg.seed + 1_000_003)  # not the trainer's first noise draw
        self.fixed_z = torch.randn(cfg.n_samples, self.G.z_dim, generator=gen).to(self.device)
        self.train_seconds, self.interrupted, self.diverged, self._saved_step = 0.0, False, None, -1
        if saved is None:
            return
        state = dict(saved["trainer"])
        if state["noise_gen"].numel() != self.trainer.noise_gen.get_state().numel():  # GPU <-> CPU: other formats
            state["noise_gen"], state["sampler"] = self.trainer.noise_gen.get_state(), self.batches.state_dict()
            self._log("note: a checkpoint from another kind of device: the noise and data order start afresh.")
        self.trainer.load_state_dict(state)
        for group in self.trainer.opt_g.param_groups + self.trainer.opt_d.param_groups:  # lr, betas may change
            group["lr"], group["betas"] = cfg.lr, (cfg.beta1, cfg.beta2)
        self.train_seconds, self._saved_step = float(saved["meta"].get("train_seconds", 0.0)), self.step
        self._log(f"resumed {config.display_path(self.out)} at step {self.step} (epoch {self.epoch}).")

    history = property(lambda self: self.trainer.history, doc="The trainer's History.")
    step = property(lambda self: self.trainer.step, doc="Generator steps done.")
    epoch = property(lambda self: self.trainer.step // self.steps_per_epoch, doc="Completed epochs.")
    total_steps = property(lambda self: min(self.cfg.epochs * self.steps_per_epoch, self.cfg.max_steps or math.inf),
                           doc="Generator steps this run trains to: epochs * steps_per_epoch, capped by max_steps.")
    images_per_second = property(lambda self: self.step * self.cfg.batch_size * self.cfg.k / self.train_seconds
                                 if self.train_seconds > 0 else 0.0, doc="Real images D saw per second of training.")

    def _log(self, msg: str) -> None:
        if self.verbose:
            print(msg, flush=True)

    @torch.no_grad()
    def samples(self, z: torch.Tensor | None = None) -> torch.Tensor:
        """G(fixed_z) (or G(z)), (n, 1, 28, 28) in [-1, 1] on the CPU, from the averaged G if the run keeps
        one, in eval mode (batch norm uses its running statistics)."""
        G, was_training = self.trainer.G_sample, self.trainer.G_sample.training
        try:
            return G.eval()((self.fixed_z if z is None else z).to(self.device)).float().cpu()
        finally:
            G.train(was_training)

    def save(self) -> Path:
        """Write ``last.pt`` (atomically, the previous kept) and ``history.json``; returns the checkpoint path."""
        meta = {"epoch": self.epoch, "steps_per_epoch": self.steps_per_epoch, "precision": self.precision,
                "train_seconds": round(self.train_seconds, 3), "torch": str(torch.__version__),
                "channels_last": self.channels_last, "threads": torch.get_num_threads(), "device": str(self.device),
                "device_name": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu"}
        path = save(self.checkpoint_path, self.trainer.state_dict(), asdict(self.cfg), self.fixed_z, meta,
                    self.cluster_labels)
        series = {k: v for k, v in self.history.to_dict().items() if k != "snapshots"}
        doc = json.dumps({"config": asdict(self.cfg), "meta": meta, "history": series}, indent=1)
        files.atomic_write(self.out / "history.json", lambda f: f.write(doc.encode()))
        self._saved_step = self.step
        return path

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.trainer.stop_requested:  # the second interrupt: abort now (the last checkpoint stays)
            raise KeyboardInterrupt
        self.trainer.request_stop()
        print("\ninterrupt: stopping after this step and saving (resume=True continues); again: abort.", flush=True)

    def _epoch_done(self, callback: Callable[["Experiment"], Any] | None) -> None:
        """The fixed-z grid (PNG, and uint8 in the snapshots: 4x smaller), the checkpoint when due, ``callback``."""
        from .plot import save_image_grid
        x = self.samples()
        images = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        self.history.snapshots.append({"epoch": self.epoch, "step": self.step, "images": images})
        save_image_grid(x, self.out / "samples" / f"epoch_{self.epoch:03d}.png", nrow=8)
        if self.epoch % self.cfg.checkpoint_every == 0 or self.step >= self.total_steps:
            self.save()
        if callback is not None:
            callback(self)

    def train(self, callback: Callable[["Experiment"], Any] | None = None, progress: bool = True) -> History:
        """Train to ``cfg.epochs`` (or ``max_steps``), ``callback(self)`` after every epoch, a bar if ``progress``;
        the History, early on an interrupt or a divergence. A finished run says so and calls ``callback`` once."""
        if self.diverged is not None:
            raise RuntimeError(f"this experiment diverged at step {self.diverged.step}; create a new Experiment(..., "
                               f"resume=True) to continue from its last good checkpoint (e.g. with a smaller lr).")
        total, spe = self.total_steps, self.steps_per_epoch
        if self.step >= total:
            self._log(f"{config.display_path(self.out)} already holds this run (step {self.step}, epoch {self.epoch}): "
                      f"showing the saved run. Delete the folder to train again, or raise epochs to train further.")
            if callback is not None:
                callback(self)
            return self.history
        from tqdm.auto import tqdm
        bar = tqdm(total=total, initial=self.step, unit="step", desc=f"{self.cfg.model} GAN on {self.cfg.dataset}",
                   disable=not progress)

        def show(trainer: GANTrainer) -> None:  # every log_every steps: the numbers are on the host already
            h, bar.n = trainer.history, trainer.step
            bar.set_postfix(epoch=f"{trainer.step / spe:.1f}", L_D=f"{h.d_loss[-1]:.3f}", L_G=f"{h.g_loss[-1]:.3f}",
                            Dx=f"{h.d_real[-1]:.2f}", DGz=f"{h.d_fake[-1]:.2f}")

        self.interrupted, previous = False, signal.signal(signal.SIGINT, self._on_sigint)
        try:
            while True:  # an epoch (or what is left of it) a pass; run() clears an old stop request
                t0 = time.perf_counter()
                self.trainer.run(min((self.step // spe + 1) * spe, total) - self.step, callback=show)
                self.train_seconds += time.perf_counter() - t0  # training only, not the grids and checkpoints
                if self.step % spe == 0:
                    self._epoch_done(callback)
                if self.step >= total or self.trainer.stop_requested:
                    break
            self.interrupted = self.trainer.stop_requested
            if self._saved_step != self.step:
                self.save()
        except DivergenceError as err:
            self.diverged = err
            kept = f"step {self._saved_step}, {config.display_path(self.checkpoint_path)}"
            print(f"{err}\nthe last good checkpoint is kept: {kept if self._saved_step >= 0 else 'none'}.", flush=True)
        finally:
            signal.signal(signal.SIGINT, previous)
            bar.close()
        return self.history

    def animation(self, max_frames: int = 8, **kwargs: Any):
        """The fixed-z grids over epochs as an animated PNG (``plot.samples_animation``)."""
        from .plot import samples_animation
        return samples_animation(self.history.snapshots, max_frames, title=f"{self.cfg.model.upper()} GAN", **kwargs)

    def summary(self, last: int | None = None) -> dict[str, float]:
        """Means over the last epoch (or ``last`` steps) of L_D, L_G, D(x), D(G(z))."""
        return {k: self.history.last(k, last or self.steps_per_epoch) for k in ("d_loss", "g_loss", "d_real", "d_fake")}


def cli_add_arguments(parser: argparse.ArgumentParser) -> None:
    """``python -m ganlib train MODEL``: each ``--some-field`` sets ``RunConfig.some_field`` (documented there)."""
    kinds = {"int": {"type": int}, "float": {"type": float}, "str": {"type": str},
             "bool": {"action": argparse.BooleanOptionalAction}}  # --tf32 / --no-tf32, ...
    parser.add_argument("model", choices=sorted(models.MNIST_MODELS), help="which GAN: mlp or dcgan")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best available)")
    parser.add_argument("--out", default=None, help="run folder (default: runs/<model>-<dataset>)")
    parser.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    for f in fields(RunConfig)[1:]:
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, default=None,
                            help=f"RunConfig.{f.name} (default {f.default})", **kinds[f.type.split(" ")[0]])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--gif", action="store_true", help="also write samples.gif (the grids over epochs)")


def cli_run(args: argparse.Namespace) -> int:
    """Train from the command line; exit status 0 done, 1 diverged, 2 bad arguments, 130 interrupted."""
    given = {f.name: getattr(args, f.name) for f in fields(RunConfig)[1:] if getattr(args, f.name) is not None}
    try:
        if args.threads is not None:
            torch.set_num_threads(config.check_int("threads", args.threads))
        exp = Experiment(None, args.out, device=args.device, resume=args.resume, model=args.model, **given)
    except ValueError as err:  # CheckpointError too
        print(f"error: {err}", flush=True)
        return 2
    print(f"training {exp.cfg.model} on {exp.cfg.dataset} ({exp.cfg.epochs} epochs of {exp.steps_per_epoch} steps, "
          f"batch {exp.cfg.batch_size}) on {exp.device}; writing to {exp.out}", flush=True)
    try:
        exp.train(progress=not args.no_progress)
    except KeyboardInterrupt:
        return 130
    if args.gif and exp.history.snapshots:
        from .plot import save_samples_animation
        print(f"wrote {save_samples_animation(exp.history.snapshots, exp.out / 'samples.gif')}")
    if exp.diverged is not None:
        return 1
    s = exp.summary()
    print(f"step {exp.step} (epoch {exp.epoch}), last epoch's means: L_D {s['d_loss']:.3f}, L_G {s['g_loss']:.3f}, "
          f"D(x) {s['d_real']:.3f}, D(G(z)) {s['d_fake']:.3f}; {exp.images_per_second:,.0f} images/s", flush=True)
    return 130 if exp.interrupted else 0
