"""Run-time configuration: the device (picked once), seeds, quick mode and package paths.

* ``get_device()``: cuda > mps > cpu; the environment variable ``GANLIB_DEVICE`` overrides.
* ``set_seed(seed)``: seeds Python, NumPy and torch (all devices) in one call.
* ``fast_bf16(device)``: whether bfloat16 arithmetic is native (and so faster) on a device.
* ``quick_mode()``: true when ``GANLIB_QUICK=1`` (``make test`` sets it) so notebooks shrink
  their training; both modes run the same code.
* ``PACKAGE_DIR``, ``REPO_DIR``, ``DATA_DIR``: paths resolved from this file, never from the
  working directory, so a notebook works whichever folder Jupyter was started in;
  ``display_path`` prints them relative to the repository (no machine's absolute path in a notebook).
* ``check_int``, ``check_number``, ``check_choice``, ``check_bool``: the library's one way of
  checking arguments; each error names the parameter and what is allowed.
* ``set_language(lang)`` / ``language()``: the language of ``ganlib.checks``' messages, "en" or
  "ko" (the Korean notebooks call ``set_language("ko")`` in their first cell).
"""
from __future__ import annotations

import math
import numbers
import os
import random
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

PACKAGE_DIR: Path = Path(__file__).resolve().parent
REPO_DIR: Path = PACKAGE_DIR.parent
#: Where datasets and shipped assets live; ``GANLIB_DATA_DIR`` overrides (e.g. a shared drive).
DATA_DIR: Path = Path(os.environ.get("GANLIB_DATA_DIR", REPO_DIR / "data")).expanduser().resolve()
#: Where training runs write checkpoints and pictures.
RUNS_DIR: Path = REPO_DIR / "runs"

_VALID_DEVICES = ("cpu", "cuda", "mps")


def _available(kind: str) -> bool:
    if kind == "cpu":
        return True
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    return False


def get_device(name: str | None = None) -> torch.device:
    """Return the training device: ``name`` if given, else ``$GANLIB_DEVICE``, else cuda > mps > cpu.

    ``name`` may carry an index (``"cuda:1"``). An unknown or unavailable device raises
    ``ValueError`` naming the choice and what this machine offers.
    """
    source = "device"
    if name is None:
        name = os.environ.get("GANLIB_DEVICE") or None
        source = "GANLIB_DEVICE"
    if name is None or name == "auto":
        for kind in ("cuda", "mps"):
            if _available(kind):
                return torch.device(kind)
        return torch.device("cpu")
    kind = str(name).split(":")[0].strip().lower()
    if kind not in _VALID_DEVICES:
        raise ValueError(
            f"{source}={name!r} is not a device ganlib knows; use one of "
            f"{', '.join(_VALID_DEVICES)} (or 'auto')."
        )
    if not _available(kind):
        offered = [k for k in _VALID_DEVICES if _available(k)]
        raise ValueError(
            f"{source}={name!r} is not available on this machine; available: {', '.join(offered)}."
        )
    dev = torch.device(str(name).strip().lower())
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(
            f"{source}={name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)."
        )
    return dev


def set_seed(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and torch's global generators; return a fresh CPU ``torch.Generator``.

    The returned generator (seeded with ``seed``) is what ganlib's samplers take as
    ``generator=`` so a notebook's draws don't depend on what ran before.
    """
    check_int("seed", seed, low=0)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def fast_bf16(device: str | torch.device) -> bool:
    """True when ``device`` computes in bfloat16 natively, so bf16 autocast speeds training up.

    CPU: Intel AMX tiles or AVX512-BF16 instructions (oneDNN then runs bf16 convolutions about
    twice as fast as float32; without them bf16 is emulated and slower). CUDA: compute capability
    8.0 or newer (A100, H100, ...). Other devices: False.
    """
    dev = torch.device(device)
    if dev.type == "cpu":
        checks = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
        return any(bool(check()) for check in checks if check is not None)
    if dev.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.get_device_capability(dev)[0] >= 8
    return False


def display_path(path: str | Path) -> str:
    """``path`` as a learner should read it in a notebook: relative to the repository when inside it
    (``runs/nb06-dcgan-1ep``), else under the home folder as ``~/...``, else its last two parts
    (``.../shared/data``): never a machine's absolute path."""
    p = Path(path).expanduser().resolve()
    try:
        return p.relative_to(REPO_DIR).as_posix() or "."
    except ValueError:
        pass
    try:
        return "~/" + p.relative_to(Path.home()).as_posix()
    except ValueError:
        return ".../" + "/".join(p.parts[-2:])


def check_int(name: str, value: object, low: int = 1, high: int | None = None) -> int:
    """``value`` if it is an int (not a bool) in [low, high]; else a ValueError that names ``name``."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low \
            or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an int {allowed}, got {value!r}.")
    return int(value)


def check_number(name: str, value: object, low: float | None = None, high: float | None = None, *,
                 open_low: bool = False, open_high: bool = False, none_ok: bool = False) -> float | None:
    """``float(value)`` if it is a finite real number (not a bool) inside the interval; else a ValueError.

    The interval is [low, high]; ``open_low`` / ``open_high`` exclude an end, e.g.
    ``check_number("lr_d", lr, 0, open_low=True)`` asks for lr > 0. ``none_ok`` lets None through.
    """
    if value is None and none_ok:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if open_low else value >= low
    if ok and high is not None:
        ok = value < high if open_high else value <= high
    if not ok:
        lo = "" if low is None else ("(" if open_low else "[") + f"{low}, "
        hi = "" if high is None else f"{high}" + (")" if open_high else "]")
        where = {(True, True): f"in {lo}{hi}", (True, False): f"{'>' if open_low else '>='} {low}",
                 (False, True): f"{'<' if open_high else '<='} {high}", (False, False): ""}
        allowed = where[(low is not None, high is not None)] + (" or None" if none_ok else "")
        raise ValueError(f"{name} must be a finite number {allowed}".rstrip() + f", got {value!r}.")
    return float(value)


def check_choice(name: str, value: object, choices: "Iterable[str]") -> str:
    """``value`` if it is one of ``choices``; else a ValueError that names ``name`` and lists them."""
    choices = list(choices)
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not known; use one of {choices}.")
    return value  # type: ignore[return-value]


def check_bool(name: str, value: object) -> bool:
    """``value`` if it is True or False (not 0/1 or a string); else a ValueError that names ``name``."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return value


def quick_mode() -> bool:
    """True when ``GANLIB_QUICK=1`` (set by ``make test``): notebooks shrink their training."""
    return os.environ.get("GANLIB_QUICK", "0").strip().lower() in ("1", "true", "yes", "on")


LANGUAGES: tuple[str, ...] = ("en", "ko")
_language = "en"


def set_language(lang: str) -> None:
    """Make ``ganlib.checks`` print its messages in ``lang`` ("en" or "ko") from now on."""
    global _language
    _language = check_choice("lang", lang, LANGUAGES)


def language() -> str:
    """The language of ``ganlib.checks``' messages: "en" (the default) or "ko"."""
    return _language


def pick(full, quick):
    """Return ``quick`` in quick mode and ``full`` otherwise (e.g. ``steps = config.pick(5000, 800)``)."""
    return quick if quick_mode() else full
