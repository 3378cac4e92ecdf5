"""Files written and read safely: one SHA-256 helper and one atomic write for the whole library.

* ``sha256_file(path)``: the hex SHA-256 of a file, read in 1 MiB blocks (datasets, the shipped
  classifier and generators are all pinned by it).
* ``atomic_write(path, write)``: ``write(f)`` fills a temporary file in the same folder, which is
  fsynced and then renamed over ``path`` (``os.replace`` is atomic), so an interrupt or a full
  disk leaves the old file untouched and never a half-written one. ``atomic_save`` is the same
  for ``torch.save``.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import torch


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], Any]) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path``, fsync it, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable (POSIX); folders cannot be opened on Windows
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
    return path


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj, path)`` atomically (see ``atomic_write``)."""
    return atomic_write(path, lambda f: torch.save(obj, f))
