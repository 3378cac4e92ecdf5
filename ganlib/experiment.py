"""Train an MNIST GAN (the MLP pair of seed 002 or the DCGAN) as a resumable run on disk.

This module adds what a real-data run needs around the one training loop (``ganlib.train``):

* data: the whole training set resident on the device (``data.DeviceBatches``), shuffled per
  epoch; an *epoch* is floor(N / (k m)) iterations of Algorithm 1, one pass of the data through D;
* a fixed evaluation noise ``fixed_z`` (n, z_dim), drawn once per run from its own seed, so the
  sample grids of successive epochs show the same z and can be compared (DCGAN practice);
* every epoch: a grid of G(fixed_z) saved as ``samples/epoch_NNN.png`` and kept (uint8) in
  ``History.snapshots``, then an atomic checkpoint ``last.pt`` (the previous kept as
  ``last.prev.pt``) and ``history.json``;
* Ctrl-C / the notebook's "interrupt kernel": the first interrupt asks the trainer to stop after
  the current step, the state is saved and ``train`` returns (``interrupted`` is True); a second
  interrupt aborts at once (still saving, but then the resumed run may differ by one step);
* a NaN/inf loss (``train.DivergenceError``) ends the run with its message; the last good
  checkpoint is never overwritten;
* ``resume=True`` reloads ``last.pt`` and continues exactly: same batches, same noise, same
  History as a run that was never stopped (tested in tests/test_experiment.py);
* speed: no host synchronisation per step (the trainer copies numbers to the host every
  ``log_every`` steps and the progress bar reads only those); TF32 matmuls on CUDA; channels_last
  for the DCGAN on the CPU (~12 % faster there, DESIGN.md); bfloat16 autocast where the device
  computes bf16 natively (about 2x on a CPU with AMX; measured by ``python -m ganlib bench``).

Notebook use::

    exp = experiment.Experiment(experiment.RunConfig(model="mlp", epochs=20), out=..., resume=True)
    exp.train(callback=plot.LiveView())

CLI (same code path)::

    python -m ganlib train mlp --epochs 100 --batch-size 512 --device cuda --out runs/mlp [--resume]
"""
from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable

import torch

from . import checkpoint, clusters, config, data, models
from .config import check_int as _check_int
from .train import PRECISIONS, DivergenceError, GANTrainer, History, check_ema_decay

#: Seed 002's settings for the MLP GAN; the DCGAN uses the DCGAN paper's batch of 128.
DEFAULT_BATCH = {"mlp": 512, "dcgan": 128}
#: Settings that define a run: a resumed run must use the same values.
FIXED_ON_RESUME = ("model", "dataset", "batch_size", "k", "z_dim", "width", "d_depth", "seed", "n_samples",
                   "subset", "clusters")
#: The run folder's copy of the training images' cluster labels (``RunConfig.clusters``).
CLUSTERS_FILE = "clusters.pt"
#: Offset between the run seed and the seed of the evaluation noise, so fixed_z is not the
#: trainer's first noise draw.
_FIXED_Z_SEED_OFFSET = 1_000_003


@dataclass
class RunConfig:
    """Settings of one MNIST GAN run (plain values, stored in every checkpoint).

    model: 'mlp' (seed 002's MLP pair) or 'dcgan'.
    dataset: 'mnist' or 'fashion-mnist'.
    epochs: total epochs of the run (a resumed run continues up to this number).
    batch_size: m; None means 512 for 'mlp' (seed 002) and 128 for 'dcgan'.
    lr, beta1, beta2: Adam for both players (seed 002: 2e-4, (0.5, 0.999)).
    g_loss: 'non-saturating' (default) or 'saturating'.
    k: discriminator steps per generator step (Algorithm 1; k = 1 as in the paper).
    z_dim: noise dimension (100 in seed 002). width: hidden units (mlp, 256) or ngf = ndf (dcgan, 64).
    d_depth: strided convolution blocks in the DCGAN's D, 3 (default) or 2 (``models.DCGANDiscriminator``).
    seed: seeds the weights, the data order, the training noise and the evaluation noise.
    max_steps: stop after this many generator steps in total (None: no limit).
    subset: train on the first ``subset`` training images only (small demos and tests).
    n_samples: size of the fixed evaluation noise (an 8x8 grid for 64).
    log_every: copy losses to the host (and refresh the progress bar) every this many steps.
    channels_last: NHWC memory layout for the DCGAN; None = on for the DCGAN on the CPU.
    tf32: allow TF32 matmuls/convolutions on CUDA (faster; ~1e-3 relative precision).
    precision: 'fp32' or 'bf16' (bfloat16 autocast of the forward passes, ``GANTrainer``); None =
        'bf16' where the device computes bfloat16 natively (``config.fast_bf16``: CPUs with AMX or
        AVX512-BF16, GPUs from the A100 on), 'fp32' elsewhere.
    checkpoint_every: write ``last.pt`` every this many epochs (and always at the end).
    real_label: D's target for real images; 1 (default) is the paper's loss, 0.9 is one-sided label
        smoothing (``losses.discriminator_loss``), which keeps the DCGAN's D from becoming over-confident.
    ema_decay: keep an exponential moving average of G's weights with this decay (e.g. 0.999;
        ``GANTrainer``); the sample grids, the exported generator and ``samples()`` then use the
        average. None (default) = no average.
    clusters: K >= 2 (dcgan only) gives the latent space a discrete part: the training images are
        split into K clusters by k-means on their pixels (``ganlib.clusters``; no digit labels), the
        noise picks a cluster with the clusters' frequencies and G draws an image of it
        (``models.ClusterCodeGenerator``), while D is told the cluster (``models.ProjectionDiscriminator``).
        G's noise then has 1 + z_dim coordinates. None (default) = the plain, connected latent space.
    """

    model: str = "mlp"
    dataset: str = "mnist"
    epochs: int = 100
    batch_size: int | None = None
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    g_loss: str = "non-saturating"
    k: int = 1
    z_dim: int = 100
    width: int | None = None
    d_depth: int = 3
    seed: int = 0
    max_steps: int | None = None
    subset: int | None = None
    n_samples: int = 64
    log_every: int = 50
    channels_last: bool | None = None
    tf32: bool = True
    precision: str | None = None
    checkpoint_every: int = 1
    real_label: float = 1.0
    ema_decay: float | None = None
    clusters: int | None = None

    def __post_init__(self) -> None:
        if self.model not in models.MNIST_MODELS:
            raise ValueError(f"model={self.model!r} is not known; use one of {sorted(models.MNIST_MODELS)}.")
        if self.dataset not in data.DATASETS:
            raise ValueError(f"dataset={self.dataset!r} is not known; use one of {sorted(data.DATASETS)}.")
        if self.batch_size is None:
            self.batch_size = DEFAULT_BATCH[self.model]
        for name in ("epochs", "batch_size", "k", "z_dim", "n_samples", "log_every", "checkpoint_every"):
            _check_int(name, getattr(self, name), 1)
        _check_int("seed", self.seed, 0)
        if self.d_depth not in (2, 3):
            raise ValueError(f"d_depth must be 2 or 3 (blocks in the DCGAN's D), got {self.d_depth!r}.")
        for name in ("width", "max_steps", "subset"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), 1)
        for name in ("lr",):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, got {v!r}.")
        for name in ("beta1", "beta2"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0 <= v < 1):
                raise ValueError(f"{name} must be a number in [0, 1), got {v!r}.")
        from .losses import check_real_label, get_generator_loss
        get_generator_loss(self.g_loss)  # raises ValueError naming g_loss if unknown
        check_real_label(self.real_label)
        check_ema_decay(self.ema_decay)
        if self.clusters is not None:
            _check_int("clusters", self.clusters, 2)
            if self.model != "dcgan":
                raise ValueError(f"clusters is supported for model='dcgan' only, got model={self.model!r}.")
        if self.precision is not None and self.precision not in PRECISIONS:
            raise ValueError(f"precision={self.precision!r} is not known; use one of {list(PRECISIONS)} "
                             f"(or None: bf16 where the device computes it natively).")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        known = {f.name for f in fields(cls)}
        d = dict(d)
        if d.get("model") == "dcgan" and "d_depth" not in d:
            d["d_depth"] = 2  # runs saved before D had a third block
        return cls(**{k: v for k, v in d.items() if k in known})


def _d_loss(real_label: float) -> Any:
    """The discriminator loss of a run: the paper's BCE, or BCE with one-sided label smoothing."""
    from .losses import discriminator_loss
    return "bce" if real_label == 1.0 else partial(discriminator_loss, real_label=real_label)


def default_out(cfg: RunConfig) -> Path:
    """Where a run writes when no ``out`` is given: ``runs/<model>-<dataset>``."""
    return config.RUNS_DIR / f"{cfg.model}-{cfg.dataset}"


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> uint8 0..255 on the CPU (how snapshots are stored: 4x smaller)."""
    return ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def from_uint8(u: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float images in [-1, 1]."""
    return u.float() / 127.5 - 1


def _write_json(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def history_json(history: History, cfg: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """The History's series (no snapshots) with the run's settings, as plain JSON."""
    h = history.to_dict()
    h.pop("snapshots", None)
    return {"config": cfg, "meta": meta, "history": h}


class Experiment:
    """One MNIST GAN run: models, device-resident data, a ``GANTrainer`` and a run folder.

    Args:
        cfg: a ``RunConfig`` (default: seed 002's MLP run); keyword ``overrides`` replace fields.
        out: the run folder (default ``runs/<model>-<dataset>``).
        device: 'cpu', 'cuda', ... (default ``config.get_device()``).
        resume: continue the run saved in ``out`` if there is one (otherwise start afresh). Without
            it, a folder that already holds a checkpoint is refused, so nothing trained is lost.
        verbose: print what is loaded and saved.

    Attributes: ``G``, ``D``, ``trainer``, ``history``, ``fixed_z`` (n, z_dim), ``epoch`` (completed
    epochs), ``steps_per_epoch``, ``interrupted``, ``diverged`` (the DivergenceError or None).
    """

    def __init__(self, cfg: RunConfig | None = None, out: str | Path | None = None, *,
                 device: str | torch.device | None = None, resume: bool = False,
                 verbose: bool = True, **overrides: Any) -> None:
        cfg = replace(cfg, **overrides) if cfg is not None else RunConfig(**overrides)
        self.verbose = verbose
        self.device = config.get_device(None if device is None else str(device))
        self.out = Path(out) if out is not None else default_out(cfg)
        saved = checkpoint.load_latest(self.out, verbose=verbose) if (self.out / checkpoint.LAST).exists() \
            or (self.out / checkpoint.PREVIOUS).exists() else None
        if saved is not None and not resume:
            raise ValueError(
                f"out={str(self.out)!r} already holds a run (step {saved['trainer']['step']}); pass "
                f"resume=True (CLI: --resume) to continue it, or choose another out folder.")
        if saved is not None:
            cfg = self._merge_config(RunConfig.from_dict(saved["config"]), cfg)
        self.cfg = cfg

        if self.device.type == "cuda" and cfg.tf32:
            torch.backends.cuda.matmul.allow_tf32 = True  # TF32 tensor cores: ~8x the FP32 rate
            torch.backends.cudnn.allow_tf32 = True
        config.set_seed(cfg.seed)  # the models' initial weights
        self.G, self.D = models.mnist_pair(cfg.model, z_dim=cfg.z_dim, width=cfg.width, d_depth=cfg.d_depth,
                                           clusters=cfg.clusters)
        self.G.to(self.device)
        self.D.to(self.device)
        self.channels_last = cfg.channels_last if cfg.channels_last is not None else \
            (cfg.model == "dcgan" and self.device.type == "cpu")
        if self.channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)

        images, _ = data.load_mnist("train", cfg.dataset)
        if cfg.subset is not None:
            images = images[: cfg.subset]
        #: Cluster label of every training image (N,) int64, or None without ``cfg.clusters``.
        self.cluster_labels: torch.Tensor | None = None
        if cfg.clusters is not None:
            self.cluster_labels = self._cluster_labels(images, cfg.clusters, cfg.seed, cfg.dataset)
            self.G.set_counts(torch.bincount(self.cluster_labels, minlength=cfg.clusters))
        conditional = cfg.clusters is not None  # G's noise picks a cluster and D is told it
        self.batches = data.DeviceBatches(images, labels=self.cluster_labels, device=self.device, seed=cfg.seed,
                                          call_labeled=conditional)
        self.steps_per_epoch = len(self.batches) // (cfg.k * cfg.batch_size)
        if self.steps_per_epoch < 1:
            raise ValueError(f"batch_size * k = {cfg.batch_size * cfg.k} exceeds the {len(self.batches)} "
                             f"training images; use a smaller batch_size or a larger subset.")
        self.precision = cfg.precision if cfg.precision is not None else \
            ("bf16" if config.fast_bf16(self.device) else "fp32")
        self.trainer = GANTrainer(
            self.G, self.D, self.batches, z_dim=self.G.z_dim, batch_size=cfg.batch_size, k=cfg.k,
            g_loss=cfg.g_loss, d_loss=_d_loss(cfg.real_label), optimizer="adam", lr_d=cfg.lr, lr_g=cfg.lr,
            betas=(cfg.beta1, cfg.beta2), seed=cfg.seed, log_every=cfg.log_every, precision=self.precision,
            ema_decay=cfg.ema_decay, conditional=conditional)
        gen = torch.Generator().manual_seed(cfg.seed + _FIXED_Z_SEED_OFFSET)
        self.fixed_z = torch.randn(cfg.n_samples, self.G.z_dim, generator=gen).to(self.device)

        self.train_seconds = 0.0
        self.interrupted = False
        self.diverged: DivergenceError | None = None
        self._saved_step = -1
        self._stop = False
        if saved is not None:
            self._restore(saved)
        self._first_step, self._session_seconds = self.trainer.step, 0.0

    # ------------------------------------------------------------------ properties
    @property
    def history(self) -> History:
        return self.trainer.history

    @property
    def step(self) -> int:
        return self.trainer.step

    @property
    def epoch(self) -> int:
        """Completed epochs."""
        return self.trainer.step // self.steps_per_epoch

    @property
    def total_steps(self) -> int:
        """Generator steps this run trains to: epochs * steps_per_epoch, capped by max_steps."""
        total = self.cfg.epochs * self.steps_per_epoch
        return min(total, self.cfg.max_steps) if self.cfg.max_steps is not None else total

    @property
    def checkpoint_path(self) -> Path:
        return self.out / checkpoint.LAST

    @property
    def images_per_second(self) -> float:
        """Training throughput (real images seen by D per second) of this object's ``train`` calls,
        or, when they trained nothing (the run was finished before), of the whole saved run; 0.0
        for a run that has not trained at all."""
        done, secs = self.trainer.step - self._first_step, self._session_seconds
        if secs <= 0:
            done, secs = self.trainer.step, self.train_seconds
        return done * self.cfg.batch_size * self.cfg.k / secs if secs > 0 else 0.0

    def _log(self, msg: str) -> None:
        if self.verbose:
            print(msg, flush=True)

    def _cluster_labels(self, images: torch.Tensor, k: int, seed: int, dataset: str) -> torch.Tensor:
        """k-means cluster labels of the training images, (N,) int64; kept in the run folder so a
        resumed run reuses them rather than recomputing (k-means takes seconds and its ties could
        fall differently on another machine)."""
        path = self.out / CLUSTERS_FILE
        if path.is_file():
            saved = torch.load(path, map_location="cpu", weights_only=True)
            if (saved.get("k"), saved.get("seed"), saved.get("dataset")) == (k, seed, dataset) \
                    and saved["labels"].shape == images.shape[:1]:
                return saved["labels"]
        self._log(f"clustering the {images.shape[0]} training images into {k} clusters (k-means on pixels)...")
        labels = clusters.image_clusters(images, k, seed=seed)
        self.out.mkdir(parents=True, exist_ok=True)
        checkpoint.atomic_save({"k": k, "seed": seed, "dataset": dataset, "labels": labels}, path)
        return labels

    # ------------------------------------------------------------------ resume
    def _merge_config(self, saved: RunConfig, wanted: RunConfig) -> RunConfig:
        bad = [f"{k}: saved {getattr(saved, k)!r}, asked {getattr(wanted, k)!r}"
               for k in FIXED_ON_RESUME if getattr(saved, k) != getattr(wanted, k)]
        if bad:
            raise ValueError(
                f"cannot resume the run in {self.out}: these settings differ from the saved run "
                f"({'; '.join(bad)}). Use the saved values or another out folder.")
        changed = [f"{f.name} {getattr(saved, f.name)!r} -> {getattr(wanted, f.name)!r}"
                   for f in fields(RunConfig) if getattr(saved, f.name) != getattr(wanted, f.name)]
        if changed:
            self._log(f"resuming with changed settings: {', '.join(changed)}.")
        return wanted

    def _restore(self, saved: dict[str, Any]) -> None:
        state = dict(saved["trainer"])
        # A run moved to another kind of device (GPU -> CPU) cannot reuse its RNG states (their
        # formats differ): keep this object's freshly seeded ones. The run continues, but not
        # bit-identically.
        noise_now = self.trainer.noise_gen.get_state()
        data_now = self.batches.state_dict()["generator"]
        moved = state["noise_gen"].numel() != noise_now.numel() or \
            state["sampler"]["generator"].numel() != data_now.numel()
        if moved:
            state["noise_gen"] = noise_now
            state["sampler"] = {**state["sampler"], "generator": data_now}
            self._log("note: the checkpoint was written on another kind of device; the random "
                      "streams are re-seeded, so the continuation is not bit-identical.")
        self.trainer.load_state_dict(state)
        for opt in (self.trainer.opt_g, self.trainer.opt_d):  # a resumed run may change lr/betas
            for group in opt.param_groups:
                group["lr"], group["betas"] = self.cfg.lr, (self.cfg.beta1, self.cfg.beta2)
        if saved.get("fixed_z") is not None:
            self.fixed_z = saved["fixed_z"].to(self.device)
        meta = saved["meta"]
        self.train_seconds = float(meta.get("train_seconds", 0.0))
        self._saved_step = self.trainer.step
        self._log(f"resumed {config.display_path(self.out)} at step {self.trainer.step} (epoch {self.epoch} of {self.cfg.epochs}).")

    # ------------------------------------------------------------------ pictures
    @torch.no_grad()
    def samples(self, z: torch.Tensor | None = None) -> torch.Tensor:
        """G(z) for the fixed evaluation noise (or ``z``), (n, 1, 28, 28) in [-1, 1] on the CPU.

        G is the averaged generator if the run keeps one (``cfg.ema_decay``), else the trained G;
        it is put in eval mode (batch norm uses its running statistics) and back afterwards.
        """
        G = self.trainer.G_sample
        was_training = G.training
        G.eval()
        try:
            x = G((self.fixed_z if z is None else z).to(self.device))
        finally:
            G.train(was_training)
        return x.float().cpu()

    def latest_snapshot(self) -> dict[str, Any] | None:
        """The last {'epoch', 'step', 'images' (uint8)} snapshot, or None before the first epoch."""
        snaps = [s for s in self.history.snapshots if isinstance(s, dict) and "images" in s]
        return snaps[-1] if snaps else None

    def _snapshot(self) -> None:
        x = self.samples()
        self.history.snapshots.append({"epoch": self.epoch, "step": self.step, "images": to_uint8(x)})
        from .plot import save_image_grid
        save_image_grid(x, self.out / "samples" / f"epoch_{self.epoch:03d}.png", nrow=8)

    # ------------------------------------------------------------------ saving
    def meta(self) -> dict[str, Any]:
        """Plain facts about the run for checkpoints and history.json."""
        return {
            "epoch": self.epoch, "step": self.step, "steps_per_epoch": self.steps_per_epoch,
            "train_seconds": round(self.train_seconds, 3), "device": str(self.device),
            "device_name": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu",
            "torch": str(torch.__version__), "channels_last": bool(self.channels_last),
            "precision": self.precision,
            "threads": torch.get_num_threads(), "n_train": len(self.batches),
        }

    def save(self, exact: bool = True) -> Path:
        """Write ``last.pt`` (atomically, previous kept) and ``history.json``; returns the checkpoint path."""
        meta = self.meta()
        meta["exact"] = exact
        path = checkpoint.save(self.checkpoint_path, self.trainer.state_dict(), self.cfg.to_dict(),
                               fixed_z=self.fixed_z, meta=meta)
        _write_json(history_json(self.history, self.cfg.to_dict(), meta), self.out / "history.json")
        self._saved_step = self.step
        return path

    # ------------------------------------------------------------------ training
    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._stop:  # second interrupt: abort now
            signal.signal(signal.SIGINT, self._previous_handler)
            raise KeyboardInterrupt
        self._stop = True
        self.trainer.request_stop()
        print("\ninterrupt: stopping after this step and saving a checkpoint "
              "(interrupt again to abort at once).", flush=True)

    def train(self, epochs: int | None = None, *, max_steps: int | None = None,
              callback: Callable[["Experiment"], Any] | None = None,
              on_log: Callable[["Experiment"], Any] | None = None,
              progress: bool = True) -> History:
        """Train up to ``epochs`` (default ``cfg.epochs``) and return the History.

        Args:
            epochs / max_steps: new targets (total, not additional) for this and later calls.
            callback: ``callback(experiment)`` after every epoch (after the snapshot and the
                checkpoint), e.g. ``plot.LiveView()``.
            on_log: ``on_log(experiment)`` every ``cfg.log_every`` steps (numbers already on the host).
            progress: a tqdm progress bar with the current losses.

        Stops early (and returns) on an interrupt (``interrupted``) or a divergence
        (``diverged``); in both cases the last good checkpoint is on disk.
        """
        if self.diverged is not None:
            raise RuntimeError(
                f"this experiment diverged at step {self.diverged.step}; its weights are not finite. "
                f"Create a new Experiment(..., resume=True) to continue from the last good "
                f"checkpoint in {self.out} (e.g. with a smaller lr).")
        if epochs is not None or max_steps is not None:
            self.cfg = replace(self.cfg, epochs=epochs if epochs is not None else self.cfg.epochs,
                               max_steps=max_steps if max_steps is not None else self.cfg.max_steps)
        total, spe = self.total_steps, self.steps_per_epoch
        if self.step >= total:
            # A rerun of a notebook lands here: show the saved run (the callback draws its curves
            # and samples) and say so, rather than training nothing in silence.
            self._log(f"{config.display_path(self.out)} already holds this run, trained to step {self.step} "
                      f"(epoch {self.epoch}) in {self.train_seconds:.0f} s: showing the saved run. Delete the "
                      f"folder (or pass another out=) to train again, or raise epochs to train further.")
            if callback is not None:
                callback(self)
            return self.history
        self.out.mkdir(parents=True, exist_ok=True)
        self.interrupted, self._stop = False, False
        handler_set = threading.current_thread() is threading.main_thread()
        if handler_set:
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=total, initial=self.step, unit="step", dynamic_ncols=True,
                       desc=f"{self.cfg.model} GAN on {self.cfg.dataset}")

        def log_hook(trainer: GANTrainer) -> None:  # called at log boundaries only: no extra sync
            h = trainer.history
            if bar is not None and len(h):
                bar.n = trainer.step
                bar.set_postfix(epoch=f"{trainer.step / spe:.1f}", L_D=f"{h.d_loss[-1]:.3f}",
                                L_G=f"{h.g_loss[-1]:.3f}", Dx=f"{h.d_real[-1]:.2f}",
                                DGz=f"{h.d_fake[-1]:.2f}", refresh=False)
                bar.refresh()
            if on_log is not None:
                on_log(self)

        t0 = time.perf_counter()

        def tick() -> None:  # add the time since the last tick to the run's training time
            nonlocal t0
            now = time.perf_counter()
            self.train_seconds += now - t0
            self._session_seconds += now - t0
            t0 = now

        try:
            while self.step < total and not self._stop:
                target = min((self.step // spe + 1) * spe, total)
                self.trainer.run(target - self.step, callback=log_hook, every=self.cfg.log_every,
                                 stop=lambda: self._stop)
                if self.step % spe == 0 and self.step == target:  # an epoch is complete
                    self._snapshot()
                    if self.epoch % self.cfg.checkpoint_every == 0 or self.step >= total:
                        tick()
                        self.save()
                    if callback is not None:
                        callback(self)
            self.interrupted = self._stop
            if self._saved_step != self.step:
                tick()
                self.save()
            if self.interrupted:
                self._log(f"stopped at step {self.step} (epoch {self.step / spe:.2f}); saved {config.display_path(self.checkpoint_path)}. "
                          f"Continue with resume=True (CLI: --resume).")
        except DivergenceError as err:
            self.diverged = err
            tick()
            kept = f"the last good checkpoint (step {self._saved_step}) is kept in {config.display_path(self.checkpoint_path)}" \
                if self._saved_step >= 0 else "no checkpoint had been written yet"
            print(f"{err}\n{kept}.", flush=True)
        except KeyboardInterrupt:
            # A second interrupt can land mid-step (D updated, G not): save what there is, marked
            # inexact, so nothing is lost, then let the interrupt through.
            self.interrupted = True
            tick()
            try:
                self.save(exact=False)
                print(f"\naborted at step {self.step}; saved {config.display_path(self.checkpoint_path)} (a resumed run may "
                      f"differ from an uninterrupted one by this last step).", flush=True)
            except checkpoint.CheckpointError as err:
                print(f"\naborted; not saved: {err}", flush=True)
            raise
        finally:
            if handler_set:
                signal.signal(signal.SIGINT, self._previous_handler)
            if bar is not None:
                bar.n = self.step
                bar.close()
        return self.history

    # ------------------------------------------------------------------ after training
    def animation(self, max_frames: int = 8, nrow: int = 6, n_images: int | None = 36, interactive: bool = False):
        """The fixed-z sample grids over epochs as an animated PNG (``plot.samples_animation``)."""
        from .plot import samples_animation
        return samples_animation(self.history.snapshots, max_frames=max_frames, nrow=nrow, n_images=n_images,
                                 title=f"{self.cfg.model.upper()} GAN", interactive=interactive)

    def summary(self, last: int | None = None) -> dict[str, float]:
        """Means over the last epoch (or ``last`` steps) of L_D, L_G, D(x), D(G(z))."""
        n = last or self.steps_per_epoch
        h = self.history
        return {name: h.last(name, n) for name in ("d_loss", "g_loss", "d_real", "d_fake")}


def train_run(cfg: RunConfig | None = None, out: str | Path | None = None, *,
              device: str | torch.device | None = None, resume: bool = False,
              callback: Callable[[Experiment], Any] | None = None, progress: bool = True,
              **overrides: Any) -> Experiment:
    """Build an ``Experiment`` and train it to ``cfg.epochs``; returns the experiment."""
    exp = Experiment(cfg, out, device=device, resume=resume, **overrides)
    exp.train(callback=callback, progress=progress)
    return exp


# --------------------------------------------------------------------------- CLI
#: CLI options that map to RunConfig fields (None = not given: keep the default or the saved value).
_CLI_FIELDS = ("epochs", "batch_size", "lr", "beta1", "beta2", "g_loss", "k", "z_dim", "width", "d_depth", "seed",
               "max_steps", "subset", "n_samples", "log_every", "channels_last", "precision",
               "checkpoint_every", "real_label", "ema_decay", "clusters")


def cli_add_arguments(parser: Any) -> None:
    """Arguments of ``python -m ganlib train``."""
    parser.add_argument("model", choices=sorted(models.MNIST_MODELS), help="which GAN: mlp (seed 002) or dcgan")
    parser.add_argument("--epochs", type=int, default=None, help="total epochs (default 100)")
    parser.add_argument("--batch-size", type=int, default=None, help="minibatch m (default: mlp 512, dcgan 128)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best available)")
    parser.add_argument("--out", default=None, help="run folder (default: runs/<model>-<dataset>)")
    parser.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    parser.add_argument("--dataset", default=None, choices=sorted(data.DATASETS), help="default mnist")
    parser.add_argument("--lr", type=float, default=None, help="Adam learning rate (default 2e-4)")
    parser.add_argument("--beta1", type=float, default=None, help="Adam beta1 (default 0.5)")
    parser.add_argument("--beta2", type=float, default=None, help="Adam beta2 (default 0.999)")
    parser.add_argument("--g-loss", default=None, choices=["non-saturating", "saturating"],
                        help="generator loss (default non-saturating)")
    parser.add_argument("--k", type=int, default=None, help="D steps per G step (default 1)")
    parser.add_argument("--z-dim", type=int, default=None, help="noise dimension (default 100)")
    parser.add_argument("--width", type=int, default=None, help="hidden units (mlp, 256) or ngf=ndf (dcgan, 64)")
    parser.add_argument("--d-depth", type=int, default=None, choices=[2, 3],
                        help="strided blocks in the DCGAN's D (default 3)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in total")
    parser.add_argument("--subset", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--n-samples", type=int, default=None, help="fixed-z grid size (default 64)")
    parser.add_argument("--log-every", type=int, default=None, help="steps between progress updates (default 50)")
    parser.add_argument("--checkpoint-every", type=int, default=None, help="epochs between checkpoints (default 1)")
    parser.add_argument("--channels-last", dest="channels_last", action="store_true", default=None,
                        help="NHWC layout (default: on for dcgan on the CPU)")
    parser.add_argument("--no-channels-last", dest="channels_last", action="store_false")
    parser.add_argument("--no-tf32", action="store_true", help="exact FP32 matmuls on CUDA")
    parser.add_argument("--precision", default=None, choices=list(PRECISIONS),
                        help="bf16 autocast or fp32 (default: bf16 where the device computes it natively)")
    parser.add_argument("--real-label", type=float, default=None,
                        help="D's target for real images (default 1; 0.9 = one-sided label smoothing)")
    parser.add_argument("--ema-decay", type=float, default=None,
                        help="keep an exponential moving average of G with this decay, e.g. 0.999 (default: none)")
    parser.add_argument("--clusters", type=int, default=None,
                        help="dcgan: split the training images into K k-means clusters and let the noise pick "
                             "one (a latent space with a discrete part; default: none)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--gif", action="store_true", help="also write samples.gif (the grids over epochs)")


def cli_run(args: Any) -> int:
    """Train from the command line; exit status 0 done, 1 diverged, 2 bad arguments, 130 interrupted."""
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    given = {name: getattr(args, name) for name in _CLI_FIELDS if getattr(args, name) is not None}
    if args.no_tf32:
        given["tf32"] = False
    dataset = args.dataset or "mnist"
    try:
        out = Path(args.out) if args.out else default_out(RunConfig(model=args.model, dataset=dataset))
        if args.resume and ((out / checkpoint.LAST).exists() or (out / checkpoint.PREVIOUS).exists()):
            saved = checkpoint.load_latest(out)
            base = RunConfig.from_dict(saved["config"])  # type: ignore[index]
            if base.model != args.model:
                raise ValueError(f"{out} holds a {base.model!r} run, not {args.model!r}.")
            if args.dataset is not None:
                given["dataset"] = args.dataset
            cfg = replace(base, **given)
        else:
            cfg = RunConfig(model=args.model, dataset=dataset, **given)
        exp = Experiment(cfg, out, device=args.device, resume=args.resume)
    except (ValueError, checkpoint.CheckpointError) as err:
        print(f"error: {err}", flush=True)
        return 2
    print(f"training {cfg.model} on {cfg.dataset} ({cfg.epochs} epochs of {exp.steps_per_epoch} steps, "
          f"batch {cfg.batch_size}) on {exp.device}; writing to {exp.out}", flush=True)
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
    print(f"step {exp.step} (epoch {exp.epoch}): L_D {s['d_loss']:.3f}, L_G {s['g_loss']:.3f}, "
          f"D(x) {s['d_real']:.3f}, D(G(z)) {s['d_fake']:.3f} (means over the last epoch); "
          f"{exp.images_per_second:,.0f} images/s; checkpoint {exp.checkpoint_path}", flush=True)
    return 130 if exp.interrupted else 0
