"""Checkpoints that survive crashes, interrupts and diverged runs.

A checkpoint is one ``torch.save`` file holding only tensors and plain Python values (dicts,
lists, str, int, float, bool, None), so it loads with ``torch.load(weights_only=True)``: loading
never runs code from the file. Its layout::

    {"format": "ganlib-checkpoint", "version": 1,
     "trainer": GANTrainer.state_dict()   # G, D, both optimizers, History, step, noise + data RNG
     "config":  {...},                    # the run's settings (RunConfig as a dict)
     "fixed_z": (n, z_dim) tensor,        # the evaluation noise of the sample grids
     "meta":    {...}}                    # epoch, device, torch version, wall time, ...

Writing is atomic (``save``): the bytes go to a temporary file in the same folder, are flushed to
disk (``fsync``), and only then ``os.replace`` puts them in place, so a crash or a full disk
mid-write leaves the previous checkpoint as it was. Before the new file replaces ``last.pt``,
the old one is kept as ``last.prev.pt`` (hard link or copy), so one older state always survives.

A state with a NaN or infinite value in any floating tensor (a diverged run) is refused both when
saving and when loading (``CheckpointError``, a ``ValueError``), naming the first bad entry.
"""
from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import torch

FORMAT = "ganlib-checkpoint"
VERSION = 1
#: File names inside a run folder.
LAST = "last.pt"
PREVIOUS = "last.prev.pt"


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, of another format, or holds non-finite values."""


# --------------------------------------------------------------------------- validation
def _walk(obj: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (path, leaf) for every leaf of nested dicts / lists / tuples."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, f"{path}[{k!r}]" if path else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, obj


def find_non_finite(state: Any) -> str | None:
    """Return the path of the first NaN/inf in any floating tensor or float of ``state``, else None.

    Integer and byte tensors (step counters, RNG states) cannot hold NaN and are skipped.
    """
    for path, leaf in _walk(state):
        if isinstance(leaf, torch.Tensor):
            if (leaf.is_floating_point() or leaf.is_complex()) and leaf.numel() and \
                    not bool(torch.isfinite(leaf).all()):
                return path
        elif isinstance(leaf, float) and not math.isfinite(leaf):
            return path
    return None


#: Leaf types ``torch.load(weights_only=True)`` reads back without any allow-list.
_PLAIN = (str, int, float, bool, type(None))


def find_unsafe(state: Any) -> str | None:
    """Return the path of the first leaf that ``weights_only=True`` would refuse (not a tensor or plain value)."""
    for path, leaf in _walk(state):
        if not (isinstance(leaf, torch.Tensor) or type(leaf) in _PLAIN):
            return f"{path} ({type(leaf).__module__}.{type(leaf).__qualname__})"
    return None


def _check_finite(state: Any, where: str) -> None:
    bad = find_non_finite(state)
    if bad is not None:
        raise CheckpointError(
            f"{where} holds a NaN or infinite value at {bad}: it comes from a diverged run (or the "
            f"file is corrupt), so it is refused. Resume from the previous checkpoint "
            f"({PREVIOUS}) or start again with a smaller learning rate.")


def _check_payload(payload: Any, where: str) -> None:
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{where} is not a ganlib checkpoint (no 'format': {FORMAT!r} entry).")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{where} has checkpoint version {payload.get('version')!r}; "
                              f"this ganlib reads version {VERSION}.")
    for key in ("trainer", "config", "meta"):
        if not isinstance(payload.get(key), dict):
            raise CheckpointError(f"{where} lacks its {key!r} section; the file is incomplete.")


# --------------------------------------------------------------------------- writing
def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically: temp file in the same folder, fsync, ``os.replace``.

    If anything fails before the final rename (serialisation error, full disk, interrupt), the
    temporary file is removed and whatever was at ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _keep_previous(path: Path, backup: Path) -> None:
    """Make ``backup`` a copy of ``path`` (hard link if possible) without ever leaving ``path`` absent."""
    tmp = backup.with_name(f".{backup.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(path, tmp)
    except OSError:  # file systems without hard links
        shutil.copy2(path, tmp)
    os.replace(tmp, backup)


def save(path: str | Path, trainer_state: dict[str, Any], config: dict[str, Any],
         fixed_z: torch.Tensor | None = None, meta: dict[str, Any] | None = None,
         keep_previous: bool = True) -> Path:
    """Write a checkpoint atomically; the file already at ``path`` becomes ``last.prev.pt`` beside it.

    Args:
        path: target file (usually ``<run>/last.pt``).
        trainer_state: ``GANTrainer.state_dict()``.
        config: the run's settings (plain values only).
        fixed_z: evaluation noise (n, z_dim), stored on the CPU.
        meta: epoch, device, timings... (plain values only).
        keep_previous: keep the replaced file as ``<name without .pt>.prev.pt``.

    Raises:
        CheckpointError: the state holds a NaN/inf (a diverged run is never written over a good one).
    """
    path = Path(path)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "trainer": trainer_state,
        "config": dict(config),
        "fixed_z": None if fixed_z is None else fixed_z.detach().cpu(),
        "meta": dict(meta or {}),
    }
    _check_finite(payload, f"the state to be saved to {path}")
    unsafe = find_unsafe(payload)
    if unsafe is not None:
        raise CheckpointError(f"the state to be saved to {path} holds {unsafe}, which "
                              f"torch.load(weights_only=True) cannot read; store tensors, numbers, "
                              f"strings, lists and dicts only (e.g. str(x) instead of x).")
    if keep_previous and path.exists():
        _keep_previous(path, backup_path(path))
    return atomic_save(payload, path)


def backup_path(path: str | Path) -> Path:
    """``runs/x/last.pt`` -> ``runs/x/last.prev.pt``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


# --------------------------------------------------------------------------- reading
def load(path: str | Path, map_location: str | torch.device | None = "cpu") -> dict[str, Any]:
    """Load and validate a checkpoint with ``torch.load(weights_only=True)``.

    Raises:
        CheckpointError: missing or unreadable file, another format, or a NaN/inf anywhere.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}.")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated file, foreign pickle, ...
        hint = f" The previous checkpoint {backup_path(path).name} may still be good." \
            if backup_path(path).exists() else ""
        raise CheckpointError(f"cannot read the checkpoint {path} ({type(exc).__name__}: {exc}).{hint}") from exc
    _check_payload(payload, str(path))
    _check_finite(payload, f"the checkpoint {path}")
    return payload


def load_latest(folder: str | Path, map_location: str | torch.device | None = "cpu",
                verbose: bool = True) -> dict[str, Any] | None:
    """Load ``folder/last.pt``, falling back to ``last.prev.pt`` if the former is bad; None if neither exists."""
    folder = Path(folder)
    last, prev = folder / LAST, folder / PREVIOUS
    if not last.exists() and not prev.exists():
        return None
    try:
        return load(last, map_location)
    except CheckpointError as err:
        if not prev.exists():
            raise
        if verbose:
            print(f"{err}\nFalling back to {prev}.")
        return load(prev, map_location)
