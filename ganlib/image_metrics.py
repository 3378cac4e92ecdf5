"""Measuring an MNIST generator with a shipped classifier: digit histogram, classifier score, FID.

A GAN's losses do not say how good its samples are (seed 001 lists "hard to evaluate" among
GANs' three limits). The usual answer is to look at the samples through a fixed, pretrained
network. For 28x28 digits that network is a small CNN trained here once, deterministically, and
shipped in ``data/classifier/`` with its SHA-256 pinned below, so every learner's numbers are
computed by the same weights and can be compared.

With p(y|x) the classifier's softmax for an image x (y in 0..9) and f(x) its penultimate
features (128 numbers):

* digit histogram (mode coverage): h_y = fraction of samples whose argmax_y p(y|x) is y, and
  KL(h || uniform) = sum_y h_y log(10 h_y) (0 when every digit is equally frequent; log 10 when
  one digit takes all);
* classifier score, in the manner of the Inception Score (Salimans et al. 2016):
  CS = exp(E_x KL(p(y|x) || p(y))) with p(y) = E_x p(y|x). It is 1 when the classifier is
  unsure or all samples are one digit, and at most 10 (confident *and* balanced);
* Frechet distance (FID, Heusel et al. 2017, here on this classifier's features rather than
  Inception's): fit Gaussians N(mu_g, S_g), N(mu_r, S_r) to the features of generated and real
  images; FID = ||mu_g - mu_r||^2 + Tr(S_g + S_r - 2 (S_g S_r)^{1/2}). Lower is better. The real
  reference is the 60,000 training images; the FID of the 10,000 *test* images against it is the
  floor a perfect generator would reach with 10,000 samples (FID is biased upwards at finite n).

All metrics run in batches on the training device, on 10,000 samples by default.

CLI: ``python -m ganlib train-classifier`` retrains the classifier (4 epochs on one CPU thread;
minutes on an idle machine) and prints the SHA-256 to pin in ``CLASSIFIER_SHA256``.
``python -m ganlib.image_metrics pretrained`` measures the shipped generators
(``ganlib.pretrained``) on 10,000 samples each and writes ``data/pretrained/metrics.json``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import config

Tensor = torch.Tensor

#: Where the shipped classifier lives, and the SHA-256 of that file's bytes. Produced by
#: ``python -m ganlib train-classifier`` (defaults: seed 0, 4 epochs, 1 CPU thread).
CLASSIFIER_PATH: Path = config.DATA_DIR / "classifier" / "mnist_cnn.pt"
CLASSIFIER_SHA256 = "1fead77c43e7906b73676ceb6c4e36657148c9fbc106ab7a4fd813dd6234f9ad"
#: Mean and covariance of the classifier's features over the 60,000 training images (the FID
#: reference), written by the same command, and the SHA-256 of that file.
TRAIN_STATS_PATH: Path = config.DATA_DIR / "classifier" / "mnist_cnn_train_stats.npz"
TRAIN_STATS_SHA256 = "dac9ab6630e39d5c4fa77c13f9deaa6beefc9d724b3bef97157d231b164762ac"
#: Real-data feature statistics are cached here (git-ignored); recomputed when missing.
CACHE_DIR: Path = config.DATA_DIR / "cache"

NUM_CLASSES = 10
FEATURE_DIM = 128


class ChecksumError(ValueError):
    """A weights file does not have the pinned SHA-256 (modified, truncated or retrained)."""


# ----------------------------------------------------------------------------------- the model
class MNISTClassifier(nn.Module):
    """A small CNN for 28x28 digits: (m, 1, 28, 28) in [-1, 1] -> (m, 10) logits.

    Three blocks Conv3x3-BN-ReLU-MaxPool2 (1 -> 32 -> 64 -> 128 channels; 28 -> 14 -> 7 -> 3
    pixels), then Linear(1152, 128)-ReLU: the 128 penultimate features used by FID, then
    Dropout(0.3)-Linear(128, 10). About 241k parameters (0.97 MB in float32).
    Inputs use the generators' range [-1, 1] (``data.DeviceBatches``: x = 2 u / 255 - 1).
    """

    def __init__(self) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                    nn.ReLU(inplace=True), nn.MaxPool2d(2)]

        self.conv = nn.Sequential(*block(1, 32), *block(32, 64), *block(64, 128))
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(128 * 3 * 3, FEATURE_DIM), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURE_DIM, NUM_CLASSES))

    def features(self, x: Tensor) -> Tensor:
        """Penultimate features f(x): (m, 1, 28, 28) -> (m, 128), non-negative (after ReLU)."""
        return self.fc(self.conv(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


# ----------------------------------------------------------------------------------- loading
def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_CACHE: dict[tuple[str, str], MNISTClassifier] = {}


def load_classifier(device: str | torch.device | None = None, path: str | os.PathLike | None = None,
                    sha256: str | None = None) -> MNISTClassifier:
    """The shipped classifier in eval mode on ``device`` (default ``config.get_device()``).

    The file's SHA-256 must equal ``sha256`` (default: the pinned ``CLASSIFIER_SHA256``) before
    anything is unpickled; it is then read with ``torch.load(weights_only=True)``. A mismatch
    raises ``ChecksumError`` (a ``ValueError``); a missing file raises ``FileNotFoundError``.
    Loaded models are cached per (path, device).
    """
    dev = config.get_device(None if device is None else str(device))
    p = Path(path) if path is not None else CLASSIFIER_PATH
    want = CLASSIFIER_SHA256 if sha256 is None else str(sha256).lower()
    key = (str(p.resolve()), str(dev))
    if key in _CACHE and sha256 is None:
        return _CACHE[key]
    if not p.exists():
        raise FileNotFoundError(
            f"classifier weights not found at {p}. They ship with the course in data/classifier/; "
            f"restore them from git or retrain with `python -m ganlib train-classifier`.")
    got = sha256_file(p)
    if got != want:
        raise ChecksumError(
            f"classifier weights {p} have SHA-256 {got}, but {want} is pinned "
            f"(ganlib.image_metrics.CLASSIFIER_SHA256). The file was changed or retrained: restore "
            f"it from git so that metrics stay comparable, or pin the new value if you retrained "
            f"on purpose.")
    state = torch.load(p, map_location="cpu", weights_only=True)
    model = MNISTClassifier()
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    model.eval().requires_grad_(False).to(dev)
    _CACHE[key] = model
    return model


# ----------------------------------------------------------------------------------- inputs
def as_model_input(images: Tensor) -> Tensor:
    """Images as the classifier expects them: float32 (m, 1, 28, 28) in [-1, 1].

    uint8 images (0..255, as ``data.load_mnist`` returns) are mapped by 2 u / 255 - 1; float
    images are taken to be in [-1, 1] already (generator outputs); flat (m, 784) rows are reshaped.
    """
    if not isinstance(images, Tensor):
        raise ValueError(f"images must be a torch.Tensor, got {type(images).__name__}.")
    if images.dim() == 2 and images.shape[1] == 784:
        images = images.reshape(-1, 1, 28, 28)
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"images must have shape (m, 1, 28, 28) or (m, 784); got {tuple(images.shape)}.")
    if images.dtype == torch.uint8:
        return images.float().div(255).mul(2).sub(1)
    if not images.is_floating_point():
        raise ValueError(f"images must be uint8 (0..255) or float in [-1, 1]; got dtype {images.dtype}.")
    return images.float()


@torch.no_grad()
def classify(images: Tensor | Callable[[int], Tensor], n: int | None = None, batch_size: int = 500,
             device: str | torch.device | None = None,
             classifier: MNISTClassifier | None = None) -> tuple[Tensor, Tensor]:
    """Softmax probabilities p(y|x) (n, 10) and penultimate features f(x) (n, 128), on the CPU.

    ``images`` is a tensor (N, 1, 28, 28) (all N are used unless ``n`` is given) or a function
    ``sample(m) -> (m, 1, 28, 28)`` called until ``n`` images were seen (e.g. a generator).
    Batches of ``batch_size`` run on ``device`` (default: the classifier's / training device).
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}.")
    clf = classifier if classifier is not None else load_classifier(device)
    dev = next(clf.parameters()).device
    if callable(images) and not isinstance(images, Tensor):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an int >= 1 when images is a sampling function, got {n!r}.")
        sample = images
    else:
        total = images.shape[0] if isinstance(images, Tensor) else 0
        n = total if n is None else n
        if not isinstance(n, int) or not 1 <= n <= total:
            raise ValueError(f"n must be an int in [1, {total}] (the number of images given), got {n!r}.")
        pos = [0]

        def sample(m: int) -> Tensor:
            out = images[pos[0]:pos[0] + m]
            pos[0] += m
            return out
    probs, feats = [], []
    seen = 0
    while seen < n:
        m = min(batch_size, n - seen)
        x = as_model_input(sample(m)).to(dev)
        f = clf.features(x)
        probs.append(F.softmax(clf.head(f), dim=1).double().cpu())
        feats.append(f.double().cpu())
        seen += m
    return torch.cat(probs), torch.cat(feats)


# ----------------------------------------------------------------------------------- metrics
def digit_histogram(probs: Tensor) -> Tensor:
    """h_y = fraction of samples with argmax p(y|x) = y: (n, 10) probabilities -> (10,), sums to 1."""
    probs = _check_probs(probs)
    counts = torch.bincount(probs.argmax(dim=1), minlength=NUM_CLASSES).double()
    return counts / counts.sum()


def kl_from_uniform(hist: Tensor) -> float:
    """KL(h || U) = sum_y h_y log(h_y / (1/K)) with 0 log 0 = 0; 0 for a uniform h, log K for one class."""
    h = torch.as_tensor(hist, dtype=torch.float64).flatten()
    if h.numel() < 1 or bool((h < 0).any()) or abs(float(h.sum()) - 1) > 1e-6:
        raise ValueError("hist must be a non-negative vector of fractions summing to 1.")
    k = h.numel()
    nz = h > 0
    return float((h[nz] * torch.log(h[nz] * k)).sum())


def classifier_score(probs: Tensor, eps: float = 1e-12) -> float:
    """CS = exp(E_x KL(p(y|x) || p(y))), p(y) = E_x p(y|x): (n, 10) -> a number in [1, 10]."""
    p = _check_probs(probs)
    py = p.mean(dim=0, keepdim=True)
    kl = (p * (torch.log(p + eps) - torch.log(py + eps))).sum(dim=1)
    return float(torch.exp(kl.mean()))


def feature_statistics(features: Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and unbiased covariance (d, d), in float64, of features (n, d) with n >= 2."""
    f = features.detach().cpu().double().numpy() if isinstance(features, Tensor) else np.asarray(features, np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"features must have shape (n, d) with n >= 2, got {f.shape}.")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrt_psd(a: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (eigenvalues clipped at 0)."""
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}) between N(mu1, S1) and N(mu2, S2).

    Tr((S1 S2)^{1/2}) is computed as Tr((S1^{1/2} S2 S1^{1/2})^{1/2}) (the same eigenvalues, since
    the two matrices are similar), whose argument is symmetric PSD: two symmetric eigen-
    decompositions in float64 instead of a general ``sqrtm`` that can return complex noise when
    S1 S2 is near singular.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"need mu1, mu2 of shape (d,) and sigma1, sigma2 of shape (d, d); got "
                         f"{mu1.shape}, {s1.shape}, {mu2.shape}, {s2.shape}.")
    r1 = _sqrt_psd(s1)
    m = r1 @ s2 @ r1
    tr_covmean = float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum())
    diff = mu1 - mu2
    return max(0.0, float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_covmean))


def _check_probs(probs: Tensor) -> Tensor:
    p = torch.as_tensor(probs).double()
    if p.dim() != 2 or p.shape[1] != NUM_CLASSES or p.shape[0] < 1:
        raise ValueError(f"probs must have shape (n, {NUM_CLASSES}) with n >= 1, got {tuple(p.shape)}.")
    return p


# ----------------------------------------------------------------------------------- references
_STATS: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def compute_reference_statistics(split: str = "train", device: str | torch.device | None = None
                                 ) -> tuple[np.ndarray, np.ndarray]:
    """(mu (128,), Sigma (128, 128)) of the classifier features of every real MNIST image of ``split``."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    from . import data
    images, _ = data.load_mnist(split)
    _, feats = classify(images, batch_size=1000, device=device)
    return feature_statistics(feats)


def save_statistics(mu: np.ndarray, sigma: np.ndarray, path: str | os.PathLike) -> str:
    """Write (mu, sigma) to an .npz atomically; return its SHA-256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, mu=np.asarray(mu, np.float64), sigma=np.asarray(sigma, np.float64))
    os.replace(tmp, path)
    return sha256_file(path)


def _read_statistics(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            mu, sigma = z["mu"], z["sigma"]
    except (OSError, KeyError, ValueError):
        return None
    if mu.shape != (FEATURE_DIM,) or sigma.shape != (FEATURE_DIM, FEATURE_DIM):
        return None
    return mu, sigma


def reference_statistics(split: str = "train", device: str | torch.device | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(mu, Sigma) of the classifier features of all real MNIST images of ``split``.

    The training-set statistics ship beside the classifier (``TRAIN_STATS_PATH``, SHA-256 pinned
    in ``TRAIN_STATS_SHA256``), so FID needs no pass over the 60,000 images. Otherwise (the test
    split, or a missing/changed file) they are computed once and cached in
    ``data/cache/mnist_<split>_features_<sha[:12]>.npz``, keyed by the classifier's SHA-256 so that a
    retrained classifier never reuses stale statistics.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    key = f"mnist_{split}_features_{CLASSIFIER_SHA256[:12]}"
    if key in _STATS:
        return _STATS[key]
    stats = None
    if split == "train" and TRAIN_STATS_PATH.exists() and sha256_file(TRAIN_STATS_PATH) == TRAIN_STATS_SHA256:
        stats = _read_statistics(TRAIN_STATS_PATH)
    cached = CACHE_DIR / f"{key}.npz"
    if stats is None and cached.exists():
        stats = _read_statistics(cached)  # a damaged cache file is simply recomputed
    if stats is None:
        stats = compute_reference_statistics(split, device)
        try:
            save_statistics(*stats, cached)
        except OSError:
            pass  # a read-only data folder still works; it just recomputes next session
    _STATS[key] = stats
    return stats


_TEST_FEATURES: dict[str, Tensor] = {}


def fid_floor(n: int = 10_000, device: str | torch.device | None = None) -> float:
    """FID of the first ``n`` MNIST *test* images against the training-set statistics.

    Real digits the generator never saw score this, not 0: it is the best a generator can hope
    for with ``n`` samples (FID's estimate is biased upwards at finite n). The test features are
    computed once per session.
    """
    if not isinstance(n, int) or isinstance(n, bool) or not 2 <= n <= 10_000:
        raise ValueError(f"n must be an int in [2, 10000] (the test set size), got {n!r}.")
    if CLASSIFIER_SHA256 not in _TEST_FEATURES:
        from . import data
        images, _ = data.load_mnist("test")
        _TEST_FEATURES[CLASSIFIER_SHA256] = classify(images, batch_size=1000, device=device)[1]
    feats = _TEST_FEATURES[CLASSIFIER_SHA256][:n]
    return frechet_distance(*feature_statistics(feats), *reference_statistics("train", device))


@dataclass
class ImageMetrics:
    """The measures of one set of n images (see the module docstring for the formulas)."""

    n: int
    classifier_score: float
    fid: float
    fid_floor: float
    kl_from_uniform: float
    histogram: list[float]

    @property
    def min_fraction(self) -> float:
        return min(self.histogram)

    @property
    def max_fraction(self) -> float:
        return max(self.histogram)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["min_fraction"], d["max_fraction"] = self.min_fraction, self.max_fraction
        return d

    def __str__(self) -> str:
        hist = " ".join(f"{d}:{100 * h:.1f}%" for d, h in enumerate(self.histogram))
        return (f"n = {self.n}: classifier score {self.classifier_score:.2f} (max 10), "
                f"FID {self.fid:.2f} (floor {self.fid_floor:.2f}), KL(h || uniform) "
                f"{self.kl_from_uniform:.4f}\n  digit histogram  {hist}")


def evaluate_images(images: Tensor | Callable[[int], Tensor], n: int | None = None, batch_size: int = 500,
                    device: str | torch.device | None = None) -> ImageMetrics:
    """All metrics for a tensor of images (N, 1, 28, 28) or a sampler ``sample(m)`` (then ``n`` is needed)."""
    probs, feats = classify(images, n=n, batch_size=batch_size, device=device)
    hist = digit_histogram(probs)
    fid = frechet_distance(*feature_statistics(feats), *reference_statistics("train", device))
    return ImageMetrics(n=int(probs.shape[0]), classifier_score=classifier_score(probs), fid=fid,
                        fid_floor=fid_floor(min(int(probs.shape[0]), 10_000), device),
                        kl_from_uniform=kl_from_uniform(hist), histogram=[float(h) for h in hist])


@torch.no_grad()
def generator_sampler(G: nn.Module, seed: int = 0, z_dim: int | None = None) -> Callable[[int], Tensor]:
    """``sample(m) -> G(z)`` with z ~ N(0, I) from a generator seeded with ``seed`` on G's device, G in eval mode."""
    dev = next(G.parameters()).device
    zd = int(z_dim if z_dim is not None else getattr(G, "z_dim"))
    gen = torch.Generator(device=dev)
    gen.manual_seed(int(seed))

    @torch.no_grad()
    def sample(m: int) -> Tensor:
        return G(torch.randn(m, zd, generator=gen, device=dev))

    return sample


def evaluate_generator(G: nn.Module, n: int = 10_000, batch_size: int = 500, seed: int = 0) -> ImageMetrics:
    """All metrics on ``n`` samples G(z), z ~ N(0, I) seeded by ``seed``, on G's device.

    G is put in eval mode (BatchNorm uses its running statistics) and restored afterwards.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}.")
    was_training = G.training
    G.eval()
    try:
        dev = next(G.parameters()).device
        return evaluate_images(generator_sampler(G, seed), n=n, batch_size=batch_size, device=dev)
    finally:
        G.train(was_training)


# ----------------------------------------------------------------------------------- training
def random_shift(x: Tensor, max_shift: int, generator: torch.Generator) -> Tensor:
    """Shift each image by its own (dy, dx) in {-s..s}^2, filling with the background (-1).

    Pads by s with -1 and crops a 28x28 window at a random offset per image, by gathering with
    index tensors (no loop, no torchvision). (m, 1, H, W) -> (m, 1, H, W).
    """
    if max_shift == 0:
        return x
    m, c, h, w = x.shape
    s = max_shift
    padded = F.pad(x, (s, s, s, s), value=-1.0)
    off = torch.randint(0, 2 * s + 1, (2, m), generator=generator)
    rows = (off[0][:, None] + torch.arange(h))[:, :, None]         # (m, h, 1)
    cols = (off[1][:, None] + torch.arange(w))[:, None, :]         # (m, 1, w)
    idx = torch.arange(m)[:, None, None]
    return padded[:, 0][idx, rows, cols].unsqueeze(1) if c == 1 else \
        torch.stack([padded[:, k][idx, rows, cols] for k in range(c)], dim=1)


@torch.no_grad()
def accuracy(model: nn.Module, images: Tensor, labels: Tensor, batch_size: int = 1000) -> float:
    """Fraction of ``images`` (N, 1, 28, 28) whose argmax logit equals ``labels`` (N,)."""
    was = model.training
    model.eval()
    dev = next(model.parameters()).device
    correct = 0
    for i in range(0, images.shape[0], batch_size):
        logits = model(as_model_input(images[i:i + batch_size]).to(dev))
        correct += int((logits.argmax(1).cpu() == labels[i:i + batch_size]).sum())
    model.train(was)
    return correct / images.shape[0]


def train_classifier(epochs: int = 4, batch_size: int = 128, lr: float = 1e-3, max_shift: int = 2,
                     seed: int = 0, threads: int | None = 1, max_steps: int | None = None,
                     log: Callable[[str], None] = print) -> MNISTClassifier:
    """Train ``MNISTClassifier`` on the 60,000 MNIST training images, deterministically, on the CPU.

    Adam(lr) with a cosine decay to 0 over all steps, cross-entropy, random shifts of up to
    ``max_shift`` pixels. Determinism: ``torch.use_deterministic_algorithms(True)``, a fixed
    number of CPU threads, every random draw (init, data order, shifts, dropout) from seeded
    generators. The same seed and thread count on the same CPU type give the same bytes.
    The test set is not used here (evaluate it afterwards with ``accuracy``). ``max_steps`` stops
    early (for tests of the determinism itself).
    """
    from . import data
    for name, v in (("epochs", epochs), ("batch_size", batch_size), ("seed", seed)):
        if not isinstance(v, int) or isinstance(v, bool) or v < (0 if name == "seed" else 1):
            raise ValueError(f"{name} must be an int >= {0 if name == 'seed' else 1}, got {v!r}.")
    if not isinstance(max_shift, int) or not 0 <= max_shift <= 4:
        raise ValueError(f"max_shift must be an int in [0, 4], got {max_shift!r}.")
    prev_det, prev_threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        torch.manual_seed(seed)  # initial weights and dropout masks
        gen = torch.Generator().manual_seed(seed)  # data order and shifts
        images, labels = data.load_mnist("train")
        x_all = as_model_input(images)
        model = MNISTClassifier()
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        n = x_all.shape[0]
        steps_per_epoch = n // batch_size
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
        model.train()
        for epoch in range(epochs):
            t0 = time.time()
            perm = torch.randperm(n, generator=gen)
            total, correct, loss_sum = 0, 0, 0.0
            for i in range(steps_per_epoch):
                if max_steps is not None and epoch * steps_per_epoch + i >= max_steps:
                    break
                idx = perm[i * batch_size:(i + 1) * batch_size]
                xb = random_shift(x_all[idx], max_shift, gen)
                yb = labels[idx]
                logits = model(xb)
                loss = F.cross_entropy(logits, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += float(loss.detach()) * len(idx)
                correct += int((logits.argmax(1) == yb).sum())
                total += len(idx)
                if (i + 1) % 100 == 0:
                    log(f"  step {i + 1}/{steps_per_epoch}: running loss {loss_sum / total:.4f}")
            if total == 0:
                break
            log(f"epoch {epoch + 1}/{epochs}: loss {loss_sum / total:.4f}, train accuracy "
                f"{correct / total:.4f} (shifted), {time.time() - t0:.0f} s")
        model.eval()
        return model
    finally:
        torch.use_deterministic_algorithms(prev_det)
        torch.set_num_threads(prev_threads)


def save_classifier(model: MNISTClassifier, path: str | os.PathLike) -> str:
    """Write the float32 state dict atomically; return the file's SHA-256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return sha256_file(path)


def cli_add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m ganlib train-classifier``."""
    parser.add_argument("--epochs", type=int, default=4, help="passes over the 60,000 training images (default 4)")
    parser.add_argument("--batch-size", type=int, default=128, help="minibatch size (default 128)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate, cosine-decayed to 0 (default 1e-3)")
    parser.add_argument("--max-shift", type=int, default=2, help="random shift augmentation in pixels (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads; fixed so that the result is reproducible (default 1)")
    parser.add_argument("--out", default=str(CLASSIFIER_PATH),
                        help="where to write the weights (default data/classifier/mnist_cnn.pt)")


def cli_run(args: argparse.Namespace) -> int:
    """Train on the CPU, report test accuracy, write weights + a JSON record, print the SHA-256."""
    from . import data
    t0 = time.time()
    model = train_classifier(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                             max_shift=args.max_shift, seed=args.seed, threads=args.threads)
    test_x, test_y = data.load_mnist("test")
    acc = accuracy(model, test_x, test_y)
    out = Path(args.out)
    sha = save_classifier(model, out)
    # The FID reference: feature statistics of the training images under *these* weights.
    model_dev = model.to("cpu").eval()
    _, feats = classify(data.load_mnist("train")[0], batch_size=1000, classifier=model_dev)
    stats_path = out.with_name(out.stem + "_train_stats.npz")
    stats_sha = save_statistics(*feature_statistics(feats), stats_path)
    record = {"file": out.name, "sha256": sha, "train_stats_file": stats_path.name,
              "train_stats_sha256": stats_sha, "test_accuracy": acc, "epochs": args.epochs,
              "batch_size": args.batch_size, "lr": args.lr, "max_shift": args.max_shift,
              "seed": args.seed, "threads": args.threads, "torch": torch.__version__,
              "train_seconds": round(time.time() - t0, 1)}
    meta = out.with_suffix(".json")
    tmp = meta.with_name(f"{meta.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, meta)
    print(f"test accuracy {acc:.4f} on the 10,000 MNIST test images")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) and {meta.name}")
    print(f"SHA-256 {sha}")
    print(f"wrote {stats_path.name} (FID reference statistics), SHA-256 {stats_sha}")
    if sha != CLASSIFIER_SHA256 and out.resolve() == CLASSIFIER_PATH.resolve():
        print("This differs from the pinned CLASSIFIER_SHA256 in ganlib/image_metrics.py: pin the new "
              "value only if you mean to replace the shipped classifier (everyone's metrics change).")
    return 0 if acc >= 0.993 else 1


# ----------------------------------------------------------------------------------- shipped generators
def pretrained_metrics(names: tuple[str, ...] = ("mlp", "dcgan", "dcgan-clusters"), n: int = 10_000, seed: int = 0,
                       device: str | torch.device | None = None) -> dict[str, Any]:
    """Measure the shipped generators (``ganlib.pretrained``) on ``n`` samples each, z seeded by ``seed``.

    Returns a JSON-ready dict: the classifier's identity and test accuracy, the FID floor, and per
    generator its ``ImageMetrics`` plus how it was trained (``pretrained.info``).
    """
    from . import data, pretrained
    dev = config.get_device(None if device is None else str(device))
    test_x, test_y = data.load_mnist("test")
    out: dict[str, Any] = {
        "n_samples": n, "seed": seed, "device": str(dev), "torch": torch.__version__,
        "classifier": {"file": CLASSIFIER_PATH.name, "sha256": CLASSIFIER_SHA256,
                       "test_accuracy": accuracy(load_classifier(dev), test_x, test_y)},
        "fid_floor_test_vs_train": fid_floor(min(n, 10_000), dev),
        "generators": {},
    }
    for name in names:
        G = pretrained.load_generator(name, device=dev)
        m = evaluate_generator(G, n=n, seed=seed)
        out["generators"][name] = {"generator_sha256": pretrained.SHA256[name], "training": pretrained.info(name),
                                   **m.to_dict()}
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m ganlib.image_metrics pretrained [--n N] [--out FILE]``: write the shipped generators' metrics."""
    p = argparse.ArgumentParser(prog="python -m ganlib.image_metrics")
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("pretrained", help="measure the shipped generators and write data/pretrained/metrics.json")
    e.add_argument("--n", type=int, default=10_000, help="samples per generator (default 10,000)")
    e.add_argument("--seed", type=int, default=0, help="seed of the noise z (default 0)")
    e.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    e.add_argument("--out", default=str(config.DATA_DIR / "pretrained" / "metrics.json"))
    args = p.parse_args(argv)
    if args.n < 2 or args.seed < 0:
        print(f"error: --n must be >= 2 and --seed >= 0; got --n {args.n}, --seed {args.seed}.")
        return 2
    try:
        res = pretrained_metrics(n=args.n, seed=args.seed, device=args.device)
    except ValueError as err:  # e.g. an unknown or unavailable --device
        print(f"error: {err}")
        return 2
    out = Path(args.out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(res, indent=1) + "\n")
    os.replace(tmp, out)
    print(f"FID floor (test vs train, n = {args.n}): {res['fid_floor_test_vs_train']:.3f}")
    for name, r in res["generators"].items():
        print(f"{name}: classifier score {r['classifier_score']:.3f}, FID {r['fid']:.3f}, KL {r['kl_from_uniform']:.4f}, "
              f"digits {100 * r['min_fraction']:.1f}-{100 * r['max_fraction']:.1f} %")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
