"""Measuring an MNIST generator with a shipped classifier: digit histogram, classifier score, FID.

A GAN's losses do not say how good its samples are (D's loss measures D against today's G), so the samples
are looked at through a fixed network: a small CNN trained here once, deterministically, shipped in
``data/classifier/`` with its SHA-256 pinned, so that every learner's numbers come from the same weights.
With p(y|x) its softmax (y in 0..9) and f(x) its 128 penultimate features:

* digit histogram h_y = share of samples with argmax_y p(y|x) = y; KL(h || uniform) = sum_y h_y log(10 h_y);
* classifier score, after the Inception Score (Salimans et al. 2016): CS = exp(E_x KL(p(y|x) || p(y))),
  p(y) = E_x p(y|x); 1 when unsure or all one digit, at most 10 (confident *and* balanced);
* FID (Heusel et al. 2017, on these features instead of Inception's) = ||mu_g - mu_r||^2 +
  Tr(S_g + S_r - 2 (S_g S_r)^{1/2}) between Gaussians fitted to the features of generated and of
  the 60,000 real training images (statistics shipped, pinned). Lower is better; the 10,000 test
  images score the floor (FID is biased upwards at finite n).

CLI: ``python -m ganlib train-classifier`` (retrain, print the SHA-256s to pin); ``python -m ganlib.image_metrics
pretrained`` (write the shipped generators' metrics.json).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import config, data, files, latent, pretrained, theory

#: The shipped classifier and the FID reference (mean and covariance of its features over the 60,000 training
#: images), both written by ``python -m ganlib train-classifier`` with its defaults, and their SHA-256s.
CLASSIFIER_PATH: Path = config.DATA_DIR / "classifier" / "mnist_cnn.pt"
CLASSIFIER_SHA256 = "1fead77c43e7906b73676ceb6c4e36657148c9fbc106ab7a4fd813dd6234f9ad"
TRAIN_STATS_PATH: Path = config.DATA_DIR / "classifier" / "mnist_cnn_train_stats.npz"
TRAIN_STATS_SHA256 = "dac9ab6630e39d5c4fa77c13f9deaa6beefc9d724b3bef97157d231b164762ac"
NUM_CLASSES, FEATURE_DIM = 10, 128


class ChecksumError(ValueError):
    """A shipped file does not have the pinned SHA-256 (modified, truncated or retrained)."""


class MNISTClassifier(nn.Module):
    """A small CNN (241k parameters): (m, 1, 28, 28) in [-1, 1] -> (m, 10) logits. Three blocks Conv3x3-BN-ReLU-
    MaxPool2 (1 -> 32 -> 64 -> 128 channels; 28 -> 14 -> 7 -> 3 pixels), Linear(1152, 128)-ReLU (the 128
    features FID uses), Dropout(0.3)-Linear(128, 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(*(layer for a, b in ((1, 32), (32, 64), (64, 128)) for layer in (
            nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True), nn.MaxPool2d(2))))
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(128 * 3 * 3, FEATURE_DIM), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURE_DIM, NUM_CLASSES))

    def features(self, x: Tensor) -> Tensor:
        """Penultimate features f(x): (m, 1, 28, 28) -> (m, 128), non-negative (after ReLU)."""
        return self.fc(self.conv(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def _verified(path: Path, sha256: str, pin: str) -> Path:
    """``path`` if its bytes have SHA-256 ``sha256``; else FileNotFoundError / ChecksumError saying what to do."""
    if not path.exists():
        raise FileNotFoundError(f"{path.name} not found at {config.display_path(path)}. It ships with the course in "
                                f"data/classifier/: restore it from git or retrain with `python -m ganlib train-classifier`.")
    got = files.sha256_file(path)
    if got != sha256:
        raise ChecksumError(f"{config.display_path(path)} has SHA-256 {got}, but {sha256} is pinned as "
                            f"ganlib.image_metrics.{pin}: restore it from git, or pin the new value on purpose.")
    return path


@functools.cache
def load_classifier(device: str | torch.device | None = None, path: str | os.PathLike | None = None) -> MNISTClassifier:
    """The shipped classifier (eval mode, no gradients) on ``device``, cached; SHA-256 checked before loading."""
    model = MNISTClassifier()
    model.load_state_dict(torch.load(_verified(Path(path or CLASSIFIER_PATH), CLASSIFIER_SHA256, "CLASSIFIER_SHA256"),
                                     map_location="cpu", weights_only=True))
    return model.eval().requires_grad_(False).to(config.get_device(device))


def as_model_input(images: Tensor) -> Tensor:
    """Images (m, 1, 28, 28) as float32 in [-1, 1]: uint8 u (0..255) -> 2 u / 255 - 1; floats (G's outputs) as they are."""
    if not isinstance(images, Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"images must be a tensor of shape (m, 1, 28, 28); got {getattr(images, 'shape', images)!r}.")
    if images.dtype == torch.uint8:
        return images.float().div(255).mul(2).sub(1)
    if not images.is_floating_point():
        raise ValueError(f"images must be uint8 (0..255) or float in [-1, 1]; got dtype {images.dtype}.")
    return images.float()


@torch.no_grad()
def classify(images: Tensor, batch_size: int = 500, device: str | torch.device | None = None,
             classifier: MNISTClassifier | None = None) -> tuple[Tensor, Tensor]:
    """p(y|x) (N, 10) and f(x) (N, 128), float64 on the CPU, of images (N, 1, 28, 28) through ``classifier``
    (default: the shipped one on ``device``) in batches of ``batch_size`` on the classifier's device."""
    config.check_int("batch_size", batch_size)
    clf = classifier if classifier is not None else load_classifier(device)
    dev = next(clf.parameters()).device
    probs, feats = [], []
    for start in range(0, images.shape[0], batch_size):
        f = clf.features(as_model_input(images[start:start + batch_size]).to(dev))
        probs.append(F.softmax(clf.head(f), dim=1).double().cpu())
        feats.append(f.double().cpu())
    return torch.cat(probs), torch.cat(feats)


def _check_probs(probs: Tensor) -> Tensor:
    p = torch.as_tensor(probs).double()
    if p.dim() != 2 or p.shape[1] != NUM_CLASSES or p.shape[0] < 1:
        raise ValueError(f"probs must have shape (n, {NUM_CLASSES}) with n >= 1, got {tuple(p.shape)}.")
    return p


def digit_histogram(probs: Tensor) -> Tensor:
    """h_y = fraction of samples with argmax p(y|x) = y: (n, 10) probabilities -> (10,), sums to 1."""
    counts = torch.bincount(_check_probs(probs).argmax(dim=1), minlength=NUM_CLASSES).double()
    return counts / counts.sum()


def classifier_score(probs: Tensor, eps: float = 1e-12) -> float:
    """CS = exp(E_x KL(p(y|x) || p(y))), p(y) = E_x p(y|x): (n, 10) -> a number in [1, 10]."""
    p = _check_probs(probs)
    py = p.mean(dim=0, keepdim=True)
    kl = (p * (torch.log(p + eps) - torch.log(py + eps))).sum(dim=1)
    return float(torch.exp(kl.mean()))


def feature_statistics(features: Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and unbiased covariance (d, d), in float64, of features (n, d) with n >= 2."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"features must have shape (n, d) with n >= 2, got {f.shape}.")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}) between N(mu1, S1) and N(mu2, S2).

    Tr((S1 S2)^{1/2}) = Tr((S1^{1/2} S2 S1^{1/2})^{1/2}) (similar matrices): two symmetric eigen-
    decompositions, not a general ``sqrtm`` that returns complex noise when S1 S2 is near singular.
    """
    mu1, s1, mu2, s2 = (np.asarray(a, np.float64) for a in (mu1, sigma1, mu2, sigma2))
    if not (mu1.ndim == 1 and mu1.shape == mu2.shape and s1.shape == s2.shape == mu1.shape * 2):
        raise ValueError(f"shapes must be mu (d,), sigma (d, d) for both; got {[a.shape for a in (mu1, s1, mu2, s2)]}.")
    w, v = np.linalg.eigh((s1 + s1.T) / 2)
    r1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T                        # S1^{1/2}
    m = r1 @ s2 @ r1
    tr_covmean = float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum())
    diff = mu1 - mu2
    return max(0.0, float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_covmean))


@functools.cache
def reference_statistics() -> tuple[np.ndarray, np.ndarray]:
    """(mu (128,), Sigma (128, 128)) of the features of the 60,000 training images: the shipped, pinned file."""
    with np.load(_verified(TRAIN_STATS_PATH, TRAIN_STATS_SHA256, "TRAIN_STATS_SHA256"), allow_pickle=False) as z:
        return z["mu"], z["sigma"]


@functools.cache
def fid_floor(n: int = 10_000, device: str | torch.device | None = None) -> float:
    """FID of the first ``n`` MNIST *test* images: what real digits G never saw score (not 0) with n samples."""
    n = config.check_int("n", n, 2, 10_000)
    features = classify(data.load_mnist("test")[0][:n], batch_size=1000, device=device)[1]
    return frechet_distance(*feature_statistics(features), *reference_statistics())


@dataclass
class ImageMetrics:
    """The measures of one set of n images (see the module docstring for the formulas)."""

    n: int
    classifier_score: float
    fid: float
    fid_floor: float
    kl_from_uniform: float
    histogram: list[float]
    min_fraction: float   # the rarest digit's share of the samples
    max_fraction: float   # the commonest digit's share

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        hist = " ".join(f"{d}:{100 * h:.1f}%" for d, h in enumerate(self.histogram))
        return (f"n = {self.n}: classifier score {self.classifier_score:.2f} (max 10), FID {self.fid:.2f} "
                f"(floor {self.fid_floor:.2f}), KL(h || uniform) {self.kl_from_uniform:.4f}\n"
                f"  digit histogram  {hist}")


def evaluate_images(images: Tensor, batch_size: int = 500, device: str | torch.device | None = None) -> ImageMetrics:
    """All metrics for images (n, 1, 28, 28), uint8 in 0..255 or float in [-1, 1], n >= 2."""
    probs, feats = classify(images, batch_size=batch_size, device=device)
    hist = [float(h) for h in digit_histogram(probs)]
    return ImageMetrics(n=len(probs), classifier_score=classifier_score(probs),
                        fid=frechet_distance(*feature_statistics(feats), *reference_statistics()),
                        fid_floor=fid_floor(min(len(probs), 10_000), device),
                        kl_from_uniform=theory.grid_kl(hist, np.ones(NUM_CLASSES)),  # KL(h || uniform)
                        histogram=hist, min_fraction=min(hist), max_fraction=max(hist))


def evaluate_generator(G: nn.Module, n: int = 10_000, batch_size: int = 500, seed: int = 0) -> ImageMetrics:
    """All metrics on ``n`` samples G(z), z ~ N(0, I) drawn on G's device from a generator seeded by ``seed``;
    G runs in eval mode (BatchNorm uses its running statistics), and its mode is restored afterwards."""
    config.check_int("n", n, 2)
    dev = next(G.parameters()).device
    gen = torch.Generator(device=dev).manual_seed(int(seed))
    # z is drawn batch by batch: one draw of all n would give other numbers on a GPU.
    z = torch.cat([torch.randn(min(batch_size, n - i), G.z_dim, generator=gen, device=dev)
                   for i in range(0, n, batch_size)])
    was_training = G.training
    images = latent.generate(G.eval(), z, batch_size)
    G.train(was_training)
    return evaluate_images(images, batch_size, device=dev)


def random_shift(x: Tensor, max_shift: int, generator: torch.Generator) -> Tensor:
    """Shift each image (m, 1, H, W) by its own (dy, dx) in {-s..s}^2, filling with the background -1: pad by s
    with -1, then crop an H x W window at a random offset per image (one gather, no loop)."""
    (m, _, h, w), s = x.shape, max_shift
    padded = F.pad(x[:, 0], (s, s, s, s), value=-1.0)                     # (m, H + 2s, W + 2s)
    off = torch.randint(0, 2 * s + 1, (2, m), generator=generator)
    rows = (off[0][:, None] + torch.arange(h))[:, :, None]                 # (m, h, 1)
    cols = (off[1][:, None] + torch.arange(w))[:, None, :]                 # (m, 1, w)
    return padded[torch.arange(m)[:, None, None], rows, cols].unsqueeze(1)


def accuracy(model: MNISTClassifier, images: Tensor, labels: Tensor, batch_size: int = 1000) -> float:
    """Fraction of ``images`` (N, 1, 28, 28) whose predicted digit equals ``labels`` (N,); ``model`` in eval mode."""
    probs, _ = classify(images, batch_size=batch_size, classifier=model)
    return float((probs.argmax(1) == labels.cpu()).double().mean())


def train_classifier(epochs: int = 4, batch_size: int = 128, lr: float = 1e-3, max_shift: int = 2, seed: int = 0,
                     threads: int = 1, max_steps: int | None = None) -> MNISTClassifier:
    """Train ``MNISTClassifier`` on the 60,000 training images on the CPU; returned in eval mode.

    Adam(lr), cosine-decayed to 0, cross-entropy, random shifts of up to ``max_shift`` pixels. Deterministic
    algorithms, a fixed thread count and seeded generators for every draw (init, order, shifts, dropout): the
    same seed and threads on the same CPU type give the same weights. ``max_steps`` cuts each epoch short (tests)."""
    for name, value, low, high in (("epochs", epochs, 1, None), ("batch_size", batch_size, 1, None),
                                   ("seed", seed, 0, None), ("max_shift", max_shift, 0, 4), ("threads", threads, 1, None)):
        config.check_int(name, value, low, high)
    prev_det, prev_threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(seed)  # initial weights and dropout masks
        gen = torch.Generator().manual_seed(seed)  # data order and shifts
        images, labels = data.load_mnist("train")
        x_all = as_model_input(images)
        model = MNISTClassifier()  # in training mode
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        steps_per_epoch = x_all.shape[0] // batch_size
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
        steps = steps_per_epoch if max_steps is None else min(steps_per_epoch, config.check_int("max_steps", max_steps))
        for epoch in range(epochs):
            perm = torch.randperm(x_all.shape[0], generator=gen)
            losses = []
            for i in range(steps):
                idx = perm[i * batch_size:(i + 1) * batch_size]
                loss = F.cross_entropy(model(random_shift(x_all[idx], max_shift, gen)), labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                losses.append(float(loss.detach()))
            print(f"epoch {epoch + 1}/{epochs}: mean training loss {sum(losses) / len(losses):.4f}")
        return model.eval()
    finally:
        torch.use_deterministic_algorithms(prev_det)
        torch.set_num_threads(prev_threads)


def _write_json(path: str | os.PathLike, obj: Any) -> None:
    files.atomic_write(path, lambda f: f.write((json.dumps(obj, indent=1) + "\n").encode()))


def cli_add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m ganlib train-classifier``."""
    parser.add_argument("--epochs", type=int, default=4, help="passes over the 60,000 training images (default 4)")
    parser.add_argument("--batch-size", type=int, default=128, help="minibatch size (default 128)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate, cosine-decayed to 0 (default 1e-3)")
    parser.add_argument("--max-shift", type=int, default=2, help="random shift augmentation in pixels (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads, fixed for reproducibility (default 1)")
    parser.add_argument("--out", default=str(CLASSIFIER_PATH), help="weights file (default data/classifier/mnist_cnn.pt)")


def cli_run(args: argparse.Namespace) -> int:
    """Train; write weights, FID reference and a JSON record; print the SHA-256s. 0 if test accuracy >= 99.3 %."""
    t0 = time.time()
    settings = {k: getattr(args, k) for k in ("epochs", "batch_size", "lr", "max_shift", "seed", "threads")}
    model = train_classifier(**settings)
    acc = accuracy(model, *data.load_mnist("test"))
    out = Path(args.out)
    files.atomic_save(model.state_dict(), out)
    # The FID reference: feature statistics of the training images under *these* weights.
    mu, sigma = feature_statistics(classify(data.load_mnist("train")[0], batch_size=1000, classifier=model)[1])
    stats = out.with_name(out.stem + "_train_stats.npz")
    files.atomic_write(stats, lambda f: np.savez(f, mu=mu, sigma=sigma))
    sha, stats_sha = files.sha256_file(out), files.sha256_file(stats)
    _write_json(out.with_suffix(".json"), {
        "file": out.name, "sha256": sha, "train_stats_file": stats.name, "train_stats_sha256": stats_sha,
        "test_accuracy": acc, **settings, "torch": torch.__version__, "train_seconds": round(time.time() - t0, 1)})
    print(f"test accuracy {acc:.4f} on the 10,000 MNIST test images")
    print(f"wrote {out.name} (SHA-256 {sha}), {stats.name} (SHA-256 {stats_sha}) and {out.with_suffix('.json').name}")
    return 0 if acc >= 0.993 else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m ganlib.image_metrics pretrained [--n N] [--seed S] [--device D] [--out FILE]``: the shipped
    generators' ``ImageMetrics`` (N samples, z seeded by S), how each was trained, and the classifier, as JSON."""
    e = argparse.ArgumentParser(prog="python -m ganlib.image_metrics")
    e.add_argument("command", choices=["pretrained"], help="measure the shipped generators, write metrics.json")
    e.add_argument("--n", type=int, default=10_000, help="samples per generator (default 10,000)")
    e.add_argument("--seed", type=int, default=0, help="seed of the noise z (default 0)")
    e.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    e.add_argument("--out", default=str(config.DATA_DIR / "pretrained" / "metrics.json"))
    args = e.parse_args(argv)
    try:
        n = config.check_int("n", args.n, 2)
        seed = config.check_int("seed", args.seed, 0)
        dev = config.get_device(args.device)
    except ValueError as err:
        print(f"error: {err}")
        return 2
    res: dict[str, Any] = {
        "n_samples": n, "seed": seed, "device": str(dev), "torch": torch.__version__,
        "classifier": {"file": CLASSIFIER_PATH.name, "sha256": CLASSIFIER_SHA256,
                       "test_accuracy": accuracy(load_classifier(dev), *data.load_mnist("test"))},
        "fid_floor_test_vs_train": fid_floor(min(n, 10_000), dev), "generators": {}}
    for name in ("mlp", "dcgan", "dcgan-clusters"):
        m = evaluate_generator(pretrained.load_generator(name, device=dev), n=n, seed=seed)
        res["generators"][name] = {"generator_sha256": pretrained.SHA256[name], "training": pretrained.info(name),
                                   **m.to_dict()}
        print(f"{name}: classifier score {m.classifier_score:.3f}, FID {m.fid:.3f} (floor {m.fid_floor:.3f})")
    _write_json(args.out, res)
    print(f"wrote {config.display_path(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
