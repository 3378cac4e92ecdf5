"""ganlib.config: device choice, seeds, quick mode, package-relative paths."""
from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch

from ganlib import config


def test_default_device_is_best_available(monkeypatch):
    monkeypatch.delenv("GANLIB_DEVICE", raising=False)
    dev = config.get_device()
    if torch.cuda.is_available():
        assert dev.type == "cuda"
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        assert dev.type == "mps"
    else:
        assert dev.type == "cpu"


def test_env_override_and_argument(monkeypatch):
    monkeypatch.setenv("GANLIB_DEVICE", "cpu")
    assert config.get_device() == torch.device("cpu")
    assert config.get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("GANLIB_DEVICE", "auto")
    assert config.get_device().type in ("cpu", "cuda", "mps")


@pytest.mark.parametrize("name", ["tpu", "gpu0", "cuda-ish", ""])
def test_unknown_device_is_clear_error(monkeypatch, name):
    monkeypatch.delenv("GANLIB_DEVICE", raising=False)
    if name == "":
        assert config.get_device(None).type in ("cpu", "cuda", "mps")
        return
    with pytest.raises(ValueError, match="not a device ganlib knows"):
        config.get_device(name)


def test_env_var_named_in_error(monkeypatch):
    monkeypatch.setenv("GANLIB_DEVICE", "tpu")
    with pytest.raises(ValueError, match="GANLIB_DEVICE"):
        config.get_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_unavailable_device_is_clear_error():
    with pytest.raises(ValueError, match="not available on this machine"):
        config.get_device("cuda")


def test_set_seed_reproduces_all_generators():
    def draw():
        g = config.set_seed(123)
        return random.random(), np.random.rand(), torch.rand(3), torch.rand(3, generator=g)

    a, b = draw(), draw()
    assert a[0] == b[0] and a[1] == b[1]
    assert torch.equal(a[2], b[2]) and torch.equal(a[3], b[3])
    config.set_seed(124)
    assert not torch.equal(torch.rand(3), a[2])  # another seed, another stream
    with pytest.raises(ValueError, match="seed"):
        config.set_seed(-1)
    with pytest.raises(ValueError, match="seed"):
        config.set_seed(1.5)  # type: ignore[arg-type]


def test_quick_mode(monkeypatch):
    monkeypatch.setenv("GANLIB_QUICK", "1")
    assert config.quick_mode() and config.pick(10, 2) == 2
    monkeypatch.setenv("GANLIB_QUICK", "0")
    assert not config.quick_mode() and config.pick(10, 2) == 10
    monkeypatch.delenv("GANLIB_QUICK")
    assert not config.quick_mode()


def test_paths_do_not_depend_on_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config.PACKAGE_DIR.is_absolute()
    assert (config.PACKAGE_DIR / "config.py").exists()
    assert (config.REPO_DIR / "pyproject.toml").exists()
    assert os.path.isabs(config.DATA_DIR)


def test_display_path_never_shows_a_machines_absolute_path(tmp_path):
    inside = config.RUNS_DIR / "nb06-dcgan-1ep"
    assert config.display_path(inside) == "runs/nb06-dcgan-1ep"
    assert config.display_path(config.DATA_DIR) == "data"
    outside = tmp_path / "shared" / "data"
    shown = config.display_path(outside)
    assert shown == ".../shared/data" and str(tmp_path) not in shown


@pytest.mark.parametrize("value", [0.3, 1.1, True, "0.9", float("nan"), None])
def test_check_number_names_the_parameter_and_the_interval(value):
    # e.g. one-sided label smoothing's target t (real_label) must lie in [0.5, 1]
    with pytest.raises(ValueError, match=r"real_label must be a finite number in \[0.5, 1\], got"):
        config.check_number("real_label", value, 0.5, 1)
    assert config.check_number("real_label", 0.9, 0.5, 1) == 0.9
    assert config.check_number("real_label", None, 0.5, 1, none_ok=True) is None


def test_open_ends_ints_choices_and_bools():
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0, got 0"):
        config.check_number("lr", 0, 0, open_low=True)
    with pytest.raises(ValueError, match=r"ema_decay must be a finite number in \(0, 1\) or None, got 1"):
        config.check_number("ema_decay", 1, 0, 1, open_low=True, open_high=True, none_ok=True)
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 8\], got 9"):
        config.check_int("k", 9, 1, 8)
    with pytest.raises(ValueError, match=r"batch_size must be an int >= 1, got True"):
        config.check_int("batch_size", True)
    with pytest.raises(ValueError, match=r"noise='cauchy' is not known; use one of \['normal', 'uniform'\]"):
        config.check_choice("noise", "cauchy", ("normal", "uniform"))
    with pytest.raises(ValueError, match="train_g must be True or False, got 1"):
        config.check_bool("train_g", 1)
    assert config.check_int("k", 8, 1, 8) == 8 and config.check_bool("x", False) is False
