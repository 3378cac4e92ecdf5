"""ganlib.bench: a smoke run of every measurement (no timing asserts: speed is measured, not tested)."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

from ganlib import bench, config


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def test_quick_run_reports_every_measurement():
    res = bench.run("cpu", quick=True, mlp_batch=64, dcgan_batch=8, extras=False)
    assert res["device"] == "cpu" and res["quick"] is True
    names = [r["name"] for r in res["results"]]
    assert any(n.startswith("mlp GAN step (GANTrainer)") for n in names)
    assert any("plain seed-002 loop" in n for n in names)
    # NCHW and channels_last in float32, plus bf16 autocast where the CPU computes bf16 natively.
    bf16 = config.fast_bf16("cpu")
    assert sum(n.startswith("dcgan GAN step") for n in names) == 2 + bf16
    assert sum("bf16 autocast" in n for n in names) == 2 * bf16
    assert {r.get("precision") for r in res["results"] if "images_per_s" in r} == ({"fp32", "bf16"} if bf16 else {"fp32"})
    for r in res["results"]:
        if "images_per_s" in r:
            assert r["images_per_s"] > 0 and math.isclose(r["seconds_per_epoch"], 60_000 / r["images_per_s"])
            assert r["images_per_s_min"] <= r["images_per_s"] <= r["images_per_s_max"]
    toy = next(r for r in res["results"] if "toy" in r["name"])
    assert toy["steps_per_s"] > 0
    text = bench.format_results(res)
    assert "images/s" in text and "steps/s" in text and "quick" in text


def test_synthetic_batches_have_mnist_shape():
    b = bench.synthetic_batches(torch.device("cpu"), n=128)
    x = b(16)
    assert x.shape == (16, 1, 28, 28) and x.dtype == torch.float32
    assert -1.0 <= float(x.min()) and float(x.max()) <= 1.0


def test_optional_parts_are_skipped_with_a_reason():
    r = bench._optional("no_such_module_here", "run", lambda fn: fn())
    assert "skipped" in r and "ModuleNotFoundError" in r["skipped"]


def test_cli_quick_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, "-m", "ganlib", "bench", "--quick", "--device", "cpu", "--threads", "1",
                        "--mlp-batch", "32", "--dcgan-batch", "4", "--no-extras", "--json", str(out)],
                       capture_output=True, text=True, cwd=config.REPO_DIR, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "images/s" in r.stdout
    doc = json.loads(out.read_text())
    assert doc["threads"] == 1 and len(doc["results"]) >= 4


def test_every_mode_collapse_preset_is_timed():
    """The bench times every preset of the explorer; here each is run shortened and reports seconds."""
    from ganlib import widgets

    names = bench.preset_names()
    assert names == list(widgets.PRESETS) and any("collapse" in n for n in names) and any("remedy" in n for n in names)
    r = bench._optional("widgets", "run_preset", lambda fn: bench._run_preset(fn, names[1], steps=50))
    assert "skipped" not in r, r
    assert repr(names[1]) in r["name"] and "steps=50" in r["name"]
    assert r["seconds"] > 0
    assert "s" in bench.format_results({"device": "cpu", "device_name": "x", "threads": 1, "torch": "t",
                                        "quick": True, "results": [r]})
